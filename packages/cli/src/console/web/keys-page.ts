/** The tenant's token keys and their rotation timeline (docs/ADMIN_API.md §8). */
import { api, errorText, type SigningKey } from './api.js';
import { append, clear, h, status, table, time } from './dom.js';
import type { Page } from './main.js';

interface Rotation {
  readonly kid: string;
  readonly format: string;
  readonly activatesAt: number;
  readonly keysDeleted: readonly string[];
  readonly keysNotDeleted: ReadonlyArray<{ kid: string; reason: string }>;
}

export const keysPage: Page = (view) => {
  append(view, h('h1', {}, 'Token keys'), h('p', { class: 'note' }, 'Keys belong to the tenant: every app of it shares them.'));
  const listSection = h('section', {});
  const state = status('rotate-status');
  let left = false;

  const draw = async () => {
    let keys: SigningKey[];
    try {
      keys = (await api<{ keys: SigningKey[] }>('GET', '/v1/admin/keys')).keys;
    } catch (error) {
      return state.error(errorText(error));
    }
    if (left) return;
    clear(listSection);
    append(
      listSection,
      table(
        'keys',
        ['Key id', 'Format', 'Status', 'Created', 'Signs from', 'Retires'],
        keys.map((k) => ({
          attrs: { 'data-kid': k.kid, 'data-status': k.status },
          cells: [
            h('span', { class: 'mono' }, k.kid),
            k.format,
            h('span', { class: `status-${k.status}` }, k.status),
            time(k.createdAt),
            time(k.activatesAt),
            k.retiresAt === undefined ? '–' : time(k.retiresAt),
          ],
        })),
        'No keys yet: the first app creates one.',
      ),
    );
  };

  const format = h(
    'select',
    { id: 'rotate-format' },
    h('option', { value: '' }, 'keep the current format'),
    h('option', { value: 'hs256' }, 'hs256 (a secret only your verifiers hold)'),
    h('option', { value: 'es256' }, 'es256 (public keys anyone can check)'),
  );
  const rotate = async () => {
    state.busy('rotating…');
    try {
      const r = await api<Rotation>('POST', '/v1/admin/keys/rotate', format.value ? { format: format.value } : {});
      const destroyed = r.keysDeleted.length ? `; destroyed retired ${r.keysDeleted.join(', ')}` : '';
      const failed = r.keysNotDeleted.map((k) => `; could not destroy ${k.kid} (${k.reason}), the next rotation tries again`).join('');
      state.ok(`New ${r.format} key ${r.kid}: verifiers see it now, it signs from ${time(r.activatesAt)}${destroyed}${failed}.`);
      await draw();
    } catch (error) {
      state.error(errorText(error));
    }
  };

  append(
    view,
    listSection,
    h(
      'section',
      {},
      h('h2', {}, 'Rotate'),
      h(
        'form',
        { class: 'inline', id: 'rotate', onsubmit: (e: Event) => (e.preventDefault(), void rotate()) },
        h('label', {}, 'Format of the new key', format),
        h('button', { type: 'submit', id: 'rotate-submit' }, 'Rotate key'),
      ),
      state.el,
      h(
        'p',
        { class: 'note' },
        'Safe at any time: the new key is published at once and signs a minute later; older keys retire once every token they signed has expired. ',
        'In es256 mode anyone holding a token can tell a decoy from a pass (docs/ADMIN_API.md §8). ',
        'Switching format: give every verifier both kinds of key first.',
      ),
    ),
  );
  void draw();
  return () => {
    left = true;
  };
};
