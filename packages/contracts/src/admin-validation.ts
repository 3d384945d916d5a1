/**
 * Schemas of the admin API's inputs (docs/ADMIN_API.md §1.4), checked at the edge before anything
 * is read or written. Same conventions as ./validation: the first offending field is named.
 */
import * as v from 'valibot';
import { DEVICE_ID_PATTERN } from './admin-ids';
import { MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS, SDK_VERSION_PATTERN } from './protocol';
import {
  ANDROID_SECURITY_LEVELS,
  DEFAULT_HARDWARE_POLICY,
  HARDWARE_MODES,
  MAX_REMEMBER_DAYS,
  MAX_UPLOAD_PARTS,
  MIN_REMEMBER_DAYS,
  type AndroidSecurityLevel,
  type AppAttestEnvironment,
  type HardwarePolicy,
} from './admin-api';
import { TOKEN_FORMATS, type TokenFormat } from './protocol';
import { PRINCIPAL_ROLES, type PrincipalRole } from './routes';
import {
  appIdSchema,
  appVersionSchema,
  b64uBytes,
  eitherOf,
  InvalidRequestError,
  mustBeOneOf,
  object,
  signalFlags,
  tenantIdSchema,
  text,
  typeError,
  type Output,
} from './validation';

// Defined with the protocol constants so that core/tenant-keys.ts (in the authorizer) does not bundle the validator.
export { MIN_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS } from './protocol';
export const MAX_NOTE_CHARS = 500;
export const MAX_DURATION_SECONDS = 10 * 365 * 86400;
export const MAX_DEVICES_PER_APP = 100;
export const MAX_PRINCIPALS = 10;
export const DEFAULT_LOG_LIMIT = 50;
export const MAX_LOG_LIMIT = 100;
export const DEFAULT_STATS_WINDOW_SECONDS = 3600;
/** The log keeps 30 days; a longer window could only count what is left. */
export const MAX_STATS_WINDOW_SECONDS = 30 * 86400;
/** IAM users and roles, and STS assumed-role sessions (normalised to their role by core/tenancy.ts). */
const PRINCIPAL_PATTERN = /^arn:aws[a-z-]*:(iam::\d{12}:(user|role)\/[\w+=,.@/-]+|sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+)$/;

/** `unit` names what is counted ("bytes", "seconds"), or is empty for a plain number. */
/* @__NO_SIDE_EFFECTS__ */
const wholeNumber = (unit: string, min: number, max: number, minMessage = `must be at least ${min}${unit ? ` ${unit}` : ''}`) =>
  v.pipe(
    v.number(typeError(unit ? `a number of ${unit}` : 'a number')),
    v.integer(unit ? `must be a whole number of ${unit}` : 'must be a whole number'),
    v.minValue(min, minMessage),
    v.maxValue(max, `must be at most ${max}${unit ? ` ${unit}` : ''}`),
  );

const note = v.optional(v.pipe(v.string(typeError('a string')), v.maxLength(MAX_NOTE_CHARS, text('must be at most ', MAX_NOTE_CHARS, ' characters'))));

const principalArn = v.pipe(
  v.string(typeError('a string')),
  v.maxLength(2048, 'must be at most 2048 characters'),
  v.regex(PRINCIPAL_PATTERN, 'must be an IAM user or role ARN, e.g. arn:aws:iam::123456789012:role/Deployer'),
);

/** The roles as a JSON choice: "register" | "read" | "admin". */
/* @__NO_SIDE_EFFECTS__ */
const roleChoice = () => PRINCIPAL_ROLES.map((r) => `"${r}"`).join(' | ');

export const principalRoleSchema = v.picklist(PRINCIPAL_ROLES as PrincipalRole[], mustBeOneOf(PRINCIPAL_ROLES));

/** A principal with its role; a bare ARN is an admin (as every principal was before roles). */
const rolePrincipal = object(
  { principal: principalArn, role: principalRoleSchema },
  text('must be an IAM principal ARN or {"principal": ARN, "role": ', roleChoice(), '}'),
);

/**
 * An entry of a tenant's principals: a bare ARN or an object with a role. A string is judged as an
 * ARN and an object as a role principal, each with its own precise message; anything else is named
 * with both shapes.
 */
const principalEntry = v.lazy((input: unknown) =>
  typeof input === 'string'
    ? principalArn
    : typeof input === 'object' && input !== null && !Array.isArray(input)
      ? rolePrincipal
      : v.never(
          text('must be an IAM user or role ARN (e.g. arn:aws:iam::123456789012:role/Deployer) or {"principal": ARN, "role": ', roleChoice(), '}'),
        ),
);

