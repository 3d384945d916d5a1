/**
 * Local verification of attestation tokens: the part every request to a protected API pays for,
 * so it is synchronous, allocation-light and never touches the network. Key material arrives
 * from a key set the caller keeps warm.
 *
 * The signature check dominates (an HMAC of a few hundred bytes for hs256, about 4 µs; an ES256
 * verify, about 80 µs); everything else is kept to a few µs so that a token seen for the first time
 * costs little more than the bare check: headers (equal for every hs256 token, and for every es256
 * token of one key) are parsed once and remembered; an HMAC's base64url text is checked with a table
 * lookup per character, and other base64url by decoding and re-encoding.
 */
import type { KeyObject } from 'node:crypto';
import { hmacSha256Text } from './hmac';
import { b64uLength, decodeB64u } from '@attestor/contracts/base64url';
import { es256Verifies } from './es256';
import type { VerificationKeys } from './ports';
import { CLOCK_SKEW_SECONDS, MAX_TOKEN_BYTES } from '@attestor/contracts/protocol';
import { HS256_HEADER, SIGNATURE_BYTES, type TokenAlgorithm, type TokenClaims } from '@attestor/contracts/protocol';
import { TEST_KID_PATTERN, TEST_TOKEN_TYPE } from '@attestor/contracts/test-tokens';

const HS256_SIGNATURE_CHARS = b64uLength(SIGNATURE_BYTES.HS256);
const HS256_PARSED: ParsedHeader = { alg: 'HS256', kid: undefined, test: false };

/** Why a token (or the request carrying it) is not let in. Stable: callers branch on it, logs and metrics count it. */
export type VerifyErrorCode =
  | 'missing'
  | 'malformed'
  | 'test_token'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'unknown_kid'
  | 'hardware_missing'
  | 'binding_mismatch'
  | 'replayed'
  | 'proof_invalid';

/** Every code, in the order of the checks; for metrics dashboards and exhaustive tests. */
export const VERIFY_ERROR_CODES: readonly VerifyErrorCode[] = [
  'missing',
  'malformed',
  'test_token',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'wrong_audience',
  'wrong_issuer',
  'unknown_kid',
  'hardware_missing',
  'binding_mismatch',
  'replayed',
  'proof_invalid',
];

