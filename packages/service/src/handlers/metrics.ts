/**
 * What the handlers count, as ports: the functions write the counts as CloudWatch metrics through
 * Powertools (composition/powertools.ts), the local cloud and the unit tests hand in their own.
 * The names the counts are published under are @attestor/contracts/metrics'.
 */
import type { AttestationOutcome } from '@attestor/contracts/admin-api';
import type { AuthorizerVerdictName, RegisterOutcome } from '@attestor/contracts/metrics';

/** valid: the token (and request) passed; missing: no token; invalid: anything else, `code` says what. */
export type VerdictResult = 'valid' | 'missing' | 'invalid';

/** One request's verdict, as counted in metrics. */
export interface AuthorizerVerdict {
  readonly result: VerdictResult;
  /** 'valid', 'missing', a VerifyErrorCode, or 'verifier_error' when keys or ledger could not be reached. */
  readonly code: string;
  readonly mode: 'enforce' | 'monitor';
  /** The token's app (its sub) when the token verified. */
  readonly appId?: string;
}

/** What the authorizer did with the request, as the TokenVerdicts metric's Verdict dimension names it. */
export function verdictName(verdict: AuthorizerVerdict): AuthorizerVerdictName {
  if (verdict.result === 'valid') return 'allowed';
  if (verdict.code === 'verifier_error') return 'unavailable';
  return verdict.mode === 'monitor' ? 'would_deny' : 'denied';
}

/** Where the authorizer's verdicts go. */
export interface MetricsSink {
  record(verdict: AuthorizerVerdict): void;
}

/** One judged attestation, as counted: nothing secret, nothing a client could inflate into new metrics. */
export interface AttestationCount {
  readonly tenantId: string;
  readonly appId: string;
  readonly appKnown: boolean;
  readonly outcome: AttestationOutcome;
  readonly reasons: readonly string[];
}

/** Where the service functions' counts go. */
export interface ServiceMetrics {
  attestation(count: AttestationCount): void;
  /** A nonce that was unknown, used or expired. The tenant and app are known only for a registered app. */
  nonceInvalid(count: { readonly tenantId?: string; readonly appId?: string }): void;
  /** `owner`: the upload's tenant and app, absent for an object no upload names (and for a failure, which may not know yet). */
  registration(count: { readonly outcome: RegisterOutcome; readonly owner?: { readonly tenantId: string; readonly appId: string } }): void;
  /** `dependency` is the DependencyUnavailableError's code (e.g. dynamodb_throttled). */
  dependencyUnavailable(count: { readonly handler: string; readonly dependency: string }): void;
}

export const noMetrics: ServiceMetrics & MetricsSink = {
  attestation: () => undefined,
  nonceInvalid: () => undefined,
  registration: () => undefined,
  dependencyUnavailable: () => undefined,
  record: () => undefined,
};
