/**
 * How the stores identify the app (what hardware evidence is checked against). The admin API
 * takes the whole identity; a platform whose fields are left empty is no longer registered.
 */
import { api, ApiError, errorText, seg } from './api.js';
import { append, h, status } from './dom.js';
import type { Page } from './main.js';

interface Identity {
  ios?: { teamId: string; bundleId: string };
  android?: { packageName: string; signingCertificates: string[]; minVersionCode?: number };
}

export const identityPage: Page = (view, ctx) => {
  append(view, h('h1', {}, 'App identity'));
  const appId = ctx.appId;
  if (!appId) return void append(view, h('p', { class: 'muted' }, 'No apps yet: create one on the Apps page first.'));
  const holder = h('section', {});
  const state = status('identity-status');
  append(view, holder);

  const draw = (identity: Identity) => {
    const teamId = h('input', { id: 'identity-teamId', value: identity.ios?.teamId ?? '', placeholder: 'ABCDE12345', size: 12 });
    const bundleId = h('input', { id: 'identity-bundleId', value: identity.ios?.bundleId ?? '', placeholder: 'com.example.app', size: 28 });
    const packageName = h('input', { id: 'identity-packageName', value: identity.android?.packageName ?? '', placeholder: 'com.example.app', size: 28 });
    const certs = h('textarea', { id: 'identity-certificates', rows: 3, placeholder: 'one SHA-256 digest per line (64 hex, or keytool’s 3F:A1:…)' });
    certs.value = (identity.android?.signingCertificates ?? []).join('\n');
    const minVersionCode = h('input', { id: 'identity-minVersionCode', value: identity.android?.minVersionCode ?? '', placeholder: 'any', size: 10 });

    const save = async () => {
      const body: Identity = {};
      if (teamId.value.trim() || bundleId.value.trim()) body.ios = { teamId: teamId.value.trim(), bundleId: bundleId.value.trim() };
      const list = certs.value.split(/\s+/).filter(Boolean);
      if (packageName.value.trim() || list.length > 0) {
        const code = minVersionCode.value.trim();
        body.android = {
          packageName: packageName.value.trim(),
          signingCertificates: list,
          // Sent as typed when not a number, so the service's message names the field.
          ...(code ? { minVersionCode: /^\d+$/.test(code) ? Number(code) : (code as unknown as number) } : {}),
        };
      }
      state.busy('saving…');
      try {
        const stored = await api<Identity>('PUT', `/v1/admin/apps/${seg(appId)}/identity`, body);
        certs.value = (stored.android?.signingCertificates ?? []).join('\n');
        const none = Object.keys(stored).length === 0;
        state.ok(none ? 'Saved: the app has no store identity now.' : 'Saved. Attestations check hardware evidence against it within 30 s.');
      } catch (error) {
        state.error(error instanceof ApiError && error.field && !error.message.startsWith(error.field) ? `${error.field}: ${error.message}` : errorText(error));
      }
    };

    append(
      holder,
      h(
        'form',
        { id: 'identity', onsubmit: (e: Event) => (e.preventDefault(), void save()) },
        h(
          'fieldset',
          {},
          h('legend', {}, 'iOS (App Attest rpId = team id . bundle id)'),
          h('label', {}, 'Team ID', teamId),
          h('label', {}, 'Bundle ID', bundleId),
        ),
        h(
          'fieldset',
          {},
          h('legend', {}, 'Android (key attestation)'),
          h('label', {}, 'Package name', packageName),
          h('label', {}, 'Signing certificate digests (at most 5)', certs),
          h('label', {}, 'Lowest versionCode', minVersionCode),
        ),
        h('button', { type: 'submit', id: 'identity-save' }, 'Save identity'),
      ),
      state.el,
      h(
        'p',
        { class: 'note' },
        'Register the Play Console’s app signing key certificate for builds Google Play re-signs, plus the upload key’s for builds you sign yourself.',
      ),
    );
  };

  void api<Identity>('GET', `/v1/admin/apps/${seg(appId)}/identity`).then(draw, (error: unknown) => {
    append(holder, h('p', { class: 'error' }, errorText(error)));
  });
};
