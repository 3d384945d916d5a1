import type { S3Event, S3EventRecord } from 'aws-lambda';
import { registerBuild, type BuildEvent, type RegistrationDeps } from '../core/registration';
import { DependencyUnavailableError } from '../core/errors';
import { errorFields, type Logger } from './log';
import { noMetrics, type ServiceMetrics } from './metrics';

/** S3 URL-encodes keys in event notifications (form style: a space arrives as '+'). */
export function decodeS3EventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/**
 * Identifies one object creation across redeliveries: S3 repeats a record with the same key,
 * sequencer and eventTime, and the sequencer differs between two creations of the same key.
 */
function buildEventOf(record: S3EventRecord, objectKey: string): BuildEvent | undefined {
  const time = Date.parse(record.eventTime);
  if (!Number.isFinite(time)) return undefined;
  return { eventId: `${objectKey}\n${record.s3.object.sequencer ?? ''}`, time: Math.floor(time / 1000) };
}

/** S3 ObjectCreated: hash each new build and record it. Records are independent; one failure does not stop the rest. */
export function registerHandler(deps: RegistrationDeps, log: Logger, metrics: ServiceMetrics = noMetrics): (event: S3Event) => Promise<void> {
  return async (event) => {
    const failures: unknown[] = [];
    for (const record of event.Records) {
      // Decoded inside the try: a malformed percent-escape throws URIError and must not stop the other records.
      let objectKey = record.s3.object.key;
      try {
        objectKey = decodeS3EventKey(objectKey);
        const outcome = await registerBuild(deps, objectKey, buildEventOf(record, objectKey));
        if (outcome.status === 'registered') {
          const { appId, version, sha256, size } = outcome.registration;
          log.info('build_registered', { objectKey, appId, version, sha256, size });
        } else {
          log.warn(outcome.status === 'rejected' ? 'build_rejected' : 'build_unchanged', { objectKey, reason: outcome.reason });
        }
        metrics.registration({ outcome: outcome.status, ...(outcome.owner ? { owner: outcome.owner } : {}) });
      } catch (error) {
        log.error('register_failed', { objectKey, ...errorFields(error) });
        metrics.registration({ outcome: 'failed' });
        if (error instanceof DependencyUnavailableError) metrics.dependencyUnavailable({ handler: 'register', dependency: error.code });
        failures.push(error);
      }
    }
    // Throwing makes Lambda retry the event; registration is idempotent, so a retry is safe.
    // The message names each failure's code: it is what an operator reads in the failures queue
    // (`attestor registrations failures`), where the log lines are not at hand.
    if (failures.length > 0) {
      const codes = failures.map((error) => String((error as { code?: unknown })?.code ?? (error as Error)?.name ?? 'error'));
      throw new AggregateError(failures, `${failures.length} build(s) failed to register: ${codes.join(', ')}`);
    }
  };
}
