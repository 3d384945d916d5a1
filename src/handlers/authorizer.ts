/**
 * API Gateway REQUEST authorizer. Fails closed: a missing header, a bad token, a key source that
 * cannot be reached or any unexpected error all end in Deny.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { AttestationVerifier } from '../core/verifier';
import { TokenVerificationError } from '../core/verify';
import { TOKEN_HEADER_NAME } from '../routes';
import type { Logger } from './log';

export type AuthorizerHandler = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** Header lookup ignoring case: REST API events keep the client's casing. */
export function headerValue(headers: Record<string, string | undefined> | null | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function policy(effect: 'Allow' | 'Deny', methodArn: string, principalId: string, context?: Record<string, string>): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: methodArn }] },
    ...(context ? { context } : {}),
  };
}

export function authorizerHandler(verifier: AttestationVerifier, log: Logger): AuthorizerHandler {
  return async (event) => {
    try {
      const claims = await verifier.verify(headerValue(event.headers, TOKEN_HEADER_NAME));
      return policy('Allow', event.methodArn, claims.did, { appId: claims.sub, did: claims.did, appVersion: claims.ver, jti: claims.jti });
    } catch (error) {
      const code = error instanceof TokenVerificationError ? error.code : 'verifier_error';
      if (!(error instanceof TokenVerificationError)) log.error('authorizer_error', { errorName: (error as Error)?.name, errorMessage: (error as Error)?.message });
      log.info('token_denied', { code, path: event.path });
      return policy('Deny', event.methodArn, 'anonymous');
    }
  };
}
