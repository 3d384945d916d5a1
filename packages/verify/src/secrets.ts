/**
 * hs256 secrets as a verifier outside AWS receives them: a JWK Set of `oct` keys, as
 * `attestor keys secret --json` prints it, kept in the customer's own secret store. Whoever holds
 * these can verify tokens, and could also mint them: treat the set as a credential (PROTOCOL.md §9).
 */
import { createSecretKey } from 'node:crypto';
import type { TokenSecret, VerificationKeys } from './core/ports';
import { TEST_KID_PATTERN } from '@attestor/contracts/test-tokens';

/**
 * One secret as a JWK (RFC 7517 §6.4). `activatesAt`, `retiresAt` and `status` are Attestor's;
 * a verifier stops trusting the secret at `retiresAt` (plus clock skew), so a set nobody updates
 * after a rotation does not keep a retired secret trusted.
 */
export interface SecretJwk {
  readonly kty: 'oct';
  readonly kid: string;
  /** base64url of the 32 secret bytes. */
  readonly k: string;
  readonly alg?: 'HS256';
  readonly use?: 'sig';
  readonly status?: string;
  readonly activatesAt?: number;
  readonly retiresAt?: number;
}

/** `{"keys": [...]}`, the secret signing now first. */
export interface TokenSecretSet {
  readonly keys: readonly SecretJwk[];
}

/** Which secrets a set must hold: an attestation's token secrets, or test-token secrets (`test-` kids). */
export type SecretSetPurpose = 'tokens' | 'test-tokens';

/** The secret set is not usable (not a JWK Set, or no usable secret in it). */
export class SecretSetError extends Error {
  override readonly name = 'SecretSetError';
}

/** Shorter secrets are refused: an HMAC key below the hash size weakens it (RFC 7518 §3.2). */
const MIN_SECRET_BYTES = 32;

/**
 * The hs256 secrets of a set, in its order. Entries that are not HS256 `oct` keys with a kid and at
 * least 32 bytes of key are skipped, as is every entry of a kid given twice (trusting either would
 * be a guess). A set without any usable secret is an error: a verifier holding none would deny
 * everything, which is better said at start. Test secrets are the exception when there are none at
 * all (`{"keys": []}`, a tenant that has minted no test token yet): the verifier then has no test
 * secret to try, and its production secrets still verify.
 */
export function parseSecretSet(set: unknown, purpose: SecretSetPurpose = 'tokens'): TokenSecret[] {
  const list = (set as { keys?: unknown } | null)?.keys;
  if (typeof set !== 'object' || set === null || !Array.isArray(list))
    throw new SecretSetError('secrets must be a JSON object with a "keys" array (attestor keys secret --json)');
  if (purpose === 'test-tokens' && list.length === 0) return [];
  const byKid = new Map<string, TokenSecret | null>();
  for (const entry of list as unknown[]) {
    const jwk = entry as Partial<SecretJwk> | null;
    if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'oct' || typeof jwk.kid !== 'string' || jwk.kid === '' || typeof jwk.k !== 'string') continue;
    if ((jwk.alg !== undefined && jwk.alg !== 'HS256') || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
    const bytes = Buffer.from(jwk.k, 'base64url');
    if (bytes.toString('base64url') !== jwk.k || bytes.length < MIN_SECRET_BYTES) continue;
    // The two sets look alike (`attestor keys secret` and `attestor token secret` print the same
    // shape): a test secret given as `secrets` would let whoever holds it (a CI system) mint tokens
    // this verifier takes for attestations', so a set of the wrong kind is refused, not skipped.
    if (TEST_KID_PATTERN.test(jwk.kid) !== (purpose === 'test-tokens')) {
      throw new SecretSetError(
        purpose === 'tokens'
          ? `secrets hold test secret ${jwk.kid}: give test secrets (attestor token secret) as testSecrets, never as secrets`
          : `testSecrets hold ${jwk.kid}, which is not a test secret: give only \`attestor token secret --json\` as testSecrets`,
      );
    }
    byKid.set(jwk.kid, byKid.has(jwk.kid) ? null : { kid: jwk.kid, key: createSecretKey(bytes) });
  }
  const secrets = [...byKid.values()].filter((s): s is TokenSecret => s !== null);
  if (secrets.length === 0) {
    const which = purpose === 'test-tokens' ? 'testSecrets' : 'secrets';
    throw new SecretSetError(`${which} hold no usable HS256 secret (oct keys with a kid and at least ${MIN_SECRET_BYTES} bytes)`);
  }
  return secrets;
}

/** The secrets of a set with the retirement times it states (by kid, for the secrets parseSecretSet keeps). */
export function secretSetVerificationKeys(set: unknown, purpose: SecretSetPurpose = 'tokens'): VerificationKeys {
  const secrets = parseSecretSet(set, purpose);
  const kept = new Set(secrets.map((s) => s.kid));
  const retiresAt = new Map<string, number>();
  for (const entry of (set as { keys: unknown[] }).keys) {
    const jwk = entry as Partial<SecretJwk> | null;
    if (typeof jwk?.kid === 'string' && kept.has(jwk.kid) && typeof jwk.retiresAt === 'number' && Number.isFinite(jwk.retiresAt))
      retiresAt.set(jwk.kid, jwk.retiresAt);
  }
  return { publicKeys: new Map(), secrets, ...(retiresAt.size > 0 ? { retiresAt } : {}) };
}

/** Verification keys from a secret set given as a value, or fetched by a function on every refresh. */
export function secretSetKeys(
  secrets: TokenSecretSet | (() => Promise<TokenSecretSet>),
  purpose: SecretSetPurpose = 'tokens',
): () => Promise<VerificationKeys> {
  if (typeof secrets === 'function') return async () => secretSetVerificationKeys(await secrets(), purpose);
  const parsed = secretSetVerificationKeys(secrets, purpose);
  return async () => parsed;
}
