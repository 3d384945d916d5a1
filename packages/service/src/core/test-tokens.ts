/**
 * Test tokens (PROTOCOL.md §5.7): an administrator mints a token for a backend's CI, for one of its
 * tenant's apps, signed with the tenant's test secret. That secret is the tenant's alone, random and
 * separate from every production secret, so holding it mints nothing a production verifier accepts;
 * and every test token says what it is twice (header typ, `test` claim), so a verifier that does not
 * accept test tokens refuses one before it looks at a key.
 *
 * Each mint is audited before the token is handed out: a mint whose record cannot be written fails.
 */
import type { KeyObject } from 'node:crypto';
import { encodeB64u } from '@attestor/contracts/base64url';
import {
  DEFAULT_TEST_TOKEN_TTL_SECONDS,
  DEFAULT_TEST_TOKEN_VERSION,
  testTokenHeader,
  type TestTokenAuditEntry,
  type TestSecretRotation,
  type TestTokenMint,
  type TestTokenSettableClaim,
} from '@attestor/contracts/test-tokens';
import type { MintTestTokenRequest } from '@attestor/contracts/test-token-validation';
import type { TokenClaims } from '@attestor/contracts/protocol';
import { NotFoundError } from './errors';
import type { AppStore, Clock, LogPage, RandomSource } from './ports';
import type { WrappedTokenSecret } from '@attestor/contracts/admin-api';
import type { AdminCaller } from './tenancy';
import { ownedApp } from './admin/ownership';
import { encodeClaims, encodeJson, hs256Signature } from './token';

/** A tenant's test secret in memory: only the minting function and verifiers that accept test tokens unwrap it. */
export interface TestSigningSecret {
  readonly kid: string;
  readonly secret: KeyObject;
}

/** The tenant's test secrets (adapters/kms-test-token-keys.ts). */
export interface TestTokenKeys {
  /** The secret that signs the tenant's test tokens, made (and wrapped) on the tenant's first mint. */
  testSigningSecret(tenantId: string): Promise<TestSigningSecret>;
  /** Every test secret of the tenant, wrapped (GET /v1/admin/tokens/test/secrets): unwrapped only by a caller allowed the test context. */
  wrappedTestSecrets(tenantId: string): Promise<{ readonly keys: readonly WrappedTokenSecret[] }>;
  /** A new test secret, and the tenant's others retired (POST /v1/admin/tokens/test/rotate). */
  rotateTestSecret(tenantId: string): Promise<TestSecretRotation>;
}

/** Where mints are recorded (adapters/dynamodb-test-token-audit.ts); read back by GET /v1/admin/log?kind=test-tokens. */
export interface TestTokenAudit {
  recordTestTokenMint(entry: TestTokenAuditEntry): Promise<void>;
}

/** Reading the audit record back, newest first (the tenant's own mints only). */
export interface TestTokenLog {
  queryTestTokenMints(query: {
    readonly tenantId: string;
    readonly limit: number;
    readonly since?: number;
    readonly cursor?: string;
  }): Promise<LogPage<TestTokenAuditEntry>>;
}

/** What minting needs beyond the admin API's common parts: absent, the function mints no test tokens. */
export interface TestTokenSetup {
  readonly keys: TestTokenKeys;
  /** Absent in a deployment without an attestation log: minting is then refused, as it could not be audited. */
  readonly audit?: TestTokenAudit;
  /** The deployment's issuer, so a test token exercises the backend's issuer check like a real one. */
  readonly issuer: string;
}

export interface MintTestTokenDeps {
  readonly testTokens?: TestTokenSetup;
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly clock: Clock;
  readonly random: RandomSource;
}

/** A complete test token: the attestation token's claims plus `test: true`, under a header naming the test key. */
export function testToken(secret: TestSigningSecret, claims: TokenClaims): string {
  const input = `${encodeJson(testTokenHeader(secret.kid))}.${encodeClaims({ ...claims, test: true })}`;
  return `${input}.${encodeB64u(hs256Signature(secret.secret, input))}`;
}

/**
 * Mints a test token for one of the caller's apps (NotFoundError for any other, as everywhere in the
 * admin API). Claims the caller does not set get values no attestation has: `ver` "test" and a
 * random `did` (so per-install limits see each test token as its own install).
 */
export async function mintTestToken(deps: MintTestTokenDeps, caller: AdminCaller, request: MintTestTokenRequest): Promise<TestTokenMint> {
  const setup = deps.testTokens;
  if (!setup) throw new NotFoundError('this deployment mints no test tokens');
  const audit = setup.audit;
  if (!audit) throw new NotFoundError('this deployment keeps no attestation log, so test tokens cannot be audited and are not minted');
  const app = await ownedApp(deps.apps, caller, request.appId);
  const set = request.claims ?? {};
  const ttlSeconds = request.ttlSeconds ?? DEFAULT_TEST_TOKEN_TTL_SECONDS;
  const iat = deps.clock.nowSeconds();
  const jti = encodeB64u(deps.random.bytes(16));
  const did = set.did ?? encodeB64u(deps.random.bytes(32));
  const claims: TokenClaims = {
    iss: setup.issuer,
    sub: app.appId,
    iat,
    exp: iat + ttlSeconds,
    jti,
    ver: set.ver ?? DEFAULT_TEST_TOKEN_VERSION,
    did,
    ...(set.hw !== undefined ? { hw: set.hw } : {}),
    cnf: { jkt: did },
    ...(set.pay !== undefined ? { pay: set.pay } : {}),
    ...(set.lut === true ? { lut: true as const } : {}),
  };
  const secret = await setup.keys.testSigningSecret(caller.tenantId);
  const claimNames = Object.keys(set).filter((name) => set[name as TestTokenSettableClaim] !== undefined);
  // Recorded before the token exists outside this function: no audit record, no token.
  await audit.recordTestTokenMint({
    time: iat,
    tenantId: caller.tenantId,
    principal: caller.principal,
    appId: app.appId,
    ttlSeconds,
    expiresAt: claims.exp,
    kid: secret.kid,
    jti,
    claimNames,
  });
  return { token: testToken(secret, claims), expiresAt: claims.exp, appId: app.appId, ttlSeconds, kid: secret.kid, jti, claims: { ...set } };
}
