/**
 * CiRegisterRole (docs/DEPLOY.md, "CI: register builds from GitHub Actions"): GitHub's OIDC tokens
 * of one repository and branch only, and execute-api:Invoke on exactly the routes a `register`
 * principal may call, written out here rather than read from the route table.
 */
import { Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Template } from 'aws-cdk-lib/assertions';
import { CiRegisterRole } from '../../packages/cdk/src/ci-register-role';
import { fastApp, type Json } from './helpers';

function synth(props: { branch?: string; oidcProviderArn?: string } = {}) {
  const stack = new Stack(fastApp(), 'Ci', { env: { account: '123456789012', region: 'eu-west-1' } });
  const restApi = new apigw.RestApi(stack, 'Api', { cloudWatchRole: false });
  restApi.root.addMethod('GET');
  new CiRegisterRole(stack, 'CiRegister', { restApi, repository: 'acme/shop-app', ...props });
  return Template.fromStack(stack);
}

const only = (template: Template, type: string): Json => {
  const resources = Object.values(template.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0] as Json;
};

test('trusts only GitHub OIDC tokens for sts.amazonaws.com from the repository and branch', () => {
  const template = synth({ branch: 'release' });
  const trust = only(template, 'AWS::IAM::Role')['Properties']['AssumeRolePolicyDocument']['Statement'] as Json[];
  expect(trust).toHaveLength(1);
  expect(trust[0]).toMatchObject({
    Action: 'sts:AssumeRoleWithWebIdentity',
    Effect: 'Allow',
    Condition: {
      StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': 'repo:acme/shop-app:ref:refs/heads/release',
      },
    },
  });
  expect(Object.keys(trust[0]!['Condition'] as Json)).toEqual(['StringEquals']);
  expect(only(template, 'AWS::IAM::OIDCProvider')['Properties']).toEqual({
    Url: 'https://token.actions.githubusercontent.com',
    ClientIdList: ['sts.amazonaws.com'],
  });
});

test('reuses the account’s OIDC provider when given one', () => {
  const template = synth({ oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com' });
  template.resourceCountIs('AWS::IAM::OIDCProvider', 0);
  const trust = only(template, 'AWS::IAM::Role')['Properties']['AssumeRolePolicyDocument']['Statement'][0] as Json;
  expect(trust['Principal']).toEqual({ Federated: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com' });
});

test('may invoke exactly the register routes of the API, on its stage, and nothing else', () => {
  const policy = only(synth(), 'AWS::IAM::Policy')['Properties']['PolicyDocument'] as Json;
  expect(policy['Statement']).toHaveLength(1);
  const [statement] = policy['Statement'] as Json[];
  expect(statement!['Action']).toBe('execute-api:Invoke');
  // Each resource is Fn::Join ['', ['arn:', partition, ':execute-api:eu-west-1:123456789012:', apiRef, '/prod/...']].
  const tails = (statement!['Resource'] as Json[]).map((r) => {
    const parts = r['Fn::Join'][1] as unknown[];
    expect(parts.some((p) => JSON.stringify(p).includes('"ApiF70053CD"'))).toBe(true);
    return parts[parts.length - 1];
  });
  expect([...tails].sort()).toEqual(
    [
      '/prod/POST/v1/admin/apps/*/uploads',
      '/prod/POST/v1/admin/uploads/*/complete',
      '/prod/GET/v1/admin/uploads/*',
      '/prod/GET/v1/admin/apps/*/registrations',
    ].sort(),
  );
});

test('refuses a wildcard branch or a malformed repository', () => {
  const stack = new Stack(fastApp(), 'Bad');
  const restApi = new apigw.RestApi(stack, 'Api', { cloudWatchRole: false });
  expect(() => new CiRegisterRole(stack, 'A', { restApi, repository: 'acme/shop', branch: '*' })).toThrow(/without wildcards/);
  expect(() => new CiRegisterRole(stack, 'B', { restApi, repository: 'acme' })).toThrow(/owner\/name/);
});
