/**
 * A tenant's keys in KMS for the local cloud, which runs every function over one set of adapters:
 * KmsTenantKeys (what attest and verifiers read and sign with) together with KmsKeyProvisioner (what
 * the admin API creates, rotates, destroys and publishes). In AWS each function has only its half:
 * attest and the authorizer KmsTenantKeys, the admin functions KmsKeyProvisioner
 * (bench/bundles.bench.ts measures what each bundles).
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { TokenFormat } from '@attestor/contracts/protocol';
import type { KeyRotation, PublicJwk, TenantKeyDescription, TenantKeyManager, TenantKeyStore, WrappedTokenSecret } from '../core/ports';
import { KmsKeyProvisioner } from './kms-key-provisioner';
import { KmsTenantKeys, type KmsTenantKeysOptions } from './kms-tenant-keys';

// The key policy is pure configuration, read by every function's configFromEnv; it lives in its own
// module so that parsing it does not bundle this adapter or load the KMS client.
export { InvalidKeyPolicyRoleError, tenantKeyPolicy, tenantSecretKeyPolicy, type TenantKeyPolicyRoles } from './kms-key-policy';

export class KmsTenantKeyManager extends KmsTenantKeys implements TenantKeyManager {
  private readonly provisioner: KmsKeyProvisioner;

  constructor(kms: KMSClient, registry: TenantKeyStore, options: KmsTenantKeysOptions) {
    super(kms, registry, options);
    this.provisioner = new KmsKeyProvisioner(kms, registry, {
      aliasPrefix: options.aliasPrefix,
      clock: options.clock,
      ...(options.keyPolicyRoles !== undefined ? { keyPolicyRoles: options.keyPolicyRoles } : {}),
      // What this read of the tenant's keys is out of date: its records, and any secret destroyed.
      onKeysChanged: (tenantId, destroyed) => {
        this.current.delete(tenantId);
        for (const kid of destroyed) this.secrets.delete(kid);
      },
    });
  }

  ensureSigningKey(tenantId: string): Promise<void> {
    return this.provisioner.ensureSigningKey(tenantId);
  }

  rotateSigningKey(tenantId: string, format?: TokenFormat): Promise<KeyRotation> {
    return this.provisioner.rotateSigningKey(tenantId, format);
  }

  describeKeys(tenantId: string): Promise<TenantKeyDescription[]> {
    return this.provisioner.describeKeys(tenantId);
  }

  jwks(tenantId: string): Promise<{ readonly keys: readonly PublicJwk[] }> {
    return this.provisioner.jwks(tenantId);
  }

  wrappedSecrets(tenantId: string): Promise<{ readonly keys: readonly WrappedTokenSecret[] }> {
    return this.provisioner.wrappedSecrets(tenantId);
  }

  /**
   * The ARN of the tenant's secrets key, created (and its alias claimed) on first use. Public for the
   * tenant's test secrets (kms-test-token-keys.ts), which it wraps too, under another encryption context.
   */
  secretsKey(tenantId: string): Promise<string> {
    return this.provisioner.secretsKey(tenantId);
  }
}
