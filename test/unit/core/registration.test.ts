import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { AttestationLog, BuildObject, BuildRefusal, UploadRecord } from '../../../packages/service/src/core/ports';
import {
  buildObjectKey,
  BuildObjectMissingError,
  hashStream,
  parseBuildObjectKey,
  partCountFor,
  partSizeFor,
  registerBuild,
  type RegistrationDeps,
} from '../../../packages/service/src/core/registration';
import { ManualClock, MemoryBuildStore, MemoryRegistry } from '../../support/memory';
import { LogTally } from '../../support/log-tally';

const APP = 'com.example.app';
const VERSION = '1.0.0+build.7';
const UPLOAD_1 = 'upload-aaaaaaaaaaaaaaa1';
const UPLOAD_2 = 'upload-aaaaaaaaaaaaaaa2';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function setup(maxBuildBytes = 1024 * 1024) {
  const registry = new MemoryRegistry();
  const builds = new MemoryBuildStore();
  const clock = new ManualClock();
  const deps: RegistrationDeps = {
    uploads: registry.uploadStore,
    apps: registry.appStore,
    registrations: registry.registrationStore,
    builds,
    clock,
    maxBuildBytes,
  };
  registry.apps.set(APP, { appId: APP, tenantId: 'tenant-a', createdAt: clock.now });
  /** Records a pending upload and (unless bytes is undefined) the object it uploaded. */
  const upload = (uploadId: string, bytes: Uint8Array | undefined, extra: Partial<UploadRecord> = {}, version = VERSION) => {
    const objectKey = buildObjectKey({ appId: APP, version, uploadId });
    void registry.uploadStore.putUpload({ uploadId, appId: APP, version, objectKey, status: 'pending', createdAt: clock.now, ...extra });
    if (bytes) builds.objects.set(objectKey, bytes);
    return objectKey;
  };
  return { registry, builds, clock, deps, upload };
}

describe('build object keys', () => {
  it('builds builds/<appId>/<version>/<uploadId>', () => {
    expect(buildObjectKey({ appId: APP, version: VERSION, uploadId: UPLOAD_1 })).toBe(`builds/${APP}/${VERSION}/${UPLOAD_1}`);
  });

  it('round-trips every valid key', () => {
    const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
    const appId = fc.tuple(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,10}$/),
      fc.array(label, { minLength: 1, maxLength: 4 }),
    ).map(([h, t]) => [h, ...t].join('.'));
    const version = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,20}$/);
    const uploadId = fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/);
    fc.assert(
      fc.property(appId, version, uploadId, (a, v, u) => {
        const key = { appId: a, version: v, uploadId: u };
        expect(parseBuildObjectKey(buildObjectKey(key))).toEqual(key);
      }),
    );
  });

  it.each([
    ['another prefix', `uploads/${APP}/1.0.0/${UPLOAD_1}`],
    ['no prefix', `${APP}/1.0.0/${UPLOAD_1}`],
    ['a .. version', `builds/${APP}/../${UPLOAD_1}`],
    ['a .. appId', `builds/../1.0.0/${UPLOAD_1}`],
    ['a .. upload id', `builds/${APP}/1.0.0/..`],
    ['a traversal beyond the parts', `builds/${APP}/1.0.0/../../${UPLOAD_1}`],
    ['a leading double slash', `builds//${APP}/1.0.0/${UPLOAD_1}`],
    ['a double slash between parts', `builds/${APP}//1.0.0/${UPLOAD_1}`],
    ['a trailing slash', `builds/${APP}/1.0.0/${UPLOAD_1}/`],
    ['a missing upload id', `builds/${APP}/1.0.0`],
    ['an extra segment', `builds/${APP}/1.0.0/${UPLOAD_1}/x`],
    ['a space in the version', `builds/${APP}/1.0 0/${UPLOAD_1}`],
    ['a percent in the version', `builds/${APP}/1.0%2B0/${UPLOAD_1}`],
    ['a backslash in the version', `builds/${APP}/1.0\\0/${UPLOAD_1}`],
    ['a one-label appId', `builds/app/1.0.0/${UPLOAD_1}`],
    ['an appId with a space', `builds/com.exa mple/1.0.0/${UPLOAD_1}`],
    ['a short upload id', `builds/${APP}/1.0.0/short`],
    ['an upload id with a dot', `builds/${APP}/1.0.0/upload.aaaaaaaaaaaaaa`],
    ['an upload id of 65 characters', `builds/${APP}/1.0.0/${'a'.repeat(65)}`],
    ['a version of 65 characters', `builds/${APP}/${'1'.repeat(65)}/${UPLOAD_1}`],
    ['an appId of 256 characters', `builds/a.${'b'.repeat(254)}/1.0.0/${UPLOAD_1}`],
  ])('rejects %s', (_what, key) => {
    expect(parseBuildObjectKey(key)).toBeUndefined();
  });

  it('accepts the longest valid parts', () => {
    const key = { appId: `a.${'b'.repeat(253)}`, version: '1'.repeat(64), uploadId: 'u'.repeat(64) };
    expect(parseBuildObjectKey(buildObjectKey(key))).toEqual(key);
  });
});

