/**
 * Shared by the enforcement e2e suites: a local cloud whose authorizer enforces what the suite
 * asks, with one registered build, verdicts and logs recorded, and the independent protocol
 * client (test/support/protocol-client.ts) to get tokens.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalAuthorizerOptions, type LocalCloud } from '../../packages/local/src/cloud';
import type { LogFields, Logger } from '../../packages/service/src/handlers/log';
import type { AuthorizerVerdict, MetricsSink } from '../../packages/service/src/handlers/metrics';
import { registerBuildForTest } from '../support/local-admin';
import { ManualClock } from '../support/memory';
import { attestOnce, newInstallKey, type InstallKey } from '../support/protocol-client';

export const APP = 'com.example.enforced';
export const VERSION = '1.0.0';

export class Recorder implements Logger, MetricsSink {
  readonly verdicts: AuthorizerVerdict[] = [];
  readonly logs: { level: string; event: string; fields?: LogFields }[] = [];
  record(verdict: AuthorizerVerdict): void {
    this.verdicts.push(verdict);
  }
  info(event: string, fields?: LogFields): void {
    this.logs.push({ level: 'info', event, ...(fields ? { fields } : {}) });
  }
  warn(event: string, fields?: LogFields): void {
    this.logs.push({ level: 'warn', event, ...(fields ? { fields } : {}) });
  }
  error(event: string, fields?: LogFields): void {
    this.logs.push({ level: 'error', event, ...(fields ? { fields } : {}) });
  }
  /** Codes of the denials (every verdict but a pass, which is counted too) recorded since `from`. */
  codesSince(from: number): string[] {
    return this.verdicts
      .slice(from)
      .filter((v) => v.result !== 'valid')
      .map((v) => v.code);
  }
}

export interface EnforcingCloud {
  readonly cloud: LocalCloud;
  readonly clock: ManualClock;
  readonly build: Buffer;
  readonly recorder: Recorder;
  stop(): Promise<void>;
}

export async function startEnforcingCloud(authorizer: Omit<LocalAuthorizerOptions, 'metrics'>): Promise<EnforcingCloud> {
  const dataDir = mkdtempSync(join(tmpdir(), 'attestor-enforce-'));
  const clock = new ManualClock(Math.floor(Date.now() / 1000));
  const recorder = new Recorder();
  const cloud = await startLocalCloud({ dataDir, port: 0, clock, logger: recorder, authorizer: { ...authorizer, metrics: recorder } });
  const build = randomBytes(64 * 1024);
  await registerBuildForTest(cloud, { appId: APP, version: VERSION, bytes: build });
  return {
    cloud,
    clock,
    build,
    recorder,
    stop: async () => {
      await cloud.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** challenge + attest with the protocol client; `extra` carries binding / limitedUse. */
export async function attestToken(world: EnforcingCloud, options: { key?: InstallKey; packageBytes?: Buffer; extra?: Record<string, unknown> } = {}) {
  const key = options.key ?? newInstallKey();
  const res = await attestOnce(world.cloud.endpoint, {
    appId: APP,
    appVersion: VERSION,
    packageBytes: options.packageBytes ?? world.build,
    key,
    ...(options.extra ? { extra: options.extra } : {}),
  });
  if (res.status !== 200) throw new Error(`attest failed: ${res.status}`);
  return { token: res.body['token'] as string, key };
}

export async function hello(world: EnforcingCloud, headers: Record<string, string>, method = 'GET', path = '/demo/hello') {
  const res = await fetch(`${world.cloud.endpoint}${path}`, { method, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
