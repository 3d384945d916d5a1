/**
 * Test tokens (PROTOCOL.md §5.7): tokens an administrator mints for a backend's CI, without an app
 * or a device, signed by the tenant's *test* secret. Only verifiers configured to accept test tokens
 * hold that secret, and every other verifier refuses a test token by its header alone, before any
 * key is looked at. No imports beyond the protocol's: the verifier and the authorizer read this.
 */
import { DEFAULT_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS } from './protocol';

/**
 * The `typ` of a test token's header. Not `JWT`: a verifier that predates test tokens refuses the
 * header as malformed (PROTOCOL.md §6 step 3), so no verifier, old or new, can mistake one for an
 * attestation's token.
 */
export const TEST_TOKEN_TYPE = 'attestor-test+jwt';
/** Every test secret's kid starts with this, so test keys have a kid namespace of their own. */
export const TEST_KID_PREFIX = 'test-';
/** A test kid: the prefix and 16 random bytes in base64url. */
export const TEST_KID_PATTERN = /^test-[A-Za-z0-9_-]{22}$/;

/** Lifetime of a test token: the bounds of every token's (PROTOCOL.md §5.2), 300 s unless asked. */
export const DEFAULT_TEST_TOKEN_TTL_SECONDS = DEFAULT_TOKEN_TTL_SECONDS;
export const MIN_TEST_TOKEN_TTL_SECONDS = MIN_TOKEN_TTL_SECONDS;
export const MAX_TEST_TOKEN_TTL_SECONDS = MAX_TOKEN_TTL_SECONDS;

/** `ver` of a test token when the administrator names none. */
export const DEFAULT_TEST_TOKEN_VERSION = 'test';

/** Claims an administrator may set on a test token; the service sets every other claim. */
export const TEST_TOKEN_SETTABLE_CLAIMS = ['ver', 'did', 'hw', 'pay', 'lut'] as const;
export type TestTokenSettableClaim = (typeof TEST_TOKEN_SETTABLE_CLAIMS)[number];

/**
 * The encryption-context member that tells a test secret from a production one. A production
 * secret's context is exactly {tenant, secret} (admin-api.ts secretEncryptionContext), and the roles
 * that unwrap production secrets may use no other context, so they cannot unwrap a test secret; the
 * role that mints test tokens may unwrap only under this member, so it cannot unwrap a production one.
 */
export const SECRET_CONTEXT_PURPOSE = 'attestor:purpose';
export const TEST_SECRET_PURPOSE = 'test-token';

/** The KMS encryption context of a tenant's test secret. */
export function testSecretEncryptionContext(tenantId: string, kid: string): Record<string, string> {
  return { 'attestor:tenant': tenantId, 'attestor:secret': kid, [SECRET_CONTEXT_PURPOSE]: TEST_SECRET_PURPOSE };
}

/** The header of a test token signed by `kid`, as JSON (members in this order). */
export function testTokenHeader(kid: string): { readonly alg: 'HS256'; readonly typ: typeof TEST_TOKEN_TYPE; readonly kid: string } {
  return { alg: 'HS256', typ: TEST_TOKEN_TYPE, kid };
}

/** What POST /v1/admin/tokens/test answers (docs/ADMIN_API.md §8.1). */
export interface TestTokenMint {
  readonly token: string;
  readonly expiresAt: number;
  readonly appId: string;
  readonly ttlSeconds: number;
  /** The test key that signed it. */
  readonly kid: string;
  readonly jti: string;
  /** The claims the administrator set (names only in the audit record). */
  readonly claims: Readonly<Partial<Record<TestTokenSettableClaim, string | true>>>;
}

/**
 * What POST /v1/admin/tokens/test/rotate answers (docs/ADMIN_API.md §8.2): the new test secret, which
 * signs every test token from now on, and the test secrets retired with it, which no verifier that
 * reads the service trusts once it has refreshed its keys (§8.2 says when). Test tokens signed by those stop
 * verifying there: rotation is what to do when a test secret may have leaked.
 */
export interface TestSecretRotation {
  readonly kid: string;
  readonly createdAt: number;
  readonly retired: readonly string[];
}

/** One mint as the audit log keeps it (GET /v1/admin/log?kind=test-tokens): never the token. */
export interface TestTokenAuditEntry {
  readonly time: number;
  readonly tenantId: string;
  /** Who minted it: the caller's IAM principal (ARN), as the admin API resolved it. */
  readonly principal: string;
  readonly appId: string;
  readonly ttlSeconds: number;
  readonly expiresAt: number;
  readonly kid: string;
  readonly jti: string;
  /** Names of the claims the administrator set. */
  readonly claimNames: readonly string[];
}
