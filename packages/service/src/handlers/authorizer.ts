/**
 * API Gateway REQUEST authorizer. In enforce mode it fails closed: a missing header, a bad token, a
 * request that does not carry what the API enforces (binding, proof, single use), a key source or
 * ledger that cannot be reached, or any unexpected error all end in Deny. In monitor mode every
 * request is allowed and its verdict recorded, so a customer sees what enforcing would block.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { PROOF_HEADER_NAME } from '@attestor/contracts/protocol';
import type { AttestationVerifier } from '@attestor/verify/core/verifier';
import { TokenVerificationError } from '@attestor/verify/core/verify';
import { KeySourceUnavailableError } from '@attestor/verify/core/verifier';
import { DependencyUnavailableError } from '@attestor/contracts/errors';
import { TOKEN_HEADER_NAME } from '@attestor/contracts/protocol';
import { errorFields, type Logger } from './log';
import type { AuthorizerVerdict, MetricsSink } from './metrics';

export type AuthorizerHandler = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

export type AuthorizerMode = 'enforce' | 'monitor';

export interface AuthorizerOptions {
  /** @default 'enforce' */
  readonly mode?: AuthorizerMode;
  /** @default 'Attestor-Token' */
  readonly tokenHeader?: string;
  /** The header whose value tokens are bound to (with requireBinding on the verifier). @default 'Authorization' */
  readonly bindingHeader?: string;
  /** @default 'Attestor-Proof' */
  readonly proofHeader?: string;
  /**
   * External base URL of the API, stage or base path included (e.g. `https://api.example.com/v1`):
   * a proof's htu must equal it followed by the request path. @default derived from the request:
   * X-Forwarded-Proto (or https), the Host header and requestContext.path (which API Gateway
   * reports with the stage on execute-api hostnames and with the base path on custom domains).
   */
  readonly publicBaseUrl?: string;
  /** Where verdicts go as metrics: every request, allowed or not, in either mode (the log keeps denials and monitor-mode verdicts). */
  readonly metrics?: MetricsSink;
  /**
   * API Gateway caches this authorizer's results (AUTHORIZER_CACHE_TTL_SECONDS > 0). A cached
   * policy is reused for every method of the API that the same token calls, so an Allow must then
   * cover every method and path of the stage (stageArn), not only the method that filled the cache.
   * Deny stays on the one method: a cached Deny still denies everywhere, since a method the policy
   * does not name is denied implicitly. @default false
   */
  readonly cachedResults?: boolean;
}

/** Header lookup ignoring case: REST API events keep the client's casing. */
export function headerValue(headers: Record<string, string | undefined> | null | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** True when the request carried the header more than once (API Gateway then puts only the last in `headers`). */
function repeated(event: APIGatewayRequestAuthorizerEvent, name: string): boolean {
  const wanted = name.toLowerCase();
  let count = 0;
  for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) if (key.toLowerCase() === wanted) count += values?.length ?? 0;
  return count > 1;
}

/** The URL the client addressed, as a proof's htu must name it. */
export function requestUrl(event: APIGatewayRequestAuthorizerEvent, publicBaseUrl: string | undefined): string | undefined {
  if (publicBaseUrl !== undefined) return `${publicBaseUrl}${event.path}`;
  const host = headerValue(event.headers, 'Host');
  if (!host) return undefined;
  const scheme = headerValue(event.headers, 'X-Forwarded-Proto') === 'http' ? 'http' : 'https';
  return `${scheme}://${host}${event.requestContext?.path ?? event.path}`;
}

/**
 * The ARN of every method and path of a method ARN's stage: `...:<apiId>/<stage>/<METHOD>/<path>`
 * becomes `...:<apiId>/<stage>/` followed by `*` for the method and `*` for the path. Any other
 * shape yields the method ARN itself: a policy narrower than meant fails closed (403 on other
 * methods), never open.
 */
