/**
 * Schemas of the admin API's inputs (docs/ADMIN_API.md §1.4), checked at the edge before anything
 * is read or written. Same conventions as ./validation: the first offending field is named.
 */
import * as z from 'zod/mini';
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
import { appIdSchema, appVersionSchema, b64uBytes, InvalidRequestError, signalFlags, tenantIdSchema, typeError } from './validation';

// Defined with the protocol constants so that core/tenant-keys.ts (in the authorizer) does not bundle zod.
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
const wholeNumber = (unit: string, min: number, max: number, minMessage = `must be at least ${min}${unit ? ` ${unit}` : ''}`) =>
  z.number({ error: typeError(unit ? `a number of ${unit}` : 'a number') }).check(
    z.int({ error: unit ? `must be a whole number of ${unit}` : 'must be a whole number' }),
    z.minimum(min, { error: minMessage }),
    z.maximum(max, { error: `must be at most ${max}${unit ? ` ${unit}` : ''}` }),
  );

const note = z.optional(
  z.string({ error: typeError('a string') }).check(z.maxLength(MAX_NOTE_CHARS, { error: `must be at most ${MAX_NOTE_CHARS} characters` })),
);

const principalArn = z.string({ error: typeError('a string') }).check(
  z.maxLength(2048, { error: 'must be at most 2048 characters' }),
  z.regex(PRINCIPAL_PATTERN, { error: 'must be an IAM user or role ARN, e.g. arn:aws:iam::123456789012:role/Deployer' }),
);

export const principalRoleSchema = z.enum(PRINCIPAL_ROLES as [PrincipalRole, ...PrincipalRole[]], {
  error: `must be ${PRINCIPAL_ROLES.slice(0, -1).join(', ')} or ${PRINCIPAL_ROLES[PRINCIPAL_ROLES.length - 1]}`,
});

const ROLE_CHOICE = PRINCIPAL_ROLES.map((r) => `"${r}"`).join(' | ');

/** A principal with its role; a bare ARN is an admin (as every principal was before roles). */
const rolePrincipal = z.object(
  { principal: principalArn, role: principalRoleSchema },
  { error: `must be an IAM principal ARN or {"principal": ARN, "role": ${ROLE_CHOICE}}` },
);

export const createTenantSchema = z.object(
  {
    tenantId: tenantIdSchema,
    principals: z.optional(
      z
        .array(
          z.union([principalArn, rolePrincipal], {
            error: `must be an IAM user or role ARN (e.g. arn:aws:iam::123456789012:role/Deployer) or {"principal": ARN, "role": ${ROLE_CHOICE}}`,
          }),
          { error: typeError('an array of IAM principal ARNs') },
        )
        .check(z.minLength(1, { error: 'must not be empty' }), z.maxLength(MAX_PRINCIPALS, { error: `must have at most ${MAX_PRINCIPALS} entries` })),
    ),
  },
  { error: 'body must be a JSON object' },
);

/** Adds a principal to a tenant or changes its role; locally, without `principal`, a new credential gets the role. */
export const grantRoleSchema = z.object({ principal: z.optional(principalArn), role: principalRoleSchema }, { error: 'body must be a JSON object' });

/** Takes a principal's role in a tenant away (the principal then administers nothing). */
export const revokeRoleSchema = z.object({ principal: principalArn }, { error: 'body must be a JSON object' });

export const createAppSchema = z.object({ appId: appIdSchema }, { error: 'body must be a JSON object' });

export const uploadRequestSchema = (maxBuildBytes: number) =>
  z.object(
    {
      version: appVersionSchema,
      size: wholeNumber('bytes', 1, maxBuildBytes, 'must be at least 1 byte (empty builds cannot be registered)'),
      expireAfterSeconds: z.optional(wholeNumber('seconds', 60, MAX_DURATION_SECONDS)),
      note,
    },
    { error: 'body must be a JSON object' },
  );

/** S3 allows at most 10 000 parts. */

export const completeUploadSchema = z.object(
  {
    parts: z
      .array(
        z.object(
          {
            partNumber: wholeNumber('', 1, MAX_UPLOAD_PARTS),
            etag: z.string({ error: typeError('a string') }).check(
              z.minLength(1, { error: 'must not be empty' }),
              z.maxLength(256, { error: 'must be at most 256 characters' }),
            ),
          },
          { error: typeError('an object') },
        ),
        { error: typeError('an array of {partNumber, etag}') },
      )
      .check(z.minLength(1, { error: 'must not be empty' }), z.maxLength(MAX_UPLOAD_PARTS, { error: `must have at most ${MAX_UPLOAD_PARTS} entries` })),
  },
  { error: 'body must be a JSON object' },
);

export const expireRequestSchema = z.object(
  { afterSeconds: wholeNumber('seconds', 0, MAX_DURATION_SECONDS) },
  { error: 'body must be a JSON object' },
);

