/**
 * The attestation protocol's constants and wire types (PROTOCOL.md), in one module that the SDK, the
 * verifier and the service all use, so none of them can drift from the others. No imports: the SDK
 * bundles this file into a package with no dependencies, and it must run wherever the SDK runs.
 * Changing a value here is a protocol change; the known-answer vectors (test/vectors) pin them.
 */

/** The version PROTOCOL.md describes. Version 2 changed the token format (hs256 by default, §9). */
export const PROTOCOL_VERSION = 2;

// ---------- Challenge and attest (PROTOCOL.md §2–§5) ----------

/** Where an app asks for a nonce, and where it presents its attestation. */
export const CHALLENGE_PATH = '/v1/challenge';
export const ATTEST_PATH = '/v1/attest';

/**
 * Length in bytes of a challenge nonce.
 * @example
 * ```ts
 * decodeB64u(challenge.nonce)?.length === NONCE_BYTES;
 * ```
 */
export const NONCE_BYTES = 32;
/** A nonce is accepted for this long after it was issued. */
export const NONCE_TTL_SECONDS = 60;

/**
 * Domain-separation label of the measurement message: label 0x00 appId 0x00 appVersion 0x00 SHA-256(package).
 * @example
 * ```ts
 * MEASUREMENT_LABEL; // 'attestor-measurement-v1'
 * ```
 */
export const MEASUREMENT_LABEL = 'attestor-measurement-v1';
/**
 * Domain-separation label of the install-proof message: label 0x00 nonce measurement.
 * @example
 * ```ts
 * INSTALL_PROOF_LABEL; // 'attestor-install-v1'
 * ```
 */
export const INSTALL_PROOF_LABEL = 'attestor-install-v1';
/** The byte between the fields of the measurement and install-proof messages. */
export const MESSAGE_SEPARATOR = 0x00;
/** Lengths in bytes: an HMAC-SHA256 measurement, and an ES256 install proof as IEEE P1363 r||s. */
export const MEASUREMENT_BYTES = 32;
export const INSTALL_PROOF_BYTES = 64;
/**
 * The order n of P-256's base point. Every ES256 signature of the protocol (install proofs, proofs
 * of possession, es256 tokens) has s ≤ n/2: (r, n − s) verifies whenever (r, s) does, so without the
 * rule each signature has a second, different encoding that a replay ledger or a cache keyed by the
 * bytes would take for a new one (PROTOCOL.md §4.4). Signers normalise; verifiers refuse high s.
 */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Reverse-DNS style: at least two dot-separated labels, e.g. com.example.app. */
export const APP_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;
export const MAX_APP_ID_CHARS = 255;
/** Versions end up in S3 keys and DynamoDB keys, so only characters that need no escaping anywhere. */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
export const MAX_VERSION_CHARS = 64;
/** An SDK version (attest's sdkVersion, a policy's minimum): SemVer-like, 1 to 4 numbers, prerelease and build optional. */
export const SDK_VERSION_PATTERN = /^\d+(\.\d+){0,3}(-[A-Za-z0-9.-]+)?(\+[A-Za-z0-9.-]+)?$/;
/**
 * `device.platform`, `device.osVersion` and `device.model`: printable ASCII (space to `~`), possibly
 * empty. They come from unauthenticated clients and are shown to operators (`attestor log`), so no
 * control character, escape sequence, bidi override or look-alike letter may reach a terminal; every
 * real platform, OS version and model string is ASCII already (the SDK replaces anything else by `?`).
 */
export const DEVICE_TEXT_PATTERN = /^[\x20-\x7e]*$/;
/** Longest `device` members, in characters. */
export const MAX_DEVICE_TEXT_CHARS = { platform: 32, osVersion: 64, model: 128 } as const;

/**
 * The public half of an install key as sent in `installKey`: an EC P-256 JWK with exactly these members.
 * @example
 * ```ts
 * const jwk: InstallPublicJwk = { kty: 'EC', crv: 'P-256', x: '…43 chars…', y: '…43 chars…' };
 * ```
 */
export interface InstallPublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/**
 * Largest request body the service reads, in UTF-8 bytes; a larger one is answered 413 (PROTOCOL.md §2.1).
 * @example
 * ```ts
 * if (utf8(JSON.stringify(body)).length > MAX_REQUEST_BODY_BYTES) throw new Error('too large to send');
 * ```
 */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024;

