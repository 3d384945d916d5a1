/**
 * What the functions count and where the counts are read: the CloudWatch namespace, metric and
 * dimension names the functions write (Embedded Metric Format, through Powertools) and the CDK
 * dashboard and alarms read, the categories an attestation is counted under (the console's charts
 * and the counters `attestor stats` reads use the same), and the layout of the counter items in the
 * attestation log table. The runtime and the dashboard must agree on every name here, so both read
 * them from this one module.
 */
import type { AttestationOutcome } from './admin-api';

/** CloudWatch namespace of every Attestor metric. */
export const METRICS_NAMESPACE = 'Attestor';

/** Metric names. Each is a count (unit Count, value 1 per event). */
export const METRIC = {
  /** One per judged attestation, under dimension Outcome (a VerdictCategory) and Token (genuine or decoy). */
  attestations: 'Attestations',
  /** One per attest request whose nonce was unknown, used or expired: replays and stale challenges. */
  nonceInvalid: 'NonceInvalid',
  /** One per authorizer decision, under Verdict (AuthorizerVerdictName) and Reason (the verifier's code). */
  tokenVerdicts: 'TokenVerdicts',
  /** One per uploaded build the register function handled, under Outcome (RegisterOutcome). */
  registrations: 'Registrations',
  /** One per request or event a dependency (DynamoDB, S3, KMS, SQS, Lambda) refused or throttled: a 503 with Retry-After. */
  dependencyUnavailable: 'DependencyUnavailable',
} as const;

/** Dimension names. */
export const DIMENSION = {
  tenant: 'Tenant',
  app: 'App',
  outcome: 'Outcome',
  /** genuine: a token signed with the tenant's key; decoy: a failed attestation's look-alike. */
  token: 'Token',
  verdict: 'Verdict',
  reason: 'Reason',
  function: 'Function',
  dependency: 'Dependency',
} as const;

/**
 * The Dependency value of a KMS call refused because its key is pending deletion: a retired tenant
 * key still in use, which the KmsKeyPendingDeletionInUseAlarm watches. Every other refusal names its
 * DependencyUnavailableError's code.
 */
export const KEY_PENDING_DELETION = 'kms_key_pending_deletion';

/**
 * The App dimension's value for app ids nobody registered: the id itself is whatever a client sent,
 * and one metric per made-up id would let anyone grow the account's metric bill.
 */
export const UNREGISTERED_APP = '~unregistered';

/**
 * Dimension sets of each metric, outermost first: one set to alarm and graph on across the
 * deployment, and one per tenant and app. A dashboard widget or alarm names exactly one of these.
 */
export const DIMENSION_SETS = {
  attestations: [[DIMENSION.outcome], [DIMENSION.token], [DIMENSION.tenant, DIMENSION.app, DIMENSION.outcome]],
  nonceInvalid: [[DIMENSION.function], [DIMENSION.tenant, DIMENSION.app]],
  tokenVerdicts: [[DIMENSION.verdict], [DIMENSION.verdict, DIMENSION.reason], [DIMENSION.tenant, DIMENSION.app, DIMENSION.verdict]],
  // Per tenant and app only where the object belongs to an upload (a stray object belongs to no one).
  registrations: [[DIMENSION.outcome], [DIMENSION.tenant, DIMENSION.app, DIMENSION.outcome]],
  dependencyUnavailable: [[DIMENSION.function], [DIMENSION.function, DIMENSION.dependency]],
} as const satisfies Record<keyof typeof METRIC, ReadonlyArray<readonly string[]>>;

/** Token dimension values. */
export type TokenKind = 'genuine' | 'decoy';

/**
 * What the authorizer did with a request: allowed (valid token), denied (enforce mode), would_deny
 * (monitor mode let through a request enforcing would have denied), unavailable (keys or ledger
 * unreachable: API Gateway answers 503 in enforce mode).
 */
export type AuthorizerVerdictName = 'allowed' | 'denied' | 'would_deny' | 'unavailable';
export const AUTHORIZER_VERDICTS: readonly AuthorizerVerdictName[] = ['allowed', 'denied', 'would_deny', 'unavailable'];

/** What became of one uploaded build. failed: an error the event is retried for (and, in the end, dead-lettered). */
export type RegisterOutcome = 'registered' | 'rejected' | 'unchanged' | 'failed';
export const REGISTER_OUTCOMES: readonly RegisterOutcome[] = ['registered', 'rejected', 'unchanged', 'failed'];

/** Why a failed attestation failed, by what an operator would fix: the build, the proof, hardware evidence, the device, the SDK. */
export type FailFamily = 'build' | 'proof' | 'hardware' | 'device' | 'sdk' | 'other';

