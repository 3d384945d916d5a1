import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { LambdaSpec } from '../src/routes';

/** Repository root: entries in LAMBDAS are relative to it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The newest Node.js runtime Lambda offers (cdk-nag's LambdaLatestVersion checks the same list). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;
/** Graviton: about 20% cheaper per GB-second than x86, and the code has no native modules. */
export const FUNCTION_ARCHITECTURE = lambda.Architecture.ARM_64;

/**
 * How every function is bundled, in one place so that bench/bundles.bench.ts measures exactly the
 * bundles CDK deploys. The AWS SDK v3 (and the Smithy and AWS crypto packages it is built on) ship
 * with the Lambda Node.js runtime, so they stay external: the bundle holds only our code and the
 * few packages it needs (zod/mini), which keeps it under 60 KB and its cold start short.
 */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  // Stack traces map back to files and lines; the sources themselves stay out of the asset.
  sourcesContent: false,
  target: 'node24',
  format: nodejs.OutputFormat.CJS,
  // Prefer packages' ESM builds: they tree-shake, where CJS builds are bundled whole.
  mainFields: ['module', 'main'],
  externalModules: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'],
} as const satisfies nodejs.BundlingOptions;

export interface ServiceFunctionProps {
  /** Entry file, description, memory and timeout (one LAMBDAS entry of src/routes.ts). */
  readonly spec: LambdaSpec;
  /** Environment variables. Only names the entry's configuration parser reads belong here. */
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
 * and nothing else until the stack grants more), its own log group with a retention, and an esbuild
 * bundle with the AWS SDK left to the runtime.
 */
export class ServiceFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const { spec } = props;

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

    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, spec.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: spec.description,
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...props.environment },
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      ...(props.onFailure ? { onFailure: props.onFailure } : {}),
      bundling: { ...BUNDLING, mainFields: [...BUNDLING.mainFields], externalModules: [...BUNDLING.externalModules] },
    });
  }
}