/** A token that must not be let in. `code` is stable: callers branch on it, logs and metrics count it. */
export class TokenVerificationError extends Error {
  override readonly name = 'TokenVerificationError';
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a token must match besides its signature. */
export interface VerifyOptions {
  readonly issuer: string;
  /**
   * Accepted `aud` values of es256 tokens: the tenant id(s) this API belongs to. hs256 tokens carry
   * no audience: the secret that verified them belongs to the tenant. Absent: es256 tokens are refused.
   */
  readonly audience?: string | readonly string[];
  readonly nowSeconds: number;
  /** @default 60 */
  readonly clockSkewSeconds?: number;
  /** Let test tokens (PROTOCOL.md §5.7) in; anywhere else they are refused as test_token. @default false */
  readonly acceptTestTokens?: boolean;
}

/** A token split and type-checked, not yet verified. */
export interface DecodedToken {
  readonly alg: TokenAlgorithm;
  /** es256: the signing key's kid; a test token: its test secret's. Other hs256 tokens name no key. */
  readonly kid: string | undefined;
  /** A test token (its header's typ): checked only against test secrets, and only where they are accepted. */
  readonly test: boolean;
  /** The first two segments: ASCII, so string and bytes coincide. */
  readonly signingInput: string;
  /** 64 bytes (ES256, r||s) or 32 (HS256). */
  readonly signature: Buffer;
  /** The third segment as the token carries it: an HS256 MAC is compared as this text. */
  readonly signatureSegment: string;
  readonly claims: TokenClaims;
}

const fail = (code: VerifyErrorCode, message: string): never => {
  throw new TokenVerificationError(code, message);
};

function parseJson(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeB64u(segment);
  if (!bytes) return fail('malformed', `${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return fail('malformed', `${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('malformed', `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

interface ParsedHeader {
  readonly alg: TokenAlgorithm;
  readonly kid: string | undefined;
  readonly test: boolean;
}

/**
 * Recently seen valid header segments. Every hs256 token has the same header and every es256 token
 * of one key too, so this almost always hits. Only a successful parse is remembered, so a bad header
 * is judged every time.
 */
const headers = new Map<string, ParsedHeader>();
const HEADER_CACHE_SIZE = 64;

function headerOf(segment: string): ParsedHeader {
  const known = headers.get(segment);
  if (known !== undefined) return known;
  const header = parseJson(segment, 'header');
  const alg = header['alg'];
  if (alg !== 'HS256' && alg !== 'ES256') return fail('malformed', 'alg must be HS256 or ES256');
  const test = header['typ'] === TEST_TOKEN_TYPE;
  if (header['typ'] !== undefined && header['typ'] !== 'JWT' && !test) fail('malformed', 'typ must be JWT');
  if (header['crit'] !== undefined) fail('malformed', 'crit is not supported');
  const kid = header['kid'];
  // A test token names its test secret, so a verifier never tries a production secret on it.
  if (test && (alg !== 'HS256' || typeof kid !== 'string' || !TEST_KID_PATTERN.test(kid))) {
    return fail('malformed', 'a test token must be HS256 with a test kid');
  }
  // hs256 tokens name no key (a kid would tell tenants apart); es256 needs one to pick the public key.
  if (alg === 'ES256' && (typeof kid !== 'string' || kid === '')) return fail('malformed', 'kid is missing');
  const parsed: ParsedHeader = { alg, kid: alg === 'ES256' || test ? (kid as string) : undefined, test };
  // A flood of distinct headers only ever costs the parse it would have cost anyway.
  if (headers.size >= HEADER_CACHE_SIZE) headers.clear();
  headers.set(segment, parsed);
  return parsed;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Whether the token's text from `from` on is the base64url text of 32 bytes, strictly: 43
 * characters of the base64url alphabet, the last one leaving the two spare bits zero, so exactly
 * one text stands for a MAC. Node's decoder also takes '+' and '/' (and stops at '='), which would
 * give one MAC several texts. A table lookup per character refuses them without allocating, on the
 * path every request takes; the MAC itself is then compared as text (macVerifies), never decoded.
 */
function isMacText(token: string, from: number): boolean {
  const last = token.length - 1;
  if (last - from !== HS256_SIGNATURE_CHARS - 1) return false;
  for (let i = from; i < last; i++) if (B64U_DIGIT[token.charCodeAt(i)] !== 1) return false;
  return B64U_LAST_MAC_DIGIT[token.charCodeAt(last)] === 1;
}
const digitTable = (digits: string): Uint8Array => {
  const table = new Uint8Array(128);
  for (const digit of digits) table[digit.charCodeAt(0)] = 1;
  return table;
};
/** 1 at the char codes of the base64url alphabet (an index past 127 reads undefined: refused). */
const B64U_DIGIT = digitTable('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
/** The digits whose value has its low two bits clear: the only ones that may end a 32-byte MAC's text. */
const B64U_LAST_MAC_DIGIT = digitTable('AEIMQUYcgkosw048');

/** Large enough for any claims segment a token within MAX_TOKEN_BYTES can carry. */
const scratch = Buffer.allocUnsafe(MAX_TOKEN_BYTES);

/**
 * A compact JWS split, its header checked; claims not parsed yet. An es256 signature is decoded
 * (ECDSA verification takes bytes); an hs256 MAC stays text, which is how it is compared.
 */
export interface SplitToken extends Omit<DecodedToken, 'claims' | 'signature'> {
  readonly signature: Buffer | undefined;
  readonly claimsSegment: string;
}

/**
 * Splits a compact JWS and checks its header and signature encoding, without verifying it. Only
 * HS256 and ES256 are accepted, so `none` and RSA die here; which of the two a verifier honours
 * depends on the keys it holds (an HS256 token is checked against hs256 secrets only, never with a
 * public key as the HMAC key). Header members that name other keys (jku, x5u, x5c, jwk) are
 * ignored: keys come only from the verifier's own key source.
 */
export function splitToken(token: string | undefined): SplitToken {
  if (token === undefined || token === '') return fail('missing', 'no token');
  if (token.length > MAX_TOKEN_BYTES) fail('malformed', 'token is too large');
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) fail('malformed', 'token is not a compact JWS');
  // Every hs256 token has the same header: recognised in place, without cutting it out.
  const { alg, kid, test } = first === HS256_HEADER.length && token.startsWith(HS256_HEADER) ? HS256_PARSED : headerOf(token.slice(0, first));
  const signatureSegment = token.slice(second + 1);
  const signature = alg === 'HS256' ? undefined : decodeB64u(signatureSegment);
  if (alg === 'HS256' ? !isMacText(token, second + 1) : signature?.length !== SIGNATURE_BYTES[alg]) {
    fail('malformed', `signature must be ${SIGNATURE_BYTES[alg]} bytes`);
  }
  return { alg, kid, test, signingInput: token.slice(0, second), signature, signatureSegment, claimsSegment: token.slice(first + 1, second) };
}

/**
 * The claims of a split token, type-checked. `verified`: its signature was checked already, so the
 * segment is exactly what the service minted and needs no second pass to prove its encoding
 * canonical (a verifier checks an HMAC first: it is cheap, and a forged token then costs no parse).
 */
export function parseClaims(split: Pick<SplitToken, 'alg' | 'claimsSegment'> & { readonly test?: boolean }, verified = false): TokenClaims {
  let c: Record<string, unknown>;
  if (verified) {
    // Decoded into a reused buffer (this runs synchronously, so no other caller can be using it):
    // allocating a Buffer per token cost more than the JSON parse after it.
    const length = scratch.write(split.claimsSegment, 'base64url');
    const value: unknown = JSON.parse(scratch.toString('utf8', 0, length));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('malformed', 'claims is not a JSON object');
    c = value as Record<string, unknown>;
  } else {
    c = parseJson(split.claimsSegment, 'claims');
  }
  if (
    !isString(c['iss']) ||
    !isString(c['sub']) ||
    !isNumber(c['iat']) ||
    !isNumber(c['exp']) ||
    !isString(c['jti']) ||
    !isString(c['ver']) ||
    !isString(c['did']) ||
    (split.alg === 'ES256' ? !isString(c['aud']) : c['aud'] !== undefined && !isString(c['aud']))
  ) {
    fail('malformed', 'required claims are missing or of the wrong type');
  }
  const cnf = c['cnf'] as { jkt?: unknown } | undefined;
  if (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string') fail('malformed', 'cnf.jkt is missing');
  if (c['nbf'] !== undefined && !isNumber(c['nbf'])) fail('malformed', 'nbf must be a number');
  if (c['pay'] !== undefined && !isString(c['pay'])) fail('malformed', 'pay must be a string');
  // The claim and the header say the same: a test token is marked in both, any other token in neither.
  if (split.test === true ? c['test'] !== true : c['test'] !== undefined) fail('malformed', 'test claim and header typ disagree');
  return c as unknown as TokenClaims;
}

/** splitToken and parseClaims at once: the whole token type-checked, not verified. */
export function decodeToken(token: string | undefined): DecodedToken {
  const split = splitToken(token);
  return {
    alg: split.alg,
    kid: split.kid,
    test: split.test,
    signingInput: split.signingInput,
    signature: split.signature ?? Buffer.from(split.signatureSegment, 'base64url'),
    signatureSegment: split.signatureSegment,
    claims: parseClaims(split),
  };
}

/** What a signature check reads of a token: `signature` decoded for es256 (a split hs256 token leaves it out). */
export type SignedParts = Pick<DecodedToken, 'alg' | 'kid' | 'test' | 'signingInput' | 'signatureSegment'> & {
  readonly signature: Buffer | undefined;
};

/**
 * True when the ES256 signature verifies in low-s form; false for any other outcome, including a key
 * of the wrong type. The signing input is taken as UTF-8, as the MAC is (hmac.ts): a compact JWS is
 * ASCII, and a text with other characters then has other bytes than any signed one.
 */
export function signatureVerifies(decoded: Pick<SignedParts, 'signingInput' | 'signature' | 'signatureSegment'>, key: KeyObject): boolean {
  const signature = decoded.signature ?? Buffer.from(decoded.signatureSegment, 'base64url');
  return es256Verifies(Buffer.from(decoded.signingInput, 'utf8'), key, signature);
}

/**
 * True when the HMAC-SHA256 of the signing input under `secret` is the token's MAC. Compared as
 * base64url text, every character whatever the others (constant time, as timingSafeEqual is for
 * bytes): the computed text is the one canonical encoding of the MAC, so a token's MAC matches only
 * in that encoding. A caller with the MAC as bytes only (`signature`, no `signatureSegment`) gets
 * the same comparison of its encoding; anything else is false.
 */
export function macVerifies(
  decoded: { readonly signingInput: string; readonly signatureSegment?: string; readonly signature?: Uint8Array },
  secret: KeyObject,
): boolean {
  let mac: string;
  let given: string;
  try {
    mac = hmacSha256Text(secret, decoded.signingInput);
    given = decoded.signatureSegment ?? Buffer.from(decoded.signature!).toString('base64url');
  } catch {
    return false;
  }
  if (typeof given !== 'string' || given.length !== mac.length) return false;
  let difference = 0;
  for (let i = 0; i < mac.length; i++) difference |= mac.charCodeAt(i) ^ given.charCodeAt(i);
  return difference === 0;
}

/** The key that verified a token, so a cache of verified tokens can tell whether it is still trusted. */
export interface VerifyingKey {
  readonly kid: string;
  readonly key: KeyObject;
}

/**
 * The key among `keys` whose signature the token carries: for ES256 the public key its kid names,
 * for HS256 the first secret whose MAC matches. Throws unknown_kid when the verifier holds no key
 * the token could have been signed with, bad_signature when it holds some and none verifies.
 */
export function verifyingKey(decoded: SignedParts, keys: VerificationKeys): VerifyingKey {
  if (decoded.test) {
    // Only test secrets verify a test token, and only test tokens meet a test secret.
    const secret = keys.testSecrets?.find((s) => s.kid === decoded.kid);
    if (!secret) return fail('unknown_kid', 'test token is signed by a test key this verifier does not hold');
    if (!macVerifies(decoded, secret.key)) fail('bad_signature', 'signature does not verify');
    return secret;
  }
  if (decoded.alg === 'ES256') {
    const key = keys.publicKeys.get(decoded.kid!);
    if (!key) return fail('unknown_kid', 'token is signed by a key this verifier does not trust');
    if (!signatureVerifies(decoded, key)) fail('bad_signature', 'signature does not verify');
    return { kid: decoded.kid!, key };
  }
  if (keys.secrets.length === 0) return fail('unknown_kid', 'token is an HS256 token and this verifier holds no secret');
  for (const secret of keys.secrets) if (macVerifies(decoded, secret.key)) return secret;
  return fail('bad_signature', 'signature does not verify');
}

/**
 * The checks that depend on the verifier rather than on the signature: time (with skew), issuer
 * and audience. Cheap, so a cache of verified tokens runs them again on every hit.
 */
export function checkClaims(claims: TokenClaims, options: VerifyOptions): TokenClaims {
  if (claims.test === true && options.acceptTestTokens !== true) refuseTestToken();
  const skew = options.clockSkewSeconds ?? CLOCK_SKEW_SECONDS;
  const now = options.nowSeconds;
  if (claims.exp <= now - skew) fail('expired', 'token has expired');
  if (claims.iat > now + skew) fail('not_yet_valid', 'token was issued in the future');
  const nbf = (claims as { nbf?: number }).nbf;
  if (nbf !== undefined && nbf > now + skew) fail('not_yet_valid', 'token is not valid yet');
  if (claims.iss !== options.issuer) fail('wrong_issuer', 'token was issued by someone else');
  if (claims.aud !== undefined) {
    const audience = options.audience;
    const accepted = audience === undefined ? false : typeof audience === 'string' ? claims.aud === audience : audience.includes(claims.aud);
    if (!accepted) fail('wrong_audience', 'token is for another tenant');
  }
  return claims;
}

/** A test token at a verifier that does not accept them: refused before any key is looked at or fetched. */
export function refuseTestToken(): never {
  return fail('test_token', 'test tokens are not accepted here');
}

/** Checks signature and claims of a decoded token against a verifier's keys. */
export function checkToken(decoded: DecodedToken, keys: VerificationKeys, options: VerifyOptions): TokenClaims {
  if (decoded.test && options.acceptTestTokens !== true) refuseTestToken();
  verifyingKey(decoded, keys);
  return checkClaims(decoded.claims, options);
}

/** decodeToken + checkToken. */
export function verifyTokenWithKeys(token: string | undefined, keys: VerificationKeys, options: VerifyOptions): TokenClaims {
  return checkToken(decodeToken(token), keys, options);
}
