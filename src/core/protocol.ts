/** Constants of attestation protocol v1 (PROTOCOL.md). Changing any of them is a protocol change. */
export const NONCE_BYTES = 32;
export const NONCE_TTL_SECONDS = 60;
export const DEFAULT_TOKEN_TTL_SECONDS = 300;
export const MEASUREMENT_LABEL = 'attestor-measurement-v1';
export const INSTALL_PROOF_LABEL = 'attestor-install-v1';
/** Tokens larger than this are refused before any parsing (issue 4 security floor). */
export const MAX_TOKEN_BYTES = 4096;
/** Clock skew tolerated on iat/exp/nbf when verifying tokens. */
export const CLOCK_SKEW_SECONDS = 60;

/** Reverse-DNS style: at least two dot-separated labels, e.g. com.example.app. */
export const APP_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;
/** Versions end up in S3 keys and DynamoDB keys, so only characters that need no escaping anywhere. */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** An SDK version (attest's sdkVersion, a policy's minimum): SemVer-like, 1 to 4 numbers, prerelease and build optional. */
export const SDK_VERSION_PATTERN = /^\d+(\.\d+){0,3}(-[A-Za-z0-9.-]+)?(\+[A-Za-z0-9.-]+)?$/;
/** The shortest and longest token TTL a policy may set; key retirement (core/tenant-keys.ts) waits the longest. */
export const MIN_TOKEN_TTL_SECONDS = 60;
export const MAX_TOKEN_TTL_SECONDS = 3600;