export const createTenantSchema = object(
  {
    tenantId: tenantIdSchema,
    principals: v.optional(
      v.pipe(
        v.array(principalEntry, typeError('an array of IAM principal ARNs')),
        v.minLength(1, 'must not be empty'),
        v.maxLength(MAX_PRINCIPALS, text('must have at most ', MAX_PRINCIPALS, ' entries')),
      ),
    ),
  },
  'body must be a JSON object',
);

/** Adds a principal to a tenant or changes its role; locally, without `principal`, a new credential gets the role. */
export const grantRoleSchema = object({ principal: v.optional(principalArn), role: principalRoleSchema }, 'body must be a JSON object');

/** Takes a principal's role in a tenant away (the principal then administers nothing). */
export const revokeRoleSchema = object({ principal: principalArn }, 'body must be a JSON object');

export const createAppSchema = object({ appId: appIdSchema }, 'body must be a JSON object');

export const uploadRequestSchema = (maxBuildBytes: number) =>
  object(
    {
      version: appVersionSchema,
      size: wholeNumber('bytes', 1, maxBuildBytes, 'must be at least 1 byte (empty builds cannot be registered)'),
      expireAfterSeconds: v.optional(wholeNumber('seconds', 60, MAX_DURATION_SECONDS)),
      note,
    },
    'body must be a JSON object',
  );

/** S3 allows at most 10 000 parts. */

export const completeUploadSchema = object(
  {
    parts: v.pipe(
      v.array(
        object(
          {
            partNumber: wholeNumber('', 1, MAX_UPLOAD_PARTS),
            etag: v.pipe(v.string(typeError('a string')), v.minLength(1, 'must not be empty'), v.maxLength(256, 'must be at most 256 characters')),
          },
          typeError('an object'),
        ),
        typeError('an array of {partNumber, etag}'),
      ),
      v.minLength(1, 'must not be empty'),
      v.maxLength(MAX_UPLOAD_PARTS, text('must have at most ', MAX_UPLOAD_PARTS, ' entries')),
    ),
  },
  'body must be a JSON object',
);

export const expireRequestSchema = object({ afterSeconds: wholeNumber('seconds', 0, MAX_DURATION_SECONDS) }, 'body must be a JSON object');

/** At most this many register failures are named in one retry or clear (docs/ADMIN_API.md §5.4). */
export const MAX_REGISTER_FAILURE_IDS = 100;
/** SQS message ids are UUIDs; the local cloud's are too. Anything else names no failure. */
const REGISTER_FAILURE_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

/** POST /v1/admin/registrations/failures/{retry,clear}: `ids` absent acts on every queued failure. */
export const registerFailureSelectionSchema = object(
  {
    ids: v.optional(
      v.pipe(
        v.array(
          v.pipe(v.string(typeError('a string')), v.regex(REGISTER_FAILURE_ID_PATTERN, 'must be failure ids as listed')),
          typeError('an array of failure ids'),
        ),
        v.minLength(1, 'must not be empty (omit it to act on every failure)'),
        v.maxLength(MAX_REGISTER_FAILURE_IDS, text('must have at most ', MAX_REGISTER_FAILURE_IDS, ' entries')),
      ),
    ),
  },
  'body must be a JSON object',
);

/** Android OS patch levels are a year and month: 202406 is June 2024. */
const PATCH_LEVEL_MIN = 200001;
const PATCH_LEVEL_MAX = 209912;

/* @__NO_SIDE_EFFECTS__ */
const oneOf = <T extends string>(values: readonly T[]) => v.picklist(values as T[], mustBeOneOf(values));

export const APP_ATTEST_ENVIRONMENTS: readonly AppAttestEnvironment[] = ['production', 'development'];

/**
 * A policy's `hardware` (PROTOCOL.md §5.5). Every member is optional and takes DEFAULT_HARDWARE_POLICY's
 * value when left out, so `{"android": "require"}` is a whole hardware policy.
 */
