/**
 * Tenant keys are created with a key policy naming the roles that use them (set by the CDK stack
 * through TENANT_KEY_*_ROLE_ARN on the admin function), because IAM conditions on a new key's
 * aliases take up to five minutes to apply. Checked here from the environment variables to the
 * bytes the real KMSClient sends to the local KMS endpoint.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKmsServer, type KmsServer } from '../../local/kms-server';
import { ConfigurationError, configFromEnv } from '../../src/adapters/environment';
import { ensureDecoyKey, InvalidKeyPolicyRoleError, KmsTenantKeys, tenantKeyPolicy } from '../../src/adapters/kms-tenant-keys';
import { ManualClock, MemoryRegistry } from '../support/memory';

const ACCOUNT = '123456789012';
const SIGNER = `arn:aws:iam::${ACCOUNT}:role/Attestor-AttestRole1234`;
const VERIFIER = `arn:aws:iam::${ACCOUNT}:role/Attestor-AuthorizerRole5678`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/Attestor-AdminRole9012`;
const BASE_ENV = { NONCES_TABLE: 'nonces', REGISTRY_TABLE: 'registry' };

interface PolicyDocument {
  Version: string;
  Statement: Array<{ Sid: string; Effect: string; Principal: { AWS: string | string[] }; Action: string | string[]; Resource: string; Condition?: unknown }>;
}

let dir: string;
let server: KmsServer;

/** A client that records the JSON body of every CreateKey request it puts on the wire. */
function recordingClient(): { client: KMSClient; createKeyBodies: Array<Record<string, unknown>> } {
  const client = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const createKeyBodies: Array<Record<string, unknown>> = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { body?: unknown };
      if (context.commandName === 'CreateKeyCommand') createKeyBodies.push(JSON.parse(bodyText(request.body)) as Record<string, unknown>);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordCreateKeyBodies' },
  );
  return { client, createKeyBodies };
}

/** The serialized body: a string, bytes, or (newer SDKs) a string adapter over bytes. */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  return String(body);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-key-policy-test-'));
  server = await startKmsServer({ dataDir: dir });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tenantKeyPolicy', () => {
  test('keeps the account statement and names each role with exactly its operation', () => {
    const policy = JSON.parse(tenantKeyPolicy({ signerRoleArn: SIGNER, verifierRoleArns: [VERIFIER], adminRoleArn: ADMIN })) as PolicyDocument;
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement).toEqual([
      { Sid: 'AccountAdministersKey', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'AttestSignsTokens',
        Effect: 'Allow',
        Principal: { AWS: SIGNER },
        Action: 'kms:Sign',
        Resource: '*',
        Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
      },
      { Sid: 'VerifiersReadPublicKey', Effect: 'Allow', Principal: { AWS: [VERIFIER] }, Action: 'kms:GetPublicKey', Resource: '*' },
      { Sid: 'AdminDiscardsUnusedKey', Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
    ]);
  });

  test('the partition comes from the signer ARN', () => {
    const policy = JSON.parse(tenantKeyPolicy({ signerRoleArn: `arn:aws-cn:iam::${ACCOUNT}:role/x` })) as PolicyDocument;
    expect(policy.Statement[0]!.Principal.AWS).toBe(`arn:aws-cn:iam::${ACCOUNT}:root`);
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['AccountAdministersKey', 'AttestSignsTokens']);
  });

  test('refuses anything but role ARNs of the signer account', () => {
    expect(() => tenantKeyPolicy({ signerRoleArn: `arn:aws:iam::${ACCOUNT}:user/alice` })).toThrow(InvalidKeyPolicyRoleError);
    expect(() => tenantKeyPolicy({ signerRoleArn: SIGNER, verifierRoleArns: ['arn:aws:iam::999999999999:role/other'] })).toThrow(/not in the signer's account/);
    expect(() => tenantKeyPolicy({ signerRoleArn: SIGNER, adminRoleArn: '*' })).toThrow(InvalidKeyPolicyRoleError);
  });
});

