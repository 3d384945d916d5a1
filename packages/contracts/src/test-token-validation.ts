/** The body of POST /v1/admin/tokens/test (docs/ADMIN_API.md §8.1), checked by the handler and by the CLI before it sends. */
import * as z from 'zod/mini';
import { HARDWARE_KINDS, type HardwareKind } from './protocol';
import { MAX_TEST_TOKEN_TTL_SECONDS, MIN_TEST_TOKEN_TTL_SECONDS, TEST_TOKEN_SETTABLE_CLAIMS } from './test-tokens';
import { appIdSchema, appVersionSchema, b64uBytes } from './validation';

const hardwareKinds = Object.values(HARDWARE_KINDS) as [HardwareKind, ...HardwareKind[]];
const claimList = TEST_TOKEN_SETTABLE_CLAIMS.join(', ');
const unknownKeys = (issue: { readonly keys?: readonly string[] }) => (issue.keys ?? []).join(', ');

/** Claims the administrator may set; any other claim (iss, sub, exp, ...: the service's) is refused. */
export const testTokenClaimsSchema = z.strictObject(
  {
    ver: z.optional(appVersionSchema),
    /** A thumbprint (43 base64url characters), e.g. of a key the CI holds, for proof-of-possession tests. */
    did: z.optional(b64uBytes(32)),
    hw: z.optional(z.enum(hardwareKinds, { error: `must be ${hardwareKinds.join(' or ')}` })),
    pay: z.optional(b64uBytes(32)),
    lut: z.optional(z.literal(true, { error: 'must be true (or left out)' })),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `cannot set ${unknownKeys(issue)}: may hold only ${claimList}` : 'must be a JSON object') },
);

const ttl = `must be a whole number of seconds from ${MIN_TEST_TOKEN_TTL_SECONDS} to ${MAX_TEST_TOKEN_TTL_SECONDS}`;

export const mintTestTokenSchema = z.strictObject(
  {
    appId: appIdSchema,
    ttlSeconds: z.optional(
      z.int({ error: ttl }).check(z.minimum(MIN_TEST_TOKEN_TTL_SECONDS, { error: ttl }), z.maximum(MAX_TEST_TOKEN_TTL_SECONDS, { error: ttl })),
    ),
    claims: z.optional(testTokenClaimsSchema),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `${unknownKeys(issue)} is not a field: give appId, ttlSeconds and claims` : 'body must be a JSON object',
  },
);

export type MintTestTokenRequest = z.infer<typeof mintTestTokenSchema>;
