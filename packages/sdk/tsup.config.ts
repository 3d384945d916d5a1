/**
 * The published SDK: one bundle per entry (the core, and the Node helpers), CommonJS and ESM, with
 * @attestor/contracts/protocol bundled in, types included, so the package has no dependencies at
 * all. Everything else is left as the source wrote it; nothing is minified, so stack traces and
 * reviews read the same code.
 */
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
  format: ['cjs', 'esm'],
  target: 'es2022',
  platform: 'neutral',
  // The Node helpers (node.ts) import node: built-ins; the core must not (a test checks it).
  external: [/^node:/],
  noExternal: ['@attestor/contracts'],
  dts: true,
  // Not minified, so the code itself is what a stack trace points into; maps would triple the tarball.
  sourcemap: false,
  clean: true,
  splitting: false,
  esbuildOptions(options) {
    options.conditions = ['@attestor/source'];
  },
});
