/**
 * `npm run bench`: every benchmark, each reported as ratios measured within one run (absolute
 * figures drift between machines and runs; ratios against a baseline measured alongside do not).
 * Each bench/*.bench.ts exports `run(): Promise<BenchResult[]>`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchResult {
  /** What was measured, e.g. "verify (uncached) vs jose jwtVerify". */
  readonly name: string;
  /** The measured ratio or value. */
  readonly value: number;
  /** Unit of `value`, e.g. "x" for a ratio, "KB", "ms". */
  readonly unit: string;
  /** The target, as text, e.g. ">= 1.5x". */
  readonly target: string;
  readonly pass: boolean;
  /** Raw figures behind the ratio, for the curious. */
  readonly detail?: string;
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !only || f.includes(only))
    .sort();
  let failed = 0;
  for (const file of files) {
    const mod = (await import(join(__dirname, file))) as { run: () => Promise<BenchResult[]> };
    process.stdout.write(`\n${file}\n`);
    for (const r of await mod.run()) {
      if (!r.pass) failed++;
      const value = `${r.value.toFixed(r.unit === 'x' ? 2 : 1)}${r.unit}`;
      process.stdout.write(`  ${r.pass ? 'PASS' : 'FAIL'}  ${r.name}: ${value} (target ${r.target})${r.detail ? `  [${r.detail}]` : ''}\n`);
    }
  }
  process.stdout.write(`\n${failed === 0 ? 'all targets met' : `${failed} target(s) missed`}\n`);
  process.exitCode = failed === 0 ? 0 : 1;
}

void main();
