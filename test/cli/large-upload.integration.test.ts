/**
 * The one big test: a build over 200 MiB registered by the CLI as operators run it (a separate
 * process) through the multipart path of a real local cloud: parts PUT to s3rver in parallel,
 * completed through the admin API, hashed by the register function on the S3 event. The file is
 * sparse with pseudo-random blocks, so a part sent from the wrong offset changes the digest, and
 * the CLI's peak memory is read from the kernel to show the file was never held whole.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';

const BIN = resolve(__dirname, '../../packages/cli/bin/attestor.js');
const MiB = 1024 * 1024;
/** Over 200 MiB and not a whole number of parts, so the last part is a short one. */
const SIZE = 200 * MiB + 12_345;

let dataDir: string;
let cloud: LocalCloud;
let buildPath: string;
let sha256: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-cli-large-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
  buildPath = join(dataDir, 'big-release.aab');
  sha256 = await sparseBuild(buildPath, SIZE);
});

/** A sparse file with 64 KiB of random bytes every 4 MiB and at its end (holes read as zeros); returns its SHA-256. */
async function sparseBuild(path: string, size: number): Promise<string> {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    for (let offset = 0; offset < size; offset += 4 * MiB) {
      const length = Math.min(64 * 1024, size - offset);
      writeSync(fd, randomBytes(length), 0, length, offset);
    }
    writeSync(fd, randomBytes(1000), 0, 1000, size - 1000);
  } finally {
    closeSync(fd);
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Peak resident memory of a running process, in bytes (Linux: VmHWM, the high-water mark). */
function peakRss(pid: number): number {
  const kib = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB$/m)?.[1];
  if (!kib) throw new Error('no VmHWM in /proc status');
  return Number(kib) * 1024;
}

interface Registered {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak resident memory of the CLI once the upload was done. */
  readonly peak: number;
}

function registerWithCli(path: string, version: string): Promise<Registered> {
  let peakAfterUpload = 0;
  return new Promise<Registered>((done) => {
    const child = execFile(
      process.execPath,
      [BIN, 'register', '--app', 'com.example.big', '--version', version, '--json', path],
      { cwd: dataDir, env: { PATH: process.env['PATH'], ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint } },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr, peak: peakAfterUpload }),
    );
    // Once every byte has been sent, the high-water mark covers the whole upload.
    child.stderr!.on('data', (chunk: Buffer) => {
      if (!peakAfterUpload && chunk.toString().includes('waiting for the service')) peakAfterUpload = peakRss(child.pid!);
    });
  });
}

it('registers a 200 MiB build through a multipart upload with flat memory', async () => {
  // The same path with a build just over the multipart threshold: what the CLI costs whatever the size.
  const small = join(dataDir, 'small-release.aab');
  await sparseBuild(small, 65 * MiB);
  const baseline = await registerWithCli(small, '6.0.0');
  expect(baseline.code).toBe(0);

  const result = await registerWithCli(buildPath, '7.0.0');

  expect(result.stderr).not.toMatch(/error/);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ appId: 'com.example.big', version: '7.0.0', size: SIZE, sha256 });
  // Not a terminal: a few plain lines, naming the parts.
  const lines = result.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^uploading \((\d+) parts\): 200\.0 MiB$/);
  expect(lines).toContain('waiting for the service to hash and register the build');
  expect(lines.some((l) => /^uploading \(\d+ parts\): done, 200\.0 MiB in [\d.]+ s \([\d.]+ [KMG]iB\/s\)$/.test(l))).toBe(true);
  // Flat: three times the bytes cost no more memory, and the whole process stayed below the file's size.
  expect(baseline.peak).toBeGreaterThan(0);
  expect(result.peak - baseline.peak).toBeLessThan(64 * MiB);
  expect(result.peak).toBeLessThan(SIZE);
  expect(await cloud.services.registry().getRegistration('com.example.big', '7.0.0')).toMatchObject({ sha256, size: SIZE });
});
