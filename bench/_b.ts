import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFunction } from '/work/main/packages/cdk/scripts/build-functions';
(async () => {
  for (const name of (process.argv[2] ?? 'adminUploads').split(',')) {
    const b = await buildFunction(name as never, mkdtempSync(join(tmpdir(), 'b-')));
    const mf = (b as any).metafile;
    const out = Object.values(mf.outputs as Record<string, any>).find((o: any) => o.entryPoint !== undefined) as any;
    const rows = Object.entries(out.inputs as Record<string, { bytesInOutput: number }>).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
    console.log(name, out.bytes);
    for (const [f, { bytesInOutput }] of rows.slice(0, Number(process.argv[3] ?? 40))) console.log(String(bytesInOutput).padStart(7), f.replace(/.*node_modules\//, 'nm/'));
  }
})();