export const hardwarePolicySchema = object(
  {
    ios: v.optional(oneOf(HARDWARE_MODES)),
    android: v.optional(oneOf(HARDWARE_MODES)),
    otherPlatforms: v.optional(oneOf(['allow', 'refuse'] as const)),
    minAndroidSecurityLevel: v.optional(oneOf<AndroidSecurityLevel>(ANDROID_SECURITY_LEVELS)),
    requireVerifiedBoot: v.optional(v.boolean(typeError('a boolean'))),
    minAndroidPatchLevel: v.optional(
      v.pipe(
        v.number(typeError('a number (YYYYMM)')),
        v.integer('must be a year and month as a whole number YYYYMM, e.g. 202406'),
        v.minValue(PATCH_LEVEL_MIN, 'must be a year and month as YYYYMM from 200001, e.g. 202406'),
        v.maxValue(PATCH_LEVEL_MAX, text('must be a year and month as YYYYMM up to ', PATCH_LEVEL_MAX, ', e.g. 202406')),
        v.check((n) => n % 100 >= 1 && n % 100 <= 12, 'must be a year and month as YYYYMM: the month 01 to 12, e.g. 202406'),
      ),
    ),
    appAttestEnvironments: v.optional(
      v.pipe(
        v.array(oneOf(APP_ATTEST_ENVIRONMENTS), typeError('an array of App Attest environments')),
        v.minLength(1, 'must name at least one of production, development (iOS attestations need one)'),
        v.check((list) => new Set(list).size === list.length, 'must not name an environment twice'),
      ),
    ),
    rememberDays: v.optional(wholeNumber('days', MIN_REMEMBER_DAYS, MAX_REMEMBER_DAYS, text('must be at least ', MIN_REMEMBER_DAYS, ' day'))),
  },
  typeError('an object'),
);

// ---------- App identity (docs/ADMIN_API.md §3) ----------

/** How many signing-certificate digests an Android identity may list (a rotated key's lineage, a few upload keys). */
export const MAX_SIGNING_CERTIFICATES = 5;
/** Google Play's largest versionCode. */
export const MAX_ANDROID_VERSION_CODE = 2_100_000_000;
/** Apple Team IDs: ten upper-case letters and digits, as the developer account shows them. */
export const APPLE_TEAM_ID_PATTERN = /^[A-Z0-9]{10}$/;
/** CFBundleIdentifier: letters, digits, hyphens and dots, no empty segment; App Store Connect takes at most 155 characters. */
export const BUNDLE_ID_PATTERN = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;
/** Android applicationId: two or more segments, each a letter followed by letters, digits or underscores. */
export const ANDROID_PACKAGE_PATTERN = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/;
/** A SHA-256 digest as 64 hex characters, or as keytool, apksigner and the Play Console print it (AB:CD:…, 32 bytes). */
export const CERTIFICATE_DIGEST_PATTERN = /^(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31})$/;

/** The stored form of a certificate digest: 64 lower-case hex characters, which is what key attestation reports. */
export function certificateDigestHex(digest: string): string {
  return digest.replaceAll(':', '').toLowerCase();
}

/** Each identity field on its own, so the CLI refuses a bad option value before it reads or writes anything. */
export const appleTeamIdSchema = v.pipe(
  v.string(typeError('a string')),
  v.regex(APPLE_TEAM_ID_PATTERN, 'must be an Apple Team ID: 10 upper-case letters and digits, e.g. ABCDE12345'),
);
export const bundleIdSchema = v.pipe(
  v.string(typeError('a string')),
  v.minLength(1, 'must not be empty'),
  v.maxLength(155, 'must be at most 155 characters'),
  v.regex(BUNDLE_ID_PATTERN, 'must be a bundle id: letters, digits, hyphens and dots, e.g. com.example.app'),
);
export const androidPackageSchema = v.pipe(
  v.string(typeError('a string')),
  v.maxLength(255, 'must be at most 255 characters'),
  v.regex(
    ANDROID_PACKAGE_PATTERN,
    'must be an Android package name: two or more dot-separated parts, each a letter then letters, digits or _, e.g. com.example.app',
  ),
);
/** Accepts either spelling of a digest and yields the stored one (certificateDigestHex). */
export const signingCertificateSchema = v.pipe(
  v.string(typeError('a string')),
  v.regex(CERTIFICATE_DIGEST_PATTERN, 'must be a SHA-256 certificate digest: 64 hex characters, or 32 colon-separated hex bytes as keytool prints it'),
  v.transform(certificateDigestHex),
);

/**
 * PUT /v1/admin/apps/{appId}/identity: the whole identity, either platform or both; `{}` removes it.
 * Certificate digests come out lower-case hex, duplicates refused after that normalisation.
 */
