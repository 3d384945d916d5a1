/**
 * adminUploads loads KMS only for a tenant's first key (composition/admin-uploads.ts): a
 * tenant with a trusted key is answered from its key records, anything else goes to the real
 * ensureSigningKey.
 */
import { signingKeysOnDemand } from '../../../packages/service/src/composition/admin-uploads';
import type { TenantKeyManager } from '../../../packages/service/src/core/ports';
import { ManualClock, MemoryRegistry } from '../../support/memory';

function setup() {
  const registry = new MemoryRegistry();
  const clock = new ManualClock();
  const ensured: string[] = [];
  let loads = 0;
  const keys = signingKeysOnDemand(registry.keyStore, clock, async (): Promise<Pick<TenantKeyManager, 'ensureSigningKey'>> => {
    loads++;
    return { ensureSigningKey: async (tenantId) => void ensured.push(tenantId) };
  });
  return { registry, clock, keys, ensured, loads: () => loads };
}

test('a tenant with a trusted key: nothing is loaded and no key is made', async () => {
  const { registry, clock, keys, ensured, loads } = setup();
  await registry.keyStore.putTenantKey({ tenantId: 'acme', kid: 'k1', keyId: 'key-1', createdAt: clock.now - 10, status: 'active' });
  await keys.ensureSigningKey('acme');
  expect([loads(), ensured]).toEqual([0, []]);
});

test('a tenant without a key: the KMS side is loaded once and its ensureSigningKey runs each time', async () => {
  const { keys, ensured, loads } = setup();
  await keys.ensureSigningKey('acme');
  await keys.ensureSigningKey('globex');
  expect([loads(), ensured]).toEqual([1, ['acme', 'globex']]);
});

test('a tenant whose only key has retired counts as keyless', async () => {
  const { registry, clock, keys, ensured } = setup();
  await registry.keyStore.putTenantKey({ tenantId: 'acme', kid: 'k1', keyId: 'key-1', createdAt: clock.now - 100, status: 'active', retiresAt: clock.now - 1 });
  await keys.ensureSigningKey('acme');
  expect(ensured).toEqual(['acme']);
});

test('a failed load is retried by the next call', async () => {
  const registry = new MemoryRegistry();
  let attempts = 0;
  const keys = signingKeysOnDemand(registry.keyStore, new ManualClock(), async () => {
    if (++attempts === 1) throw new Error('cannot load');
    return { ensureSigningKey: async () => undefined };
  });
  await expect(keys.ensureSigningKey('acme')).rejects.toThrow('cannot load');
  await expect(keys.ensureSigningKey('acme')).resolves.toBeUndefined();
  expect(attempts).toBe(2);
});
