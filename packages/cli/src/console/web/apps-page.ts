/**
 * Apps and their registered builds: create or remove an app, register a build (with progress
 * through every phase of `attestor register`), expire or remove a registration.
 */
import { api, errorText, seg, type Registration } from './api.js';
import { append, bytes, clear, h, status, table, time } from './dom.js';
import type { Page } from './main.js';
import { uploadBuild, type UploadJob } from './upload.js';

/** The last upload's outcome, kept across the redraw that a newly created app causes. */
let uploadOutcome: { readonly phase: string; readonly size: number; readonly text: string } | undefined;

export const appsPage: Page = (view, ctx) => {
  let left = false;
  const appStatus = status('app-status');
  const newApp = h('input', { id: 'new-app-id', placeholder: 'com.example.app', size: 32, required: true });
  const appsSection = h('section', {});
  const drawApps = () => {
    clear(appsSection);
    append(
      appsSection,
      h('h2', {}, 'Apps'),
      table(
        'apps',
        ['App', 'Created', ''],
        ctx.apps.map((a) => ({
          attrs: { 'data-app': a.appId },
          cells: [
            h('a', { href: `#/apps?app=${seg(a.appId)}` }, a.appId),
            time(a.createdAt),
            h('button', { class: 'danger', onclick: () => void removeApp(a.appId) }, 'Remove'),
          ],
        })),
        'No apps yet: create one, or register a build (which creates its app).',
      ),
      h(
        'form',
        { class: 'inline', id: 'new-app', onsubmit: (e: Event) => (e.preventDefault(), void createApp()) },
        h('label', {}, 'New app id', newApp),
        h('button', { type: 'submit' }, 'Create app'),
      ),
      appStatus.el,
    );
  };
  const createApp = async () => {
    try {
      const app = await api<{ appId: string }>('POST', '/v1/admin/apps', { appId: newApp.value.trim() });
      await ctx.reloadApps(app.appId);
    } catch (error) {
      appStatus.error(errorText(error));
    }
  };
  const removeApp = async (appId: string) => {
    if (!confirm(`Remove ${appId} with its registrations, policy, devices and identity? Its attestations fail within 30 s.`)) return;
    try {
      await api('DELETE', `/v1/admin/apps/${seg(appId)}`);
      await ctx.reloadApps();
    } catch (error) {
      appStatus.error(errorText(error));
    }
  };

  const appId = ctx.appId;
  const registrations = h('section', { id: 'registrations-section' });
  const regStatus = status('registration-status');
  const drawRegistrations = async () => {
    if (!appId) return;
    let list: Registration[];
    try {
      list = (await api<{ registrations: Registration[] }>('GET', `/v1/admin/apps/${seg(appId)}/registrations`)).registrations;
    } catch (error) {
      regStatus.error(errorText(error));
      return;
    }
    if (left) return;
    clear(registrations);
    append(
      registrations,
      h('h2', {}, `Registered builds of ${appId}`),
      table(
        'registrations',
        ['Version', 'SHA-256', 'Size', 'Registered', 'Expires', 'Note', ''],
        list.map((r) => ({
          attrs: { 'data-version': r.version },
          cells: [
            r.version,
            h('span', { class: 'mono', title: r.sha256 }, `${r.sha256.slice(0, 16)}…`),
            bytes(r.size),
            time(r.registeredAt),
            r.expiresAt === undefined ? 'never' : time(r.expiresAt),
            r.note ?? '',
            h(
              'span',
              {},
              h('button', { class: 'secondary', onclick: () => void expire(r.version) }, 'Expire now'),
              ' ',
              h('button', { class: 'danger', onclick: () => void removeRegistration(r.version) }, 'Remove'),
            ),
          ],
        })),
        'No builds registered yet.',
      ),
      regStatus.el,
    );
  };
  const expire = async (version: string) => {
    if (!confirm(`Expire ${appId} ${version} now? Its attestations fail within 30 s.`)) return;
    try {
      await api('POST', `/v1/admin/apps/${seg(appId!)}/registrations/${seg(version)}/expire`, { afterSeconds: 0 });
      await drawRegistrations();
      regStatus.ok(`${version} expired`);
    } catch (error) {
      regStatus.error(errorText(error));
    }
  };
  const removeRegistration = async (version: string) => {
    if (!confirm(`Remove the registration of ${appId} ${version}?`)) return;
    try {
      await api('DELETE', `/v1/admin/apps/${seg(appId!)}/registrations/${seg(version)}`);
      await drawRegistrations();
      regStatus.ok(`${version} removed`);
    } catch (error) {
      regStatus.error(errorText(error));
    }
  };

  // Registering a build: the app id defaults to the picked app, and may name a new one.
  const uploadApp = h('input', { id: 'upload-app', value: appId ?? '', placeholder: 'com.example.app', size: 28, required: true });
  const version = h('input', { id: 'upload-version', placeholder: '1.4.0', size: 12, required: true });
  const file = h('input', { id: 'upload-file', type: 'file', required: true });
  const expireDays = h('input', { id: 'upload-expire-days', type: 'number', min: 1, max: 3650, placeholder: 'never', size: 8 });
  const note = h('input', { id: 'upload-note', maxlength: 500, size: 24 });
  const progress = h('progress', { id: 'upload-progress', max: 1, value: 0, hidden: true });
  const uploadStatus = status('upload-status');
  const submit = h('button', { type: 'submit', id: 'upload-submit' }, 'Register build');
  const register = async () => {
    const chosen = file.files?.[0];
    if (!chosen) return uploadStatus.error('choose the build file');
    if (chosen.size > ctx.session.maxBuildBytes) return uploadStatus.error(`builds may be at most ${bytes(ctx.session.maxBuildBytes)}`);
    submit.disabled = true;
    progress.hidden = false;
    const target = uploadApp.value.trim();
    const show = (job: Pick<UploadJob, 'phase' | 'sent' | 'size'>, text: string) => {
      progress.dataset['phase'] = job.phase;
      progress.max = Math.max(job.size, 1);
      progress.value = job.phase === 'hashing' || job.phase === 'registering' ? job.size : job.sent;
      uploadStatus.busy(text);
    };
    try {
      const job = await uploadBuild({
        appId: target,
        version: version.value.trim(),
        file: chosen,
        ...(expireDays.value ? { expireAfterSeconds: Number(expireDays.value) * 86400 } : {}),
        ...(note.value ? { note: note.value } : {}),
        onProgress: show,
      });
      progress.dataset['phase'] = job.phase;
      if (job.phase === 'failed') {
        uploadStatus.error(job.error ?? 'the registration failed');
        return;
      }
      const r = job.registration!;
      const text = `${r.appId} ${r.version} ${job.alreadyRegistered ? 'was already registered with this build' : 'registered'}: sha256 ${r.sha256}`;
      uploadStatus.ok(text);
      if (!ctx.apps.some((a) => a.appId === target)) {
        uploadOutcome = { phase: job.phase, size: job.size, text };
        await ctx.reloadApps(target);
      } else {
        await drawRegistrations();
      }
    } catch (error) {
      progress.dataset['phase'] = 'failed';
      uploadStatus.error(errorText(error));
    } finally {
      submit.disabled = false;
    }
  };
  const uploadSection = h(
    'section',
    {},
    h('h2', {}, 'Register a build'),
    h(
      'form',
      { class: 'inline', id: 'upload', onsubmit: (e: Event) => (e.preventDefault(), void register()) },
      h('label', {}, 'App id', uploadApp),
      h('label', {}, 'Version', version),
      h('label', {}, 'Build file (.apk, .aab, .ipa)', file),
      h('label', {}, 'Expire after (days)', expireDays),
      h('label', {}, 'Note', note),
      submit,
    ),
    h('p', {}, progress),
    uploadStatus.el,
    h('p', { class: 'note' }, 'The file goes to this console on 127.0.0.1, which registers it exactly as `attestor register` does: ',
      'hash, upload to storage, then wait for the service to hash it.'),
  );

  append(view, h('h1', {}, 'Apps & builds'), appsSection, registrations, uploadSection);
  if (uploadOutcome) {
    progress.hidden = false;
    progress.dataset['phase'] = uploadOutcome.phase;
    progress.max = uploadOutcome.size;
    progress.value = uploadOutcome.size;
    uploadStatus.ok(uploadOutcome.text);
    uploadOutcome = undefined;
  }
  drawApps();
  void drawRegistrations();
  return () => {
    left = true;
  };
};
