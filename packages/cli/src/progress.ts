/**
 * Upload progress on stderr, so stdout carries only the result. A terminal gets a live bar (bytes,
 * rate, ETA); a pipe or CI log gets a few plain lines instead of a stream of carriage returns.
 */
import { SingleBar } from 'cli-progress';

export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

export interface Progress {
  update(sentBytes: number): void;
  /** The upload finished. */
  done(): void;
  /** The upload failed: stop drawing without claiming it finished. Harmless after done(). */
  abort(): void;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

const rate = (bytes: number, ms: number) => `${formatBytes(ms > 0 ? (bytes * 1000) / ms : 0)}/s`;

/** Plain lines are spaced at least this far apart, so a long upload in CI shows it is alive without flooding. */
const PLAIN_INTERVAL_MS = 5000;

export function createProgress(stream: ProgressStream, label: string, total: number, now: () => number = Date.now): Progress {
  const started = now();
  if (stream.isTTY) {
    const bar = new SingleBar({
      stream: stream as NodeJS.WritableStream,
      format: `${label} [{bar}] {percentage}% | {sent}/{size} | {rate} | ETA {eta_formatted}`,
      barsize: 24,
      // cli-progress's SIGINT handler stops the bar but swallows Ctrl-C, leaving the upload running.
      gracefulExit: false,
      hideCursor: false,
      etaBuffer: 50,
    });
    bar.start(total, 0, { sent: formatBytes(0), size: formatBytes(total), rate: rate(0, 0) });
    return {
      update: (sent) => bar.update(sent, { sent: formatBytes(sent), rate: rate(sent, now() - started) }),
      done: () => bar.stop(),
      abort: () => bar.stop(),
    };
  }
  stream.write(`${label}: ${formatBytes(total)}\n`);
  let lastLine = started;
  let last = 0;
  let finished = false;
  return {
    update: (sent) => {
      last = sent;
      const t = now();
      if (t - lastLine < PLAIN_INTERVAL_MS || sent >= total) return;
      lastLine = t;
      stream.write(`${label}: ${Math.floor((sent * 100) / total)}% (${formatBytes(sent)} of ${formatBytes(total)}, ${rate(sent, t - started)})\n`);
    },
    done: () => {
      if (finished) return;
      finished = true;
      const elapsed = now() - started;
      stream.write(`${label}: done, ${formatBytes(last)} in ${(elapsed / 1000).toFixed(1)} s (${rate(last, elapsed)})\n`);
    },
    abort: () => {
      finished = true;
    },
  };
}

/** A phase without bytes to count (the service hashing and registering the upload): its name and how long it has taken. */
export interface Status {
  /** The phase ended: its line is cleared from a terminal. Harmless twice. */
  done(): void;
}

/**
 * On a terminal, one live line `label… 3 s` that counts up every second and is cleared when done,
 * so what follows (the registration) starts on a clean line. Elsewhere, `label` once as a plain line.
 */
export function createStatus(stream: ProgressStream, label: string, now: () => number = Date.now): Status {
  if (!stream.isTTY) {
    stream.write(`${label}\n`);
    return { done: () => undefined };
  }
  const started = now();
  const draw = () => stream.write(`\r\x1b[2K${label}… ${Math.floor((now() - started) / 1000)} s`);
  draw();
  const timer = setInterval(draw, 1000);
  // A status line never keeps the CLI alive on its own.
  timer.unref();
  let finished = false;
  return {
    done: () => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}
