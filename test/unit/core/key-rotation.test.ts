/** The once-an-hour limit on a tenant's key rotations (core/admin/key-rotation.ts), over the memory fakes. */
import type { KeyRotation } from '../../../packages/contracts/src/admin-api';
import { KEY_ROTATION_INTERVAL_SECONDS, rotateTenantKeys } from '../../../packages/service/src/core/admin/key-rotation';
import { DependencyUnavailableError, RateLimitedError } from '../../../packages/service/src/core/errors';
import { ManualClock, MemoryTenantKeyStore } from '../../support/memory';

const tenant = { principal: 'arn:aws:iam::123456789012:user/t', tenantId: 'acme', operator: false, role: 'admin' as const };
const operator = { ...tenant, tenantId: 'default', operator: true };

function setup(rotate: () => Promise<KeyRotation> = async () => ({ kid: 'k', format: 'hs256', activatesAt: 0, keysDeleted: [], keysNotDeleted: [] })) {
  const clock = new ManualClock();
  const rotations = new MemoryTenantKeyStore();
  const keys = { rotateSigningKey: jest.fn(rotate) };
  return { clock, rotations, keys, deps: { clock, rotations, keys } };
}

describe('rotateTenantKeys', () => {
  it('lets a tenant rotate once an hour and refuses in between with the seconds to wait', async () => {
    // Prepare
    const { clock, deps, keys } = setup();
    // Act
    await rotateTenantKeys(deps, tenant);
    clock.advance(KEY_ROTATION_INTERVAL_SECONDS - 10);
    const refused = await rotateTenantKeys(deps, tenant).catch((e: unknown) => e);
    clock.advance(10);
    // Assess
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 10 });
    expect((refused as Error).message).toMatch(/try again after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await expect(rotateTenantKeys(deps, tenant)).resolves.toMatchObject({ kid: 'k' });
    expect(keys.rotateSigningKey).toHaveBeenCalledTimes(2);
  });

  it('gives the claim back when the rotation fails, so a KMS outage does not cost the tenant an hour', async () => {
    // Prepare
    let fail = true;
    const { deps, keys } = setup(async () => {
      if (fail) throw new DependencyUnavailableError('KMS throttled');
      return { kid: 'k', format: 'hs256', activatesAt: 0, keysDeleted: [], keysNotDeleted: [] };
    });
    // Act
    const first = await rotateTenantKeys(deps, tenant).catch((e: unknown) => e);
    fail = false;
    const second = await rotateTenantKeys(deps, tenant);
    // Assess
    expect(first).toBeInstanceOf(DependencyUnavailableError);
    expect(second.kid).toBe('k');
    expect(keys.rotateSigningKey).toHaveBeenCalledTimes(2);
  });

  it('never limits an operator, and an operator leaves no claim behind', async () => {
    const { deps, rotations } = setup();
    for (let i = 0; i < 3; i++) await rotateTenantKeys(deps, operator);
    expect(rotations.rotations.size).toBe(0);
  });

  it('lets one tenant rotate whatever another did', async () => {
    const { deps } = setup();
    await rotateTenantKeys(deps, tenant);
    await expect(rotateTenantKeys(deps, { ...tenant, tenantId: 'globex' })).resolves.toMatchObject({ kid: 'k' });
  });
});
