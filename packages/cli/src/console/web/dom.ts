/**
 * Building the page. Text from the service (app ids, notes, device models from the attestation
 * log, which any client can set) only ever becomes text nodes, never markup, so it cannot run as
 * script even if the Content Security Policy were weaker than it is.
 */

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/** `h('td', {class: 'num'}, 3)`: an element with attributes, listeners (`onclick`) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A table with a header row; `rows` are lists of cells (a cell may be an element). */
export function table(id: string, headers: readonly string[], rows: ReadonlyArray<{ cells: readonly Child[]; attrs?: Props }>, empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { id, class: 'muted' }, empty);
  return h(
    'table',
    { id },
    h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', {}, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', r.attrs ?? {}, ...r.cells.map((c) => h('td', {}, c))))),
  );
}

/** Unix seconds as `2026-12-06 22:38:43Z`. */
export function time(seconds: number | undefined): string {
  if (seconds === undefined) return '–';
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB'];
export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** A status line that says what happened: `ok` in green, `error` in red. */
export function status(id: string): { el: HTMLElement; ok(text: string): void; error(text: string): void; busy(text: string): void; clear(): void } {
  const el = h('p', { id, class: 'note', role: 'status' });
  const set = (kind: string, text: string) => {
    el.className = `note ${kind}`;
    el.dataset['state'] = kind;
    el.textContent = text;
  };
  return { el, ok: (t) => set('ok', t), error: (t) => set('error', t), busy: (t) => set('muted', t), clear: () => set('', '') };
}
