/** The body of POST /v1/admin/tokens/test (docs/ADMIN_API.md §8.1), checked by the handler and by the CLI before it sends. */
import * as v from 'valibot';
import { HARDWARE_KINDS, type HardwareKind } from './protocol';
import { MAX_TEST_TOKEN_TTL_SECONDS, MIN_TEST_TOKEN_TTL_SECONDS, TEST_TOKEN_SETTABLE_CLAIMS } from './test-tokens';
import { appIdSchema, appVersionSchema, b64uBytes, eitherOf, object, text, type Output } from './validation';

const hardwareKinds = Object.values(HARDWARE_KINDS) as HardwareKind[];
const claimList = TEST_TOKEN_SETTABLE_CLAIMS.join(', ');

const claimEntries = {
  ver: v.optional(appVersionSchema),
  /** A thumbprint (43 base64url characters), e.g. of a key the CI holds, for proof-of-possession tests. */
  did: v.optional(b64uBytes(32)),
  hw: v.optional(v.picklist(hardwareKinds, eitherOf(hardwareKinds))),
  pay: v.optional(b64uBytes(32)),
  lut: v.optional(v.literal(true, 'must be true (or left out)')),
};

/** Claims the administrator may set; any other claim (iss, sub, exp, ...: the service's) is refused. */
export const testTokenClaimsSchema = object(claimEntries, 'must be a JSON object', {
  unknownMembers: (keys) => `cannot set ${keys}: may hold only ${claimList}`,
});

const ttl = text('must be a whole number of seconds from ', MIN_TEST_TOKEN_TTL_SECONDS, ' to ', MAX_TEST_TOKEN_TTL_SECONDS);

const mintEntries = {
  appId: appIdSchema,
  ttlSeconds: v.optional(v.pipe(v.number(ttl), v.integer(ttl), v.minValue(MIN_TEST_TOKEN_TTL_SECONDS, ttl), v.maxValue(MAX_TEST_TOKEN_TTL_SECONDS, ttl))),
  claims: v.optional(testTokenClaimsSchema),
};

export const mintTestTokenSchema = object(mintEntries, 'body must be a JSON object', {
  // The answer names the first unknown member as the field, and the message follows it.
  unknownMembers: () => 'is not a field: give appId, ttlSeconds and claims',
});

export type MintTestTokenRequest = Output<typeof mintTestTokenSchema>;

/** The body of POST /v1/admin/tokens/test/rotate: none, or an empty object. */
export const rotateTestSecretSchema = object({}, 'body must be a JSON object', {
  unknownMembers: () => 'is not a field: this route takes an empty body',
});
