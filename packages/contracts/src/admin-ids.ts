/**
 * Identifier formats of the admin domain that end up in DynamoDB keys, KMS alias names and URL
 * paths, kept to characters none of those need to escape.
 */

/** Tenant ids become part of KMS alias names, which allow only these characters. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** An install device's id is its did (43 base64url characters); a debug device's is `debug.` + 22. */
export const DEVICE_ID_PATTERN = /^([A-Za-z0-9_-]{43}|debug\.[A-Za-z0-9_-]{22})$/;
export const DEBUG_DEVICE_PREFIX = 'debug.';

/** The id of the debug device holding the secret whose b64u(SHA-256) is `secretSha256`. */
export function debugDeviceId(secretSha256: string): string {
  return `${DEBUG_DEVICE_PREFIX}${secretSha256.slice(0, 22)}`;
}
