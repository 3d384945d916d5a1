/**
 * Express/connect middleware: verifies the attestation token (and, where enforced, binding, proof
 * and single use) of every request before your handlers see it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { PROOF_HEADER_NAME, TOKEN_HEADER_NAME } from '@attestor/contracts/protocol';
import { printable } from '@attestor/contracts/terminal';
import { systemClock } from './core/ports';
import { KeySourceUnavailableError } from './core/verifier';
import { TokenVerificationError, type VerifyErrorCode } from './core/verify';
import { createVerifier, type AttestationClaims, type VerifierOptions } from './verifier';

/** How one request fared; `verifier_error` means keys or replay store could not be reached. */
export type VerificationOutcome =
  | { readonly result: 'valid'; readonly claims: AttestationClaims }
  | { readonly result: 'missing'; readonly code: 'missing' }
  | { readonly result: 'invalid'; readonly code: Exclude<VerifyErrorCode, 'missing'> | 'verifier_error'; readonly message: string };

/** Options of attestorMiddleware: the verifier's, plus where to find things in the request and what to do with failures. */
export interface MiddlewareOptions extends VerifierOptions {
  /** enforce: deny failures with 401 (503 if the verifier cannot reach its keys); monitor: let everything through and only report. @default 'enforce' */
  readonly mode?: 'enforce' | 'monitor';
  /** @default 'Attestor-Token' */
  readonly tokenHeader?: string;
  /** The header whose value the token is bound to. @default 'Authorization' */
  readonly bindingHeader?: string;
  /** @default 'Attestor-Proof' */
  readonly proofHeader?: string;
  /**
   * External base URL of this server (e.g. `https://api.example.com`), used to check a proof's htu.
   * Set it behind a proxy or load balancer. @default derived from the request: req.protocol (Express,
   * honouring `trust proxy`) or the socket, the Host header, and req.originalUrl.
   */
  readonly publicBaseUrl?: string;
  /** Called once per request with its outcome, in both modes: the place for logs and metrics. */
  readonly onResult?: (outcome: VerificationOutcome, req: IncomingMessage) => void;
  /**
   * Where the middleware says why it could not verify (the 503 in enforce mode): one line naming the
   * failing source and its error (the JWKS or admin URL by origin and path, the KMS key id, the
   * error's name and code; never a secret or a token), at most once a minute unless the cause changes.
   * Anything with console's `error` method. @default console
   */
  readonly logger?: { error(message: string): void };
}

/** A cause is reported again after this long even when unchanged, so an outage that lasts shows in the log while it lasts. */
const UNAVAILABLE_REPORT_SECONDS = 60;

/**
 * An error and its causes on one line, each as `Name [code]: message`. Messages of the verifier's
 * own errors name URLs by origin and path only; codes are Node's (ECONNREFUSED) or an AWS SDK
 * error's HTTP status. Escaped for a terminal, since a message may quote a server.
 */
export function describeUnavailable(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== 'object') {
      parts.push(String(e));
      break;
    }
    const { name, message, code, $metadata } = e as { name?: unknown; message?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
    const status = $metadata?.httpStatusCode;
    const tag = typeof code === 'string' || typeof code === 'number' ? ` [${code}]` : typeof status === 'number' ? ` [HTTP ${status}]` : '';
    parts.push(`${typeof name === 'string' ? name : 'Error'}${tag}: ${typeof message === 'string' ? message.slice(0, 300) : ''}`);
  }
  return printable(parts.join(' <- ').replace(/\s*[\r\n]+\s*/g, ' '));
}

/** The request as the middleware leaves it. */
export type AttestedIncomingMessage = IncomingMessage & {
  /** The verified claims; set only when the token passed. */
  attestation?: AttestationClaims;
  /** The outcome, set in both modes. */
  attestationOutcome?: VerificationOutcome;
};

type Next = (error?: unknown) => void;

