/**
 * Version of this SDK, sent as `sdkVersion` so a tenant's policy can refuse builds with an old SDK.
 * @example
 * ```ts
 * console.log(`attestor sdk ${SDK_VERSION}`); // attestor sdk 0.1.0
 * ```
 */
export const SDK_VERSION = '0.1.0';
