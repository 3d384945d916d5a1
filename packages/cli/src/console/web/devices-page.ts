/**
 * Allow-listed install keys and debug secrets of the app. A new debug secret is shown once, here,
 * and kept nowhere: the service stores only its hash, and the page forgets it when dismissed.
 */
import { api, errorText, seg, type Device } from './api.js';
import { append, clear, h, status, table, time } from './dom.js';
import type { Page } from './main.js';

export const devicesPage: Page = (view, ctx) => {
  append(view, h('h1', {}, 'Devices and debug secrets'));
  const appId = ctx.appId;
  if (!appId) return void append(view, h('p', { class: 'muted' }, 'No apps yet: create one on the Apps page first.'));
  const listSection = h('section', {});
  const secretBox = h('div', {});
  const state = status('device-status');
  let left = false;

  const draw = async () => {
    let devices: Device[];
    try {
      devices = (await api<{ devices: Device[] }>('GET', `/v1/admin/apps/${seg(appId)}/devices`)).devices;
    } catch (error) {
      return state.error(errorText(error));
    }
    if (left) return;
    clear(listSection);
    append(
      listSection,
      h('h2', {}, `Devices of ${appId}`),
      table(
        'devices',
        ['Device', 'Kind', 'Note', 'Added', ''],
        devices.map((d) => ({
          attrs: { 'data-device': d.deviceId, 'data-kind': d.kind },
          cells: [
            h('span', { class: 'mono' }, d.deviceId),
            d.kind,
            d.note ?? '',
            time(d.createdAt),
            h('button', { class: 'danger', onclick: () => void remove(d) }, 'Remove'),
          ],
        })),
        'No allow-listed devices and no debug secrets.',
      ),
    );
  };
  const remove = async (d: Device) => {
    if (!confirm(`Remove ${d.kind === 'debug' ? 'debug secret' : 'install key'} ${d.deviceId}? It stops passing within 30 s.`)) return;
    try {
      await api('DELETE', `/v1/admin/apps/${seg(appId)}/devices/${seg(d.deviceId)}`);
      state.ok(`${d.deviceId} removed`);
      await draw();
    } catch (error) {
      state.error(errorText(error));
    }
  };

  const debugNote = h('input', { id: 'debug-note', placeholder: 'GitHub Actions', maxlength: 500, size: 28 });
  const createDebug = async () => {
    try {
      const created = await api<Device>('POST', `/v1/admin/apps/${seg(appId)}/devices`, { debug: true, ...(debugNote.value ? { note: debugNote.value } : {}) });
      showSecret(created);
      debugNote.value = '';
      await draw();
    } catch (error) {
      state.error(errorText(error));
    }
  };
  const showSecret = (created: Device) => {
    clear(secretBox);
    const code = h('code', { id: 'debug-secret' }, created.debugSecret ?? '');
    const copied = () => void navigator.clipboard?.writeText(created.debugSecret ?? '').then(() => (copy.textContent = 'Copied'));
    const copy = h('button', { class: 'secondary', type: 'button', onclick: copied }, 'Copy');
    append(
      secretBox,
      h(
        'div',
        { class: 'secret', id: 'debug-secret-box' },
        h(
          'p',
          {},
          h('strong', {}, 'Debug secret for ', created.deviceId, ': shown only now.'),
          ' Store it in your CI secret store; the service keeps only its hash.',
        ),
        h('p', {}, code, ' ', copy, ' ', h('button', { type: 'button', id: 'debug-secret-done', onclick: () => clear(secretBox) }, 'Done')),
      ),
    );
  };

  const did = h('input', { id: 'install-did', placeholder: '43-character did (the token’s did)', size: 46 });
  const didNote = h('input', { id: 'install-note', placeholder: 'Pixel 8 in the lab', maxlength: 500, size: 24 });
  const addInstall = async () => {
    try {
      await api('POST', `/v1/admin/apps/${seg(appId)}/devices`, { did: did.value.trim(), ...(didNote.value ? { note: didNote.value } : {}) });
      state.ok(`install key ${did.value.trim()} allow-listed`);
      did.value = '';
      didNote.value = '';
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
      h('h2', {}, 'New debug secret'),
      h('p', { class: 'note' }, 'For CI and emulators: an attestation carrying it passes (outcome debug) whatever the build and device.'),
      h(
        'form',
        { class: 'inline', id: 'new-debug', onsubmit: (e: Event) => (e.preventDefault(), void createDebug()) },
        h('label', {}, 'Note', debugNote),
        h('button', { type: 'submit' }, 'Create debug secret'),
      ),
      secretBox,
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Allow-list an install key'),
      h(
        'form',
        { class: 'inline', id: 'new-install', onsubmit: (e: Event) => (e.preventDefault(), void addInstall()) },
        h('label', {}, 'did', did),
        h('label', {}, 'Note', didNote),
        h('button', { type: 'submit' }, 'Allow-list'),
      ),
    ),
    state.el,
  );
  void draw();
  return () => {
    left = true;
  };
};