export const appIdentitySchema = object(
  {
    ios: v.optional(object({ teamId: appleTeamIdSchema, bundleId: bundleIdSchema }, typeError('an object {teamId, bundleId}'))),
    android: v.optional(
      object(
        {
          packageName: androidPackageSchema,
          signingCertificates: v.pipe(
            v.array(signingCertificateSchema, typeError('an array of SHA-256 certificate digests')),
            v.minLength(1, 'must list at least one signing certificate digest'),
            v.maxLength(MAX_SIGNING_CERTIFICATES, text('must list at most ', MAX_SIGNING_CERTIFICATES, ' signing certificate digests')),
            v.check((list) => new Set(list).size === list.length, 'must not list a certificate twice'),
          ),
          minVersionCode: v.optional(wholeNumber('', 0, MAX_ANDROID_VERSION_CODE)),
        },
        typeError('an object {packageName, signingCertificates, minVersionCode?}'),
      ),
    ),
  },
  'body must be a JSON object',
);

/** An SDK version as a policy's minSdkVersion takes it (and `attestor policy set --min-sdk`). */
export const sdkVersionSchema = v.pipe(
  v.string(typeError('a string')),
  v.maxLength(32, 'must be at most 32 characters'),
  v.regex(SDK_VERSION_PATTERN, 'must be a version such as 1.2.0'),
);

export const policySchema = v.pipe(
  object(
    {
      // Protocol 1 had a lifetime per app; a token's lifetime would then tell a registered app id from
      // an unknown one, so it is now the deployment's. Refused by name rather than dropped silently.
      tokenTtlSeconds: v.optional(
        v.never('is no longer part of a policy: every token of a deployment lives as long (ATTESTOR_TOKEN_TTL_SECONDS, the stack prop tokenTtl)'),
      ),
      reject: object(signalFlags, typeError('an object of four booleans')),
      minSdkVersion: v.optional(sdkVersionSchema),
      hardware: v.optional(hardwarePolicySchema),
      measurement: v.optional(v.picklist(['require', 'off'], 'must be require or off')),
    },
    'body must be a JSON object',
  ),
  // Without measurement, hardware evidence is the only proof left: a platform that may attest without
  // it would pass any client that claims to be that platform, knowing nothing but the app id.
  v.forward(
    v.check(
      (body) => body.measurement !== 'off' || measurementMayBeOff({ ...DEFAULT_HARDWARE_POLICY, ...body.hardware }),
      'may be off only when hardware.ios and hardware.android are require and hardware.otherPlatforms is refuse: ' +
        'otherwise a client claiming a platform without required evidence would pass with no proof at all',
    ),
    ['measurement'],
  ),
);

/** True when every platform a client may claim needs hardware evidence: the condition for `measurement: off`. */
export function measurementMayBeOff(hardware: Pick<HardwarePolicy, 'ios' | 'android' | 'otherPlatforms'>): boolean {
  return hardware.ios === 'require' && hardware.android === 'require' && hardware.otherPlatforms === 'refuse';
}

export const addDeviceSchema = v.pipe(
  object(
    {
      did: v.optional(b64uBytes(32)),
      debug: v.optional(v.literal(true, 'must be true (or left out)')),
      note,
    },
    'body must be a JSON object',
  ),
  v.check(
    (body) => (body.did === undefined) !== (body.debug === undefined),
    'give exactly one of did (allow-list an install key) or debug: true (create a debug secret)',
  ),
);

export const rotateKeySchema = object(
  { format: v.optional(v.picklist(TOKEN_FORMATS as TokenFormat[], eitherOf(TOKEN_FORMATS))) },
  'body must be a JSON object',
);

export const deviceIdSchema = v.pipe(
  v.string(typeError('a string')),
  v.regex(
    DEVICE_ID_PATTERN,
    'must be a device id: an install key\'s did (43 base64url characters), or a debug secret\'s id ("debug." then 22 base64url characters)',
  ),
);

export type CreateTenantRequest = Output<typeof createTenantSchema>;
export type GrantRoleRequest = Output<typeof grantRoleSchema>;
export type RevokeRoleRequest = Output<typeof revokeRoleSchema>;
export type UploadRequest = Output<ReturnType<typeof uploadRequestSchema>>;
export type PolicyRequest = Output<typeof policySchema>;
export type AppIdentityRequest = Output<typeof appIdentitySchema>;
export type AddDeviceRequest = Output<typeof addDeviceSchema>;

/** Query-string parameters arrive as strings; these parse them with the same error conventions. */
export function queryInteger(value: string | undefined, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new InvalidRequestError(field, 'must be a whole number');
  const n = Number(value);
  if (n < min) throw new InvalidRequestError(field, `must be at least ${min}`);
  if (n > max) throw new InvalidRequestError(field, `must be at most ${max}`);
  return n;
}
