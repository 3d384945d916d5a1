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
import { startKmsServer, type KmsServer } from '../../packages/local/src/kms-server';
import { ADMIN_KEYS_CONFIG } from '../../packages/contracts/src/config';
import { ConfigurationError } from '../../packages/service/src/composition/environment';
import { ensureDecoyKey } from '../../packages/service/src/adapters/kms-tenant-keys';
import {
  InvalidKeyPolicyRoleError,
  KmsTenantKeyManager,
  tenantKeyPolicy,
  tenantSecretKeyPolicy,
} from '../../packages/service/src/adapters/kms-tenant-key-manager';
import { ManualClock, MemoryTenantKeyStore } from '../support/memory';

const ACCOUNT = '123456789012';
const SIGNER = `arn:aws:iam::${ACCOUNT}:role/Attestor-AttestRole1234`;
const VERIFIER = `arn:aws:iam::${ACCOUNT}:role/Attestor-AuthorizerRole5678`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/Attestor-AdminRole9012`;
const BASE_ENV = { REGISTRY_TABLE: 'registry' };
/** The key-creating functions' record (adminUploads reads the same variables the same way). */
const keyCreatorFromEnv = ADMIN_KEYS_CONFIG.fromEnv;

interface PolicyDocument {
  Version: string;
  Statement: Array<{ Sid: string; Effect: string; Principal: { AWS: string | string[] }; Action: string | string[]; Resource: string; Condition?: unknown }>;
}

let dir: string;
let server: KmsServer;

/** A client that records the JSON body of every CreateKey request it puts on the wire. */
function recordingClient(): { client: KMSClient; createKeyBodies: Array<Record<string, unknown>> } {
  const client = new KMSClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    maxAttempts: 1,
  });
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

  test("the secrets key's policy lets attest and verifiers unwrap, the admin role wrap, and unwrap test secrets, only under the tenant's context", () => {
    const policy = JSON.parse(tenantSecretKeyPolicy({ signerRoleArn: SIGNER, verifierRoleArns: [VERIFIER], adminRoleArn: ADMIN }, 'acme')) as PolicyDocument;
    const forAcme = { StringEquals: { 'kms:EncryptionContext:attestor:tenant': 'acme' } };
    expect(policy.Statement).toEqual([
      { Sid: 'AccountAdministersKey', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'UnwrapTenantSecrets',
        Effect: 'Allow',
        Principal: { AWS: [SIGNER, VERIFIER] },
        Action: 'kms:Decrypt',
        Resource: '*',
        // Never a test secret: its context carries the purpose, which must be absent here.
        Condition: { ...forAcme, Null: { 'kms:EncryptionContext:attestor:purpose': 'true' } },
      },
      {
        Sid: 'AdminWrapsNewSecrets',
        Effect: 'Allow',
        Principal: { AWS: ADMIN },
        Action: 'kms:GenerateDataKeyWithoutPlaintext',
        Resource: '*',
        Condition: forAcme,
      },
      {
        Sid: 'AdminMintsTestTokens',
        Effect: 'Allow',
        Principal: { AWS: ADMIN },
        Action: ['kms:GenerateDataKeyWithoutPlaintext', 'kms:Decrypt'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:attestor:tenant': 'acme', 'kms:EncryptionContext:attestor:purpose': 'test-token' } },
      },
      { Sid: 'AdminDiscardsUnusedKey', Effect: 'Allow', Principal: { AWS: ADMIN }, Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
    ]);
    // The admin role unwraps test secrets only: its one Decrypt needs the test purpose, which no production secret's context has.
    const adminDecrypts = policy.Statement.filter((st) => [st.Action].flat().includes('kms:Decrypt') && [st.Principal.AWS].flat().includes(ADMIN));
    expect(adminDecrypts.map((st) => st.Sid)).toEqual(['AdminMintsTestTokens']);
  });

  test('refuses anything but role ARNs of the signer account', () => {
    expect(() => tenantKeyPolicy({ signerRoleArn: `arn:aws:iam::${ACCOUNT}:user/alice` })).toThrow(InvalidKeyPolicyRoleError);
    expect(() => tenantKeyPolicy({ signerRoleArn: SIGNER, verifierRoleArns: ['arn:aws:iam::999999999999:role/other'] })).toThrow(/not in the signer's account/);
    expect(() => tenantKeyPolicy({ signerRoleArn: SIGNER, adminRoleArn: '*' })).toThrow(InvalidKeyPolicyRoleError);
  });
});

describe('ADMIN_KEYS_CONFIG.fromEnv', () => {
  test('reads the roles from TENANT_KEY_SIGNER_ROLE_ARN, TENANT_KEY_VERIFIER_ROLE_ARNS and TENANT_KEY_ADMIN_ROLE_ARN', () => {
    const config = keyCreatorFromEnv({
      ...BASE_ENV,
      TENANT_KEY_SIGNER_ROLE_ARN: SIGNER,
      TENANT_KEY_VERIFIER_ROLE_ARNS: ` ${VERIFIER} ,`,
      TENANT_KEY_ADMIN_ROLE_ARN: ADMIN,
    });
    expect(config.tenantKeyPolicyRoles).toEqual({ signerRoleArn: SIGNER, verifierRoleArns: [VERIFIER], adminRoleArn: ADMIN });
  });

  test('no signer, no policy (the local cloud and older deployments)', () => {
    expect(keyCreatorFromEnv(BASE_ENV).tenantKeyPolicyRoles).toBeUndefined();
  });

  test('a bad or incomplete setting fails at cold start, naming the variable', () => {
    expect(() => keyCreatorFromEnv({ ...BASE_ENV, TENANT_KEY_VERIFIER_ROLE_ARNS: VERIFIER })).toThrow(ConfigurationError);
    expect(() => keyCreatorFromEnv({ ...BASE_ENV, TENANT_KEY_VERIFIER_ROLE_ARNS: VERIFIER })).toThrow(/TENANT_KEY_SIGNER_ROLE_ARN/);
    expect(() => keyCreatorFromEnv({ ...BASE_ENV, TENANT_KEY_SIGNER_ROLE_ARN: 'attest' })).toThrow(
      'TENANT_KEY_SIGNER_ROLE_ARN must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got "attest"',
    );
    const otherAccount = 'arn:aws:iam::999999999999:role/other';
    expect(() => keyCreatorFromEnv({ ...BASE_ENV, TENANT_KEY_SIGNER_ROLE_ARN: SIGNER, TENANT_KEY_VERIFIER_ROLE_ARNS: otherAccount })).toThrow(
      `TENANT_KEY_VERIFIER_ROLE_ARNS must be a role of the signer's account ${ACCOUNT}`,
    );
  });
});