// ---------- Hardware evidence (PROTOCOL.md §5.5, version 2.1) ----------

/**
 * Domain-separation label of the hardware challenges: the Android attestation challenge is
 * SHA-256(label 0x00 nonce), the App Attest clientDataHash SHA-256(label 0x00 nonce thumbprint).
 * @example
 * ```ts
 * HARDWARE_LABEL; // 'attestor-hardware-v1'
 * ```
 */
export const HARDWARE_LABEL = 'attestor-hardware-v1';

/**
 * The platforms whose hardware evidence the protocol carries: Apple App Attest and Android key attestation.
 * @example
 * ```ts
 * const platform: HardwarePlatform = Platform.OS === 'ios' ? 'ios' : 'android';
 * ```
 */
export type HardwarePlatform = 'ios' | 'android';

/**
 * The `hw` claim: which hardware evidence a token rests on.
 * @example
 * ```ts
 * if (claims.hw !== 'app-attest' && claims.hw !== 'android-key') deny('hardware required');
 * ```
 */
export type HardwareKind = 'app-attest' | 'android-key';
/** The kind of evidence each platform sends. */
export const HARDWARE_KINDS: Readonly<Record<HardwarePlatform, HardwareKind>> = { ios: 'app-attest', android: 'android-key' };

/** Length in bytes of an App Attest key id (SHA-256 of the key's public point). */
export const APP_ATTEST_KEY_ID_BYTES = 32;
/**
 * Largest App Attest attestation and assertion objects (CBOR, decoded) a request may carry. Real
 * attestations are about 5.3 KB (two certificates and a receipt); base64url makes 8 KiB about
 * 10.9 KiB, which leaves room for the rest of a request within MAX_REQUEST_BODY_BYTES.
 */
export const MAX_APP_ATTEST_ATTESTATION_BYTES = 8 * 1024;
export const MAX_APP_ATTEST_ASSERTION_BYTES = 1024;
/**
 * An Android key attestation chain: this many DER certificates, leaf first, each at most
 * MAX_ANDROID_CERTIFICATE_BYTES and all together at most MAX_ANDROID_CHAIN_BYTES (real chains: 3 to
 * 5 certificates, at most 5.3 KB together, the largest an ML-DSA certificate of 2.6 KB).
 */
export const MIN_ANDROID_CHAIN_CERTIFICATES = 2;
export const MAX_ANDROID_CHAIN_CERTIFICATES = 8;
export const MAX_ANDROID_CERTIFICATE_BYTES = 4 * 1024;
export const MAX_ANDROID_CHAIN_BYTES = 8 * 1024;
/**
 * A client makes a new hardware key once its key is older than this many days, so that the service's
 * device record (kept `rememberDays`, default 30) never expires under a key still in use.
 * @example
 * ```ts
 * const rotateAfterMs = DEFAULT_HARDWARE_KEY_MAX_AGE_DAYS * 24 * 60 * 60 * 1000;
 * ```
 */
export const DEFAULT_HARDWARE_KEY_MAX_AGE_DAYS = 7;

/**
 * The `hardware` member of an attest request (binary values base64url): an App Attest key's
 * attestation (its first attestation) or assertion (later ones); an Android key's certificate chain
 * (the attestation whose nonce the key was made for) or nothing but the platform (later ones).
 * @example
 * ```ts
 * const first: HardwareEvidence = { platform: 'android', chain: [leaf, intermediate, root] };
 * const later: HardwareEvidence = { platform: 'android' };
 * ```
 */
export type HardwareEvidence =
  | { readonly platform: 'ios'; readonly keyId: string; readonly attestation: string }
  | { readonly platform: 'ios'; readonly keyId: string; readonly assertion: string }
  | { readonly platform: 'android'; readonly chain?: readonly string[] };

// ---------- Tokens (PROTOCOL.md §5.2) ----------

/**
 * The header that carries attestation tokens to protected APIs.
 * @example
 * ```ts
 * await fetch(url, { headers: { [TOKEN_HEADER_NAME]: await client.getToken() } });
 * ```
 */
export const TOKEN_HEADER_NAME = 'Attestor-Token';

