/**
 * `attestor console`: a web console on 127.0.0.1, working with the credential and endpoint every
 * other command uses (--endpoint, --tenant, --credentials), until Ctrl-C. The server and its page
 * are loaded only when the command runs, so `attestor --help` does not pay for them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { adminClientSettings, durationParser, examples, integerParser, load as loadShared, type CliContext } from '../context';
import { isLocalEndpoint } from '../credentials';

/* eslint-disable @typescript-eslint/no-require-imports */
const load = { server: () => require('./server') as typeof import('./server'), adminClient: loadShared.adminClient };
/* eslint-enable @typescript-eslint/no-require-imports */

interface ConsoleOptions {
  readonly port: number;
  readonly interval: number;
  readonly open: boolean;
}

export function addConsoleCommand(program: Command, ctx: CliContext): void {
  program
    .command('console')
    .description('Serve a web console on 127.0.0.1: apps, builds, policy, devices, keys, identity and live verdict charts')
    .addOption(new Option('--port <port>', 'port on 127.0.0.1').argParser(integerParser(0, 65535)).default(0, 'a free one'))
    .addOption(
      new Option('--interval <duration>', "how often the charts poll the service's counts, e.g. 5s, 1m")
        .argParser(durationParser(1, 300, 'poll every 1s to 5m'))
        .default(5, '5s'),
    )
    .option('--no-open', 'print the link only; do not open a browser')
    .addHelpText(
      'after',
      examples(
        '$ attestor console',
        '$ attestor --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/prod console --port 8400 --no-open',
        '',
        'The console signs admin requests here, with your credential, exactly as the other commands do;',
        'the browser only ever talks to 127.0.0.1. Open the printed link: it carries a token for this session',
        'only, which every request must present. Ctrl-C stops the console.',
      ),
    )
    .action(async (options: ConsoleOptions, command: Command) => {
      // Resolved once: the AWS credential chain caches what it found (SSO, a role) for every request after.
      const settings = adminClientSettings(ctx, command);
      const adminClient = (fetchImpl?: typeof fetch) =>
        new (load.adminClient().AdminClient)({
          endpoint: settings.endpoint.href,
          credentials: settings.credentials,
          region: settings.region,
          ...(fetchImpl ?? ctx.fetch ? { fetch: fetchImpl ?? ctx.fetch } : {}),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
      // One call first, so a wrong endpoint or credential is one line here, not an empty page.
      await adminClient().listApps();
      let token: string | undefined;
      // Whatever the console writes goes through here; the token is cut out of every line.
      const log = (line: string) => void ctx.stderr.write(`${token ? line.split(token).join('<token>') : line}\n`);
      const server = await load.server().startConsoleServer({
        adminClient,
        endpoint: settings.endpoint,
        port: options.port,
        pollSeconds: options.interval,
        log,
        ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.registerTimeoutMs !== undefined ? { registerTimeoutMs: ctx.registerTimeoutMs } : {}),
      });
      token = server.token;
      const where = isLocalEndpoint(settings.endpoint) ? 'the local service' : settings.endpoint.origin;
      ctx.stderr.write(`console for ${where} (${settings.endpoint.href}) at ${server.origin}; Ctrl-C stops it\n`);
      // The link alone on stdout: the one place the token is written, for the operator to open.
      ctx.stdout.write(`${server.loginUrl}\n`);
      const opened = options.open && ctx.stdout.isTTY === true ? openBrowser(server.loginUrl) : undefined;

      await new Promise<void>((resolve) => {
        if (!ctx.signal || ctx.signal.aborted) return resolve();
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await server.close();
      opened?.cleanup();
      ctx.stderr.write('console stopped\n');
    });
}

/**
 * Opens the link through a file only the operator can read, as Jupyter does: a browser started
 * with the link itself would show the token to every user of the machine in its command line.
 */
function openBrowser(url: string): { cleanup(): void } | undefined {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), 'attestor-console-open-'));
    const file = join(dir, 'open-console.html');
    writeFileSync(file, openerHtml(url), { mode: 0o600 });
    const child = spawn(opener, [file], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser to open (a server, an SSH session): the printed link is enough.
  }
  const created = dir;
  return created === undefined ? undefined : { cleanup: () => rmSync(created, { recursive: true, force: true }) };
}

/** The file the browser is opened with: it moves on to the link (base64url and URL characters only: nothing to escape). */
export function openerHtml(url: string): string {
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}"><title>Attestor console</title>\n`;
}