/** Reasons by family (docs/ADMIN_API.md §9.1). A reason not listed, from a newer service, is `other`. */
const FAMILY_OF_REASON: Readonly<Record<string, FailFamily>> = {
  app_unknown: 'build',
  version_unknown: 'build',
  registration_expired: 'build',
  measurement_mismatch: 'build',
  install_proof_invalid: 'proof',
  debug_secret_invalid: 'proof',
  device_rooted: 'device',
  device_emulator: 'device',
  device_debugger: 'device',
  device_hooked: 'device',
  sdk_too_old: 'sdk',
};

/**
 * An entry with reasons of several families is counted once, under the first family here: a build
 * that is not the registered one is not genuine whatever the device says, so it comes first.
 */
const FAMILY_PRECEDENCE: readonly FailFamily[] = ['build', 'proof', 'hardware', 'device', 'sdk', 'other'];

export function reasonFamily(reason: string): FailFamily {
  return FAMILY_OF_REASON[reason] ?? (reason.startsWith('hardware_') ? 'hardware' : 'other');
}

/** The Outcome an attestation is counted under: pass, debug, allowlisted, or fail_<family>. */
export type VerdictCategory = Exclude<AttestationOutcome, 'fail'> | `fail_${FailFamily}`;

export interface CategoryInfo {
  readonly key: VerdictCategory;
  readonly label: string;
}

/** Every category, in the stacking order of a chart, bottom up: what passes, then what fails by family. */
export const VERDICT_CATEGORIES: readonly CategoryInfo[] = [
  { key: 'pass', label: 'pass' },
  { key: 'allowlisted', label: 'allow-listed device' },
  { key: 'debug', label: 'debug secret' },
  { key: 'fail_build', label: 'fail: build (unknown, expired, modified)' },
  { key: 'fail_proof', label: 'fail: install proof or debug secret' },
  { key: 'fail_hardware', label: 'fail: hardware evidence' },
  { key: 'fail_device', label: 'fail: device signals' },
  { key: 'fail_sdk', label: 'fail: SDK too old' },
  { key: 'fail_other', label: 'fail: other reason' },
];

export function categoryOf(entry: { readonly outcome: AttestationOutcome; readonly reasons: readonly string[] }): VerdictCategory {
  if (entry.outcome !== 'fail') return entry.outcome;
  const families = new Set(entry.reasons.map(reasonFamily));
  return `fail_${FAMILY_PRECEDENCE.find((f) => families.has(f)) ?? 'other'}`;
}

/**
 * Counter items in the attestation log table: what attest adds to for every verdict, and what
 * `attestor stats` and the console's charts read instead of the entries themselves, so a query's
 * cost follows the length of its window, not the traffic in it.
 *   pk COUNTS#<tenantId>#<appId or ~unregistered>#<granularity>#<shard>   sk <bucket start, 10 digits>
 * granularity `m` (a minute, for charts and a window's ragged ends) or `h` (an hour, for the rest of
 * a long window); both are added to for each verdict. The shard (the jti's first byte modulo
 * COUNTER_SHARDS) spreads one busy app's updates over several items, since one item takes about
 * 1,000 writes per second: at 10,000 attestations per second an app's minute item of each shard
 * takes about 625 (docs/SCALING.md). Attributes: `n` (attestations), `o_<outcome>`, `c_<category>`,
 * `r_<reason>`, `nonce_invalid`, and `ttl`.
 */
export const COUNTS_PARTITION_PREFIX = 'COUNTS#';
export const COUNTER_SHARDS = 16;
export const COUNTER_GRANULARITY = { minute: { key: 'm', seconds: 60 }, hour: { key: 'h', seconds: 3600 } } as const;
/** Counter attributes. */
export const COUNTER_ATTRIBUTE = {
  total: 'n',
  outcome: 'o_',
  category: 'c_',
  reason: 'r_',
  nonceInvalid: 'nonce_invalid',
} as const;

/**
 * Counter items of the authorizer's verdicts, where there is no CloudWatch to read them back from:
 * the local cloud's authorizer adds to them and its stats read them (in AWS the adminCatalog function
 * reads the TokenVerdicts metric instead). In the attestation log table, one partition per tenant and app:
 *   pk VERDICTS#<tenantId>#<appId or ~unregistered>   sk <minute start, 10 digits>
 * attributes `v_<AuthorizerVerdictName>` and `ttl`. Unsharded: no one drives a local cloud at 1,000 requests per second.
 */
export const VERDICT_COUNTS_PARTITION_PREFIX = 'VERDICTS#';
export const VERDICT_COUNTER_ATTRIBUTE = 'v_';
