/**
 * Child process of bench/register.bench.ts, bundled with esbuild as the register Lambda is, so its
 * peak RSS is that of the function: the S3 client, S3BuildStore and registerBuild, nothing else.
 * Modes (argv[2]):
 *   register <s3 endpoint> <bucket> <objectKey>   hash the object through registerBuild
 *   register-timed <same arguments>                the same, timing the waits for the S3 stream
 *   transport <s3 endpoint> <bucket> <objectKey>  plain node:crypto SHA-256 of the same object
 *                                                  through one bare GetObject: what the local S3
 *                                                  transfer allows, with none of the function's code
 *   baseline <file>                                plain node:crypto SHA-256 of the file
 * Prints one JSON line: {seconds, transferSeconds?, sha256, size, maxRssBytes}. transferSeconds
 * (register-timed only) is the time spent waiting for the next chunk of the S3 stream: the rest is
 * the register function's own work, hashing above all. The timing wrapper itself slows the stream
 * by 10-20% here, hence a separate mode: end-to-end rates come from the untimed run.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { S3BuildStore } from '../packages/service/src/adapters/s3-build-store';
import { buildObjectKey, parseBuildObjectKey, registerBuild } from '../packages/service/src/core/registration';
import type { BuildObject, BuildStore } from '../packages/service/src/core/ports';
import { MemoryRegistry } from '../test/support/memory';

/** Wraps a store so that the time spent waiting on the object's stream is counted apart. */
function timedStore(inner: BuildStore, timing: { transferNs: bigint }): BuildStore {
  return {
    open: async (objectKey: string): Promise<BuildObject> => {
      const object = await inner.open(objectKey);
      const iterator = object.body[Symbol.asyncIterator]();
      const body: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]: () => ({
          next: async () => {
            const started = process.hrtime.bigint();
            const result = await iterator.next();
            timing.transferNs += process.hrtime.bigint() - started;
            return result;
          },
        }),
      };
      return { size: object.size, body, discard: object.discard };
    },
  };
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  const clock = { nowSeconds: () => Math.floor(Date.now() / 1000) };
  let result: { sha256: string; size: number; transferSeconds?: number };
  const started = process.hrtime.bigint();
  if (mode === 'register' || mode === 'register-timed') {
    const [endpoint, bucket, objectKey] = args as [string, string, string];
    const key = parseBuildObjectKey(objectKey)!;
    const registry = new MemoryRegistry();
    await registry.appStore.ensureApp({ appId: key.appId, tenantId: 'bench', createdAt: clock.nowSeconds() });
    await registry.uploadStore.putUpload({
      uploadId: key.uploadId,
      appId: key.appId,
      version: key.version,
      objectKey: buildObjectKey(key),
      status: 'pending',
      createdAt: clock.nowSeconds(),
    });
    const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const timing = { transferNs: 0n };
    const builds = mode === 'register-timed' ? timedStore(new S3BuildStore(s3, bucket), timing) : new S3BuildStore(s3, bucket);
    const ports = { uploads: registry.uploadStore, apps: registry.appStore, registrations: registry.registrationStore };
    const outcome = await registerBuild({ ...ports, builds, clock, maxBuildBytes: 2 * 1024 ** 3 }, objectKey);
    if (outcome.status !== 'registered') throw new Error(`not registered: ${JSON.stringify(outcome)}`);
    result = { sha256: outcome.registration.sha256, size: outcome.registration.size };
    if (mode === 'register-timed') result.transferSeconds = Number(timing.transferNs) / 1e9;
    s3.destroy();
  } else if (mode === 'transport') {
    const [endpoint, bucket, objectKey] = args as [string, string, string];
    const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const output = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
    result = await plainSha256(output.Body as AsyncIterable<Uint8Array>);
    s3.destroy();
  } else if (mode === 'baseline') {
    result = await plainSha256(createReadStream(args[0]!, { highWaterMark: 1024 * 1024 }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ ...result, seconds, maxRssBytes: peakRssBytes() })}\n`);
}

/** The baselines' loop, written out here rather than calling core's hashStream: a baseline must not be the code it measures. */
async function plainSha256(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * The peak resident set of this program. Linux's VmHWM belongs to the address space exec created;
 * getrusage's maxRSS would also count the forking parent's footprint, which Linux carries across exec.
 */
function peakRssBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('no VmHWM in /proc/self/status: this benchmark needs Linux');
  return Number(match[1]) * 1024;
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
