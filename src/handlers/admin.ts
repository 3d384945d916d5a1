/**
 * Admin API (AWS_IAM in AWS, SigV4 against the local credential on the local cloud). Every route
 * first resolves the caller to a tenant; a caller with no tenant gets 403 and nothing is read.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { encodeB64u } from '../core/base64url';
import type { Clock, RandomSource, Registry, TenantKeyManager, UploadUrlIssuer } from '../core/ports';
import { buildObjectKey } from '../core/registration';
import { appIdSchema, appVersionSchema, parseRequest, typeError } from '../core/validation';
import { HttpError, httpHandler, json, parseJsonBody, type ApiHandler } from './http';
import type { Logger } from './log';

export interface AdminDeps {
  readonly registry: Registry;
  readonly keys: TenantKeyManager;
  readonly uploads: UploadUrlIssuer;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly maxBuildBytes: number;
  /** Maps the authenticated caller to its tenant; undefined means no access. */
  readonly tenantOf: (event: APIGatewayProxyEvent) => string | undefined;
}

const uploadRequestSchema = (maxBuildBytes: number) =>
  z.object(
    {
      version: appVersionSchema,
      size: z.number({ error: typeError('a number of bytes') }).check(
        z.int({ error: 'must be a whole number of bytes' }),
        z.minimum(1, { error: 'must be at least 1 byte (empty builds cannot be registered)' }),
        z.maximum(maxBuildBytes, { error: `must be at most ${maxBuildBytes} bytes` }),
      ),
      expireAfterSeconds: z.optional(
        z.number({ error: typeError('a number of seconds') }).check(
          z.int({ error: 'must be a whole number of seconds' }),
          z.minimum(60, { error: 'must be at least 60 seconds' }),
          z.maximum(10 * 365 * 86400, { error: 'must be at most 10 years' }),
        ),
      ),
      note: z.optional(z.string({ error: typeError('a string') }).check(z.maxLength(500, { error: 'must be at most 500 characters' }))),
    },
    { error: 'body must be a JSON object' },
  );

const routeKey = (event: APIGatewayProxyEvent) => `${event.httpMethod} ${event.resource}`;

export function adminHandler(deps: AdminDeps, log: Logger): ApiHandler {
  return httpHandler('admin', log, async (event) => {
    const tenantId = deps.tenantOf(event);
    if (!tenantId) throw new HttpError(403, { error: 'forbidden', message: 'this credential has no access to any tenant' });
    const params = event.pathParameters ?? {};

    switch (routeKey(event)) {
      case 'POST /v1/admin/apps/{appId}/uploads': {
        const appId = parseRequest(z.object({ appId: appIdSchema }), { appId: params['appId'] }).appId;
        const body = parseRequest(uploadRequestSchema(deps.maxBuildBytes), parseJsonBody(event));
        const app = await deps.registry.ensureApp({ appId, tenantId, createdAt: deps.clock.nowSeconds() });
        if (app.tenantId !== tenantId) throw new HttpError(409, { error: 'app_conflict', message: `app ${appId} belongs to another tenant` });
        await deps.keys.ensureSigningKey(tenantId);
        const uploadId = encodeB64u(deps.random.bytes(16));
        const objectKey = buildObjectKey({ appId, version: body.version, uploadId });
        await deps.registry.putUpload({
          uploadId,
          appId,
          version: body.version,
          objectKey,
          status: 'pending',
          createdAt: deps.clock.nowSeconds(),
          ...(body.expireAfterSeconds !== undefined ? { expireAfterSeconds: body.expireAfterSeconds } : {}),
          ...(body.note !== undefined ? { note: body.note } : {}),
        });
        const { url, expiresAt } = await deps.uploads.issue(objectKey, body.size);
        log.info('upload_issued', { tenantId, appId, version: body.version, uploadId, size: body.size });
        return json(201, { uploadId, objectKey, uploadUrl: url, urlExpiresAt: expiresAt });
      }
      case 'GET /v1/admin/uploads/{uploadId}': {
        const upload = await deps.registry.getUpload(params['uploadId'] ?? '');
        const app = upload ? await deps.registry.getApp(upload.appId) : undefined;
        if (!upload || app?.tenantId !== tenantId) throw new HttpError(404, { error: 'not_found', message: 'no such upload' });
        const registration = upload.status === 'registered' ? await deps.registry.getRegistration(upload.appId, upload.version) : undefined;
        return json(200, { ...upload, ...(registration ? { registration } : {}) });
      }
      case 'GET /v1/admin/keys/jwks':
        return json(200, await deps.keys.jwks(tenantId));
      default:
        throw new HttpError(404, { error: 'not_found', message: `no admin route ${routeKey(event)}` });
    }
  });
}
