/**
 * An IAM role for a GitHub Actions workflow that registers builds and can do nothing else
 * (docs/DEPLOY.md, "CI: register builds from GitHub Actions"): assumable only through GitHub's OIDC
 * provider by workflows of one repository and branch, allowed only `execute-api:Invoke` on the
 * admin routes the `register` role may call, as the route table lists them. The service still
 * decides by the role the tenant gives the principal: map it with
 * `attestor tenants grant TENANT --principal ROLE_ARN --role register`.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ROUTES } from '@attestor/contracts/routes';
import { STAGE_NAME } from './attestor-api';

/** GitHub's OIDC issuer, and the audience its tokens carry for AWS (aws-actions/configure-aws-credentials). */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
const GITHUB_AUDIENCE = 'sts.amazonaws.com';

export interface CiRegisterRoleProps {
  /** The Attestor API (AttestorStack's `api.restApi`). */
  readonly restApi: apigw.IRestApi;
  /** `owner/name` of the repository whose workflows may assume the role. */
  readonly repository: string;
  /**
   * The branch whose workflows may assume the role (the token's `sub` is
   * `repo:<owner>/<name>:ref:refs/heads/<branch>`).
   * @default 'main'
   */
  readonly branch?: string;
  /**
   * ARN of the account's GitHub OIDC provider, if it has one: an account can have only one per
   * issuer, so a second stack must not create another.
   * @default a provider for token.actions.githubusercontent.com is created
   */
  readonly oidcProviderArn?: string;
  /**
   * The API's stage.
   * @default 'prod' (AttestorApi's stage)
   */
  readonly stageName?: string;
}

/** `execute-api` resource paths (`/v1/admin/apps/*\/uploads`) of the admin routes the `register` role may call, with their methods. */
export function registerRoutePatterns(): ReadonlyArray<{ readonly method: string; readonly path: string }> {
  return ROUTES.flatMap((route) =>
    route.auth === 'iam' && route.access !== 'operators' && route.access.includes('register')
      ? // A path parameter is one path segment, which `*` stands for in an execute-api ARN.
        [{ method: route.method, path: route.path.replace(/\{[^}]+\}/g, '*') }]
      : [],
  );
}

export class CiRegisterRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: CiRegisterRoleProps) {
    super(scope, id);
    if (!/^[\w.-]+\/[\w.-]+$/.test(props.repository)) throw new Error(`CiRegisterRole: repository must be owner/name, not ${props.repository}`);
    const branch = props.branch ?? 'main';
    // A wildcard here would let other branches (or any ref) assume the role.
    if (!/^[\w./-]+$/.test(branch)) throw new Error(`CiRegisterRole: branch must be a branch name without wildcards, not ${branch}`);

    const providerArn =
      props.oidcProviderArn ??
      new iam.CfnOIDCProvider(this, 'GitHubOidcProvider', { url: `https://${GITHUB_OIDC_HOST}`, clientIdList: [GITHUB_AUDIENCE] }).attrArn;

    this.role = new iam.Role(this, 'Role', {
      description: `Registers builds with Attestor from GitHub Actions (${props.repository}, ${branch})`,
      assumedBy: new iam.WebIdentityPrincipal(providerArn, {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_AUDIENCE,
          [`${GITHUB_OIDC_HOST}:sub`]: `repo:${props.repository}:ref:refs/heads/${branch}`,
        },
      }),
      // A registration takes minutes; the CLI signs every request with the session it started with.
      maxSessionDuration: Duration.hours(1),
    });

    const stage = props.stageName ?? STAGE_NAME;
    const stack = Stack.of(this);
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RegisterBuildsOnly',
        actions: ['execute-api:Invoke'],
        resources: registerRoutePatterns().map(({ method, path }) =>
          stack.formatArn({ service: 'execute-api', resource: props.restApi.restApiId, resourceName: `${stage}/${method}${path}` }),
        ),
      }),
    );
  }
}
