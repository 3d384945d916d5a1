/**
 * The local cloud's credential store with roles: a credential `attestor tenants grant` minted is
 * recorded with its role, so that restoring a deleted data directory saves it under its own name
 * and never as the tenant's own credential, which `--tenant` signs with.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCredentialStore, loadOrCreateAdminCredentials } from '../../../packages/local/src/admin-credentials';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-credentials-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

test('restores the tenant’s own credential as <tenant>.json and a granted one as <tenant>.<role>.json', async () => {
  // Prepare: the tenant's credential, then a register-only one granted after it.
  const store = new LocalCredentialStore(dataDir, loadOrCreateAdminCredentials(dataDir));
  const own = await store.issue('acme');
  const register = await store.issue('acme', 'register');
  rmSync(dataDir, { recursive: true, force: true });

  // Act
  const written = store.persistAll();

  // Assess
  expect(written).toBe(2);
  const saved = (name: string) => JSON.parse(readFileSync(join(dataDir, 'credentials', name), 'utf8')) as Record<string, unknown>;
  expect(saved('acme.json')).toMatchObject({ tenantId: 'acme', accessKeyId: own.credential.accessKeyId });
  expect(saved('acme.json')).not.toHaveProperty('role');
  expect(saved('acme.register.json')).toMatchObject({ tenantId: 'acme', role: 'register', accessKeyId: register.credential.accessKeyId });
});

test('keeps the roles across a restart, and ignores a role it does not know', async () => {
  // Prepare
  const store = new LocalCredentialStore(dataDir, loadOrCreateAdminCredentials(dataDir));
  const read = await store.issue('acme', 'read');
  const file = join(dataDir, 'tenant-credentials.json');
  const list = JSON.parse(readFileSync(file, 'utf8')) as { credentials: Array<Record<string, unknown>> };
  list.credentials.push({ ...list.credentials[0], accessKeyId: 'AKLOCALODD', role: '../../escape' });
  writeFileSync(file, JSON.stringify(list));

  // Act
  const restarted = new LocalCredentialStore(dataDir, loadOrCreateAdminCredentials(dataDir));

  // Assess
  expect(restarted.find(read.credential.accessKeyId)).toMatchObject({ role: 'read' });
  expect(restarted.find('AKLOCALODD')).not.toHaveProperty('role');
});