describe('hashStream', () => {
  it('hashes chunk by chunk to the same digest as one update', async () => {
    const chunks = [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('c')];
    const result = await hashStream((async function* () {
      yield* chunks;
    })());
    expect(result).toEqual({ sha256: sha256(Buffer.from('abc')), size: 3 });
  });
});

describe('registerBuild', () => {
  it('rejects a key it cannot parse as unknown_key, touching nothing', async () => {
    const { deps, registry } = setup();
    expect(await registerBuild(deps, 'builds/../etc/passwd')).toEqual({ status: 'rejected', reason: 'unknown_key' });
    expect(registry.registrations.size).toBe(0);
  });

  it('rejects an object with no upload record as unknown_upload', async () => {
    const { deps, builds } = setup();
    const objectKey = buildObjectKey({ appId: APP, version: VERSION, uploadId: UPLOAD_1 });
    builds.objects.set(objectKey, Buffer.from('x'));
    expect(await registerBuild(deps, objectKey)).toEqual({ status: 'rejected', reason: 'unknown_upload' });
  });

  it('rejects an object whose upload record names another key as unknown_upload', async () => {
    const { deps, upload, builds } = setup();
    upload(UPLOAD_1, Buffer.from('x'));
    const elsewhere = buildObjectKey({ appId: APP, version: '6.6.6', uploadId: UPLOAD_1 });
    builds.objects.set(elsewhere, Buffer.from('evil'));
    expect(await registerBuild(deps, elsewhere)).toEqual({ status: 'rejected', reason: 'unknown_upload' });
  });

  it('settles an empty build as rejected empty_build', async () => {
    // Prepare
    const { deps, upload, registry, builds } = setup();
    const objectKey = upload(UPLOAD_1, Buffer.alloc(0));
    // Act
    const outcome = await registerBuild(deps, objectKey);
    // Assess
    expect(outcome).toEqual({ status: 'rejected', reason: 'empty_build' });
    expect(registry.uploads.get(UPLOAD_1)).toMatchObject({ status: 'rejected', reason: 'empty_build' });
    expect(registry.registrations.size).toBe(0);
    expect(builds.discarded).toEqual([objectKey]);
  });

  it('settles a build over the maximum as rejected too_large, without reading it', async () => {
    // Prepare
    const { deps, upload, registry } = setup(10);
    upload(UPLOAD_1, Buffer.alloc(11, 1));
    let read = false;
    let discarded = false;
    const objectKey = buildObjectKey({ appId: APP, version: VERSION, uploadId: UPLOAD_1 });
    const store = {
      open: async (): Promise<BuildObject> => ({
        size: 11,
        discard: () => {
          discarded = true;
        },
        body: (async function* () {
          read = true;
          yield Buffer.alloc(11, 1);
        })(),
      }),
    };
    // Act
    const outcome = await registerBuild({ ...deps, builds: store }, objectKey);
    // Assess
    expect(outcome).toEqual({ status: 'rejected', reason: 'too_large' });
    expect(read).toBe(false);
    expect(discarded).toBe(true);
    expect(registry.uploads.get(UPLOAD_1)).toMatchObject({ status: 'rejected', reason: 'too_large' });
  });

  it('accepts a build of exactly the maximum size', async () => {
    const { deps, upload } = setup(10);
    const objectKey = upload(UPLOAD_1, Buffer.alloc(10, 1));
    expect((await registerBuild(deps, objectKey)).status).toBe('registered');
  });

  it('settles a stream shorter than its declared size as truncated_read', async () => {
    const { deps, upload, registry } = setup();
    const objectKey = upload(UPLOAD_1, undefined);
    const open = async (): Promise<BuildObject> => ({
      size: 100,
      discard: () => undefined,
      body: (async function* () {
        yield Buffer.alloc(50);
      })(),
    });
    const store = { open };
    expect(await registerBuild({ ...deps, builds: store }, objectKey)).toEqual({ status: 'rejected', reason: 'truncated_read' });
    expect(registry.registrations.size).toBe(0);
    expect(registry.uploads.get(UPLOAD_1)?.status).toBe('rejected');
  });

  it('registers a build with its sha256, size and expiry', async () => {
    // Prepare: a build spanning several 64 KiB chunks.
    const { deps, upload, registry, clock } = setup();
    const bytes = Buffer.alloc(200_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    const objectKey = upload(UPLOAD_1, bytes, { expireAfterSeconds: 3600, note: 'release candidate' });
    // Act
    const outcome = await registerBuild(deps, objectKey);
    // Assess
    const expected = {
      appId: APP,
      version: VERSION,
      sha256: sha256(bytes),
      size: 200_000,
      objectKey,
      registeredAt: clock.now,
      expiresAt: clock.now + 3600,
      note: 'release candidate',
    };
    expect(outcome).toEqual({ status: 'registered', registration: expected });
    expect(await registry.registrationStore.getRegistration(APP, VERSION)).toEqual(expected);
    expect(registry.uploads.get(UPLOAD_1)).toMatchObject({ status: 'registered', sha256: sha256(bytes), size: 200_000 });
  });

  it('registers without expiresAt or note when the upload had none', async () => {
    const { deps, upload, registry } = setup();
    const objectKey = upload(UPLOAD_1, Buffer.from('build'));
    await registerBuild(deps, objectKey);
    const stored = await registry.registrationStore.getRegistration(APP, VERSION);
    expect(stored).not.toHaveProperty('expiresAt');
    expect(stored).not.toHaveProperty('note');
  });

  it('leaves everything unchanged on a redelivered event', async () => {
    // Prepare
    const { deps, upload, registry, clock } = setup();
    const objectKey = upload(UPLOAD_1, Buffer.from('build'));
    await registerBuild(deps, objectKey);
    const before = { registrations: new Map(registry.registrations), upload: registry.uploads.get(UPLOAD_1) };
    const put = jest.spyOn(registry.registrationStore, 'putRegistrationIfAbsent');
    const settle = jest.spyOn(registry.uploadStore, 'settleUpload');
    clock.advance(100);
    // Act
    const outcome = await registerBuild(deps, objectKey);
    // Assess
    expect(outcome).toEqual({ status: 'unchanged', reason: 'upload already registered' });
    expect(put).not.toHaveBeenCalled();
    expect(settle).not.toHaveBeenCalled();
    expect(registry.registrations).toEqual(before.registrations);
    expect(registry.uploads.get(UPLOAD_1)).toBe(before.upload);
  });

  it('leaves a rejected upload rejected on redelivery', async () => {
    const { deps, upload, registry } = setup();
    const objectKey = upload(UPLOAD_1, Buffer.alloc(0));
    await registerBuild(deps, objectKey);
    expect(await registerBuild(deps, objectKey)).toEqual({ status: 'unchanged', reason: 'upload already rejected' });
    expect(registry.uploads.get(UPLOAD_1)?.reason).toBe('empty_build');
  });

  it('keeps one registration when the same build arrives under a second upload', async () => {
    // Prepare
    const { deps, upload, registry, clock } = setup();
    const bytes = Buffer.from('same build');
    const first = upload(UPLOAD_1, bytes);
    const firstOutcome = await registerBuild(deps, first);
    clock.advance(60);
    const second = upload(UPLOAD_2, bytes);
    // Act
    const secondOutcome = await registerBuild(deps, second);
    // Assess
    expect(secondOutcome).toEqual(firstOutcome);
    expect(secondOutcome).toMatchObject({ status: 'registered', registration: { objectKey: first } });
    expect(registry.registrations.size).toBe(1);
    expect(registry.uploads.get(UPLOAD_2)).toMatchObject({ status: 'registered', sha256: sha256(bytes) });
  });

  it('rejects a different build for an already registered version as version_conflict', async () => {
    // Prepare
    const { deps, upload, registry } = setup();
    const first = upload(UPLOAD_1, Buffer.from('original build'));
    await registerBuild(deps, first);
    const second = upload(UPLOAD_2, Buffer.from('a different build'));
    // Act
    const outcome = await registerBuild(deps, second);
    // Assess
    expect(outcome).toEqual({ status: 'rejected', reason: 'version_conflict' });
    expect((await registry.registrationStore.getRegistration(APP, VERSION))?.sha256).toBe(sha256(Buffer.from('original build')));
    expect(registry.uploads.get(UPLOAD_2)).toMatchObject({ status: 'rejected', reason: 'version_conflict' });
  });

  it('registers different versions independently', async () => {
    const { deps, upload, registry } = setup();
    await registerBuild(deps, upload(UPLOAD_1, Buffer.from('one'), {}, '1.0.0'));
    await registerBuild(deps, upload(UPLOAD_2, Buffer.from('two'), {}, '2.0.0'));
    expect(registry.registrations.size).toBe(2);
  });

  it('propagates a build store failure (so the event is retried) and leaves the upload pending', async () => {
    const { deps, upload, registry } = setup();
    const objectKey = upload(UPLOAD_1, undefined);
    await expect(registerBuild(deps, objectKey)).rejects.toThrow(`no object ${objectKey}`);
    expect(registry.uploads.get(UPLOAD_1)?.status).toBe('pending');
  });
});

describe('registerBuild hardening', () => {
  /** Records build refusals like the log adapter: one entry per (tenant, event). */
  function refusalLog() {
    const refusals = new Map<string, BuildRefusal>();
    const log: AttestationLog = {
      record: async () => undefined,
      query: async () => ({ entries: [] }),
      recordBuildRefusal: async (r) => {
        if (!refusals.has(`${r.tenantId}\0${r.eventId}`)) refusals.set(`${r.tenantId}\0${r.eventId}`, r);
      },
      queryBuildRefusals: async () => ({ entries: [] }),
      summarize: async () => new LogTally().counts(),
    };
    return { log, refusals };
  }

  it('records stray objects in the operator tenant’s build log, once per event', async () => {
    const { deps } = setup();
    const { log, refusals } = refusalLog();
    const withLog = { ...deps, log, operatorTenantId: 'operator' };
    const event = { eventId: 'stray-1', time: 1234 };
    expect(await registerBuild(withLog, 'elsewhere/x.apk', event)).toEqual({ status: 'rejected', reason: 'unknown_key' });
    await registerBuild(withLog, 'elsewhere/x.apk', event);
    expect([...refusals.values()]).toEqual([{ tenantId: 'operator', objectKey: 'elsewhere/x.apk', reason: 'unknown_key', time: 1234, eventId: 'stray-1' }]);
  });

  it('records a rejected upload in its own tenant’s build log', async () => {
    const { deps, upload } = setup();
    const { log, refusals } = refusalLog();
    const objectKey = upload(UPLOAD_1, Buffer.alloc(0), { tenantId: 'tenant-a' });
    await registerBuild({ ...deps, log, operatorTenantId: 'operator' }, objectKey, { eventId: 'e1', time: 5 });
    expect([...refusals.values()]).toEqual([
      { tenantId: 'tenant-a', objectKey, reason: 'empty_build', time: 5, eventId: 'e1', appId: APP, version: VERSION, uploadId: UPLOAD_1, size: 0 },
    ]);
  });

  it('rejects an upload whose app was removed, or now belongs to another tenant, as app_removed (owned by the uploader)', async () => {
    const { deps, upload, registry } = setup();
    const objectKey = upload(UPLOAD_1, Buffer.from('build'), { tenantId: 'tenant-b' });
    const owner = { tenantId: 'tenant-b', appId: APP };
    expect(await registerBuild(deps, objectKey)).toEqual({ status: 'rejected', reason: 'app_removed', owner });
    registry.apps.delete(APP);
    const other = upload(UPLOAD_2, Buffer.from('build'));
    expect(await registerBuild(deps, other)).toEqual({ status: 'rejected', reason: 'app_removed' });
    expect(registry.registrations.size).toBe(0);
  });

  it('rejects an object of another size than declared as size_mismatch, without reading it', async () => {
    const { deps, upload, builds } = setup();
    const objectKey = upload(UPLOAD_1, Buffer.from('twelve bytes'), { expectedSize: 11 });
    expect(await registerBuild(deps, objectKey)).toEqual({ status: 'rejected', reason: 'size_mismatch' });
    expect(builds.discarded).toEqual([objectKey]);
  });

  it('settles an upload whose object is gone as object_missing instead of retrying forever', async () => {
    const { deps, upload, registry } = setup();
    const objectKey = upload(UPLOAD_1, undefined);
    const gone = { open: async (): Promise<BuildObject> => Promise.reject(new BuildObjectMissingError(objectKey)) };
    expect(await registerBuild({ ...deps, builds: gone }, objectKey)).toEqual({ status: 'rejected', reason: 'object_missing' });
    expect(registry.uploads.get(UPLOAD_1)).toMatchObject({ status: 'rejected', reason: 'object_missing' });
  });
});

describe('multipart part sizes', () => {
  it('uses 16 MiB parts and grows them to stay within 10 000 parts', () => {
    expect(partSizeFor(200 * 1024 ** 2)).toBe(16 * 1024 ** 2);
    expect(partCountFor(200 * 1024 ** 2 + 1)).toBe(13);
    expect(partCountFor(2 * 1024 ** 3)).toBe(128);
    const huge = 500 * 1024 ** 3;
    expect(partCountFor(huge)).toBeLessThanOrEqual(10_000);
    expect(partSizeFor(huge) % 1024 ** 2).toBe(0);
  });
});
