/**
 * Schemas of the admin API's inputs (docs/ADMIN_API.md §1.4), checked at the edge before anything
 * is read or written. Same conventions as ./validation: the first offending field is named.
 */
import * as z from 'zod/mini';
import { DEVICE_ID_PATTERN } from './admin-ids';
import { MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS, SDK_VERSION_PATTERN } from './protocol';
import { MAX_UPLOAD_PARTS } from './admin-api';
import { TOKEN_FORMATS, type TokenFormat } from './protocol';
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

const note = z.optional(z.string({ error: typeError('a string') }).check(z.maxLength(MAX_NOTE_CHARS, { error: `must be at most ${MAX_NOTE_CHARS} characters` })));

export const createTenantSchema = z.object(
  {
    tenantId: tenantIdSchema,
    principals: z.optional(
      z
        .array(
          z.string({ error: typeError('a string') }).check(
            z.maxLength(2048, { error: 'must be at most 2048 characters' }),
            z.regex(PRINCIPAL_PATTERN, { error: 'must be an IAM user or role ARN, e.g. arn:aws:iam::123456789012:role/Deployer' }),
          ),
          { error: typeError('an array of IAM principal ARNs') },
        )
        .check(z.minLength(1, { error: 'must not be empty' }), z.maxLength(MAX_PRINCIPALS, { error: `must have at most ${MAX_PRINCIPALS} entries` })),
    ),
  },
  { error: 'body must be a JSON object' },
);

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
  },
  { error: 'body must be a JSON object' },
);

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

export const deviceIdSchema = z.string().check(z.regex(DEVICE_ID_PATTERN, { error: 'is not a device id' }));

export type CreateTenantRequest = z.infer<typeof createTenantSchema>;
export type UploadRequest = z.infer<ReturnType<typeof uploadRequestSchema>>;
export type PolicyRequest = z.infer<typeof policySchema>;
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
