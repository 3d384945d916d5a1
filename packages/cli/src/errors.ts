/**
 * Expected failures of the CLI. A CliError's message is the one line the operator sees on stderr,
 * so it says what went wrong and what to do; anything else that escapes is a bug and is reported
 * as unexpected.
 */
import { printable } from './output';

export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    /** 1 for user and service errors; commander's usage errors (2) never become CliErrors. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The admin API or the storage answered with an error status. */
export class HttpStatusError extends CliError {
  override readonly name: string = 'HttpStatusError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The operator pressed Ctrl-C. An empty message ends the CLI with 130 and prints nothing (`log --follow`, which Ctrl-C is how to end). */
export class InterruptedError extends CliError {
  override readonly name = 'InterruptedError';
  constructor(what = 'interrupted') {
    // 130 = 128 + SIGINT, as shells report a command ended by Ctrl-C.
    super(what, 130);
  }
}

/**
 * Collapses a message to one line: terminals and log scrapers both expect one line per error. Any
 * control character left (a message may quote the service, which may quote a client) is escaped.
 */
export function oneLine(text: string): string {
  return printable(text.replace(/\s*[\r\n]+\s*/g, ' ').trim());
}
