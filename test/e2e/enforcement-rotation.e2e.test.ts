/**
 * Key rotation without a single failed request: apps keep attesting and calling /demo/hello (each
 * reusing its token as the SDK does, refreshing at 80 % of its life) while an operator runs
 * `attestor keys rotate` (the real CLI, a separate process) and time moves on past the new key's
 * activation and the old key's retirement. Every request with a valid token must get through,
 * for both of the authorizer's key sources.
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import { signedAdminFetch, tenantSecretSet } from '../support/local-admin';
import { newInstallKey, type InstallKey } from '../support/protocol-client';
import { attestToken, hello, startEnforcingCloud, type EnforcingCloud } from './enforcement-support';

const BIN = resolve(__dirname, '../../packages/cli/bin/attestor.js');
const APPS = 5;
const TTL = 300;

function rotateWithCli(world: EnforcingCloud, dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, '--endpoint', world.cloud.endpoint, 'keys', 'rotate', '--json'],
      { env: { PATH: process.env['PATH'], ATTESTOR_HOME: dataDir } },
      (error, stdout, stderr) => done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface App {
  readonly key: InstallKey;
  token?: string;
  issuedAt?: number;
}

describe.each(['kms', 'remote'] as const)('rotation under traffic, keys from %s', (keySource) => {
  let world: EnforcingCloud;
  beforeAll(async () => {
    world = await startEnforcingCloud({ keySource });
  });
  afterAll(() => world?.stop());

  test('no request with a valid token is denied, before, during or after `attestor keys rotate`', async () => {
    // Prepare
    const apps: App[] = Array.from({ length: APPS }, () => ({ key: newInstallKey() }));
    const statuses: number[] = [];
    const tokensUsed: string[] = [];
    /** One round: every app refreshes its token if due, then calls the API with it. */
    const round = () =>
      Promise.all(
        apps.map(async (app) => {
          if (app.token === undefined || world.clock.now - app.issuedAt! >= TTL * 0.8) {
            app.token = (await attestToken(world, { key: app.key })).token;
            app.issuedAt = world.clock.now;
          }
          tokensUsed.push(app.token);
          statuses.push((await hello(world, { 'Attestor-Token': app.token })).status);
        }),
      );
    const keys = async () =>
      (await signedAdminFetch(world.cloud, 'GET', '/v1/admin/keys')).json() as Promise<{ keys: { kid: string; status: string; retiresAt?: number }[] }>;
    await round();
    const [oldKey] = (await keys()).keys;
    const oldKid = oldKey!.kid;

    // Act: rotate while rounds keep running (time advancing 1 s between them)...
    let rotation: Awaited<ReturnType<typeof rotateWithCli>> | undefined;
    const rotating = rotateWithCli(world, world.cloud.dataDir).then((r) => (rotation = r));
    while (rotation === undefined) {
      await round();
      world.clock.advance(1);
    }
    await rotating;
    expect(rotation).toMatchObject({ code: 0 });
    const { kid: newKid, activatesAt } = JSON.parse(rotation.stdout) as { kid: string; activatesAt: number };
    // Both secrets are handed to verifiers from the rotation until the old one retires.
    const secrets = (await tenantSecretSet(world.cloud)).keys;
    const signerOf = (token: string) => {
      const [header, claims, mac] = token.split('.');
      return secrets.find((s) => createHmac('sha256', Buffer.from(s.k, 'base64url')).update(`${header}.${claims}`).digest('base64url') === mac)?.kid;
    };
    // ...through the activation of the new key (every instance switches within 30 s of it)...
    while (world.clock.now < activatesAt + 60) {
      await round();
      world.clock.advance(5);
    }
    // ...and the expiry of every token the old one signed...
    while (world.clock.now < activatesAt + TTL + 120) {
      await round();
      world.clock.advance(20);
    }
    // ...and on, in larger steps, past the old key's retirement.
    const retiresAt = (await keys()).keys.find((k) => k.kid === oldKid)?.retiresAt;
    expect(retiresAt).toBeGreaterThan(activatesAt);
    while (world.clock.now < retiresAt! + 120) {
      await round();
      world.clock.advance(120);
    }
    await round();

    // Assess
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(newKid).not.toBe(oldKid);
    const kidsUsed = tokensUsed.map(signerOf);
    expect(new Set(kidsUsed)).toEqual(new Set([oldKid, newKid]));
    expect(kidsUsed.at(-1)).toBe(newKid);
    expect((await keys()).keys.find((k) => k.kid === oldKid)?.status).toBe('retired');
    expect(world.recorder.verdicts.filter((v) => v.result !== 'valid')).toEqual([]);
  });
});
