/**
 * The console page: a header (pages, the app being worked on, the endpoint) and one page at a
 * time, chosen by the URL's hash (`#/policy?app=com.example.app`), so reloading or sharing a view
 * among the operator's own tabs keeps it.
 */
import { api, errorText, type App, type Session } from './api.js';
import { appsPage } from './apps-page.js';
import { devicesPage } from './devices-page.js';
import { append, clear, h } from './dom.js';
import { identityPage } from './identity-page.js';
import { keysPage } from './keys-page.js';
import { policyPage } from './policy-page.js';
import { verdictsPage } from './verdicts-page.js';

export interface PageContext {
  readonly session: Session;
  /** The app the header's picker names; undefined when the tenant has none yet. */
  readonly appId: string | undefined;
  readonly apps: readonly App[];
  /** Reads the app list again (after one was created or removed), optionally switching to `select`. */
  reloadApps(select?: string): Promise<void>;
}

/** A page draws into `view`; what it returns is called when the operator leaves it (timers stop). */
export type Page = (view: HTMLElement, ctx: PageContext) => (() => void) | void;

const PAGES: ReadonlyArray<{ readonly path: string; readonly title: string; readonly page: Page }> = [
  { path: 'apps', title: 'Apps & builds', page: appsPage },
  { path: 'policy', title: 'Policy', page: policyPage },
  { path: 'devices', title: 'Devices', page: devicesPage },
  { path: 'keys', title: 'Keys', page: keysPage },
  { path: 'identity', title: 'App identity', page: identityPage },
  { path: 'verdicts', title: 'Verdicts', page: verdictsPage },
];

let session: Session;
let apps: App[] = [];
let leave: (() => void) | void;

function route(): { path: string; appId: string | undefined } {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const appId = new URLSearchParams(query).get('app') ?? undefined;
  return { path: PAGES.some((p) => p.path === path) ? path : 'apps', appId };
}

function go(path: string, appId: string | undefined): void {
  const hash = `#/${path}${appId ? `?app=${encodeURIComponent(appId)}` : ''}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

async function loadApps(): Promise<void> {
  apps = (await api<{ apps: App[] }>('GET', '/v1/admin/apps')).apps;
}

function render(): void {
  const { path, appId: wanted } = route();
  const appId = wanted !== undefined && apps.some((a) => a.appId === wanted) ? wanted : apps[0]?.appId;
  if (typeof leave === 'function') leave();
  leave = undefined;

  const nav = document.getElementById('nav')!;
  clear(nav);
  for (const p of PAGES) {
    const href = `#/${p.path}${appId ? `?app=${encodeURIComponent(appId)}` : ''}`;
    append(nav, h('a', { href, class: p.path === path ? 'current' : undefined, 'data-page': p.path }, p.title));
  }
  const select = document.getElementById('app-select') as HTMLSelectElement;
  clear(select);
  if (apps.length === 0) append(select, h('option', { value: '' }, '(no apps yet)'));
  for (const a of apps) append(select, h('option', { value: a.appId, selected: a.appId === appId }, a.appId));
  select.disabled = apps.length === 0;

  const view = document.getElementById('view')!;
  clear(view);
  view.dataset['page'] = path;
  const page = PAGES.find((p) => p.path === path)!;
  leave = page.page(view, {
    session,
    appId,
    apps,
    reloadApps: async (selectApp) => {
      await loadApps();
      go(route().path, selectApp ?? route().appId);
    },
  });
}

async function start(): Promise<void> {
  const view = document.getElementById('view')!;
  try {
    session = await api<Session>('GET', '/console/session');
    await loadApps();
  } catch (error) {
    clear(view);
    append(view, h('p', { class: 'error', id: 'start-error' }, errorText(error)));
    return;
  }
  const endpoint = document.getElementById('endpoint')!;
  endpoint.textContent = `${session.local ? 'local service' : 'AWS'}: ${session.endpoint}`;
  (document.getElementById('app-select') as HTMLSelectElement).addEventListener('change', (event) => {
    go(route().path, (event.target as HTMLSelectElement).value);
  });
  window.addEventListener('hashchange', render);
  render();
}

void start();
