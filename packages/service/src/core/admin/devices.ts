/** Allow-listed devices of the caller's apps (docs/ADMIN_API.md §7). Debug secrets are shown once, at creation. */
import { MAX_DEVICES_PER_APP } from '@attestor/contracts/admin-validation';
import { newDebugDevice, newInstallDevice } from '../devices';
import { ConflictError, NotFoundError } from '../errors';
import type { AppStore, Clock, DeviceRecord, DeviceStore, RandomSource } from '../ports';
import type { AdminCaller } from '../tenancy';
import { ownedApp } from './ownership';

export interface DeviceAdminDeps {
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly devices: Pick<DeviceStore, 'listDevices' | 'putDeviceIfAbsent' | 'deleteDevice'>;
  readonly clock: Clock;
  readonly random: RandomSource;
}

/** An install key (by its did) or a new debug secret, with an optional note. */
export type NewDevice = { readonly did: string; readonly note?: string } | { readonly debug: true; readonly note?: string };

export async function listDevices(deps: Pick<DeviceAdminDeps, 'apps' | 'devices'>, caller: AdminCaller, appId: string): Promise<DeviceRecord[]> {
  const app = await ownedApp(deps.apps, caller, appId);
  return deps.devices.listDevices(app.appId);
}

/** The device as stored, and for a debug device its secret, which is never stored and never shown again. */
export async function addDevice(
  deps: DeviceAdminDeps,
  caller: AdminCaller,
  appId: string,
  request: NewDevice,
): Promise<{ readonly device: DeviceRecord; readonly debugSecret?: string }> {
  const app = await ownedApp(deps.apps, caller, appId);
  // A soft cap (count, then write): it bounds the list, it is not a security boundary.
  if ((await deps.devices.listDevices(app.appId)).length >= MAX_DEVICES_PER_APP) {
    throw new ConflictError(`app ${app.appId} has ${MAX_DEVICES_PER_APP} devices, the most allowed; remove one first`);
  }
  if ('did' in request) {
    const device = newInstallDevice(deps.clock, app.appId, request.did, request.note);
    if (!(await deps.devices.putDeviceIfAbsent(device))) throw new ConflictError(`install key ${request.did} is already allow-listed`);
    return { device };
  }
  const { device, debugSecret } = newDebugDevice(deps, app.appId, request.note);
  // 132 random bits of id: a collision means a broken random source, not bad luck.
  if (!(await deps.devices.putDeviceIfAbsent(device))) throw new Error('debug device id collision');
  return { device, debugSecret };
}

/** Removes the device and returns it; its attestations are judged like anyone's from then on. */
export async function removeDevice(
  deps: Pick<DeviceAdminDeps, 'apps' | 'devices'>,
  caller: AdminCaller,
  appId: string,
  deviceId: string,
): Promise<DeviceRecord> {
  const app = await ownedApp(deps.apps, caller, appId);
  const removed = await deps.devices.deleteDevice(app.appId, deviceId);
  if (!removed) throw new NotFoundError(`no device ${deviceId} for ${app.appId}`);
  return removed;
}
