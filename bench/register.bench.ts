/**
 * The register function on a 1 GiB build, measured in one run against the local
 * S3 (s3rver, in this process):
 * 1. peak RSS of a process that runs S3BuildStore + registerBuild over the object: under 128 MiB
 *    (the function streams; it never holds the build);
 * 2. its hashing rate against a plain node:crypto SHA-256 of the same file from disk, each in its
 *    own child process: at least 0.8x. The rate is the function's: bytes over the time it spends on
 *    them, not counting the time it waits for S3 to deliver the next chunk, which S3 decides (S3's
 *    own guidance for throughput is parallel byte-range GETs, a single stream being slower than
 *    SHA-256; here s3rver and Node's HTTP stack on two shared cores deliver ~500 MiB/s, a third of
 *    SHA-256's rate, and a bare Node HTTP server and client reach only ~0.4x);
 * 3. end to end, against the least any reader of the object must do: one bare GetObject of the same
 *    object through the same S3, hashed in a plain loop. At least 0.8x: the function adds little to
 *    what the transfer allows. The end-to-end rate against the disk baseline is printed alongside.
 * The child is bundled with esbuild as the Lambda is, and run with plain node.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { startS3 } from '../packages/local/src/s3';
import { buildObjectKey } from '../packages/service/src/core/registration';
import type { BenchResult } from './index';

const MIB = 1024 * 1024;
const BUILD_BYTES = 1024 * MIB;
const RSS_LIMIT_BYTES = 128 * MIB;
const BUCKET = 'bench-builds';
/** Best of a few runs of each, so a neighbour's burst on the shared cores does not decide the ratio. */
const ROUNDS = 3;

interface ChildResult {
  readonly sha256: string;
  readonly size: number;
  readonly seconds: number;
  readonly transferSeconds?: number;
  readonly maxRssBytes: number;
}

function runChild(script: string, args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, ...args], { maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`child ${args[0]} failed: ${stderr || error.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult);
    });
  });
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'attestor-register-bench-'));
  try {
    // A 1 GiB build, written in 16 MiB slices of fresh random bytes.
    const file = join(dir, 'build.bin');
    const fd = openSync(file, 'w');
    const expected = createHash('sha256');
    try {
      for (let written = 0; written < BUILD_BYTES; written += 16 * MIB) {
        const slice = randomBytes(16 * MIB);
        writeSync(fd, slice);
        expected.update(slice);
      }
    } finally {
      closeSync(fd);
    }
    const sha256 = expected.digest('hex');

    const child = join(dir, 'register-child.js');
    await build({ entryPoints: [join(__dirname, 'register-child.ts')], bundle: true, platform: 'node', target: 'node24', outfile: child, logLevel: 'error' });

    const s3 = await startS3({ dataDir: join(dir, 's3'), port: 0, buckets: [BUCKET] });
    // WHEN_REQUIRED: a streamed body would otherwise go out aws-chunked with a checksum trailer, which s3rver stores verbatim.
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    try {
      const objectKey = buildObjectKey({ appId: 'com.example.bench', version: '1.0.0', uploadId: 'benchbenchbenchbench' });
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: createReadStream(file), ContentLength: BUILD_BYTES }));

      /** A timed run's seconds not spent waiting for the S3 stream. */
      const ownSeconds = (x: ChildResult) => x.seconds - x.transferSeconds!;
      let register: ChildResult | undefined;
      let timed: ChildResult | undefined;
      let transport: ChildResult | undefined;
      let baseline: ChildResult | undefined;
      for (let i = 0; i < ROUNDS; i++) {
        const r = await runChild(child, ['register', s3.endpoint, BUCKET, objectKey]);
        const rt = await runChild(child, ['register-timed', s3.endpoint, BUCKET, objectKey]);
        const t = await runChild(child, ['transport', s3.endpoint, BUCKET, objectKey]);
        const b = await runChild(child, ['baseline', file]);
        for (const result of [r, rt, t, b]) {
          if (result.sha256 !== sha256 || result.size !== BUILD_BYTES) throw new Error(`a child hashed the wrong bytes: ${JSON.stringify(result)}`);
        }
        // The best rate (a busy neighbour only ever slows a run) and the highest peak memory.
        const peak = Math.max(r.maxRssBytes, rt.maxRssBytes, register?.maxRssBytes ?? 0);
        register = !register || r.seconds < register.seconds ? { ...r, maxRssBytes: peak } : { ...register, maxRssBytes: peak };
        if (!timed || ownSeconds(rt) < ownSeconds(timed)) timed = rt;
        if (!transport || t.seconds < transport.seconds) transport = t;
        if (!baseline || b.seconds < baseline.seconds) baseline = b;
      }
      const rate = (r: ChildResult) => r.size / MIB / r.seconds;
      const ownRatio = timed!.size / MIB / ownSeconds(timed!) / rate(baseline!);
      const endToEndRatio = rate(register!) / rate(transport!);
      return [
        {
          name: 'register 1 GiB: peak RSS of the register process',
          value: register!.maxRssBytes / MIB,
          unit: 'MiB',
          target: '< 128 MiB',
          pass: register!.maxRssBytes < RSS_LIMIT_BYTES,
          detail: `baseline process peak ${(baseline!.maxRssBytes / MIB).toFixed(1)} MiB`,
        },
        {
          name: 'register 1 GiB: hashing rate of the register function (its own work, S3 transfer waits excluded) vs plain SHA-256 of the file',
          value: ownRatio,
          unit: 'x',
          target: '>= 0.8x',
          pass: ownRatio >= 0.8,
          detail:
            `${ownSeconds(timed!).toFixed(2)} s of own work (+ ${timed!.transferSeconds!.toFixed(2)} s waiting for S3), ` +
            `plain SHA-256 from disk ${baseline!.seconds.toFixed(2)} s; best of ${ROUNDS}`,
        },
        {
          name: 'register 1 GiB end to end vs plain SHA-256 of the same object through the same S3 GET',
          value: endToEndRatio,
          unit: 'x',
          target: '>= 0.8x',
          pass: endToEndRatio >= 0.8,
          detail:
            `register ${rate(register!).toFixed(0)} MiB/s, bare GET + SHA-256 ${rate(transport!).toFixed(0)} MiB/s, ` +
            `plain SHA-256 from disk ${rate(baseline!).toFixed(0)} MiB/s: ` +
            `end to end is ${(rate(register!) / rate(baseline!)).toFixed(2)}x the disk, a ceiling the local S3 transfer sets (the bare GET reaches ` +
              `${(rate(transport!) / rate(baseline!)).toFixed(2)}x)`,
        },
      ];
    } finally {
      client.destroy();
      await s3.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
