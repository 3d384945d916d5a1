/**
 * Calls to the console's local server: the admin routes it signs (same paths as the admin API,
 * docs/ADMIN_API.md) and its own /console/ endpoints. The session cookie goes along by itself
 * (same origin); the page never holds a credential or the token.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    credentials: 'same-origin',
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const record = (parsed ?? {}) as { message?: unknown; field?: unknown };
    const message = typeof record.message === 'string' ? record.message : `HTTP ${response.status}`;
    // The guard's refusal is a page, not JSON: the session is over (or this is not its console).
    const ended = response.status === 403 && parsed === undefined;
    throw new ApiError(
      response.status,
      ended ? 'this console session has ended: open the link `attestor console` printed' : message,
      typeof record.field === 'string' ? record.field : undefined,
    );
  }
  return parsed as T;
}

/** A path segment: app ids and versions need no escaping, but nothing from input goes unescaped. */
export const seg = encodeURIComponent;

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

// Wire shapes the pages read (docs/ADMIN_API.md): the CLI's own, imported as types only, so that
// nothing of the admin client loads in the browser.
export type { App, Device, Registration, SigningKey } from '../../admin-client.js';
import type { HardwarePolicy } from '@attestor/contracts/admin-api';
export type { HardwarePolicy, Policy } from '@attestor/contracts/admin-api';
export interface Session {
  readonly endpoint: string;
  readonly local: boolean;
  readonly pollSeconds: number;
  readonly maxBuildBytes: number;
  /** DEFAULT_HARDWARE_POLICY (@attestor/contracts), from the server: the page bundles no values of the CLI's packages. */
  readonly defaultHardwarePolicy: HardwarePolicy;
}
