/**
 * Request schemas of protocol v1, checked at the edge before anything is read or written.
 * A failure names the first offending field so a client author can fix it from the response alone.
 */
// Valibot: every schema is a plain object built by functions free of side effects, so a bundle
// keeps only the validators and the schemas its function uses (with the build's help:
// packages/cdk/scripts/build-functions.ts pureSchemaCalls). zod/mini, used before, put 27 KB of its
// own into every function that validates input; valibot puts about 9 KB.
import * as v from 'valibot';
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

// The patterns and the error live in validator-free modules so that code needing only them (registration,
// the HTTP error mapping, the attestation log) does not bundle the validator; re-exported here.
export { APP_ID_PATTERN, VERSION_PATTERN, InvalidRequestError };

/** A schema whose output is T: what parseRequest and checkValue take. */
export type Schema<T> = v.GenericSchema<unknown, T>;
export type Output<S extends v.GenericSchema> = v.InferOutput<S>;

/** "is required" for a missing field, "must be <kind>" for one of the wrong type. */
// Messages at the top of a schema module are built by calls of helpers declared free of side
// effects (text, eitherOf, mustBeOneOf), not by template literals: the bundler drops a schema its
// function does not use only if everything in its definition is known to have no effect, which a
// template literal with a value in it, a property read or a method call such as join is not.

/** The parts of a message, joined. */
/* @__NO_SIDE_EFFECTS__ */
export const text = (...parts: ReadonlyArray<string | number>): string => parts.join('');

/** "must be a or b". */
/* @__NO_SIDE_EFFECTS__ */
export const eitherOf = (values: readonly string[]): string => `must be ${values.join(' or ')}`;

/** "must be a, b or c". */
/* @__NO_SIDE_EFFECTS__ */
export const mustBeOneOf = (values: readonly string[]): string => `must be ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;

/* @__NO_SIDE_EFFECTS__ */
export const typeError = (kind: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${kind}`);

/** A variant's options are bare valibot objects: their message, "is required" for a missing member. */
/* @__NO_SIDE_EFFECTS__ */
const objectError = (message: string) => (issue: v.BaseIssue<unknown>) => (issue.path !== undefined ? 'is required' : message);

/** What an object schema says when its input is no object: a fixed text, or typeError's. */
type NotObject = string | ((issue: { input?: unknown }) => string);

/**
 * An object schema with this module's conventions; unknown members are dropped (`strict`: refused,
 * with `unknownMembers` naming every one). Two differences from a bare valibot object are evened
 * out here: an array is refused as no object (valibot takes it for one), and a missing member is
 * "is required" on the member (valibot reports it on the object, with the object's message).
 */
/* @__NO_SIDE_EFFECTS__ */
export function object<E extends v.ObjectEntries>(entries: E, notObject: NotObject, strict?: { unknownMembers: (keys: string) => string }) {
  const message = typeof notObject === 'string' ? () => notObject : notObject;
  const memberError = (issue: v.BaseIssue<unknown>): string => {
    const at = issue.path?.[0];
    if (at === undefined) return message(issue);
    if (strict === undefined || issue.expected !== 'never') return 'is required';
    return strict.unknownMembers(Object.keys(at.input as object).filter((key) => !Object.hasOwn(entries, key)).join(', '));
  };
  return v.pipe(
    v.unknown(),
    v.check((input) => !Array.isArray(input), message),
    strict === undefined ? v.object(entries, memberError) : v.strictObject(entries, memberError),
  );
}

export const appIdSchema = v.pipe(
  v.string(typeError('a string')),
  v.maxLength(255, 'must be at most 255 characters'),
  v.regex(APP_ID_PATTERN, 'must be reverse-DNS style, e.g. com.example.app'),
);

export const appVersionSchema = v.pipe(
  v.string(typeError('a string')),
  v.minLength(1, 'must not be empty'),
  v.maxLength(64, 'must be at most 64 characters'),
  v.regex(VERSION_PATTERN, 'may contain only letters, digits and . _ + -'),
);

/** Admin API tenant ids (docs/ADMIN_API.md §1.4); they become part of KMS alias names. */
export const tenantIdSchema = v.pipe(v.string(typeError('a string')), v.regex(TENANT_ID_PATTERN, 'must be 1 to 64 letters, digits, _ or -'));

/** base64url (no padding) of exactly `bytes` bytes. */
/* @__NO_SIDE_EFFECTS__ */
export function b64uBytes(bytes: number) {
  return v.pipe(
    v.string(typeError('a base64url string')),
    v.length(b64uLength(bytes), `must be base64url of ${bytes} bytes (${b64uLength(bytes)} characters)`),
    v.check((s: string) => decodeB64u(s)?.length === bytes, `must be base64url of ${bytes} bytes without padding`),
  );
}

