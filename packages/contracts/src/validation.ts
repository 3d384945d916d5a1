/**
 * Request schemas of protocol v1, checked at the edge before anything is read or written.
 * A failure names the first offending field so a client author can fix it from the response alone.
 */
// zod/mini: the same validator as zod with a tree-shakable API, which keeps each Lambda bundle
// small (full zod alone adds about 450 KB to every function that validates input).
import * as z from 'zod/mini';
import { b64uLength, decodeB64u } from './base64url';
import { TENANT_ID_PATTERN } from './admin-ids';
import {
  APP_ATTEST_KEY_ID_BYTES,
  APP_ID_PATTERN,
  DEVICE_TEXT_PATTERN,
  MAX_ANDROID_CERTIFICATE_BYTES,
  MAX_ANDROID_CHAIN_BYTES,
  MAX_ANDROID_CHAIN_CERTIFICATES,
  MAX_APP_ATTEST_ASSERTION_BYTES,
  MAX_APP_ATTEST_ATTESTATION_BYTES,
  MAX_DEVICE_TEXT_CHARS,
  MIN_ANDROID_CHAIN_CERTIFICATES,
  NONCE_BYTES,
  SDK_VERSION_PATTERN,
  VERSION_PATTERN,
} from './protocol';
import { InvalidRequestError } from './errors';
import { isOnP256 } from './p256';

// The patterns and the error live in zod-free modules so that code needing only them (registration,
// the HTTP error mapping, the attestation log) does not bundle the validator; re-exported here.
export { APP_ID_PATTERN, VERSION_PATTERN, InvalidRequestError };