describe('configFromEnv', () => {
  test('builds the policy from TENANT_KEY_SIGNER_ROLE_ARN, TENANT_KEY_VERIFIER_ROLE_ARNS and TENANT_KEY_ADMIN_ROLE_ARN', () => {
    const config = configFromEnv({
      ...BASE_ENV,
      TENANT_KEY_SIGNER_ROLE_ARN: SIGNER,
      TENANT_KEY_VERIFIER_ROLE_ARNS: ` ${VERIFIER} ,`,
      TENANT_KEY_ADMIN_ROLE_ARN: ADMIN,
    });
    expect(config.tenantKeyPolicy).toBe(tenantKeyPolicy({ signerRoleArn: SIGNER, verifierRoleArns: [VERIFIER], adminRoleArn: ADMIN }));
  });

  test('no signer, no policy (the local cloud and older deployments)', () => {
    expect(configFromEnv(BASE_ENV).tenantKeyPolicy).toBeUndefined();
  });

  test('a bad or incomplete setting fails at cold start, naming the variable', () => {
    expect(() => configFromEnv({ ...BASE_ENV, TENANT_KEY_VERIFIER_ROLE_ARNS: VERIFIER })).toThrow(ConfigurationError);
    expect(() => configFromEnv({ ...BASE_ENV, TENANT_KEY_VERIFIER_ROLE_ARNS: VERIFIER })).toThrow(/TENANT_KEY_SIGNER_ROLE_ARN/);
    expect(() => configFromEnv({ ...BASE_ENV, TENANT_KEY_SIGNER_ROLE_ARN: 'attest' })).toThrow(/TENANT_KEY_\*_ROLE_ARN/);
  });
});

describe('KmsTenantKeys with a key policy, over the local KMS endpoint', () => {
  const policy = tenantKeyPolicy({ signerRoleArn: SIGNER, verifierRoleArns: [VERIFIER], adminRoleArn: ADMIN });

  test("a tenant's first key is created with the policy, bypassing the lockout check, and works", async () => {
    const { client, createKeyBodies } = recordingClient();
    await ensureDecoyKey(client, 'alias/attestor/decoy');
    createKeyBodies.length = 0;
    const keys = new KmsTenantKeys(client, new MemoryRegistry(), { decoyKeyId: 'alias/attestor/decoy', aliasPrefix: 'alias/attestor/tenant/', clock: new ManualClock(), keyPolicy: policy });

    await keys.ensureSigningKey('acme');

    expect(createKeyBodies).toHaveLength(1);
    expect(createKeyBodies[0]).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Policy: policy, BypassPolicyLockoutSafetyCheck: true });
    // The key the policy was sent with is the tenant's signing key.
    expect((await keys.keys('acme')).size).toBe(1);
    const signature = await keys.sign('acme', new Uint8Array([1, 2, 3]), 'tenant');
    expect(signature).toHaveLength(64);
    client.destroy();
  });

  test('rotation creates its key with the policy too', async () => {
    const { client, createKeyBodies } = recordingClient();
    const keys = new KmsTenantKeys(client, new MemoryRegistry(), { decoyKeyId: 'alias/attestor/decoy', aliasPrefix: 'alias/attestor/tenant/', clock: new ManualClock(), keyPolicy: policy });
    await keys.ensureSigningKey('rotating');
    await keys.rotateSigningKey('rotating');

    expect(createKeyBodies).toHaveLength(2);
    for (const body of createKeyBodies) expect(body).toMatchObject({ Policy: policy, BypassPolicyLockoutSafetyCheck: true });
    client.destroy();
  });

  test('without a policy, CreateKey carries none (KMS default policy; IAM decides)', async () => {
    const { client, createKeyBodies } = recordingClient();
    const keys = new KmsTenantKeys(client, new MemoryRegistry(), { decoyKeyId: 'alias/attestor/decoy', aliasPrefix: 'alias/attestor/tenant/', clock: new ManualClock() });
    await keys.ensureSigningKey('no-policy');

    expect(createKeyBodies).toHaveLength(1);
    expect(createKeyBodies[0]).not.toHaveProperty('Policy');
    expect(createKeyBodies[0]).not.toHaveProperty('BypassPolicyLockoutSafetyCheck');
    client.destroy();
  });
});