/** At most this many register failures are named in one retry or clear (docs/ADMIN_API.md §5.4). */
export const MAX_REGISTER_FAILURE_IDS = 100;
/** SQS message ids are UUIDs; the local cloud's are too. Anything else names no failure. */
const REGISTER_FAILURE_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

/** POST /v1/admin/registrations/failures/{retry,clear}: `ids` absent acts on every queued failure. */
export const registerFailureSelectionSchema = z.object(
  {
    ids: z.optional(
      z
        .array(z.string({ error: typeError('a string') }).check(z.regex(REGISTER_FAILURE_ID_PATTERN, { error: 'must be failure ids as listed' })), {
          error: typeError('an array of failure ids'),
        })
        .check(
          z.minLength(1, { error: 'must not be empty (omit it to act on every failure)' }),
          z.maxLength(MAX_REGISTER_FAILURE_IDS, { error: `must have at most ${MAX_REGISTER_FAILURE_IDS} entries` }),
        ),
    ),
  },
  { error: 'body must be a JSON object' },
);

/** Android OS patch levels are a year and month: 202406 is June 2024. */
const PATCH_LEVEL_MIN = 200001;
const PATCH_LEVEL_MAX = 209912;

const oneOf = <T extends string>(values: readonly T[]) =>
  z.enum(values as unknown as [T, ...T[]], { error: `must be ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}` });

export const APP_ATTEST_ENVIRONMENTS: readonly AppAttestEnvironment[] = ['production', 'development'];

/**
 * A policy's `hardware` (PROTOCOL.md §5.5). Every member is optional and takes DEFAULT_HARDWARE_POLICY's
 * value when left out, so `{"android": "require"}` is a whole hardware policy.
 */
