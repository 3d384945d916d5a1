/**
 * The admin use cases of core/admin/ over the in-memory ports, without HTTP: tenancy (another
 * tenant's things do not exist for a caller), tenant creation and its resume rule, app creation,
 * upload issuance and completion, and the errors each decision throws.
 */
import { MAX_DEVICES_PER_APP } from '../../../packages/contracts/src/admin-validation';
import { createApp, listApps, removeApp } from '../../../packages/service/src/core/admin/apps';
import { addDevice, listDevices, removeDevice } from '../../../packages/service/src/core/admin/devices';
import { logScope, logStats, readAttestationLog } from '../../../packages/service/src/core/admin/log';
import { ownedApp, ownedUpload, requireOperator } from '../../../packages/service/src/core/admin/ownership';
import { appPolicy, setAppPolicy } from '../../../packages/service/src/core/admin/policies';
import { expireRegistration, listRegistrations, removeRegistration } from '../../../packages/service/src/core/admin/registrations';
import {
  createTenant,
  grantRole,
  listTenants,
  revokeRole,
  TENANT_CREATION_RESUME_SECONDS,
  type TenantAdminDeps,
} from '../../../packages/service/src/core/admin/tenants';
import { completeUpload, issueUpload, uploadStatus } from '../../../packages/service/src/core/admin/uploads';
import { debugSecretDigest } from '../../../packages/service/src/core/devices';
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from '../../../packages/service/src/core/errors';
import { DEFAULT_POLICY } from '../../../packages/service/src/core/policy';
import { DEFAULT_HARDWARE_POLICY } from '../../../packages/contracts/src/admin-api';
import { appIdentity, setAppIdentity } from '../../../packages/service/src/core/admin/identities';
import {
  MultipartRejectedError,
  type AttestationLog,
  type CompletedPart,
  type LogQuery,
  type TenantKeyManager,
  type UploadRecord,
  type UploadUrlIssuer,
} from '../../../packages/service/src/core/ports';
import { MULTIPART_THRESHOLD_BYTES, partCountFor } from '../../../packages/service/src/core/registration';
import type { AdminCaller } from '../../../packages/service/src/core/tenancy';
import { ManualClock, MemoryRegistry, registryPorts } from '../../support/memory';

const APP = 'com.example.app';
const ACME: AdminCaller = { principal: 'arn:aws:iam::123456789012:role/Acme', tenantId: 'acme', operator: false, role: 'admin' };
const GLOBEX: AdminCaller = { principal: 'arn:aws:iam::123456789012:role/Globex', tenantId: 'globex', operator: false, role: 'admin' };
const OPS: AdminCaller = { principal: 'arn:aws:iam::123456789012:user/ops', tenantId: 'default', operator: true, role: 'admin' };
const UPLOAD_ID = 'CQkJCQkJCQkJCQkJCQkJCQ';

/** Keys that only count which tenants were given one. */
function countingKeys(): Pick<TenantKeyManager, 'ensureSigningKey'> & { readonly ensured: string[] } {
  const ensured: string[] = [];
  return { ensured, ensureSigningKey: async (tenantId) => void ensured.push(tenantId) };
}

function setup() {
  const registry = new MemoryRegistry();
  const clock = new ManualClock();
  const keys = countingKeys();
  let n = 0;
  const random = { bytes: (size: number) => Buffer.alloc(size, ++n) };
  return { registry, clock, keys, random, deps: { ...registryPorts(registry), clock, keys, random, defaultTenantId: 'default' } };
}

