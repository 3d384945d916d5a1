/**
 * The service's errors: the hierarchy and its client-visible classes come from
 * @attestor/contracts/errors (shared with the CLI); these are the ones only the service sees. Each
 * has a stable code for logs; handlers/http.ts answers any of them with a bare 500, or a 503 for a
 * DependencyUnavailableError, so their messages (tenant and key ids) stay in the service's logs.
 */
import { ServiceError } from '@attestor/contracts/errors';

export * from '@attestor/contracts/errors';

/** A key record for the same (tenantId, kid) exists: the caller decides whether that is a race or a bug. */
export class KeyConflictError extends ServiceError {
  override readonly name = 'KeyConflictError';
  override readonly code = 'tenant_key_exists';
  constructor(
    readonly tenantId: string,
    readonly kid: string,
  ) {
    super(`a key record for kid ${kid} of tenant ${tenantId} already exists`);
  }
}

/** The tenant has no active signing key (ensureSigningKey has not run for it). */
export class TenantKeyMissingError extends ServiceError {
  override readonly name = 'TenantKeyMissingError';
  override readonly code = 'tenant_key_missing';
  constructor(readonly tenantId: string) {
    super(`tenant ${tenantId} has no active signing key`);
  }
}

/** Tenant ids become part of KMS alias names, which allow only some characters; requests are validated before, so this is a bug. */
export class InvalidTenantIdError extends ServiceError {
  override readonly name = 'InvalidTenantIdError';
  override readonly code = 'tenant_id_invalid';
}
