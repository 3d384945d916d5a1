/**
 * One JSON object per line on stdout, which CloudWatch Logs and the local cloud both keep as is.
 * Callers pass only what is safe to keep: never tokens, nonces, proofs or credentials.
 */
export type LogFields = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

function write(level: string, event: string, fields: LogFields | undefined): void {
  process.stdout.write(`${JSON.stringify({ level, event, time: new Date().toISOString(), ...fields })}\n`);
}

export const jsonLogger: Logger = {
  info: (event, fields) => write('info', event, fields),
  warn: (event, fields) => write('warn', event, fields),
  error: (event, fields) => write('error', event, fields),
};

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * What a log line says about an error: its stable code (for the service's own errors), name and
 * message. Log lines are the operator's, so the message is kept; clients never see it (http.ts).
 */
export function errorFields(error: unknown): LogFields {
  const { name, message, code } = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    errorName: typeof name === 'string' ? name : undefined,
    errorMessage: typeof message === 'string' ? message : undefined,
  };
}