/** The error a promise rejects with, for assertions on its class, code and message together. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('ownership', () => {
  test("another tenant's app is reported exactly like a missing one", async () => {
    // Prepare
    const { registry } = setup();
    registry.apps.set(APP, { appId: APP, tenantId: 'globex', createdAt: 1 });
    // Act
    const foreign = await failure(ownedApp(registry.appStore, ACME, APP));
    const missing = await failure(ownedApp(registry.appStore, ACME, 'com.example.none'));
    // Assess
    expect(foreign).toBeInstanceOf(NotFoundError);
    expect(foreign).toMatchObject({ code: 'not_found', message: `no app ${APP} in tenant acme` });
    expect(missing).toMatchObject({ code: 'not_found', message: 'no app com.example.none in tenant acme' });
    await expect(ownedApp(registry.appStore, GLOBEX, APP)).resolves.toMatchObject({ tenantId: 'globex' });
  });

  test('an upload id the service could not have issued is looked up nowhere', async () => {
    const { registry, deps } = setup();
    const lookups = jest.spyOn(registry.uploadStore, 'getUpload');
    await expect(ownedUpload(deps, ACME, 'not/an/id')).rejects.toBeInstanceOf(NotFoundError);
    expect(lookups).not.toHaveBeenCalled();
  });

  test('an upload recorded before tenancy was belongs to its app’s tenant', async () => {
    const { registry, deps } = setup();
    registry.apps.set(APP, { appId: APP, tenantId: 'acme', createdAt: 1 });
    registry.uploads.set(UPLOAD_ID, { uploadId: UPLOAD_ID, appId: APP, version: '1.0.0', objectKey: 'k', status: 'pending', createdAt: 1 });
    await expect(ownedUpload(deps, ACME, UPLOAD_ID)).resolves.toMatchObject({ uploadId: UPLOAD_ID });
    await expect(ownedUpload(deps, GLOBEX, UPLOAD_ID)).rejects.toBeInstanceOf(NotFoundError);
  });

  test('only operators manage tenants', () => {
    expect(() => requireOperator(ACME)).toThrow(ForbiddenError);
    expect(() => requireOperator(OPS)).not.toThrow();
  });
});

describe('tenants', () => {
  function tenantDeps(extra: Partial<TenantAdminDeps> = {}) {
    const { registry, clock, keys } = setup();
    const deps: TenantAdminDeps = { tenants: registry.directory, keys, clock, defaultTenantId: 'default', ...extra };
    return { registry, clock, keys, deps };
  }
  const ROLE = 'arn:aws:iam::123456789012:role/team/Initech';

  test('are created with their first key and their principals, normalised', async () => {
    const { registry, keys, deps, clock } = tenantDeps();
    const created = await createTenant(deps, OPS, { tenantId: 'initech', principals: [ROLE, ROLE] });
    expect(created).toEqual({
      tenantId: 'initech',
      createdAt: clock.now,
      principals: ['arn:aws:iam::123456789012:role/Initech'],
      roles: { 'arn:aws:iam::123456789012:role/Initech': 'admin' },
      resumed: false,
    });
    // The default tenant's key too: unknown app ids fetch it as a stand-in (core/attestation.ts).
    expect(keys.ensured).toEqual(['initech', 'default']);
    expect(registry.principals.get('arn:aws:iam::123456789012:role/Initech')).toEqual({
      principal: 'arn:aws:iam::123456789012:role/Initech',
      tenantId: 'initech',
      operator: false,
      role: 'admin',
    });
  });

  test('are created with a role per principal; the same principal with two roles is refused', async () => {
    // Prepare
    const { registry, deps } = tenantDeps();
    const ci = 'arn:aws:sts::123456789012:assumed-role/InitechCi/gha-1';

    // Act
    const created = await createTenant(deps, OPS, { tenantId: 'initech', principals: [ROLE, { principal: ci, role: 'register' }] });
    const twice = await failure(createTenant(deps, OPS, { tenantId: 'globex', principals: [{ principal: ci, role: 'read' }, `${ci}x`, ci] }));

    // Assess
    expect(created.roles).toEqual({ 'arn:aws:iam::123456789012:role/Initech': 'admin', 'arn:aws:iam::123456789012:role/InitechCi': 'register' });
    expect(registry.principals.get('arn:aws:iam::123456789012:role/InitechCi')).toMatchObject({ tenantId: 'initech', role: 'register' });
    expect(twice).toMatchObject({ code: 'invalid_request', field: 'principals', message: expect.stringMatching(/InitechCi twice, with roles read and admin/) });
    expect(registry.tenants.has('globex')).toBe(false);
  });

  test('give a principal a role: added, changed, never taken from another tenant or an operator; operators only', async () => {
    // Prepare
    const { registry, deps } = tenantDeps();
    await createTenant(deps, OPS, { tenantId: 'initech', principals: [ROLE] });
    await createTenant(deps, OPS, { tenantId: 'globex', principals: ['arn:aws:iam::123456789012:role/Globex'] });
    registry.principals.set('arn:aws:iam::123456789012:user/ops', { principal: 'arn:aws:iam::123456789012:user/ops', tenantId: 'initech', operator: true });
    const ci = 'arn:aws:iam::123456789012:role/InitechCi';

    // Act
    const added = await grantRole(deps, OPS, { tenantId: 'initech', principal: ci, role: 'register' });
    const demoted = await grantRole(deps, OPS, { tenantId: 'initech', principal: ROLE, role: 'read' });
    const fromOther = await failure(grantRole(deps, OPS, { tenantId: 'initech', principal: 'arn:aws:iam::123456789012:role/Globex', role: 'admin' }));
    const operator = await failure(grantRole(deps, OPS, { tenantId: 'initech', principal: 'arn:aws:iam::123456789012:user/ops', role: 'read' }));
    const byTenant = await failure(grantRole(deps, ACME, { tenantId: 'acme', principal: ci, role: 'admin' }));
    const unknown = await failure(grantRole(deps, OPS, { tenantId: 'nobody', principal: ci, role: 'admin' }));
    const inAws = await failure(grantRole(deps, OPS, { tenantId: 'initech', role: 'register' }));

    // Assess
    expect(added).toEqual({ tenantId: 'initech', principal: ci, role: 'register' });
    expect(demoted).toEqual({ tenantId: 'initech', principal: 'arn:aws:iam::123456789012:role/Initech', role: 'read', previousRole: 'admin' });
    expect(fromOther).toMatchObject({ code: 'conflict', message: expect.stringMatching(/already administers another tenant/) });
    expect(operator).toMatchObject({ code: 'conflict', message: expect.stringMatching(/is an operator/) });
    expect(byTenant).toBeInstanceOf(ForbiddenError);
    expect(unknown).toMatchObject({ code: 'not_found' });
    expect(inAws).toMatchObject({ code: 'invalid_request', field: 'principal' });
    expect(registry.principals.get('arn:aws:iam::123456789012:role/Globex')).toMatchObject({ tenantId: 'globex', role: 'admin' });
    expect(registry.principals.get('arn:aws:iam::123456789012:user/ops')).toMatchObject({ operator: true });
    expect((await listTenants(deps, OPS)).find((t) => t.tenantId === 'initech')?.roles).toEqual({
      [ci]: 'register',
      'arn:aws:iam::123456789012:role/Initech': 'read',
      'arn:aws:iam::123456789012:user/ops': 'admin',
    });
  });

  test("take a principal's role away: only from its own tenant, never an operator's; operators only", async () => {
    // Prepare
    const { registry, deps } = tenantDeps();
    await createTenant(deps, OPS, { tenantId: 'initech', principals: [ROLE, { principal: 'arn:aws:iam::123456789012:role/InitechCi', role: 'register' }] });
    await createTenant(deps, OPS, { tenantId: 'globex', principals: ['arn:aws:iam::123456789012:role/Globex'] });
    registry.principals.set('arn:aws:iam::123456789012:user/ops', { principal: 'arn:aws:iam::123456789012:user/ops', tenantId: 'initech', operator: true });
    const ci = 'arn:aws:iam::123456789012:role/InitechCi';

    // Act
    const byTenant = await failure(revokeRole(deps, ACME, { tenantId: 'initech', principal: ci }));
    const revoked = await revokeRole(deps, OPS, { tenantId: 'initech', principal: ci });
    const again = await failure(revokeRole(deps, OPS, { tenantId: 'initech', principal: ci }));
    const other = await failure(revokeRole(deps, OPS, { tenantId: 'initech', principal: 'arn:aws:iam::123456789012:role/Globex' }));
    const operator = await failure(revokeRole(deps, OPS, { tenantId: 'initech', principal: 'arn:aws:iam::123456789012:user/ops' }));

    // Assess
    expect(byTenant).toBeInstanceOf(ForbiddenError);
    expect(revoked).toEqual({ tenantId: 'initech', principal: ci, role: 'register' });
    expect(registry.principals.has(ci)).toBe(false);
    expect(again).toMatchObject({ code: 'not_found', message: expect.stringMatching(/does not administer tenant initech/) });
    expect(other).toMatchObject({ code: 'not_found' });
    expect(registry.principals.get('arn:aws:iam::123456789012:role/Globex')).toMatchObject({ tenantId: 'globex' });
    expect(operator).toMatchObject({ code: 'conflict', message: expect.stringMatching(/is an operator/) });
    expect(registry.principals.get('arn:aws:iam::123456789012:user/ops')).toMatchObject({ operator: true });
    expect((await listTenants(deps, OPS)).find((t) => t.tenantId === 'initech')?.roles).toEqual({
      'arn:aws:iam::123456789012:role/Initech': 'admin',
      'arn:aws:iam::123456789012:user/ops': 'admin',
    });
  });

  test('a tenant whose principals were all revoked is a tenant: creating it again is refused, not resumed for someone else', async () => {
    // Prepare: one tenant created now (flagged finished), one as before the flag (no flag, principals mapped).
    const { registry, deps } = tenantDeps();
    await createTenant(deps, OPS, { tenantId: 'initech', principals: [ROLE] });
    registry.tenants.set('legacy', { tenantId: 'legacy', createdAt: 1 });
    const legacyPrincipal = 'arn:aws:iam::123456789012:role/Legacy';
    registry.principals.set(legacyPrincipal, { principal: legacyPrincipal, tenantId: 'legacy', operator: false });
    // Act
    await revokeRole(deps, OPS, { tenantId: 'initech', principal: ROLE });
    await revokeRole(deps, OPS, { tenantId: 'legacy', principal: legacyPrincipal });
    const taken = await failure(createTenant(deps, OPS, { tenantId: 'initech', principals: ['arn:aws:iam::123456789012:role/Intruder'] }));
    const legacy = await failure(createTenant(deps, OPS, { tenantId: 'legacy', principals: ['arn:aws:iam::123456789012:role/Intruder'] }));
    // Assess
    expect(registry.tenants.get('initech')).toMatchObject({ finished: true });
    expect(registry.tenants.get('legacy')).toMatchObject({ finished: true });
    expect(taken).toMatchObject({ code: 'conflict', message: 'tenant initech exists' });
    expect(legacy).toMatchObject({ code: 'conflict', message: 'tenant legacy exists' });
    expect(registry.principals.has('arn:aws:iam::123456789012:role/Intruder')).toBe(false);
  });

  test('give a new local credential a role when no principal is named', async () => {
    const credential = { accessKeyId: 'AKLOCALCI', secretAccessKey: 's', region: 'local' };
    const { registry, deps } = tenantDeps({
      credentialIssuer: { issue: async () => ({ principal: 'arn:aws:iam::000000000000:user/attestor/AKLOCALCI', credential }) },
    });
    registry.tenants.set('initech', { tenantId: 'initech', createdAt: 1 });
    await expect(grantRole(deps, OPS, { tenantId: 'initech', role: 'register' })).resolves.toEqual({
      tenantId: 'initech',
      principal: 'arn:aws:iam::000000000000:user/attestor/AKLOCALCI',
      role: 'register',
      credential,
    });
    expect(registry.principals.get('arn:aws:iam::000000000000:user/attestor/AKLOCALCI')).toMatchObject({ tenantId: 'initech', role: 'register' });
  });

  test('need principals where no credential can be issued (AWS), and get an issued one locally', async () => {
    const aws = tenantDeps();
    await expect(failure(createTenant(aws.deps, OPS, { tenantId: 'initech' }))).resolves.toMatchObject({ code: 'invalid_request', field: 'principals' });
    expect(aws.registry.tenants.has('initech')).toBe(false);
    const credential = { accessKeyId: 'AKIA', secretAccessKey: 's', region: 'local' };
    const local = tenantDeps({ credentialIssuer: { issue: async (tenantId) => ({
      principal: `arn:aws:iam::000000000000:user/attestor/${tenantId}`,
      credential,
    }) } });
    const created = await createTenant(local.deps, OPS, { tenantId: 'initech' });
    expect(created).toMatchObject({ principals: ['arn:aws:iam::000000000000:user/attestor/initech'], credential });
  });

  test('are refused to non-operators, and when a principal already administers a tenant', async () => {
    const { registry, deps } = tenantDeps();
    await expect(createTenant(deps, ACME, { tenantId: 'initech', principals: [ROLE] })).rejects.toBeInstanceOf(ForbiddenError);
    registry.principals.set(
      'arn:aws:iam::123456789012:role/Initech',
      { principal: 'arn:aws:iam::123456789012:role/Initech', tenantId: 'acme', operator: false },
    );
    const refused = await failure(createTenant(deps, OPS, { tenantId: 'initech', principals: [ROLE] }));
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused).toMatchObject({ message: 'principal arn:aws:iam::123456789012:role/Initech already administers a tenant' });
    expect(registry.tenants.has('initech')).toBe(false);
  });

  test('undo a creation that fails part-way, so that creating it again works at once', async () => {
    // Prepare: the tenant record was written, then the key failed.
    const { registry, keys, deps } = tenantDeps();
    const failingOnce = { ensureSigningKey: jest.fn(keys.ensureSigningKey).mockRejectedValueOnce(new Error('Rate exceeded')) };
    const withFlakyKeys = { ...deps, keys: failingOnce };
    // Act
    await expect(createTenant(withFlakyKeys, OPS, { tenantId: 'globex', principals: [ROLE] })).rejects.toThrow('Rate exceeded');
    const afterFailure = registry.tenants.has('globex');
    const retried = await createTenant(withFlakyKeys, OPS, { tenantId: 'globex', principals: [ROLE] });
    // Assess
    expect(afterFailure).toBe(false);
    expect(retried).toMatchObject({ tenantId: 'globex', resumed: false });
  });

  test('resume a creation whose undo failed too only once TENANT_CREATION_RESUME_SECONDS have passed, keeping its createdAt', async () => {
    // Prepare: the key failed, then so did the undo (DynamoDB is the fault), leaving the record.
    const { registry, clock, keys, deps } = tenantDeps();
    const failingOnce = { ensureSigningKey: jest.fn(keys.ensureSigningKey).mockRejectedValueOnce(new Error('Rate exceeded')) };
    const undoFails = Object.assign(Object.create(registry.directory) as typeof registry.directory, {
      deleteTenant: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    });
    const withFlakyKeys = { ...deps, keys: failingOnce, tenants: undoFails };
    await expect(createTenant(withFlakyKeys, OPS, { tenantId: 'globex', principals: [ROLE] })).rejects.toThrow('Rate exceeded');
    const { createdAt } = registry.tenants.get('globex')!;

    // Act and assess: too soon, then resumed.
    clock.advance(TENANT_CREATION_RESUME_SECONDS - 1);
    const early = await failure(createTenant(withFlakyKeys, OPS, { tenantId: 'globex', principals: [ROLE] }));
    expect(early).toBeInstanceOf(ConflictError);
    expect((early as Error).message).toMatch(/is being created: if that creation failed, run the command again in a minute/);
    clock.advance(1);
    await expect(createTenant(withFlakyKeys, OPS, { tenantId: 'globex', principals: [ROLE] })).resolves.toMatchObject({ createdAt, resumed: true });
  });

  test('never resume a finished tenant or the default tenant, however old', async () => {
    const { registry, clock, deps } = tenantDeps();
    await createTenant(deps, OPS, { tenantId: 'globex', principals: [ROLE] });
    registry.tenants.set('default', { tenantId: 'default', createdAt: 1 });
    clock.advance(3600);
    const other = 'arn:aws:iam::123456789012:role/Other';
    await expect(failure(createTenant(
      deps,
      OPS,
      { tenantId: 'globex', principals: [other] },
    ))).resolves.toMatchObject({ code: 'conflict', message: 'tenant globex exists' });
    await expect(failure(createTenant(
      deps,
      OPS,
      { tenantId: 'default', principals: [other] },
    ))).resolves.toMatchObject({ code: 'conflict', message: 'tenant default exists' });
    expect(registry.principals.has(other)).toBe(false);
  });

  test('are listed with their principals, the default tenant always among them', async () => {
    const { deps, clock } = tenantDeps();
    await createTenant(deps, OPS, { tenantId: 'initech', principals: [ROLE] });
    await expect(listTenants(deps, OPS)).resolves.toEqual([
      { tenantId: 'default', createdAt: clock.now, principals: [], roles: {} },
      {
        tenantId: 'initech',
        createdAt: clock.now,
        principals: ['arn:aws:iam::123456789012:role/Initech'],
        roles: { 'arn:aws:iam::123456789012:role/Initech': 'admin' },
      },
    ]);
    await expect(listTenants(deps, ACME)).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('apps', () => {
  test('are created once, with a key for their tenant; the owner creating again gets the same app', async () => {
    const { deps, keys, registry } = setup();
    const first = await createApp(deps, ACME, APP);
    const again = await createApp(deps, ACME, APP);
    expect(first).toEqual({ app: { appId: APP, tenantId: 'acme', createdAt: expect.any(Number) }, created: true });
    expect(again).toEqual({ app: first.app, created: false });
    expect(keys.ensured).toEqual(['acme', 'acme']);
    await expect(listApps(deps, ACME)).resolves.toEqual([first.app]);
    expect(registry.apps.size).toBe(1);
  });

  test("are global: another tenant's id is a conflict, and nothing is created for the caller", async () => {
    const { deps, keys } = setup();
    await createApp(deps, GLOBEX, APP);
    const refused = await failure(createApp(deps, ACME, APP));
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused).toMatchObject({ message: `app ${APP} belongs to another tenant` });
    expect(keys.ensured).toEqual(['globex']);
  });

  test("are removed with everything under them, and only by their tenant", async () => {
    const { deps, registry } = setup();
    await createApp(deps, ACME, APP);
    registry.registrations.set(`${APP}\0${'1.0.0'}`, { appId: APP, version: '1.0.0', sha256: 'a'.repeat(64), size: 1, objectKey: 'k', registeredAt: 1 });
    await expect(removeApp(deps, GLOBEX, APP)).rejects.toBeInstanceOf(NotFoundError);
    await expect(removeApp(deps, ACME, APP)).resolves.toMatchObject({ registrations: 1, devices: 0, policy: false });
    expect(registry.apps.has(APP)).toBe(false);
  });
});

describe('registrations, policies and devices', () => {
  async function owned() {
    const world = setup();
    await createApp(world.deps, ACME, APP);
    world.registry.registrations.set(`${APP}\0${'1.0.0'}`, { appId: APP, version: '1.0.0', sha256: 'a'.repeat(64), size: 1, objectKey: 'k', registeredAt: 1 });
    return world;
  }

  test('registrations expire from now, and a missing one is not found', async () => {
    const { deps, clock } = await owned();
    await expect(expireRegistration(deps, ACME, APP, '1.0.0', 60)).resolves.toMatchObject({ expiresAt: clock.now + 60 });
    await expect(expireRegistration(deps, ACME, APP, '2.0.0', 60)).rejects.toBeInstanceOf(NotFoundError);
    await expect(listRegistrations(deps, GLOBEX, APP)).rejects.toBeInstanceOf(NotFoundError);
    await expect(removeRegistration(deps, ACME, APP, '1.0.0')).resolves.toMatchObject({ version: '1.0.0' });
    await expect(failure(removeRegistration(deps, ACME, APP, '1.0.0'))).resolves.toMatchObject({ message: `no registration of ${APP} 1.0.0` });
  });

  test('a policy is the default until set, then what was set with every default stated', async () => {
    const { deps, registry } = await owned();
    await expect(appPolicy(deps, ACME, APP)).resolves.toEqual({ ...DEFAULT_POLICY, hardware: DEFAULT_HARDWARE_POLICY, measurement: 'require' });
    const strict = { reject: { rooted: true, emulator: true, debugger: true, hooked: true }, minSdkVersion: '2.0.0' };
    const expected = { ...strict, hardware: DEFAULT_HARDWARE_POLICY, measurement: 'require' };
    await expect(setAppPolicy(deps, ACME, APP, strict)).resolves.toEqual(expected);
    await expect(appPolicy(deps, ACME, APP)).resolves.toEqual(expected);
    // Stored complete: the item says everything attest applies.
    expect(registry.policies.get(APP)).toEqual(expected);
    await expect(setAppPolicy(deps, GLOBEX, APP, strict)).rejects.toBeInstanceOf(NotFoundError);
  });

  test('hardware settings left out take their defaults member by member; measurement stays as set', async () => {
    const { deps } = await owned();
    const settings = { reject: DEFAULT_POLICY.reject, hardware: { android: 'require', minAndroidPatchLevel: 202406 }, measurement: 'require' } as const;
    const stored = await setAppPolicy(deps, ACME, APP, settings);
    expect(stored.hardware).toEqual({ ...DEFAULT_HARDWARE_POLICY, android: 'require', minAndroidPatchLevel: 202406 });
    // A replacement: settings of the previous policy that the new one leaves out go back to their defaults.
    const replaced = await setAppPolicy(deps, ACME, APP, { reject: DEFAULT_POLICY.reject, hardware: { ios: 'prefer' } });
    expect(replaced.hardware).toEqual({ ...DEFAULT_HARDWARE_POLICY, ios: 'prefer' });
    expect(replaced.hardware).not.toHaveProperty('minAndroidPatchLevel');
  });

  test('a policy stored before hardware existed reads as no hardware and a measured build', async () => {
    const { deps, registry } = await owned();
    registry.policies.set(APP, { reject: { rooted: true, emulator: false, debugger: false, hooked: true } });
    await expect(appPolicy(deps, ACME, APP)).resolves.toEqual({
      reject: { rooted: true, emulator: false, debugger: false, hooked: true },
      hardware: DEFAULT_HARDWARE_POLICY,
      measurement: 'require',
    });
  });

  test('a debug device keeps only the digest of the secret it returns once', async () => {
    const { deps, registry } = await owned();
    const { device, debugSecret } = await addDevice(deps, ACME, APP, { debug: true, note: 'CI' });
    expect(device).toMatchObject({ kind: 'debug', secretSha256: debugSecretDigest(Buffer.from(debugSecret!, 'base64url')), note: 'CI' });
    expect(JSON.stringify([...registry.devices.values()])).not.toContain(debugSecret);
  });

  test('an install key is listed once, and an app holds at most MAX_DEVICES_PER_APP devices', async () => {
    const { deps } = await owned();
    const did = 'A'.repeat(43);
    await expect(addDevice(deps, ACME, APP, { did })).resolves.toMatchObject({ device: { kind: 'install', did } });
    await expect(failure(addDevice(deps, ACME, APP, { did }))).resolves.toMatchObject({
      code: 'conflict',
      message: `install key ${did} is already allow-listed`,
    });
    for (let i = 1; i < MAX_DEVICES_PER_APP; i++) await addDevice(deps, ACME, APP, { debug: true });
    await expect(failure(addDevice(deps, ACME, APP, { debug: true }))).resolves.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/the most allowed/),
    });
    expect(await listDevices(deps, ACME, APP)).toHaveLength(MAX_DEVICES_PER_APP);
    await expect(removeDevice(deps, ACME, APP, did)).resolves.toMatchObject({ did });
    await expect(removeDevice(deps, ACME, APP, did)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('uploads', () => {
  function uploadDeps(completeMultipart: UploadUrlIssuer['completeMultipart'] = async () => undefined) {
    const world = setup();
    const uploadUrls: UploadUrlIssuer = {
      issue: async (objectKey) => ({ url: `https://s3.example/${objectKey}`, expiresAt: world.clock.now + 900 }),
      issueMultipart: async (_key, size, partSize) => ({
        multipartUploadId: 'mp-1',
        parts: Array.from({ length: Math.ceil(size / partSize) }, (_, i) => ({ partNumber: i + 1, url: `https://s3.example/part/${i + 1}` })),
        expiresAt: world.clock.now + 3600,
      }),
      completeMultipart,
    };
    return { ...world, uploadDeps: { ...world.deps, uploadUrls } };
  }
  const SMALL = { appId: APP, version: '1.0.0', size: 100, note: 'rc' };

  test('issuing one creates the app in the caller’s tenant, gives the tenant a key and records a pending upload first', async () => {
    const { uploadDeps: deps, registry, keys } = uploadDeps();
    const issued = await issueUpload(deps, ACME, SMALL);
    expect(issued.kind).toBe('single');
    expect(registry.apps.get(APP)?.tenantId).toBe('acme');
    expect(keys.ensured).toEqual(['acme']);
    expect(registry.uploads.get(issued.upload.uploadId)).toMatchObject({
      status: 'pending',
      tenantId: 'acme',
      expectedSize: 100,
      note: 'rc',
      objectKey: issued.upload.objectKey,
    });
  });

  test("issuing one for another tenant's app is a conflict that records nothing", async () => {
    const { uploadDeps: deps, registry } = uploadDeps();
    registry.apps.set(APP, { appId: APP, tenantId: 'globex', createdAt: 1 });
    await expect(issueUpload(deps, ACME, SMALL)).rejects.toBeInstanceOf(ConflictError);
    expect(registry.uploads.size).toBe(0);
  });

  test('a build above the threshold is uploaded in parts, recorded with its multipart id', async () => {
    const { uploadDeps: deps, registry } = uploadDeps();
    const size = MULTIPART_THRESHOLD_BYTES + 1;
    const issued = await issueUpload(deps, ACME, { ...SMALL, size });
    if (issued.kind !== 'multipart') throw new Error('expected a multipart upload');
    expect(issued.parts).toHaveLength(partCountFor(size));
    expect(registry.uploads.get(issued.upload.uploadId)).toMatchObject({ multipartUploadId: 'mp-1', expectedSize: size });
  });

  async function pendingMultipart(registry: MemoryRegistry, extra: Partial<UploadRecord> = {}) {
    registry.apps.set(APP, { appId: APP, tenantId: 'acme', createdAt: 1 });
    registry.uploads.set(UPLOAD_ID, {
      uploadId: UPLOAD_ID,
      appId: APP,
      version: '1.0.0',
      objectKey: `builds/${APP}/1.0.0/${UPLOAD_ID}`,
      status: 'pending',
      createdAt: 1,
      tenantId: 'acme',
      expectedSize: 100 * 1024 ** 2,
      multipartUploadId: 'mp-1',
      ...extra,
    });
  }
  const parts: CompletedPart[] = Array.from({ length: 7 }, (_, i) => ({ partNumber: i + 1, etag: `"e${i}"` }));

  test('completing records the time once; a retry gets the same upload back', async () => {
    const { uploadDeps: deps, registry, clock } = uploadDeps();
    await pendingMultipart(registry);
    const first = await completeUpload(deps, ACME, UPLOAD_ID, parts);
    clock.advance(10);
    const retry = await completeUpload(deps, ACME, UPLOAD_ID, parts);
    expect(first).toMatchObject({ completedNow: true, upload: { completedAt: clock.now - 10 } });
    expect(retry).toMatchObject({ completedNow: false, upload: { completedAt: clock.now - 10 } });
  });

  test.each([
    ['a part missing', parts.slice(1), async () => undefined, InvalidRequestError, 'parts must list parts 1 to 7 in order, each with the ETag S3 returned'],
    ['parts S3 refuses', parts, async () => Promise.reject(new MultipartRejectedError('InvalidPart', false)), InvalidRequestError, /^parts were refused by S3/],
    [
      'a vanished multipart upload',
      parts,
      async () => Promise.reject(new MultipartRejectedError('gone', true)),
      ConflictError,
      /can no longer be completed: gone$/,
    ],
  ])('completing with %s is refused and records nothing', async (_what, given, complete, kind, message) => {
    const { uploadDeps: deps, registry } = uploadDeps(complete);
    await pendingMultipart(registry);
    const refused = await failure(completeUpload(deps, ACME, UPLOAD_ID, given));
    expect(refused).toBeInstanceOf(kind);
    expect((refused as Error).message).toMatch(message);
    expect(registry.uploads.get(UPLOAD_ID)?.completedAt).toBeUndefined();
  });

  test('completing a single PUT or a settled upload is a conflict; another tenant’s is not found', async () => {
    const { uploadDeps: deps, registry } = uploadDeps();
    await pendingMultipart(registry, { multipartUploadId: undefined });
    await expect(failure(completeUpload(deps, ACME, UPLOAD_ID, parts))).resolves.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/single PUT/),
    });
    await pendingMultipart(registry, { status: 'rejected' });
    await expect(failure(completeUpload(deps, ACME, UPLOAD_ID, parts))).resolves.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/already rejected/),
    });
    await expect(completeUpload(deps, GLOBEX, UPLOAD_ID, parts)).rejects.toBeInstanceOf(NotFoundError);
  });

  test("an upload's registration is shown only while the app is the caller's and of the upload's own build", async () => {
    const { deps, registry } = setup();
    const registration = { appId: APP, version: '1.0.0', sha256: 'a'.repeat(64), size: 10, objectKey: 'k', registeredAt: 1 };
    registry.apps.set(APP, { appId: APP, tenantId: 'acme', createdAt: 1 });
    registry.uploads.set(
      UPLOAD_ID,
      { uploadId: UPLOAD_ID, appId: APP, version: '1.0.0', objectKey: 'k', status: 'registered', createdAt: 1, tenantId: 'acme', sha256: 'a'.repeat(64) },
    );
    registry.registrations.set(`${APP}\0${'1.0.0'}`, registration);
    await expect(uploadStatus(deps, ACME, UPLOAD_ID)).resolves.toMatchObject({ registration });
    registry.registrations.set(`${APP}\0${'1.0.0'}`, { ...registration, sha256: 'b'.repeat(64) });
    await expect(uploadStatus(deps, ACME, UPLOAD_ID)).resolves.not.toHaveProperty('registration');
    registry.registrations.set(`${APP}\0${'1.0.0'}`, registration);
    registry.apps.set(APP, { appId: APP, tenantId: 'globex', createdAt: 2 });
    await expect(uploadStatus(deps, ACME, UPLOAD_ID)).resolves.not.toHaveProperty('registration');
  });
});

describe('the attestation log', () => {
  function logDeps(withLog = true) {
    const world = setup();
    const queries: LogQuery[] = [];
    const log: Pick<AttestationLog, 'query' | 'summarize'> = {
      query: async (query) => {
        queries.push(query);
        return { entries: [] };
      },
      summarize: async (query) => {
        queries.push({ ...query, limit: 0 });
        return { total: 0, byOutcome: { pass: 0, fail: 0, debug: 0, allowlisted: 0 }, byReason: {}, nonceInvalid: 0 };
      },
    };
    const deps = { ...world.deps, ...(withLog ? { log: log as AttestationLog } : {}) };
    world.registry.apps.set(APP, { appId: APP, tenantId: 'acme', createdAt: 1 });
    world.registry.apps.set('com.example.other', { appId: 'com.example.other', tenantId: 'default', createdAt: 1 });
    return { ...world, deps, queries };
  }

  test('reads all of the caller’s apps, and the unregistered bucket only for the default tenant', async () => {
    const { deps } = logDeps();
    await expect(logScope(deps, ACME, undefined)).resolves.toEqual({ appIds: [APP], includeUnregistered: false });
    await expect(logScope(deps, OPS, undefined)).resolves.toEqual({ appIds: ['com.example.other'], includeUnregistered: true });
    await expect(logScope(deps, ACME, APP)).resolves.toEqual({ appIds: [APP], includeUnregistered: false });
    await expect(logScope(deps, OPS, APP)).rejects.toBeInstanceOf(NotFoundError);
  });

  test('is queried for the caller’s tenant only, and is not found where the deployment keeps none', async () => {
    const { deps, queries, clock } = logDeps();
    await readAttestationLog(deps, ACME, { limit: 5, appId: APP });
    await expect(logStats(deps, ACME, 3600, undefined)).resolves.toMatchObject({ windowSeconds: 3600, since: clock.now - 3600, total: 0 });
    expect(queries.map((q) => q.tenantId)).toEqual(['acme', 'acme']);
    const without = logDeps(false);
    await expect(failure(readAttestationLog(without.deps, ACME, { limit: 5 }))).resolves.toMatchObject({
      code: 'not_found',
      message: 'this deployment keeps no attestation log',
    });
  });
});

describe('identities', () => {
  const IOS = { teamId: 'ABCDE12345', bundleId: 'com.example.app' };
  const ANDROID = { packageName: 'com.example.app', signingCertificates: ['a'.repeat(64)], minVersionCode: 7 };

  test('an app has none until one is set: {} then, never a 404 for the owner', async () => {
    const { deps } = setup();
    await createApp(deps, ACME, APP);
    await expect(appIdentity(deps, ACME, APP)).resolves.toEqual({});
  });

  test("another tenant's app has no identity to read or write: not found, and nothing stored", async () => {
    // Prepare
    const { deps, registry } = setup();
    await createApp(deps, GLOBEX, APP);
    // Act
    const read = await failure(appIdentity(deps, ACME, APP));
    const write = await failure(setAppIdentity(deps, ACME, APP, { ios: IOS }));
    const missing = await failure(setAppIdentity(deps, ACME, 'com.example.none', { ios: IOS }));
    // Assess
    expect(read).toMatchObject({ code: 'not_found', message: `no app ${APP} in tenant acme` });
    expect(write).toBeInstanceOf(NotFoundError);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(registry.identities.size).toBe(0);
  });

  test('set replaces the whole identity, and the attest snapshot carries it', async () => {
    const { deps, registry } = setup();
    await createApp(deps, ACME, APP);
    await expect(setAppIdentity(deps, ACME, APP, { ios: IOS, android: ANDROID })).resolves.toEqual({ ios: IOS, android: ANDROID });
    expect((await registry.catalog.appSnapshot(APP)).identity).toEqual({ ios: IOS, android: ANDROID });
    // A platform left out is no longer registered.
    await expect(setAppIdentity(deps, ACME, APP, { android: ANDROID })).resolves.toEqual({ android: ANDROID });
    await expect(appIdentity(deps, ACME, APP)).resolves.toEqual({ android: ANDROID });
  });

  test('{} removes the identity: nothing is stored, and the snapshot has none', async () => {
    const { deps, registry } = setup();
    await createApp(deps, ACME, APP);
    await setAppIdentity(deps, ACME, APP, { ios: IOS });
    await expect(setAppIdentity(deps, ACME, APP, {})).resolves.toEqual({});
    expect(registry.identities.has(APP)).toBe(false);
    expect(await registry.catalog.appSnapshot(APP)).not.toHaveProperty('identity');
  });

  test('stores only the members an identity has, not whatever else the object carried', async () => {
    const { deps, registry } = setup();
    await createApp(deps, ACME, APP);
    const sloppy = { ios: { ...IOS, extra: 1 }, android: { ...ANDROID, minVersionCode: undefined } } as unknown as Parameters<typeof setAppIdentity>[3];
    await setAppIdentity(deps, ACME, APP, sloppy);
    const { packageName, signingCertificates } = ANDROID;
    expect(registry.identities.get(APP)).toStrictEqual({ ios: IOS, android: { packageName, signingCertificates } });
  });
});