/** A token's lifetime is the deployment's (not an app's: §5.3): this by default, and within these bounds. */
export const DEFAULT_TOKEN_TTL_SECONDS = 300;
export const MIN_TOKEN_TTL_SECONDS = 60;
export const MAX_TOKEN_TTL_SECONDS = 3600;
/** Tokens larger than this are refused before any parsing. */
export const MAX_TOKEN_BYTES = 4096;
/** Clock skew verifiers tolerate on iat, exp and nbf. */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * hs256 (the default): HMAC-SHA256 under the tenant's secret, which only its verifiers hold, so a
 * client cannot tell a pass from a decoy. es256 (per-tenant opt-in): ECDSA P-256 under a KMS key,
 * checkable by anyone with the JWKS, the client included.
 */
export type TokenFormat = 'hs256' | 'es256';
export const TOKEN_FORMATS: readonly TokenFormat[] = ['hs256', 'es256'];
/** What a tenant signs with until it chooses otherwise. */
export const DEFAULT_TOKEN_FORMAT: TokenFormat = 'hs256';
/** JWS `alg` of each format. */
export const TOKEN_ALGORITHMS = { hs256: 'HS256', es256: 'ES256' } as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[TokenFormat];
/** Signature length in bytes: HMAC-SHA256, and ECDSA P-256 as IEEE P1363 r||s. */
export const SIGNATURE_BYTES: Readonly<Record<TokenAlgorithm, number>> = { HS256: 32, ES256: 64 };
/**
 * BASE64URL('{"alg":"HS256","typ":"JWT"}'): the header of every hs256 token, the same for every
 * tenant, key and verdict. (A literal, since this module imports nothing; a test checks it.)
 */
export const HS256_HEADER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9';

/**
 * Claims of an attestation token. Member order is fixed so that pass and decoy tokens have the same
 * size. No claim depends on the verdict, on the app's tenant (hs256) or on the app's policy.
 */
export interface TokenClaims {
  readonly iss: string;
  /** appId */
  readonly sub: string;
  /**
   * es256 only: the tenant id, which tells a verifier which JWKS applies. hs256 tokens have none:
   * the secret that verifies them already names the tenant, and an audience would tell an
   * unregistered app id from a registered one (PROTOCOL.md §9).
   */
  readonly aud?: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** appVersion */
  readonly ver: string;
  /** RFC 7638 thumbprint of the install key */
  readonly did: string;
  /**
   * The hardware evidence the request carried (§5.5), pass or decoy alike: it depends on the
   * request, never on the verdict. In a token that verifies, it means the service verified that evidence.
   */
  readonly hw?: HardwareKind;
  readonly cnf: { readonly jkt: string };
  /** b64u(SHA-256(binding value)), when the attest request carried a binding */
  readonly pay?: string;
  /** single-use token, when the attest request asked for limitedUse */
  readonly lut?: true;
  /** A test token an administrator minted (§5.7; @attestor/contracts/test-tokens); never in an attestation's token. */
  readonly test?: true;
}

// ---------- Keys (PROTOCOL.md §6) ----------

/**
 * How long key material may be used after KMS last vouched for it: an unwrapped hs256 secret is
 * kept at most this long after its Decrypt, and a verifier stops trusting keys this long after its
 * last successful load (core/verifier.ts KeyRing). So revoking a role's kms:Decrypt, or disabling a
 * tenant's secrets key, stops verification within this time.
 */
export const SECRET_CACHE_SECONDS = 300;

// ---------- Proof of possession (docs/ENFORCEMENT.md) ----------

/**
 * The header that carries a request's proof of possession.
 * @example
 * ```ts
 * headers.set(PROOF_HEADER_NAME, await createRequestProof(key, { method: 'POST', url, token, nowSeconds }));
 * ```
 */
export const PROOF_HEADER_NAME = 'Attestor-Proof';
/**
 * `typ` of a proof; a token (typ JWT) can never pass as a proof, nor a proof as a token.
 * @example
 * ```ts
 * JSON.parse(atob(proof.split('.')[0])).typ === PROOF_TYPE;
 * ```
 */
export const PROOF_TYPE = 'attestor-proof+jwt';
/** A proof is accepted while |now − iat| is at most this. */
export const PROOF_MAX_AGE_SECONDS = CLOCK_SKEW_SECONDS;
/** Longest proof and proof jti a verifier reads. */
export const MAX_PROOF_CHARS = MAX_TOKEN_BYTES;
export const MAX_PROOF_JTI_CHARS = 64;
