/**
 * Key policies of tenant keys (an es256 signing key, and the key that wraps a tenant's hs256
 * secrets), naming the roles the CDK stack passes through the TENANT_KEY_*_ROLE_ARN variables.
 * Pure: no KMS client, so configFromEnv can check the roles at cold start in every function.
 */
import { SECRET_CONTEXT_TENANT } from '@attestor/contracts/admin-api';
import { ServiceError } from '@attestor/contracts/errors';
import { SECRET_CONTEXT_PURPOSE, TEST_SECRET_PURPOSE } from '@attestor/contracts/test-tokens';

/** A role ARN given for the tenant key policy is not an IAM role of one account. */
export class InvalidKeyPolicyRoleError extends ServiceError {
  override readonly name = 'InvalidKeyPolicyRoleError';
  override readonly code = 'key_policy_role_invalid';
}

/** The roles a tenant key's policy names. All must be IAM roles of one account. */
export interface TenantKeyPolicyRoles {
  /** Mints tokens (the attest function): kms:Sign with ECDSA_SHA_256; kms:Decrypt of the tenant's wrapped secrets. */
  readonly signerRoleArn: string;
  /**
   * Verify tokens (authorizers in this account): kms:GetPublicKey; kms:Decrypt of the tenant's
   * wrapped secrets. Named in every tenant's key policy, whatever tenant a role verifies for: each
   * must be held to its own tenant by an explicit IAM deny, as AttestationAuthorizer's role is
   * (lib/attestation-authorizer.ts), since a same-account key policy grant needs no IAM allow.
   */
  readonly verifierRoleArns?: readonly string[];
  /**
   * Creates keys (the key-creating admin function itself): kms:ScheduleKeyDeletion, to discard a
   * key that lost the first-key race; on the secrets key, kms:GenerateDataKeyWithoutPlaintext, which
   * makes a wrapped secret without ever showing it.
   */
  readonly adminRoleArn?: string;
}

export { RETIRED_KEY_DELETION_WINDOW_DAYS } from '@attestor/contracts/admin-api';

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/**
 * The key policy of a tenant's es256 signing key, as JSON: the account's statement, then each role
 * with exactly the operations it performs, which take effect as soon as the key exists.
 */
export function tenantKeyPolicy(roles: TenantKeyPolicyRoles): string {
  const { signer, verifiers, account } = checkedRoles(roles);
  const statements: object[] = [
    account,
    {
      Sid: 'AttestSignsTokens',
      Effect: 'Allow',
      Principal: { AWS: signer },
      Action: 'kms:Sign',
      Resource: '*',
      Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
    },
  ];
  if (verifiers.length > 0) {
    statements.push({ Sid: 'VerifiersReadPublicKey', Effect: 'Allow', Principal: { AWS: verifiers }, Action: 'kms:GetPublicKey', Resource: '*' });
  }
  if (roles.adminRoleArn) statements.push(adminDiscardsUnusedKey(roles.adminRoleArn));
  return JSON.stringify({ Version: '2012-10-17', Id: 'attestor-tenant-key', Statement: statements });
}

/**
 * The key policy of the key that wraps one tenant's hs256 secrets. Every use is conditioned on the
 * encryption context naming that tenant, so this key unwraps this tenant's secrets and nothing
 * else, even if a wrapped secret of another tenant were put before it. It does not keep a verifier
 * role to its own tenant (see verifierRoleArns): the role's IAM deny does. The admin role
 * may wrap new secrets but never unwrap one: secrets exist in plaintext only in the functions that
 * mint and verify.
 */
export function tenantSecretKeyPolicy(roles: TenantKeyPolicyRoles, tenantId: string): string {
  const { signer, verifiers, account } = checkedRoles(roles);
  const forTenant = { StringEquals: { [`kms:EncryptionContext:${SECRET_CONTEXT_TENANT}`]: tenantId } };
  const statements: object[] = [
    account,
    {
      Sid: 'UnwrapTenantSecrets',
      Effect: 'Allow',
      Principal: { AWS: [signer, ...verifiers] },
      Action: 'kms:Decrypt',
      Resource: '*',
      // Token secrets only: a key policy grant needs no IAM allow in the same account, so without
      // this the signer and verifiers could unwrap test secrets too (their context adds a purpose).
      Condition: { ...forTenant, Null: { [`kms:EncryptionContext:${SECRET_CONTEXT_PURPOSE}`]: 'true' } },
    },
  ];
  if (roles.adminRoleArn) {
    statements.push({
      Sid: 'AdminWrapsNewSecrets',
      Effect: 'Allow',
      Principal: { AWS: roles.adminRoleArn },
      Action: 'kms:GenerateDataKeyWithoutPlaintext',
      Resource: '*',
      Condition: forTenant,
    });
    // Test tokens (PROTOCOL.md §5.7): the admin role makes and unwraps the tenant's test secrets, and
    // only those: the test purpose is in their context and in no production secret's.
    statements.push({
      Sid: 'AdminMintsTestTokens',
      Effect: 'Allow',
      Principal: { AWS: roles.adminRoleArn },
      Action: ['kms:GenerateDataKeyWithoutPlaintext', 'kms:Decrypt'],
      Resource: '*',
      Condition: { StringEquals: { ...forTenant.StringEquals, [`kms:EncryptionContext:${SECRET_CONTEXT_PURPOSE}`]: TEST_SECRET_PURPOSE } },
    });
    statements.push(adminDiscardsUnusedKey(roles.adminRoleArn));
  }
  return JSON.stringify({ Version: '2012-10-17', Id: 'attestor-tenant-secrets-key', Statement: statements });
}

/** Both keys' statement letting the key-creating admin function discard a key it made but could not record. */
function adminDiscardsUnusedKey(adminRoleArn: string): object {
  return { Sid: 'AdminDiscardsUnusedKey', Effect: 'Allow', Principal: { AWS: adminRoleArn }, Action: 'kms:ScheduleKeyDeletion', Resource: '*' };
}

/**
 * The roles, checked: all IAM roles of the signer's account. The first statement of every policy is
 * KMS's default one (the account root may do everything, which lets the account's IAM policies
 * decide for everyone else and keeps the key manageable by the account's administrators).
 */
function checkedRoles(roles: TenantKeyPolicyRoles): { signer: string; verifiers: string[]; account: object } {
  const parse = (arn: string) => {
    const match = ROLE_ARN.exec(arn);
    if (!match) throw new InvalidKeyPolicyRoleError(`not an IAM role ARN: ${arn}`);
    return { partition: match[1]!, account: match[2]! };
  };
  const signer = parse(roles.signerRoleArn);
  for (const arn of [...(roles.verifierRoleArns ?? []), ...(roles.adminRoleArn ? [roles.adminRoleArn] : [])]) {
    const { partition, account } = parse(arn);
    if (partition !== signer.partition || account !== signer.account) {
      throw new InvalidKeyPolicyRoleError(`role ${arn} is not in the signer's account ${signer.account}`);
    }
  }
  return {
    signer: roles.signerRoleArn,
    verifiers: [...new Set(roles.verifierRoleArns ?? [])],
    account: {
      Sid: 'AccountAdministersKey',
      Effect: 'Allow',
      Principal: { AWS: `arn:${signer.partition}:iam::${signer.account}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  };
}
