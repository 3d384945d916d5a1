/** Allow-listed devices of an app (docs/ADMIN_API.md §7). Debug secrets are shown once, at creation. */
import { addDeviceSchema, deviceIdSchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { addDevice as add, listDevices as listOf, removeDevice as remove } from '../../core/admin/devices';
import { publicDevice } from '../../core/devices';
import { json, parseJsonBody } from '../http';
import { pathAppId, pathParam, type AdminRequestWith, type UseCaseDeps } from './context';

type DevicesRequest = AdminRequestWith<UseCaseDeps<typeof add>>;

export async function listDevices(request: DevicesRequest) {
  const devices = await listOf(request.deps, request.caller, pathAppId(request));
  return json(200, { devices: devices.map(publicDevice) });
}

export async function addDevice(request: DevicesRequest) {
  const { caller } = request;
  const appId = pathAppId(request);
  const body = parseRequest(addDeviceSchema, parseJsonBody(request.event));
  const wanted = body.did !== undefined ? { did: body.did, note: body.note } : { debug: true as const, note: body.note };
  const { device, debugSecret } = await add(request.deps, caller, appId, wanted);
  request.log.info('device_added', { tenantId: caller.tenantId, appId, deviceId: device.deviceId, kind: device.kind });
  return json(201, { ...publicDevice(device), ...(debugSecret !== undefined ? { debugSecret } : {}) });
}

export async function removeDevice(request: DevicesRequest) {
  const appId = pathAppId(request);
  const deviceId = pathParam(request, 'deviceId', deviceIdSchema);
  const removed = await remove(request.deps, request.caller, appId, deviceId);
  request.log.info('device_removed', { tenantId: request.caller.tenantId, appId, deviceId });
  return json(200, { device: publicDevice(removed) });
}
