/** Test tokens (docs/ADMIN_API.md §8.1): minted for the caller's app with the tenant's test secret, and audited. */
import { mintTestTokenSchema, rotateTestSecretSchema } from '@attestor/contracts/test-token-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { json, parseJsonBody } from '../http';
import type { AdminRequestWith, UseCaseDeps } from './context';
import { mintTestToken, type TestTokenSetup } from '../../core/test-tokens';
import { NotFoundError } from '../../core/errors';

/** 201 with the token. The service's log gets the mint without the token (the audit record has the same). */
export async function mintTestTokenRoute(request: AdminRequestWith<UseCaseDeps<typeof mintTestToken>>) {
  const body = parseRequest(mintTestTokenSchema, parseJsonBody(request.event));
  const minted = await mintTestToken(request.deps, request.caller, body);
  request.log.info('test_token_minted', {
    tenantId: request.caller.tenantId,
    principal: request.caller.principal,
    appId: minted.appId,
    ttlSeconds: minted.ttlSeconds,
    expiresAt: minted.expiresAt,
    kid: minted.kid,
    jti: minted.jti,
    claimNames: Object.keys(minted.claims),
  });
  return json(201, minted);
}

/** The tenant's test secrets, wrapped: only a caller allowed KMS Decrypt under the test encryption context can use them. */
export async function wrappedTestSecrets(request: AdminRequestWith<{ readonly testTokens?: TestTokenSetup }>) {
  const setup = request.deps.testTokens;
  if (!setup) throw new NotFoundError('this deployment mints no test tokens');
  return json(200, await setup.keys.wrappedTestSecrets(request.caller.tenantId));
}

/** 201 with the new test secret's kid and the kids retired (docs/ADMIN_API.md §8.2). An empty body, or none. */
export async function rotateTestSecretRoute(request: AdminRequestWith<{ readonly testTokens?: TestTokenSetup }>) {
  const setup = request.deps.testTokens;
  if (!setup) throw new NotFoundError('this deployment mints no test tokens');
  if (request.event.body) parseRequest(rotateTestSecretSchema, parseJsonBody(request.event));
  const rotation = await setup.keys.rotateTestSecret(request.caller.tenantId);
  const { tenantId, principal } = request.caller;
  request.log.info('test_secret_rotated', { tenantId, principal, kid: rotation.kid, retired: [...rotation.retired] });
  return json(201, rotation);
}
