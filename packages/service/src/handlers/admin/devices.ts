/** Allow-listed devices of an app (docs/ADMIN_API.md §7). Debug secrets are shown once, at creation. */
import { addDeviceSchema, deviceIdSchema, MAX_DEVICES_PER_APP } from '@attestor/contracts/admin-validation';
import { newDebugDevice, newInstallDevice, publicDevice } from '../../core/devices';
import { parseRequest } from '@attestor/contracts/validation';
import { json, parseJsonBody } from '../http';
import { conflict, notFound, ownedApp, pathParam, type AdminRequest } from './context';

export async function listDevices(request: AdminRequest) {
  const app = await ownedApp(request);
  const devices = await request.deps.registry.listDevices(app.appId);
  return json(200, { devices: devices.map(publicDevice) });
}

export async function addDevice(request: AdminRequest) {
  const { deps, caller } = request;
  const app = await ownedApp(request);
  const body = parseRequest(addDeviceSchema, parseJsonBody(request.event));
  // A soft cap (count, then write): it bounds the list, it is not a security boundary.
  if ((await deps.registry.listDevices(app.appId)).length >= MAX_DEVICES_PER_APP) {
    throw conflict(`app ${app.appId} has ${MAX_DEVICES_PER_APP} devices, the most allowed; remove one first`);
  }
  if (body.did !== undefined) {
    const device = newInstallDevice(deps.clock, app.appId, body.did, body.note);
    if (!(await deps.registry.putDeviceIfAbsent(device))) throw conflict(`install key ${body.did} is already allow-listed`);
    request.log.info('device_added', { tenantId: caller.tenantId, appId: app.appId, deviceId: device.deviceId, kind: 'install' });
    return json(201, publicDevice(device));
  }
  const { device, debugSecret } = newDebugDevice(deps, app.appId, body.note);
  // 132 random bits of id: a collision means a broken random source, not bad luck.
  if (!(await deps.registry.putDeviceIfAbsent(device))) throw new Error('debug device id collision');
  request.log.info('device_added', { tenantId: caller.tenantId, appId: app.appId, deviceId: device.deviceId, kind: 'debug' });
  return json(201, { ...publicDevice(device), debugSecret });
}

export async function removeDevice(request: AdminRequest) {
  const app = await ownedApp(request);
  const deviceId = pathParam(request, 'deviceId', deviceIdSchema);
  const removed = await request.deps.registry.deleteDevice(app.appId, deviceId);
  if (!removed) throw notFound(`no device ${deviceId} for ${app.appId}`);
  request.log.info('device_removed', { tenantId: request.caller.tenantId, appId: app.appId, deviceId });
  return json(200, { device: publicDevice(removed) });
}
