/**
 * What `npm start` shows on its terminal while it runs: one compact line per attestation and per
 * registration (time, what, verdict, app, version, reason), so an operator trying things locally
 * sees them happen. The full JSON of each event goes to the log file as before; these lines are
 * made from the same events. App ids, versions and platforms come from unauthenticated clients
 * (the service validates them, but a terminal must not depend on that), so every value is escaped
 * for the terminal.
 */
import { printable } from '@attestor/contracts/terminal';
import type { LogFields } from '@attestor/service/handlers/log';
import { parseBuildObjectKey } from '@attestor/service/core/registration';

const text = (value: unknown): string => printable(typeof value === 'string' ? value : value === undefined ? '-' : JSON.stringify(value));

/** `HH:MM:SS` local time: the line is for someone watching, the log file keeps the ISO time. */
function clock(at: Date): string {
  return [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** App and version of a build's object key, for the register events that name only the key. */
function buildOf(fields: LogFields): string {
  if (typeof fields['appId'] === 'string') return `${text(fields['appId'])} ${text(fields['version'])}`;
  const key = typeof fields['objectKey'] === 'string' ? parseBuildObjectKey(fields['objectKey']) : undefined;
  return key ? `${text(key.appId)} ${text(key.version)}` : text(fields['objectKey']);
}

/** The terminal line for a log event, or undefined for events that only the log file gets. */
export function liveLine(event: string, fields: LogFields = {}, at: Date = new Date()): string | undefined {
  let line: string;
  switch (event) {
    case 'attestation': {
      const reasons = Array.isArray(fields['reasons']) && fields['reasons'].length > 0 ? `  ${fields['reasons'].map(text).join(', ')}` : '';
      const build = `${text(fields['appId'])} ${text(fields['appVersion'])}`;
      line = `attestation   ${text(fields['outcome']).padEnd(11)} ${build}  ${text(fields['platform'])}${reasons}`;
      break;
    }
    case 'build_registered':
      line = `registration  ${'registered'.padEnd(11)} ${buildOf(fields)}  sha256 ${text(fields['sha256']).slice(0, 12)}…  ${text(fields['size'])} bytes`;
      break;
    case 'build_rejected':
    case 'build_unchanged':
      line = `registration  ${event === 'build_rejected' ? 'rejected   ' : 'unchanged  '} ${buildOf(fields)}  ${text(fields['reason'])}`;
      break;
    case 'register_failed':
      line = `registration  ${'failed'.padEnd(11)} ${buildOf(fields)}  ${text(fields['code'] ?? fields['errorName'])}: see the log file`;
      break;
    default:
      return undefined;
  }
  return `${clock(at)}  ${line}\n`;
}
