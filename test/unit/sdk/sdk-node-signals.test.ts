/**
 * The Node signal provider: flag parsing on its own, then real Node processes started with a
 * debugger, preloads in argv and NODE_OPTIONS, an inspector opened at run time, and under tsx.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { buildSync } from 'esbuild';
import { inspectNodeRuntime, nodeSignalProvider, splitNodeOptions, TSX_PRELOADS, type NodeRuntime } from '../../../packages/sdk/src/node';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../..');

const runtime = (over: Partial<NodeRuntime> = {}): NodeRuntime => ({
  execArgv: [],
  nodeOptions: undefined,
  argv: ['/usr/bin/node', 'app.js'],
  electron: false,
  inspectorUrl: undefined,
  ...over,
});

describe('inspectNodeRuntime', () => {
  it('finds nothing in a plain process', () => {
    expect(inspectNodeRuntime(runtime())).toEqual({ inspectorUrl: undefined, inspectFlags: [], preloads: [] });
  });

  it('finds every preload flag form, in execArgv and NODE_OPTIONS', () => {
    const findings = inspectNodeRuntime(
      runtime({
        execArgv: ['--require', './a.js', '-r', 'b', '--import=c.mjs', '--loader', 'd', '--experimental-loader=e', '--max-old-space-size=64', '-e', 'x'],
        nodeOptions: '--require "/opt/my hooks/f.js" --import=g',
      }),
    );
    expect(findings.preloads).toEqual([
      { flag: '--require', specifier: './a.js', source: 'execArgv' },
      { flag: '-r', specifier: 'b', source: 'execArgv' },
      { flag: '--import', specifier: 'c.mjs', source: 'execArgv' },
      { flag: '--loader', specifier: 'd', source: 'execArgv' },
      { flag: '--experimental-loader', specifier: 'e', source: 'execArgv' },
      { flag: '--require', specifier: '/opt/my hooks/f.js', source: 'NODE_OPTIONS' },
      { flag: '--import', specifier: 'g', source: 'NODE_OPTIONS' },
    ]);
  });

  it('finds inspect flags; in Electron also the Chromium debugging switches in argv', () => {
    expect(inspectNodeRuntime(runtime({ execArgv: ['--inspect-brk=9229'], nodeOptions: '--inspect' })).inspectFlags).toEqual([
      '--inspect-brk=9229',
      '--inspect',
    ]);
    expect(inspectNodeRuntime(runtime({ execArgv: ['--inspect-port=9229'] })).inspectFlags).toEqual([]);
    const argv = ['/app/electron', '.', '--remote-debugging-port=9222', '--inspect'];
    expect(inspectNodeRuntime(runtime({ argv })).inspectFlags).toEqual([]); // a Node CLI's own arguments are its business
    expect(inspectNodeRuntime(runtime({ argv, electron: true })).inspectFlags).toEqual(['--remote-debugging-port=9222', '--inspect']);
  });

  it('splits NODE_OPTIONS like Node', () => {
    expect(splitNodeOptions('  --a  "b c" "d\\"e" f')).toEqual(['--a', 'b c', 'd"e', 'f']);
    expect(splitNodeOptions('')).toEqual([]);
  });

  it('the provider reports debugger and hooked, honouring allowPreloads', async () => {
    const hooked = runtime({ execArgv: ['--require', '/opt/apm/agent.js'], inspectorUrl: 'ws://127.0.0.1:9229/x' });
    expect(await nodeSignalProvider({ runtime: () => hooked }).signals()).toEqual({ debugger: true, hooked: true });
    expect(await nodeSignalProvider({ runtime: () => hooked, allowPreloads: ['/opt/apm/agent.js'] }).signals()).toEqual({ debugger: true, hooked: false });
    expect(await nodeSignalProvider({ runtime: () => hooked, allowPreloads: [/agent\.js$/] }).signals()).toEqual({ debugger: true, hooked: false });
    expect(await nodeSignalProvider({ runtime: () => runtime() }).signals()).toEqual({ debugger: false, hooked: false });
  });

  it.each([
    ['/work/app/node_modules/tsx/dist/preflight.cjs', true],
    ['file:///work/app/node_modules/tsx/dist/loader.mjs', true],
    ['C:\\app\\node_modules\\tsx\\dist\\preflight.cjs', true],
    ['/work/app/node_modules/tsx/dist/evil.cjs', false],
    ['/tmp/node_modules/tsx/dist/loader.mjs.evil.js', false],
    ['tsx', false],
  ])('TSX_PRELOADS matches %s: %p', (specifier, expected) => {
    expect(TSX_PRELOADS.test(specifier)).toBe(expected);
  });
});

describe('nodeSignalProvider in real processes', () => {
  let dir: string;
  let probe: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'attestor-signals-'));
    const bundle = join(dir, 'sdk-node.cjs');
    buildSync({ entryPoints: [join(ROOT, 'packages/sdk/src/node.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'silent' });
    probe = join(dir, 'probe.js');
    writeFileSync(
      probe,
      `const { nodeSignalProvider, TSX_PRELOADS } = require(${JSON.stringify(bundle)});
       const inspector = require('node:inspector');
       if (process.env.PROBE_OPEN_INSPECTOR) inspector.open(0, '127.0.0.1');
       Promise.all([nodeSignalProvider().signals(), nodeSignalProvider({ allowPreloads: [TSX_PRELOADS] }).signals()]).then(([strict, tsxAllowed]) => {
         if (process.env.PROBE_OPEN_INSPECTOR) inspector.close();
         process.stdout.write(JSON.stringify({ strict, tsxAllowed }));
       });`,
    );
    writeFileSync(join(dir, 'hook.js'), '');
    writeFileSync(join(dir, 'hook.mjs'), '');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function signalsOf(args: string[], env: Record<string, string> = {}, command = process.execPath) {
    const { NODE_OPTIONS: _inherited, ...base } = process.env;
    const { stdout } = await run(command, [...args, probe], { cwd: dir, env: { ...base, ...env } });
    return JSON.parse(stdout) as { strict: Record<string, boolean>; tsxAllowed: Record<string, boolean> };
  }

  it('all clear in a plain process; each debugger and hook shows up', async () => {
    const [plain, required, fromEnv, imported, inspected, openedLater] = await Promise.all([
      signalsOf([]),
      signalsOf(['--require', './hook.js']),
      signalsOf([], { NODE_OPTIONS: '--require ./hook.js' }),
      signalsOf(['--import', './hook.mjs']),
      signalsOf(['--inspect=127.0.0.1:0']),
      signalsOf([], { PROBE_OPEN_INSPECTOR: '1' }),
    ]);
    expect(plain.strict).toEqual({ debugger: false, hooked: false });
    expect(required.strict).toEqual({ debugger: false, hooked: true });
    expect(fromEnv.strict).toEqual({ debugger: false, hooked: true });
    expect(imported.strict).toEqual({ debugger: false, hooked: true });
    expect(inspected.strict).toEqual({ debugger: true, hooked: false });
    expect(openedLater.strict).toEqual({ debugger: true, hooked: false });
  });

  it('under tsx: hooked, unless TSX_PRELOADS is allowed', async () => {
    const result = await signalsOf([], {}, join(ROOT, 'node_modules/.bin/tsx'));
    expect(result).toEqual({ strict: { debugger: false, hooked: true }, tsxAllowed: { debugger: false, hooked: false } });
  });
});
