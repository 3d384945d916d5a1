import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDAS, type LambdaName } from '@attestor/contracts/routes';

/**
 * The newest Node.js runtime Lambda offers (cdk-nag's LambdaLatestVersion checks the same list);
 * its major is FUNCTION_NODE_MAJOR (@attestor/contracts/routes), which the bundles target.
 */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;
/** Graviton: about 20% cheaper per GB-second than x86, and the code has no native modules. */
export const FUNCTION_ARCHITECTURE = lambda.Architecture.ARM_64;

/**
 * The prebuilt bundle of a function (scripts/build-functions.ts writes functions/<name>/index.js
 * into this package; npm run build does it in the repository). The same path from src/ and dist/.
 */
export function functionCodeDir(name: LambdaName): string {
  const dir = path.resolve(__dirname, '..', 'functions', name);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(`@attestor/cdk: the bundle of ${name} is missing (${dir}); in the repository, run \`npm run build\` first`);
  }
  return dir;
}

export interface ServiceFunctionProps {
  /** Which function: its code, description, memory and timeout come from LAMBDAS (@attestor/contracts/routes). */
  readonly name: LambdaName;
  /**
   * The function's settings: its record's toEnv (@attestor/contracts/config), whose fromEnv reads them
   * at cold start. NODE_OPTIONS, Node's own, is added here for every function.
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Retention of the function's own log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Concurrency reserved for (and capping) the function.
   * @default none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Where asynchronous invocations (S3 events) go once Lambda has given up on them.
   * @default none: failed asynchronous events are dropped after Lambda's retries
   */
  readonly onFailure?: lambda.IDestination;
}

/**
 * One Lambda of the service: its own role (no managed policies: it may write to its own log group
 * and nothing else until the stack grants more), its own log group with a retention, and its
 * prebuilt bundle (the AWS SDK left to the runtime).
 */
export class ServiceFunction extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const spec = LAMBDAS[props.name];

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Attestor ${id}: ${spec.description}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.fn = new lambda.Function(this, 'Function', {
      code: lambda.Code.fromAsset(functionCodeDir(props.name)),
      handler: 'index.handler',
      description: spec.description,
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      // Stack traces of the minified bundles point at the sources (their maps ship beside them).
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      ...(props.onFailure ? { onFailure: props.onFailure } : {}),
    });
  }
}