describe('KmsTenantKeys with key policies, over the local KMS endpoint', () => {
  const roles = { signerRoleArn: SIGNER, verifierRoleArns: [VERIFIER], adminRoleArn: ADMIN };

  test("a tenant's first key is an hs256 secret under a secrets key created with its tenant's policy, and works", async () => {
    const { client, createKeyBodies } = recordingClient();
    await ensureDecoyKey(client, 'alias/attestor/decoy');
    createKeyBodies.length = 0;
    const keys = new KmsTenantKeyManager(
      client,
      new MemoryTenantKeyStore(),
      { decoyKeyId: 'alias/attestor/decoy', aliasPrefix: 'alias/attestor/tenant/', clock: new ManualClock(), keyPolicyRoles: roles },
    );

    await keys.ensureSigningKey('acme');

    expect(createKeyBodies).toHaveLength(1);
    expect(createKeyBodies[0]).toMatchObject({
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      Policy: tenantSecretKeyPolicy(roles, 'acme'),
      BypassPolicyLockoutSafetyCheck: true,
    });
    expect((await keys.keys('acme')).secrets).toHaveLength(1);
    client.destroy();
  });

  test('an es256 rotation creates its signing key with the signing-key policy; hs256 rotations create no key', async () => {
    const { client, createKeyBodies } = recordingClient();
    const clock = new ManualClock();
    const keys = new KmsTenantKeyManager(
      client,
      new MemoryTenantKeyStore(),
      { decoyKeyId: 'alias/attestor/decoy', aliasPrefix: 'alias/attestor/tenant/', clock, keyPolicyRoles: roles },
    );
    await keys.ensureSigningKey('rotating');
    await keys.rotateSigningKey('rotating');
    clock.advance(1);
    await keys.rotateSigningKey('rotating', 'es256');

    expect(createKeyBodies.map((b) => b['KeySpec'])).toEqual(['SYMMETRIC_DEFAULT', 'ECC_NIST_P256']);
    expect(createKeyBodies[1]).toMatchObject({ Policy: tenantKeyPolicy(roles), BypassPolicyLockoutSafetyCheck: true });
    client.destroy();
  });

  test('without roles, CreateKey carries no policy (KMS default policy; IAM decides)', async () => {
    const { client, createKeyBodies } = recordingClient();
    const keys = new KmsTenantKeyManager(
      client,
      new MemoryTenantKeyStore(),
      { decoyKeyId: 'alias/attestor/decoy', aliasPrefix: 'alias/attestor/tenant/', clock: new ManualClock() },
    );
    await keys.ensureSigningKey('no-policy');

    expect(createKeyBodies).toHaveLength(1);
    expect(createKeyBodies[0]).not.toHaveProperty('Policy');
    expect(createKeyBodies[0]).not.toHaveProperty('BypassPolicyLockoutSafetyCheck');
    client.destroy();
  });
});