export const hardwarePolicySchema = z.object(
  {
    ios: z.optional(oneOf(HARDWARE_MODES)),
    android: z.optional(oneOf(HARDWARE_MODES)),
    otherPlatforms: z.optional(oneOf(['allow', 'refuse'] as const)),
    minAndroidSecurityLevel: z.optional(oneOf<AndroidSecurityLevel>(ANDROID_SECURITY_LEVELS)),
    requireVerifiedBoot: z.optional(z.boolean({ error: typeError('a boolean') })),
    minAndroidPatchLevel: z.optional(
      z.number({ error: typeError('a number (YYYYMM)') }).check(
        z.int({ error: 'must be a year and month as a whole number YYYYMM, e.g. 202406' }),
        z.minimum(PATCH_LEVEL_MIN, { error: 'must be a year and month as YYYYMM from 200001, e.g. 202406' }),
        z.maximum(PATCH_LEVEL_MAX, { error: `must be a year and month as YYYYMM up to ${PATCH_LEVEL_MAX}, e.g. 202406` }),
        z.refine((n) => n % 100 >= 1 && n % 100 <= 12, { error: 'must be a year and month as YYYYMM: the month 01 to 12, e.g. 202406' }),
      ),
    ),
    appAttestEnvironments: z.optional(
      z
        .array(oneOf(APP_ATTEST_ENVIRONMENTS), { error: typeError('an array of App Attest environments') })
        .check(
          z.minLength(1, { error: 'must name at least one of production, development (iOS attestations need one)' }),
          z.refine((list) => new Set(list).size === list.length, { error: 'must not name an environment twice' }),
        ),
    ),
    rememberDays: z.optional(wholeNumber('days', MIN_REMEMBER_DAYS, MAX_REMEMBER_DAYS, `must be at least ${MIN_REMEMBER_DAYS} day`)),
  },
  { error: typeError('an object') },
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
export const appleTeamIdSchema = z.string({ error: typeError('a string') }).check(
  z.regex(APPLE_TEAM_ID_PATTERN, { error: 'must be an Apple Team ID: 10 upper-case letters and digits, e.g. ABCDE12345' }),
);
export const bundleIdSchema = z.string({ error: typeError('a string') }).check(
  z.minLength(1, { error: 'must not be empty' }),
  z.maxLength(155, { error: 'must be at most 155 characters' }),
  z.regex(BUNDLE_ID_PATTERN, { error: 'must be a bundle id: letters, digits, hyphens and dots, e.g. com.example.app' }),
);
export const androidPackageSchema = z.string({ error: typeError('a string') }).check(
  z.maxLength(255, { error: 'must be at most 255 characters' }),
  z.regex(ANDROID_PACKAGE_PATTERN, {
    error: 'must be an Android package name: two or more dot-separated parts, each a letter then letters, digits or _, e.g. com.example.app',
  }),
);
/** Accepts either spelling of a digest and yields the stored one (certificateDigestHex). */
export const signingCertificateSchema = z.pipe(
  z.string({ error: typeError('a string') }).check(
    z.regex(CERTIFICATE_DIGEST_PATTERN, {
      error: 'must be a SHA-256 certificate digest: 64 hex characters, or 32 colon-separated hex bytes as keytool prints it',
    }),
  ),
  z.transform(certificateDigestHex),
);

/**
 * PUT /v1/admin/apps/{appId}/identity: the whole identity, either platform or both; `{}` removes it.
 * Certificate digests come out lower-case hex, duplicates refused after that normalisation.
 */
export const appIdentitySchema = z.object(
  {
    ios: z.optional(z.object({ teamId: appleTeamIdSchema, bundleId: bundleIdSchema }, { error: typeError('an object {teamId, bundleId}') })),
    android: z.optional(
      z.object(
        {
          packageName: androidPackageSchema,
          signingCertificates: z.array(signingCertificateSchema, { error: typeError('an array of SHA-256 certificate digests') }).check(
            z.minLength(1, { error: 'must list at least one signing certificate digest' }),
            z.maxLength(MAX_SIGNING_CERTIFICATES, { error: `must list at most ${MAX_SIGNING_CERTIFICATES} signing certificate digests` }),
            z.refine((list) => new Set(list).size === list.length, { error: 'must not list a certificate twice' }),
          ),
          minVersionCode: z.optional(wholeNumber('', 0, MAX_ANDROID_VERSION_CODE)),
        },
        { error: typeError('an object {packageName, signingCertificates, minVersionCode?}') },
      ),
    ),
  },
  { error: 'body must be a JSON object' },
);

export const policySchema = z.object(
  {
    // Protocol 1 had a lifetime per app; a token's lifetime would then tell a registered app id from
    // an unknown one, so it is now the deployment's. Refused by name rather than dropped silently.
    tokenTtlSeconds: z.optional(
      z.never({ error: 'is no longer part of a policy: every token of a deployment lives as long (ATTESTOR_TOKEN_TTL_SECONDS, the stack prop tokenTtl)' }),
    ),
    reject: z.object(signalFlags, { error: typeError('an object of four booleans') }),
    minSdkVersion: z.optional(
      z.string({ error: typeError('a string') }).check(
        z.maxLength(32, { error: 'must be at most 32 characters' }),
        z.regex(SDK_VERSION_PATTERN, { error: 'must be a version such as 1.2.0' }),
      ),
    ),
    hardware: z.optional(hardwarePolicySchema),
    measurement: z.optional(z.enum(['require', 'off'], { error: 'must be require or off' })),
  },
  { error: 'body must be a JSON object' },
).check(
  // Without measurement, hardware evidence is the only proof left: a platform that may attest without
  // it would pass any client that claims to be that platform, knowing nothing but the app id.
  z.refine((body) => body.measurement !== 'off' || measurementMayBeOff({ ...DEFAULT_HARDWARE_POLICY, ...body.hardware }), {
    error:
      'may be off only when hardware.ios and hardware.android are require and hardware.otherPlatforms is refuse: ' +
      'otherwise a client claiming a platform without required evidence would pass with no proof at all',
    path: ['measurement'],
  }),
);

/** True when every platform a client may claim needs hardware evidence: the condition for `measurement: off`. */
export function measurementMayBeOff(hardware: Pick<HardwarePolicy, 'ios' | 'android' | 'otherPlatforms'>): boolean {
  return hardware.ios === 'require' && hardware.android === 'require' && hardware.otherPlatforms === 'refuse';
}

export const addDeviceSchema = z
  .object(
    {
      did: z.optional(b64uBytes(32)),
      debug: z.optional(z.literal(true, { error: 'must be true (or left out)' })),
      note,
    },
    { error: 'body must be a JSON object' },
  )
  .check(
    z.refine((body) => (body.did === undefined) !== (body.debug === undefined), {
      error: 'give exactly one of did (allow-list an install key) or debug: true (create a debug secret)',
    }),
  );

export const rotateKeySchema = z.object(
  { format: z.optional(z.enum(TOKEN_FORMATS as [TokenFormat, ...TokenFormat[]], { error: `must be ${TOKEN_FORMATS.join(' or ')}` })) },
  { error: 'body must be a JSON object' },
);

export const deviceIdSchema = z
  .string()
  .check(
    z.regex(DEVICE_ID_PATTERN, { error: 'must be a device id: an install key\'s did (43 base64url characters) or debug. and 22 such characters' }),
  );

export type CreateTenantRequest = z.infer<typeof createTenantSchema>;
export type GrantRoleRequest = z.infer<typeof grantRoleSchema>;
export type RevokeRoleRequest = z.infer<typeof revokeRoleSchema>;
export type UploadRequest = z.infer<ReturnType<typeof uploadRequestSchema>>;
export type PolicyRequest = z.infer<typeof policySchema>;
export type AppIdentityRequest = z.infer<typeof appIdentitySchema>;
export type AddDeviceRequest = z.infer<typeof addDeviceSchema>;

/** Query-string parameters arrive as strings; these parse them with the same error conventions. */
export function queryInteger(value: string | undefined, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new InvalidRequestError(field, 'must be a whole number');
  const n = Number(value);
  if (n < min) throw new InvalidRequestError(field, `must be at least ${min}`);
  if (n > max) throw new InvalidRequestError(field, `must be at most ${max}`);
  return n;
}
