/**
 * Headless Chromium for the console's tests and screenshots: Debian's /usr/bin/chromium (installed
 * by scripts/system-packages.sh, which `npm test` runs first) driven by playwright-core. Never a
 * browser download: the machines that run this are offline but for the package registries.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['ATTESTOR_CHROMIUM'] ?? '/usr/bin/chromium';

/** No network of its own (updates, sync, QUIC probes), no first-run dialogs; playwright gives each launch a fresh profile. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`npm run system-packages\` (it installs Debian's chromium), or set ATTESTOR_CHROMIUM to a Chromium binary`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 20_000 });
}
