/**
 * Key policy of tenant keys, set by the CDK stack through the TENANT_KEY_*_ROLE_ARN variables.
 * Pure: no KMS client, so configFromEnv can build it at cold start in every function.
 */

/** A role ARN given for the tenant key policy is not an IAM role of one account. */
export class InvalidKeyPolicyRoleError extends Error {
  override readonly name = 'InvalidKeyPolicyRoleError';
}

/** The roles a tenant key's policy names. All must be IAM roles of one account. */
export interface TenantKeyPolicyRoles {
  /** Signs tokens (the attest function): kms:Sign with ECDSA_SHA_256. */
  readonly signerRoleArn: string;
  /** Read public keys (authorizers in this account): kms:GetPublicKey. */
  readonly verifierRoleArns?: readonly string[];
  /** Creates keys (the key-creating admin function itself): kms:ScheduleKeyDeletion, to discard a key that lost the first-key race. */
  readonly adminRoleArn?: string;
}

/**
 * Pending window of a retired tenant key's deletion: KMS's longest, so that an account
 * administrator has a month to cancel it (CancelKeyDeletion). The stack's IAM policy lets the
 * rotating role schedule deletions with exactly this window and no shorter one.
 */
export const RETIRED_KEY_DELETION_WINDOW_DAYS = 30;

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/**
 * The key policy of a tenant key, as JSON. The first statement is KMS's default one (the account
 * root may do everything, which lets the account's IAM policies decide for everyone else and keeps
 * the key manageable by the account's administrators); the others name each role with exactly the
 * operations it performs, and take effect as soon as the key exists.
 */
export function tenantKeyPolicy(roles: TenantKeyPolicyRoles): string {
  const parse = (arn: string) => {
    const match = ROLE_ARN.exec(arn);
    if (!match) throw new InvalidKeyPolicyRoleError(`not an IAM role ARN: ${arn}`);
    return { partition: match[1]!, account: match[2]! };
  };
  const signer = parse(roles.signerRoleArn);
  const others = [...(roles.verifierRoleArns ?? []), ...(roles.adminRoleArn ? [roles.adminRoleArn] : [])];
  for (const arn of others) {
    const { partition, account } = parse(arn);
    if (partition !== signer.partition || account !== signer.account) {
      throw new InvalidKeyPolicyRoleError(`role ${arn} is not in the signer's account ${signer.account}`);
    }
  }
  const statements: object[] = [
    {
      Sid: 'AccountAdministersKey',
      Effect: 'Allow',
      Principal: { AWS: `arn:${signer.partition}:iam::${signer.account}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
    {
      Sid: 'AttestSignsTokens',
      Effect: 'Allow',
      Principal: { AWS: roles.signerRoleArn },
      Action: 'kms:Sign',
      Resource: '*',
      Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
    },
  ];
  const verifiers = [...new Set(roles.verifierRoleArns ?? [])];
  if (verifiers.length > 0) {
    statements.push({ Sid: 'VerifiersReadPublicKey', Effect: 'Allow', Principal: { AWS: verifiers }, Action: 'kms:GetPublicKey', Resource: '*' });
  }
  if (roles.adminRoleArn) {
    statements.push({ Sid: 'AdminDiscardsUnusedKey', Effect: 'Allow', Principal: { AWS: roles.adminRoleArn }, Action: 'kms:ScheduleKeyDeletion', Resource: '*' });
  }
  return JSON.stringify({ Version: '2012-10-17', Id: 'attestor-tenant-key', Statement: statements });
}
