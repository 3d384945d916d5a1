/**
 * A tenant's verification keys from the Attestor admin API, for verifiers that do not read the
 * registry themselves (an authorizer with KEY_SOURCE=remote, a backend using `@attestor/verify/aws`):
 * es256 public keys from GET /v1/admin/keys/jwks, and hs256 secrets from GET /v1/admin/keys/secrets,
 * which hands them out only wrapped. The verifier unwraps them with its own role (KMS Decrypt under
 * an encryption context naming the tenant), so what the API sends is useless to anyone else. A
 * verifier that accepts test tokens also reads GET /v1/admin/tokens/test/secrets, unwrapped under
 * the test secrets' own context: each route's secrets decrypt only as what that route serves.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { SECRET_CONTEXT_TENANT, secretEncryptionContext, type WrappedTokenSecret } from '@attestor/contracts/admin-api';
import { TEST_KID_PATTERN, testSecretEncryptionContext } from '@attestor/contracts/test-tokens';
import type { TokenSecret, VerificationKeys, VerificationKeySource } from '../core/ports';
import { fetchJson, JwksFetchError, jwksVerificationKeys, type FetchLike } from '../jwks';
import { unwrapSecret } from './unwrap-secret';

export interface RemoteKeySourceOptions {
  /** Base URL of the Attestor API, stage included (the ApiUrl output), e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod/`. */
  readonly apiUrl: string;
  /** The tenant the verifier accepts tokens of: a wrapped secret naming another is refused, not unwrapped. */
  readonly tenantId: string;
  /** A fetch that signs with SigV4 (the admin routes are IAM-authorized): sigV4Fetch. */
  readonly fetch: FetchLike;
  readonly kms: KMSClient;
  /**
   * Also fetch and unwrap the tenant's test secrets (PROTOCOL.md §5.7), for a verifier that accepts
   * test tokens; its role needs `read` on the admin API and kms:Decrypt under their context. @default false
   */
  readonly testSecrets?: boolean;
}

/**
 * KMS would not unwrap a secret (access denied, key disabled or pending deletion, throttled): the
 * message names the secret's kid, the KMS key and KMS's error name, so the log of a verifier that
 * denies says which key to look at; KMS's own error is the cause.
 */
export class SecretUnwrapError extends Error {
  override readonly name = 'SecretUnwrapError';
  constructor(kid: string, keyId: string, cause: unknown) {
    const kmsError = (cause as { name?: unknown } | null)?.name;
    super(`KMS Decrypt of secret ${kid} with key ${keyId} failed: ${typeof kmsError === 'string' ? kmsError : 'error'}`, { cause });
  }
}

export class RemoteKeySource implements VerificationKeySource {
  private readonly base: string;

  constructor(private readonly options: RemoteKeySourceOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
  }

  /** Every call unwraps the secrets anew (no cache here: the KeyRing calling this is the cache), with their retirement times. */
  async keys(): Promise<VerificationKeys> {
    const fetchOptions = { fetch: this.options.fetch };
    const [wrapped, jwks, testEntries] = await Promise.all([
      fetchJson(`${this.base}/v1/admin/keys/secrets`, 'secrets', fetchOptions),
      fetchJson(`${this.base}/v1/admin/keys/jwks`, 'JWKS', fetchOptions),
      this.options.testSecrets === true ? this.wrappedTestSecrets() : undefined,
    ]);
    const entries = wrappedSecrets(wrapped, this.options.tenantId);
    const [secrets, testSecrets] = await Promise.all([this.unwrapAll(entries), testEntries && this.unwrapAll(testEntries)]);
    const { publicKeys, retiresAt: publicRetirements } = jwksVerificationKeys(jwks);
    const retiresAt = new Map([
      ...(publicRetirements ?? []),
      ...entries.flatMap((w): Array<[string, number]> => (typeof w.retiresAt === 'number' ? [[w.kid, w.retiresAt]] : [])),
    ]);
    return { publicKeys, secrets, ...(testSecrets ? { testSecrets } : {}), ...(retiresAt.size > 0 ? { retiresAt } : {}) };
  }

  /** The tenant's test secrets alone (`attestorTestSecrets`), unwrapped anew. */
  async testKeys(): Promise<TokenSecret[]> {
    return this.unwrapAll(await this.wrappedTestSecrets());
  }

  private async wrappedTestSecrets(): Promise<WrappedTokenSecret[]> {
    const body = await fetchJson(`${this.base}/v1/admin/tokens/test/secrets`, 'test secrets', { fetch: this.options.fetch });
    return wrappedSecrets(body, this.options.tenantId, 'test');
  }

  private unwrapAll(entries: readonly WrappedTokenSecret[]): Promise<TokenSecret[]> {
    return Promise.all(
      entries.map(async (w): Promise<TokenSecret> => {
        try {
          return { kid: w.kid, key: await unwrapSecret(this.options.kms, w.keyId, Buffer.from(w.ciphertext, 'base64'), w.encryptionContext) };
        } catch (error) {
          throw new SecretUnwrapError(w.kid, w.keyId, error);
        }
      }),
    );
  }
}

/**
 * The wrapped secrets of a /v1/admin/keys/secrets answer (`token`), or of a
 * /v1/admin/tokens/test/secrets answer (`test`); a malformed or foreign entry fails the whole fetch.
 */
export function wrappedSecrets(body: unknown, tenantId: string, kind: 'token' | 'test' = 'token'): WrappedTokenSecret[] {
  const what = kind === 'test' ? 'test secrets' : 'secrets';
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new JwksFetchError(`${what}: the answer has no "keys" array`);
  return keys.map((entry: unknown) => {
    const w = entry as Partial<WrappedTokenSecret> | null;
    const context = w?.encryptionContext;
    if (typeof w?.kid !== 'string' || typeof w.ciphertext !== 'string' || typeof w.keyId !== 'string' || typeof context !== 'object' || context === null) {
      throw new JwksFetchError(`${what}: an entry lacks kid, ciphertext, keyId or encryptionContext`);
    }
    if (context[SECRET_CONTEXT_TENANT] !== tenantId) throw new JwksFetchError(`${what}: an entry belongs to another tenant than ${tenantId}`);
    // Unwrapped with the context computed here, not the one the answer carries: a server that sent
    // another context (a test secret's, which the admin function may unwrap, on the production route;
    // a production secret's on the test route) would otherwise get a secret trusted as what it is not.
    const expected = kind === 'test' ? testSecretEncryptionContext(tenantId, w.kid) : secretEncryptionContext(tenantId, w.kid);
    const sent = Object.entries(context as Record<string, unknown>);
    const kidFits = kind === 'test' ? TEST_KID_PATTERN.test(w.kid) : !TEST_KID_PATTERN.test(w.kid);
    if (!kidFits || sent.length !== Object.keys(expected).length || sent.some(([k, v]) => expected[k] !== v)) {
      const as = kind === 'test' ? 'a test secret' : 'a token secret';
      throw new JwksFetchError(`${what}: the entry for kid ${w.kid} is not wrapped as ${as} of tenant ${tenantId}`);
    }
    return { ...(w as WrappedTokenSecret), encryptionContext: expected };
  });
}
