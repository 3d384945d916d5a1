/**
 * Allow-listed devices of an app: install keys that always pass (CI, lab phones) and debug secrets
 * (emulators, CI runners without a stable install key), as Firebase App Check's debug provider.
 */
import { createHash } from 'node:crypto';
import { debugDeviceId } from '@attestor/contracts/admin-ids';
import { decodeB64u, encodeB64u } from '@attestor/contracts/base64url';
import { constantTimeEqual } from './measurement';
import type { Clock, DeviceRecord, RandomSource } from './ports';

export const DEBUG_SECRET_BYTES = 32;

/** b64u(SHA-256(secret)): all the service keeps of a debug secret. */
export function debugSecretDigest(secret: Uint8Array): string {
  return encodeB64u(createHash('sha256').update(secret).digest());
}

/** A new debug device and its secret; the secret is shown to the admin once and never stored. */
export function newDebugDevice(
  deps: { readonly clock: Clock; readonly random: RandomSource },
  appId: string,
  note: string | undefined,
): { device: DeviceRecord; debugSecret: string } {
  const secret = deps.random.bytes(DEBUG_SECRET_BYTES);
  const secretSha256 = debugSecretDigest(secret);
  return {
    device: {
      appId,
      deviceId: debugDeviceId(secretSha256),
      kind: 'debug',
      secretSha256,
      createdAt: deps.clock.nowSeconds(),
      ...(note !== undefined ? { note } : {}),
    },
    debugSecret: encodeB64u(secret),
  };
}

export function newInstallDevice(clock: Clock, appId: string, did: string, note: string | undefined): DeviceRecord {
  return { appId, deviceId: did, kind: 'install', did, createdAt: clock.nowSeconds(), ...(note !== undefined ? { note } : {}) };
}

/**
 * The device was looked up by a prefix of the digest; the whole digest is compared in constant
 * time, so neither the lookup nor the comparison tells how close a guess came.
 */
export function matchesDebugSecret(device: DeviceRecord | undefined, digest: string): boolean {
  if (device?.kind !== 'debug' || device.secretSha256 === undefined) return false;
  const stored = decodeB64u(device.secretSha256);
  const presented = decodeB64u(digest);
  return stored !== undefined && presented !== undefined && constantTimeEqual(stored, presented);
}

export function isAllowlistedInstall(device: DeviceRecord | undefined, did: string): boolean {
  return device?.kind === 'install' && device.did === did;
}

/** What the admin API shows of a device: never the secret's digest. */
export function publicDevice(device: DeviceRecord): Record<string, unknown> {
  return {
    deviceId: device.deviceId,
    kind: device.kind,
    ...(device.did !== undefined ? { did: device.did } : {}),
    ...(device.note !== undefined ? { note: device.note } : {}),
    createdAt: device.createdAt,
  };
}