export const challengeRequestSchema = object({ appId: appIdSchema }, 'body must be a JSON object');

/* @__NO_SIDE_EFFECTS__ */
const shortText = (max: number) => v.pipe(v.string(typeError('a string')), v.maxLength(max, `must be at most ${max} characters`));

/** Whether both members are strings that decode to 32 bytes, the only ones worth a curve check. */
function hasP256Coordinates(jwk: { x: unknown; y: unknown }): boolean {
  return typeof jwk.x === 'string' && typeof jwk.y === 'string' && decodeB64u(jwk.x)?.length === 32 && decodeB64u(jwk.y)?.length === 32;
}

export const installKeySchema = v.pipe(
  object(
    {
      kty: v.literal('EC', typeError('"EC"')),
      crv: v.literal('P-256', typeError('"P-256"')),
      x: b64uBytes(32),
      y: b64uBytes(32),
      // A client that sends its private scalar has leaked its install key; refuse rather than silently drop it.
      d: v.optional(v.undefined('must not be sent: installKey is the public key only (remove "d")')),
    },
    typeError('an EC P-256 public JWK'),
  ),
  // Coordinates off the curve are a malformed body, not a failed attestation: no key could have
  // signed the proof, and the client deserves to know which field. checkValue stops at the first
  // issue, so this runs once x and y are valid; the guard keeps it to 32-byte coordinates anyway.
  v.check(
    (jwk) => !hasP256Coordinates(jwk) || isOnP256(decodeB64u(jwk.x)!, decodeB64u(jwk.y)!),
    'is not a point on P-256 (x and y must satisfy the curve equation)',
  ),
);

/**
 * A descriptive device member: printable ASCII, at most `max` characters (PROTOCOL.md §2.2). These
 * reach operators' terminals through the attestation log, so control characters never get in.
 */
/* @__NO_SIDE_EFFECTS__ */
const deviceText = (member: keyof typeof MAX_DEVICE_TEXT_CHARS) =>
  v.pipe(shortText(MAX_DEVICE_TEXT_CHARS[member]), v.regex(DEVICE_TEXT_PATTERN, 'may contain only printable ASCII characters (space to ~)'));

/** The four device signals, each a boolean: an attestation's `device.signals`, and a policy's `reject`. */
export const signalFlags = {
  rooted: v.boolean(typeError('a boolean')),
  emulator: v.boolean(typeError('a boolean')),
  debugger: v.boolean(typeError('a boolean')),
  hooked: v.boolean(typeError('a boolean')),
};

export const signalsSchema = object(signalFlags, typeError('an object of booleans'));

/**
 * base64url (no padding) of 1 to `max` bytes. The length is checked before decoding, so an
 * oversized member costs no allocation; whether the bytes are CBOR or DER is the service's
 * structural decode (core/hardware/evidence.ts), which runs before the nonce is consumed.
 */
/* @__NO_SIDE_EFFECTS__ */
export function b64uUpTo(max: number) {
  return v.pipe(
    v.string(typeError('a base64url string')),
    v.maxLength(b64uLength(max), `must be base64url of at most ${max} bytes`),
    v.check((s: string) => (decodeB64u(s)?.length ?? 0) > 0, 'must be base64url of at least 1 byte without padding'),
  );
}

/**
 * App Attest evidence (PROTOCOL.md §5.5): the key id and exactly one of an attestation (the key's
 * first attestation) and an assertion (later ones).
 */
const appAttestEvidenceSchema = v.pipe(
  v.object(
    {
      platform: v.literal('ios'),
      keyId: b64uBytes(APP_ATTEST_KEY_ID_BYTES),
      attestation: v.optional(b64uUpTo(MAX_APP_ATTEST_ATTESTATION_BYTES)),
      assertion: v.optional(b64uUpTo(MAX_APP_ATTEST_ASSERTION_BYTES)),
    },
    objectError('must be an object'),
  ),
  v.forward(
    v.check(
      (evidence) => evidence.attestation !== undefined || evidence.assertion !== undefined,
      'is required when there is no assertion (exactly one of the two)',
    ),
    ['attestation'],
  ),
  v.forward(
    v.check(
      (evidence) => evidence.attestation === undefined || evidence.assertion === undefined,
      'must not be sent with an attestation (exactly one of the two)',
    ),
    ['assertion'],
  ),
);

/** How many certificates an Android chain may hold, as its message says. */
/* @__NO_SIDE_EFFECTS__ */
const chainLength = () => text('must hold ', MIN_ANDROID_CHAIN_CERTIFICATES, ' to ', MAX_ANDROID_CHAIN_CERTIFICATES, ' certificates');