/** "is required" for a missing field, "must be <kind>" for one of the wrong type. */
export const typeError = (kind: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${kind}`);

export const appIdSchema = z.string({ error: typeError('a string') }).check(
  z.maxLength(255, { error: 'must be at most 255 characters' }),
  z.regex(APP_ID_PATTERN, { error: 'must be reverse-DNS style, e.g. com.example.app' }),
);

export const appVersionSchema = z.string({ error: typeError('a string') }).check(
  z.minLength(1, { error: 'must not be empty' }),
  z.maxLength(64, { error: 'must be at most 64 characters' }),
  z.regex(VERSION_PATTERN, { error: 'may contain only letters, digits and . _ + -' }),
);

/** Admin API tenant ids (docs/ADMIN_API.md §1.4); they become part of KMS alias names. */
export const tenantIdSchema = z.string({ error: typeError('a string') }).check(
  z.regex(TENANT_ID_PATTERN, { error: 'must be 1 to 64 letters, digits, _ or -' }),
);

/** base64url (no padding) of exactly `bytes` bytes. */
export function b64uBytes(bytes: number) {
  return z.string({ error: typeError('a base64url string') }).check(
    z.length(b64uLength(bytes), { error: `must be base64url of ${bytes} bytes (${b64uLength(bytes)} characters)` }),
    z.refine((s: string) => decodeB64u(s)?.length === bytes, { error: `must be base64url of ${bytes} bytes without padding` }),
  );
}

export const challengeRequestSchema = z.object({ appId: appIdSchema }, { error: 'body must be a JSON object' });

const shortText = (max: number) => z.string({ error: typeError('a string') }).check(z.maxLength(max, { error: `must be at most ${max} characters` }));

/** Whether both members are strings that decode to 32 bytes, the only ones worth a curve check. */
function hasP256Coordinates(jwk: { x: unknown; y: unknown }): jwk is { x: string; y: string } {
  return typeof jwk.x === 'string' && typeof jwk.y === 'string' && decodeB64u(jwk.x)?.length === 32 && decodeB64u(jwk.y)?.length === 32;
}

export const installKeySchema = z
  .object(
    {
      kty: z.literal('EC', { error: typeError('"EC"') }),
      crv: z.literal('P-256', { error: typeError('"P-256"') }),
      x: b64uBytes(32),
      y: b64uBytes(32),
      // A client that sends its private scalar has leaked its install key; refuse rather than silently drop it.
      d: z.optional(z.undefined({ error: 'must not be sent: installKey is the public key only (remove "d")' })),
    },
    { error: typeError('an EC P-256 public JWK') },
  )
  .check(
    // Coordinates off the curve are a malformed body, not a failed attestation: no key could have
    // signed the proof, and the client deserves to know which field. Zod runs this even when x or y
    // already failed their own (continuable) checks, so it judges only well-formed coordinates and
    // leaves the others to the member's own, more precise message.
    z.refine((jwk) => !hasP256Coordinates(jwk) || isOnP256(decodeB64u(jwk.x)!, decodeB64u(jwk.y)!), {
      error: 'is not a point on P-256 (x and y must satisfy the curve equation)',
    }),
  );

/**
 * A descriptive device member: printable ASCII, at most `max` characters (PROTOCOL.md §2.2). These
 * reach operators' terminals through the attestation log, so control characters never get in.
 */
const deviceText = (max: number) =>
  shortText(max).check(z.regex(DEVICE_TEXT_PATTERN, { error: 'may contain only printable ASCII characters (space to ~)' }));

/** The four device signals, each a boolean: an attestation's `device.signals`, and a policy's `reject`. */
export const signalFlags = {
  rooted: z.boolean({ error: typeError('a boolean') }),
  emulator: z.boolean({ error: typeError('a boolean') }),
  debugger: z.boolean({ error: typeError('a boolean') }),
  hooked: z.boolean({ error: typeError('a boolean') }),
};

export const signalsSchema = z.object(signalFlags, { error: typeError('an object of booleans') });

/**
 * base64url (no padding) of 1 to `max` bytes. The length is checked before decoding, so an
 * oversized member costs no allocation; whether the bytes are CBOR or DER is the service's
 * structural decode (core/hardware/evidence.ts), which runs before the nonce is consumed.
 */
export function b64uUpTo(max: number) {
  return z.string({ error: typeError('a base64url string') }).check(
    z.maxLength(b64uLength(max), { error: `must be base64url of at most ${max} bytes` }),
    z.refine((s: string) => (decodeB64u(s)?.length ?? 0) > 0, { error: 'must be base64url of at least 1 byte without padding' }),
  );
}

/**
 * App Attest evidence (PROTOCOL.md §5.5): the key id and exactly one of an attestation (the key's
 * first attestation) and an assertion (later ones).
 */
const appAttestEvidenceSchema = z
  .object({
    platform: z.literal('ios'),
    keyId: b64uBytes(APP_ATTEST_KEY_ID_BYTES),
    attestation: z.optional(b64uUpTo(MAX_APP_ATTEST_ATTESTATION_BYTES)),
    assertion: z.optional(b64uUpTo(MAX_APP_ATTEST_ASSERTION_BYTES)),
  })
  .check(
    z.superRefine((evidence, ctx) => {
      if (evidence.attestation === undefined && evidence.assertion === undefined) {
        ctx.addIssue({ code: 'custom', path: ['attestation'], message: 'is required when there is no assertion (exactly one of the two)', input: evidence });
      } else if (evidence.attestation !== undefined && evidence.assertion !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['assertion'], message: 'must not be sent with an attestation (exactly one of the two)', input: evidence });
      }
    }),
  );

/** Android key attestation evidence: the chain on the install key's first attestation, nothing but the platform later. */
const androidEvidenceSchema = z.object({
  platform: z.literal('android'),
  chain: z.optional(
    z.array(b64uUpTo(MAX_ANDROID_CERTIFICATE_BYTES), { error: typeError('an array of base64url certificates') }).check(
      z.minLength(MIN_ANDROID_CHAIN_CERTIFICATES, { error: `must hold ${MIN_ANDROID_CHAIN_CERTIFICATES} to ${MAX_ANDROID_CHAIN_CERTIFICATES} certificates` }),
      z.maxLength(MAX_ANDROID_CHAIN_CERTIFICATES, { error: `must hold ${MIN_ANDROID_CHAIN_CERTIFICATES} to ${MAX_ANDROID_CHAIN_CERTIFICATES} certificates` }),
      // Decoded size from the text's length: canonical base64url of n bytes has b64uLength(n) characters.
      z.refine((chain: string[]) => chain.reduce((sum, der) => sum + Math.floor((der.length * 3) / 4), 0) <= MAX_ANDROID_CHAIN_BYTES, {
        error: `must be at most ${MAX_ANDROID_CHAIN_BYTES} bytes decoded together`,
      }),
    ),
  ),
});

/** The optional `hardware` member (version 2.1); its platform must be the one `device` names (checked below). */
export const hardwareEvidenceSchema = z.discriminatedUnion('platform', [appAttestEvidenceSchema, androidEvidenceSchema], {
  error: (issue: { code?: string }) => (issue.code === 'invalid_union' ? 'must be "ios" or "android"' : 'must be an object'),
});

export const attestRequestSchema = z.object(
  {
    nonce: b64uBytes(NONCE_BYTES),
    appId: appIdSchema,
    appVersion: appVersionSchema,
    measurement: b64uBytes(32),
    installKey: installKeySchema,
    installProof: b64uBytes(64),
    device: z.object(
      {
        platform: deviceText(MAX_DEVICE_TEXT_CHARS.platform),
        osVersion: deviceText(MAX_DEVICE_TEXT_CHARS.osVersion),
        model: deviceText(MAX_DEVICE_TEXT_CHARS.model),
        signals: signalsSchema,
      },
      { error: typeError('an object') },
    ),
    sdkVersion: shortText(32).check(
      z.regex(SDK_VERSION_PATTERN, { error: 'must be a version such as 1.2.0' }),
    ),
    /** b64u(SHA-256(value)) the token will carry as `pay`. */
    binding: z.optional(b64uBytes(32)),
    /** Asks for a single-use token carrying `lut: true`. */
    limitedUse: z.optional(z.boolean({ error: typeError('a boolean') })),
    /** A debug secret registered with `attestor devices add --debug`: lets a CI or emulator install pass. */
    debugSecret: z.optional(b64uBytes(32)),
    /** Hardware evidence (PROTOCOL.md §5.5): App Attest or Android key attestation. */
    hardware: z.optional(hardwareEvidenceSchema),
  },
  { error: 'body must be a JSON object' },
).check(
  // Runs once every member is valid, so it is reported only when nothing else is wrong.
  z.refine((request) => request.hardware === undefined || request.hardware.platform === request.device.platform, {
    path: ['hardware', 'platform'],
    error: 'must equal device.platform',
  }),
);

export type ChallengeRequest = z.infer<typeof challengeRequestSchema>;
export type AttestRequest = z.infer<typeof attestRequestSchema>;

/** Parses `body` with `schema` or throws InvalidRequestError naming the first bad field. */
export function parseRequest<T>(schema: z.ZodMiniType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue ? issue.path.map(String).join('.') : '';
  const detail = issue?.message ?? 'is invalid';
  throw new InvalidRequestError(field, detail);
}
