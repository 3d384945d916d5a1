/**
 * What every command shares: the process it runs in (argv, environment, streams, Ctrl-C), the
 * global options, the admin client they resolve to, and the parsers that turn option values into
 * checked values. A value that fails its parser is a usage error (exit 2) before any request.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { AdminClient } from './admin-client';
import { resolveCredentials, type CredentialChoice, type CredentialSource } from './credentials';
import { DurationError, parseDuration } from './duration';
import { CliError } from './errors';
import { runningLocalEndpoint } from './local-service';
import type { ProgressStream } from './progress';

/*
 * The validator and the SigV4 signer are loaded by the command that needs them, not at startup: together
 * they are most of the CLI's load time, and `--help` or a usage error should be instant.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
type Schemas = typeof import('@attestor/contracts/validation') & typeof import('@attestor/contracts/admin-validation');
export const load = {
  /** The service's own request schemas (src/core), so the CLI refuses exactly what the service would. */
  schemas: (): Schemas => ({ ...require('@attestor/contracts/validation'), ...require('@attestor/contracts/admin-validation') }) as Schemas,
  adminClient: () => require('./admin-client') as typeof import('./admin-client'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';

export type OutputStream = ProgressStream;

export interface CliContext {
  /** Arguments after the program name. */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Used for admin calls and the upload; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Aborted on Ctrl-C: `log --follow` ends cleanly, an upload stops. */
  readonly signal?: AbortSignal;
  /** How long `register` waits for the service to settle an upload. @default 120000 */
  readonly registerTimeoutMs?: number;
  /** Overrides `log --follow --interval`, so tests need not wait a second per poll. */
  readonly followIntervalMs?: number;
}

export interface GlobalOptions {
  readonly endpoint?: URL;
  readonly tenant?: string;
  readonly credentials?: string;
}

export function parseEndpoint(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be a URL such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('must be an http or https URL');
  if (url.search || url.hash) throw new InvalidArgumentError('must not carry a query or fragment');
  return url;
}

/**
 * --endpoint, else ATTESTOR_ENDPOINT, else the local service `npm start` runs in this project
 * (whatever its port), else DEFAULT_ENDPOINT.
 */
export function endpointOf(ctx: CliContext, options: GlobalOptions): URL {
  if (options.endpoint) return options.endpoint;
  const fromEnv = ctx.env['ATTESTOR_ENDPOINT'];
  if (!fromEnv) return new URL(runningLocalEndpoint(ctx.env, ctx.cwd) ?? DEFAULT_ENDPOINT);
  try {
    return parseEndpoint(fromEnv);
  } catch (error) {
    throw new CliError(`ATTESTOR_ENDPOINT ${(error as Error).message}: fix or unset it`);
  }
}

/** Endpoint, credential and region of this command, from the global options and environment. */
export function adminClientSettings(ctx: CliContext, command: Command): { endpoint: URL; credentials: CredentialSource; region: string } {
  const options = command.optsWithGlobals<GlobalOptions>();
  const endpoint = endpointOf(ctx, options);
  return { endpoint, ...resolveCredentials(endpoint, ctx.env, ctx.cwd, credentialChoice(ctx, options)) };
}

/** The admin client for this command: endpoint and credential from the global options and environment. */
export function adminClient(ctx: CliContext, command: Command): AdminClient {
  const { endpoint, credentials, region } = adminClientSettings(ctx, command);
  return new (load.adminClient().AdminClient)({
    endpoint: endpoint.href,
    credentials,
    region,
    ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
}

/**
 * --tenant and --credentials, else ATTESTOR_TENANT and ATTESTOR_CREDENTIALS. A flag beats either
 * variable, so `--credentials f` works in a shell that exports ATTESTOR_TENANT.
 */
function credentialChoice(ctx: CliContext, options: GlobalOptions): CredentialChoice {
  if (options.credentials !== undefined) return { credentialsFile: options.credentials };
  if (options.tenant !== undefined) return { tenant: options.tenant };
  const envFile = ctx.env['ATTESTOR_CREDENTIALS'];
  const envTenant = ctx.env['ATTESTOR_TENANT'];
  if (envFile && envTenant) throw new CliError('both ATTESTOR_CREDENTIALS and ATTESTOR_TENANT are set: unset one of them');
  if (envFile) return { credentialsFile: envFile };
  if (envTenant) {
    const schemas = load.schemas();
    const result = schemas.checkValue(schemas.tenantIdSchema, envTenant);
    if (!result.success) throw new CliError(`ATTESTOR_TENANT ${result.message}: fix or unset it`);
    return { tenant: envTenant };
  }
  return {};
}

type Schema = import('@attestor/contracts/validation').Schema<unknown>;

/** A shared schema as a commander parser, so a malformed value is a usage error (exit 2) before any work. */
export function schemaParser(pick: (schemas: Schemas) => Schema) {
  return (value: string): string => {
    const schemas = load.schemas();
    const result = schemas.checkValue(pick(schemas), value);
    if (!result.success) throw new InvalidArgumentError(result.message);
    return value;
  };
}

export const appIdParser = schemaParser((v) => v.appIdSchema);
export const versionParser = schemaParser((v) => v.appVersionSchema);

/** A duration option (`30d`, `12h`) in whole seconds within [min, max]; `range` says the bounds in words. */
export function durationParser(min: number, max: number, range: string) {
  return (value: string): number => {
    let seconds: number;
    try {
      seconds = parseDuration(value);
    } catch (error) {
      if (error instanceof DurationError) throw new InvalidArgumentError(error.message);
      throw error;
    }
    if (seconds < min || seconds > max) throw new InvalidArgumentError(`"${value}" is out of range: ${range}`);
    return seconds;
  };
}

/** A whole number within [min, max]. */
export function integerParser(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    const n = Number(value.trim());
    if (n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

export const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => (l ? `  ${l}` : '')).join('\n')}\n`;

/** `attestor registrations list`: the command's full name, for messages that point at its help. */
export function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The admin API's limit on notes (docs/ADMIN_API.md §1.4). */
const MAX_NOTE_CHARS = 500;

export function noteParser(value: string): string {
  if (value.length > MAX_NOTE_CHARS) throw new InvalidArgumentError(`must be at most ${MAX_NOTE_CHARS} characters`);
  return value;
}

/**
 * Checks a whole request body with the service's schema before it is sent, so the CLI refuses
 * exactly what the service would and the error names the option to fix, not a JSON field.
 * A refusal is a usage error (exit 2) reported through commander, like a bad option value.
 */
export function checkRequest<T>(command: Command, pick: (schemas: Schemas) => Schema, body: T, optionOf: Readonly<Record<string, string>> = {}): T {
  const schemas = load.schemas();
  const result = schemas.checkValue(pick(schemas), body);
  if (result.success) return body;
  const { field, message } = result;
  // The longest named prefix of the field: `android.signingCertificates.1` is --android-cert's.
  const parts = field.split('.');
  let option: string | undefined;
  for (let n = parts.length; n > 0 && option === undefined; n--) option = optionOf[parts.slice(0, n).join('.')];
  command.error(`error: ${option ? `option '${option}' ` : field ? `${field} ` : ''}${message}`, { exitCode: 2, code: 'attestor.invalidRequest' });
}