/** Android key attestation evidence: the chain on the install key's first attestation, nothing but the platform later. */
const androidEvidenceSchema = v.object(
  {
    platform: v.literal('android'),
    chain: v.optional(
      v.pipe(
        v.array(b64uUpTo(MAX_ANDROID_CERTIFICATE_BYTES), typeError('an array of base64url certificates')),
        v.minLength(MIN_ANDROID_CHAIN_CERTIFICATES, chainLength()),
        v.maxLength(MAX_ANDROID_CHAIN_CERTIFICATES, chainLength()),
        // Decoded size from the text's length: canonical base64url of n bytes has b64uLength(n) characters.
        v.check(
          (chain: string[]) => chain.reduce((sum, der) => sum + Math.floor((der.length * 3) / 4), 0) <= MAX_ANDROID_CHAIN_BYTES,
          text('must be at most ', MAX_ANDROID_CHAIN_BYTES, ' bytes decoded together'),
        ),
      ),
    ),
  },
  objectError('must be an object'),
);

/**
 * The optional `hardware` member (version 2.1); its platform must be the one `device` names (checked
 * below). A platform that is neither is reported on `hardware.platform`, an input that is no object
 * on `hardware` itself.
 */
export const hardwareEvidenceSchema = v.pipe(
  v.unknown(),
  v.check((input) => !Array.isArray(input), 'must be an object'),
  v.variant('platform', [appAttestEvidenceSchema, androidEvidenceSchema], (issue) =>
    issue.path !== undefined ? 'must be "ios" or "android"' : 'must be an object',
  ),
);

export const attestRequestSchema = v.pipe(
  object(
  {
    nonce: b64uBytes(NONCE_BYTES),
    appId: appIdSchema,
    appVersion: appVersionSchema,
    measurement: b64uBytes(32),
    installKey: installKeySchema,
    installProof: b64uBytes(64),
    device: object(
      {
        // By name, not MAX_DEVICE_TEXT_CHARS.model: a property read here would keep this schema in
        // every bundle that imports the module (the bundler cannot prove a read has no effect).
        platform: deviceText('platform'),
        osVersion: deviceText('osVersion'),
        model: deviceText('model'),
        signals: signalsSchema,
      },
      typeError('an object'),
    ),
    sdkVersion: v.pipe(shortText(32), v.regex(SDK_VERSION_PATTERN, 'must be a version such as 1.2.0')),
    /** b64u(SHA-256(value)) the token will carry as `pay`. */
    binding: v.optional(b64uBytes(32)),
    /** Asks for a single-use token carrying `lut: true`. */
    limitedUse: v.optional(v.boolean(typeError('a boolean'))),
    /** A debug secret registered with `attestor devices add --debug`: lets a CI or emulator install pass. */
    debugSecret: v.optional(b64uBytes(32)),
    /** Hardware evidence (PROTOCOL.md §5.5): App Attest or Android key attestation. */
    hardware: v.optional(hardwareEvidenceSchema),
  },
  'body must be a JSON object',
  ),
  // Runs once every member is valid, so it is reported only when nothing else is wrong.
  v.forward(
    v.check((request) => request.hardware === undefined || request.hardware.platform === request.device.platform, 'must equal device.platform'),
    ['hardware', 'platform'],
  ),
);

export type ChallengeRequest = Output<typeof challengeRequestSchema>;
export type AttestRequest = Output<typeof attestRequestSchema>;

/** Stop at the first issue: only the first is reported, and a large bad body costs no more checks. */
const FIRST_ISSUE: v.Config<v.BaseIssue<unknown>> = { abortEarly: true };

/** What checkValue found: the value as the schema outputs it, or the first offending field and why. */
export type Checked<T> = { readonly success: true; readonly output: T } | { readonly success: false; readonly field: string; readonly message: string };

/** Checks `value` with `schema`: the output, or the first offending field ('' for the value itself) and its message. */
export function checkValue<T>(schema: Schema<T>, value: unknown): Checked<T> {
  const result = v.safeParse(schema, value, FIRST_ISSUE);
  if (result.success) return { success: true, output: result.output };
  const issue = result.issues[0];
  return { success: false, field: v.getDotPath(issue) ?? '', message: issue.message };
}

/** Parses `body` with `schema` or throws InvalidRequestError naming the first bad field. */
export function parseRequest<T>(schema: Schema<T>, body: unknown): T {
  const result = checkValue(schema, body);
  if (result.success) return result.output;
  throw new InvalidRequestError(result.field, result.message);
}

/** Parses one named value (a path or query parameter) with `schema`, naming it as the field on failure. */
export function parseField<T>(name: string, schema: Schema<T>, value: unknown): T {
  const result = checkValue(schema, value);
  if (result.success) return result.output;
  throw new InvalidRequestError(result.field === '' ? name : `${name}.${result.field}`, result.message);
}
