/**
 * The portable SDK core (packages/sdk/src/index.ts and everything it imports) must run where there
 * is no Node: no `node:` or bare builtin imports, no npm packages, no Buffer, no require(). The one
 * package it may import is the protocol's constants module, @attestor/contracts/protocol, which the
 * build bundles in and which is followed and checked like the SDK's own files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const SDK_ENTRY = resolve(__dirname, '../../../packages/sdk/src/index.ts');
/** The only package the SDK's sources may import, and where it lives. */
const PROTOCOL_SPECIFIER = '@attestor/contracts/protocol';
const PROTOCOL_FILE = resolve(__dirname, '../../../packages/contracts/src/protocol.ts');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]!]));

/** Every import/export-from/dynamic import/require specifier, as the TypeScript compiler sees them. */
function specifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** Violations of the portability rule in one file's text. */
function violations(source: string): string[] {
  const found: string[] = [];
  for (const spec of specifiers(source)) {
    if (spec.startsWith('node:')) found.push(`imports ${spec}`);
    else if (BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]!)) found.push(`imports Node builtin ${spec}`);
    else if (!spec.startsWith('.') && spec !== PROTOCOL_SPECIFIER) found.push(`imports package ${spec}`);
  }
  if (/\bBuffer\b/.test(source)) found.push('mentions Buffer');
  if (/\brequire\s*\(/.test(source)) found.push('calls require(');
  return found;
}

function resolveRelative(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  const candidates = [base, `${base}.ts`, join(base, 'index.ts'), base.replace(/\.js$/, '.ts')];
  const hit = candidates.find((c) => c.endsWith('.ts') && existsSync(c));
  if (!hit) throw new Error(`cannot resolve ${spec} from ${from}`);
  return hit;
}

/** The entry and every module reachable from it through relative imports. */
function reachable(entry: string): Map<string, string> {
  const files = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    files.set(file, source);
    for (const spec of specifiers(source)) {
      if (spec.startsWith('.')) queue.push(resolveRelative(file, spec));
      else if (spec === PROTOCOL_SPECIFIER) queue.push(PROTOCOL_FILE);
    }
  }
  return files;
}

describe('SDK portability', () => {
  const files = reachable(SDK_ENTRY);
  const names = [...files.keys()].map((f) => relative(dirname(SDK_ENTRY), f)).sort();

  it('follows the protocol module, which imports nothing at all', () => {
    expect(names).toContain(relative(dirname(SDK_ENTRY), PROTOCOL_FILE));
    expect(specifiers(files.get(PROTOCOL_FILE)!)).toEqual([]);
  });

  it('walks the whole portable core and nothing Node-only', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'index.ts',
        'client.ts',
        'errors.ts',
        'hosts.ts',
        'install-key.ts',
        'package-source.ts',
        'proof.ts',
        'protocol.ts',
        'resilience.ts',
        'signals.ts',
        'version.ts',
      ]),
    );
    expect(names).not.toContain('node.ts');
  });

  it.each(names)('%s uses no Node API, package, Buffer or require', (name) => {
    expect(violations(files.get(join(dirname(SDK_ENTRY), name))!)).toEqual([]);
  });

  it('the checker itself catches every kind of violation', () => {
    expect(violations(`import { readFile } from 'node:fs';`)).toEqual(['imports node:fs']);
    expect(violations(`import path from 'path';`)).toEqual(['imports Node builtin path']);
    expect(violations(`export * from 'fs/promises';`)).toEqual(['imports Node builtin fs/promises']);
    expect(violations(`const z = await import('zod');`)).toEqual(['imports package zod']);
    expect(violations(`const c = require('crypto');`)).toEqual(['imports Node builtin crypto', 'calls require(']);
    expect(violations(`const b = Buffer.from('x');`)).toEqual(['mentions Buffer']);
    expect(violations(`import { x } from './x';\nimport type { Y } from '../y';`)).toEqual([]);
    expect(violations(`import { NONCE_BYTES } from '@attestor/contracts/protocol';`)).toEqual([]);
    expect(violations(`import { appIdSchema } from '@attestor/contracts/validation';`)).toEqual(['imports package @attestor/contracts/validation']);
  });
});
