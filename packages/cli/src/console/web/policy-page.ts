/**
 * The app's policy, hardware settings included, as one form. The admin API takes the whole policy
 * (a replacement: what is left out takes its default), so the form always sends every setting it
 * shows, as `attestor policy set` does after reading the current one.
 */
import { api, ApiError, errorText, seg, type HardwarePolicy, type Policy } from './api.js';
import { append, h, status } from './dom.js';
import type { Page } from './main.js';

// The choices of each field, typed by the admin API's own types, so a misspelt one fails the build.
type Mode = HardwarePolicy['ios'];
const MODES: readonly Mode[] = ['off', 'prefer', 'require'];
const SECURITY_LEVELS: ReadonlyArray<HardwarePolicy['minAndroidSecurityLevel']> = ['software', 'tee', 'strongbox'];
const OTHER_PLATFORMS: ReadonlyArray<HardwarePolicy['otherPlatforms']> = ['allow', 'refuse'];
const ENVIRONMENTS: ReadonlyArray<HardwarePolicy['appAttestEnvironments'][number]> = ['production', 'development'];
const SIGNALS: ReadonlyArray<keyof Policy['reject']> = ['rooted', 'emulator', 'debugger', 'hooked'];

function select(name: string, options: readonly string[], value: string): HTMLSelectElement {
  return h('select', { name, id: `policy-${name.replace(/\./g, '-')}` }, ...options.map((o) => h('option', { value: o, selected: o === value }, o)));
}

export const policyPage: Page = (view, ctx) => {
  append(view, h('h1', {}, 'Policy'));
  const appId = ctx.appId;
  if (!appId) return void append(view, h('p', { class: 'muted' }, 'No apps yet: create one on the Apps page first.'));
  const state = status('policy-status');
  const holder = h('section', {});
  append(view, holder);

  void api<Policy>('GET', `/v1/admin/apps/${seg(appId)}/policy`).then(
    (policy) => draw(policy),
    (error: unknown) => append(holder, h('p', { class: 'error' }, errorText(error))),
  );

  const draw = (policy: Policy) => {
    // A service from before hardware evidence sends no hardware settings: show the defaults it applies.
    const hw = policy.hardware ?? ctx.session.defaultHardwarePolicy;
    const reject = Object.fromEntries(
      SIGNALS.map((s) => [s, h('input', { type: 'checkbox', name: `reject.${s}`, id: `policy-reject-${s}`, checked: policy.reject[s] })]),
    );
    const minSdk = h('input', { name: 'minSdkVersion', id: 'policy-minSdkVersion', value: policy.minSdkVersion ?? '', placeholder: 'any', size: 10 });
    const ios = select('hardware.ios', MODES, hw.ios);
    const android = select('hardware.android', MODES, hw.android);
    const other = select('hardware.otherPlatforms', OTHER_PLATFORMS, hw.otherPlatforms);
    const level = select('hardware.minAndroidSecurityLevel', SECURITY_LEVELS, hw.minAndroidSecurityLevel);
    const boot = h('input', {
      type: 'checkbox',
      name: 'hardware.requireVerifiedBoot',
      id: 'policy-hardware-requireVerifiedBoot',
      checked: hw.requireVerifiedBoot,
    });
    const patch = h('input', {
      name: 'hardware.minAndroidPatchLevel',
      id: 'policy-hardware-minAndroidPatchLevel',
      value: hw.minAndroidPatchLevel ?? '',
      placeholder: 'YYYYMM, any',
      size: 10,
    });
    const envs = Object.fromEntries(
      ENVIRONMENTS.map((e) => [
        e,
        h('input', { type: 'checkbox', id: `policy-env-${e}`, checked: hw.appAttestEnvironments.includes(e) }),
      ]),
    );
    const remember = h('input', {
      type: 'number',
      min: 1,
      max: 365,
      name: 'hardware.rememberDays',
      id: 'policy-hardware-rememberDays',
      value: hw.rememberDays,
      size: 5,
    });
    const measurement = select('measurement', ['require', 'off'], policy.measurement ?? 'require');

    const save = async () => {
      const patchLevel = patch.value.trim();
      const body: Policy = {
        reject: Object.fromEntries(SIGNALS.map((s) => [s, (reject[s] as HTMLInputElement).checked])) as Record<keyof Policy['reject'], boolean>,
        ...(minSdk.value.trim() ? { minSdkVersion: minSdk.value.trim() } : {}),
        hardware: {
          ios: ios.value as Mode,
          android: android.value as Mode,
          otherPlatforms: other.value as HardwarePolicy['otherPlatforms'],
          minAndroidSecurityLevel: level.value as HardwarePolicy['minAndroidSecurityLevel'],
          requireVerifiedBoot: boot.checked,
          // A value that is not a number is sent as typed, so the service's message names the field.
          ...(patchLevel ? { minAndroidPatchLevel: /^\d+$/.test(patchLevel) ? Number(patchLevel) : (patchLevel as unknown as number) } : {}),
          appAttestEnvironments: ENVIRONMENTS.filter((e) => (envs[e] as HTMLInputElement).checked),
          rememberDays: Number(remember.value),
        },
        measurement: measurement.value as NonNullable<Policy['measurement']>,
      };
      state.busy('saving…');
      try {
        await api('PUT', `/v1/admin/apps/${seg(appId)}/policy`, body);
        state.ok('Saved. Attestations follow the new policy within 30 s.');
      } catch (error) {
        state.error(error instanceof ApiError && error.field && !error.message.startsWith(error.field) ? `${error.field}: ${error.message}` : errorText(error));
      }
    };

    append(
      holder,
      h(
        'form',
        { id: 'policy', onsubmit: (e: Event) => (e.preventDefault(), void save()) },
        h('fieldset', {}, h('legend', {}, 'Reject devices that report'), ...SIGNALS.map((s) => h('label', { class: 'check' }, reject[s]!, s))),
        h('fieldset', {}, h('legend', {}, 'Client and build'), h('label', {}, 'Lowest SDK version', minSdk), h('label', {}, 'Measurement', measurement)),
        h(
          'fieldset',
          {},
          h('legend', {}, 'Hardware evidence'),
          h('label', {}, 'iOS (App Attest)', ios),
          h('label', {}, 'Android (key attestation)', android),
          h('label', {}, 'Other platforms', other),
          h('label', {}, 'Weakest Android key storage', level),
          h('label', { class: 'check' }, boot, 'verified boot and locked bootloader'),
          h('label', {}, 'Oldest Android patch level', patch),
          h('label', { class: 'check' }, envs['production']!, 'App Attest production'),
          h('label', { class: 'check' }, envs['development']!, 'App Attest development'),
          h('label', {}, 'Remember verified installs (days)', remember),
        ),
        h('button', { type: 'submit', id: 'policy-save' }, 'Save policy'),
      ),
      state.el,
      h('p', { class: 'note' }, 'off: evidence fails the attestation; prefer: verified when sent; require: missing evidence fails it. ',
        'Hardware settings need the app identity to pass anything. Measurement off needs both platforms on require and other platforms refused.'),
    );
  };
};
