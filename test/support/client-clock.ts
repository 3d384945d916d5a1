/**
 * A clock for an AttestorClient under test: it moves only when the test advances it and when the
 * client sleeps (each sleep recorded), so retry and refresh timing is exact and instant. Events are
 * recorded too; random is fixed at 0.5, the middle of every jitter range.
 */
import type { AttestorClientOptions, AttestorEvent } from '../../packages/sdk/src/index';

export function clientClock(startMs: number) {
  let nowMs = startMs;
  const sleeps: number[] = [];
  const events: AttestorEvent[] = [];
  const options = {
    now: () => nowMs,
    random: () => 0.5,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      nowMs += ms;
    },
    onEvent: (e: AttestorEvent) => void events.push(e),
  } satisfies Partial<AttestorClientOptions>;
  return {
    options,
    sleeps,
    events,
    advance: (ms: number) => void (nowMs += ms),
    nowMs: () => nowMs,
  };
}