export function stageArn(methodArn: string): string {
  const match = /^(arn:[a-z-]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/*]+)\/[A-Z*]+\/.*$/.exec(methodArn);
  return match ? `${match[1]}/*/*` : methodArn;
}

function policy(effect: 'Allow' | 'Deny', resource: string, principalId: string, context?: Record<string, string>): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
    ...(context ? { context } : {}),
  };
}

/**
 * The authorizer over a verifier that knows what to enforce (binding, proof, single use, hardware).
 * Allow carries the app's identity to the backend in the authorizer context (appId, did, appVersion,
 * jti, and hw when the token rests on hardware evidence).
 */
export function authorizerHandler(verifier: AttestationVerifier, log: Logger, options: AuthorizerOptions = {}): AuthorizerHandler {
  const mode = options.mode ?? 'enforce';
  const tokenHeader = options.tokenHeader ?? TOKEN_HEADER_NAME;
  const bindingHeader = options.bindingHeader ?? 'Authorization';
  const proofHeader = options.proofHeader ?? PROOF_HEADER_NAME;

  const record = (verdict: AuthorizerVerdict, path: string) => {
    options.metrics?.record(verdict);
    if (mode === 'enforce' && verdict.result === 'valid') return;
    if (mode === 'enforce') log.info('token_denied', { code: verdict.code, path });
    else log.info('token_monitored', { result: verdict.result, code: verdict.code, path });
  };

  return async (event) => {
    try {
      if (repeated(event, tokenHeader) || repeated(event, proofHeader)) {
        throw new TokenVerificationError('malformed', 'the token or proof header was sent more than once');
      }
      // API Gateway hands over only the last of repeated headers while a backend may read the first:
      // a token bound to one Authorization must not let in a request that also carries another.
      if (verifier.requiresBinding && repeated(event, bindingHeader)) {
        throw new TokenVerificationError('malformed', 'the bound header was sent more than once');
      }
      const claims = await verifier.verifyRequest({
        token: headerValue(event.headers, tokenHeader),
        binding: headerValue(event.headers, bindingHeader),
        proof: headerValue(event.headers, proofHeader),
        method: event.httpMethod,
        ...withUrl(requestUrl(event, options.publicBaseUrl)),
      });
      // Counted in both modes: the allowed share is what an operator weighs the denials against.
      record({ result: 'valid', code: 'valid', mode, appId: claims.sub }, event.path);
      const resource = options.cachedResults ? stageArn(event.methodArn) : event.methodArn;
      const context = { appId: claims.sub, did: claims.did, appVersion: claims.ver, jti: claims.jti, ...(claims.hw !== undefined ? { hw: claims.hw } : {}) };
      return policy('Allow', resource, claims.did, context);
    } catch (error) {
      const code = error instanceof TokenVerificationError ? error.code : 'verifier_error';
      if (!(error instanceof TokenVerificationError)) log.error('authorizer_error', errorFields(error));
      const result = code === 'missing' ? 'missing' : 'invalid';
      record({ result, code, mode }, event.path);
      // Monitor mode lets the request through and tells the backend, which may log or count it too.
      if (mode === 'monitor') return policy('Allow', event.methodArn, 'anonymous', { attestorResult: result, attestorCode: code });
      // Keys or ledger unavailable says nothing about the token: throwing (never allowing) makes API
      // Gateway answer its authorizer-failure response, a 503 (AUTHORIZER_UNAVAILABLE_RESPONSE), so
      // the client retries with the same token instead of discarding it after a 403. Not cached.
      if (isUnavailable(error)) throw new AuthorizerUnavailableError(error);
      return policy('Deny', event.methodArn, 'anonymous');
    }
  };
}

const withUrl = (url: string | undefined): { url?: string } => (url === undefined ? {} : { url });

/** The authorizer could not decide: a dependency of the verifier (KMS, DynamoDB, the remote key source) is unavailable. */
export class AuthorizerUnavailableError extends Error {
  override readonly name = 'AuthorizerUnavailableError';
  constructor(cause: unknown) {
    super('attestation keys or token ledger unavailable', { cause });
  }
}

/** A dependency refused (adapters/aws-errors.ts), or the verifier has no keys it may still trust. */
function isUnavailable(error: unknown): boolean {
  return error instanceof DependencyUnavailableError || error instanceof KeySourceUnavailableError;
}