/** The verified claims the middleware attached to `req`, if the token passed. */
export function attestationOf(req: IncomingMessage): AttestationClaims | undefined {
  return (req as AttestedIncomingMessage).attestation;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

function requestUrl(req: IncomingMessage & { originalUrl?: string; protocol?: string }, publicBaseUrl: string | undefined): string {
  const path = req.originalUrl ?? req.url ?? '/';
  if (publicBaseUrl) return `${publicBaseUrl.replace(/\/+$/, '')}${path}`;
  const scheme = req.protocol ?? ((req.socket as TLSSocket).encrypted ? 'https' : 'http');
  return `${scheme}://${req.headers.host ?? 'localhost'}${path}`;
}

function reply(res: ServerResponse, status: number, body: Record<string, string>): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('cache-control', 'no-store');
  if (status === 401) res.setHeader('www-authenticate', 'Attestor');
  res.end(JSON.stringify(body));
}

/**
 * @example
 * ```ts
 * app.use('/api', attestorMiddleware({ issuer: 'attestor', secrets: JSON.parse(process.env.ATTESTOR_SECRETS!), requireBinding: true }));
 * app.get('/api/orders', (req, res) => res.json({ app: attestationOf(req)?.sub }));
 * ```
 */
export function attestorMiddleware(options: MiddlewareOptions): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const verifier = createVerifier(options);
  verifier.warm();
  const monitor = options.mode === 'monitor';
  if (options.mode !== undefined && options.mode !== 'enforce' && !monitor)
    throw new TypeError(`mode must be 'enforce' or 'monitor', got ${String(options.mode)}`);
  const tokenHeader = options.tokenHeader ?? TOKEN_HEADER_NAME;
  const bindingHeader = options.bindingHeader ?? 'Authorization';
  const proofHeader = options.proofHeader ?? PROOF_HEADER_NAME;
  const logger = options.logger ?? console;
  const clock = options.clock ?? systemClock;
  let lastReport: { readonly cause: string; readonly at: number } | undefined;
  let unreported = 0;
  const reportUnavailable = (error: unknown) => {
    // While the ring backs off after a failed load, requests get its backoff error with the load's
    // error as cause: the cause is the news, and the same one as the failed load's own report.
    const backingOff = error instanceof KeySourceUnavailableError && error.cause !== undefined;
    const cause = describeUnavailable(backingOff ? error.cause : error);
    const now = clock.nowSeconds();
    if (lastReport && lastReport.cause === cause && now - lastReport.at < UNAVAILABLE_REPORT_SECONDS) {
      unreported++;
      return;
    }
    const answer = monitor ? 'letting requests through unverified (monitor mode)' : 'answering 503';
    const since = unreported > 0 ? ` (${unreported} more since the last report)` : '';
    logger.error(`attestor: attestation cannot be checked, ${answer}${since}: ${cause}`);
    lastReport = { cause, at: now };
    unreported = 0;
  };

  return (req, res, next) => {
    const token = header(req, tokenHeader);
    verifier
      .verify(token, {
        binding: header(req, bindingHeader),
        proof: header(req, proofHeader),
        method: req.method ?? 'GET',
        url: requestUrl(req, options.publicBaseUrl),
      })
      .then(
        (claims): VerificationOutcome => ({ result: 'valid', claims }),
        (error: unknown): VerificationOutcome => {
          if (!(error instanceof TokenVerificationError)) {
            reportUnavailable(error);
            return { result: 'invalid', code: 'verifier_error', message: 'attestation keys or replay store unavailable' };
          }
          if (error.code === 'missing') return { result: 'missing', code: 'missing' };
          return { result: 'invalid', code: error.code, message: error.message };
        },
      )
      .then((outcome) => {
        const attested = req as AttestedIncomingMessage;
        attested.attestationOutcome = outcome;
        if (outcome.result === 'valid') attested.attestation = outcome.claims;
        options.onResult?.(outcome, req);
        if (outcome.result === 'valid' || monitor) return next();
        if (outcome.code === 'verifier_error')
          return reply(res, 503, { error: 'attestation_unavailable', message: 'attestation cannot be checked right now; retry shortly' });
        const message = outcome.result === 'missing' ? `the ${tokenHeader} header is required` : outcome.message;
        reply(res, 401, { error: 'attestation_failed', code: outcome.code, message });
      })
      .catch(next);
  };
}
