/**
 * Operators named in ATTESTOR_OPERATOR_PRINCIPALS reach the admin functions' caller resolution:
 * read by the admin functions' records at cold start, and normalised once by composition/admin.ts.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ADMIN_CATALOG_CONFIG } from '../../../packages/contracts/src/config';
import { lambdaConfig } from '../../../packages/service/src/composition/environment';
import { adminCommonDeps } from '../../../packages/service/src/composition/admin';
import { MemoryRegistry } from '../../support/memory';

const signedBy = (userArn: string) => ({ requestContext: { identity: { userArn } } }) as unknown as APIGatewayProxyEvent;

test('operator principals from the environment are normalised once and recognised in any session of the role', async () => {
  const config = lambdaConfig(ADMIN_CATALOG_CONFIG, {
    REGISTRY_TABLE: 'registry',
    ATTESTOR_OPERATOR_PRINCIPALS: ' arn:aws:iam::123456789012:role/platform/Ops , arn:aws:iam::123456789012:user/alice,',
  });
  // As written: the record reads back what the stack wrote; composition/admin.ts normalises.
  expect(config.operatorPrincipals).toEqual(['arn:aws:iam::123456789012:role/platform/Ops', 'arn:aws:iam::123456789012:user/alice']);

  // Only principal mappings are read here (none are stored); the in-memory directory stands in for DynamoDB.
  const { callerOf } = adminCommonDeps(config, new MemoryRegistry().directory);
  await expect(callerOf(signedBy('arn:aws:sts::123456789012:assumed-role/Ops/ci-run-42'))).resolves.toEqual({
    principal: 'arn:aws:iam::123456789012:role/Ops',
    tenantId: 'default',
    operator: true,
    role: 'admin',
  });
  await expect(callerOf(signedBy('arn:aws:iam::123456789012:user/alice'))).resolves.toMatchObject({ operator: true });
  await expect(callerOf(signedBy('arn:aws:iam::123456789012:user/mallory'))).resolves.toBeUndefined();
});
