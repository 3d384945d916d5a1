/**
 * The SDK's side of hardware attestation (PROTOCOL.md §5.5): which hardware key an attestation
 * stands on, the evidence it sends for its nonce, and what is remembered once the service has
 * answered. The provider only talks to the platform; every decision is made here.
 *
 * One hardware attestation runs at a time per client (lock()): App Attest assertions carry a
 * counter the service requires to grow, so two in flight could arrive out of order and one would
 * fail; and an Android key must not be replaced while another attestation signs with it.
 */
import {
  APP_ATTEST_KEY_ID_BYTES,
  MAX_ANDROID_CERTIFICATE_BYTES,
  MAX_ANDROID_CHAIN_BYTES,
  MAX_ANDROID_CHAIN_CERTIFICATES,
  MAX_APP_ATTEST_ASSERTION_BYTES,
  MAX_APP_ATTEST_ATTESTATION_BYTES,
  MIN_ANDROID_CHAIN_CERTIFICATES,
  type HardwareEvidence,
  type HardwarePlatform,
  type InstallPublicJwk,
} from '@attestor/contracts/protocol';
import { beforeDeadline, type DeadlineClock } from './deadline';
import { AttestorError, describeError } from './errors';
import type { AttestorEvent, HardwareKeyReason } from './events';
import {
  canonicalRecord,
  isHardwareKeyRecord,
  type AndroidKeyAttestationProvider,
  type AppAttestProvider,
  type HardwareKeyRecord,
  type HardwareKeyStore,
  type HardwareProvider,
} from './hardware';
import { isInstallPublicJwk } from './install-key';
import { androidAttestationChallenge, appAttestClientDataHash, decodeB64u, encodeB64u, jwkThumbprint } from './protocol';
import { platformSigner, type InstallSigner } from './signer';

/** The hardware part of the client's settings. */
export interface HardwareSettings {
  readonly provider: HardwareProvider;
  readonly store: HardwareKeyStore;
  /** hardwareKeyMaxAgeDays in ms. */
  readonly maxAgeMs: number;
}

/** What one attestation sends: the key that signs its install proof, the evidence, and what to do once it is delivered. */
export interface HardwareStep {
  readonly key: InstallSigner;
  readonly evidence: HardwareEvidence;
  /** The service answered 200: remembers a new key as attested. Never throws. */
  delivered(): Promise<void>;
}

const nothingToRemember = async (): Promise<void> => undefined;

/** Hardware keys of one client. */
export class HardwareKeys {
  private record: HardwareKeyRecord | undefined;
  private loaded = false;
  /** Settles when the last attestation to take the lock has released it. */
  private tail: Promise<void> = Promise.resolve();
  /** Provider calls made under the current hold, which the next holder waits for (a while) even if their caller gave up on them. */
  private calls: Promise<unknown>[] | undefined;
  /** The remembered key, once the provider failed to use it (an assertion or a signature failed). */
  private unusable: HardwareKeyRecord | undefined;

  constructor(
    private readonly settings: HardwareSettings,
    private readonly clock: DeadlineClock,
    private readonly emit: (event: AttestorEvent) => void,
  ) {}

  /**
   * Waits for the hardware attestation ahead to finish (within the deadline), then returns the
   * function that lets the next one go. Taken before the challenge, so no nonce ages in the queue.
   */
  async lock(deadlineMs: number): Promise<() => void> {
    const previous = this.tail;
    let open!: () => void;
    this.tail = new Promise<void>((resolve) => (open = resolve));
    try {
      await beforeDeadline(previous, deadlineMs, this.clock, 'waiting for the previous hardware attestation');
    } catch (error) {
      // This turn is given up, but the queue still has to pass through it.
      void previous.then(open);
      throw error;
    }
    const calls: Promise<unknown>[] = [];
    this.calls = calls;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.calls === calls) this.calls = undefined;
      if (calls.length === 0) return open();
      // A provider call that timed out may yet replace the Android key, so the next holder waits for
      // it, but for one budget at most: a call that never returns must not stop the client for good
      // (a key replaced later still shows, as a key the client does not remember).
      const grace = setTimeout(open, this.clock.timeoutMs);
      void Promise.allSettled(calls).then(() => {
        clearTimeout(grace);
        open();
      });
    };
  }

  /**
   * The evidence for `nonce`, under the lock. `installKey` is the client's install key on iOS; on
   * Android the provider's Keystore key is the install key and `installKey` is undefined.
   */
  async step(nonce: Uint8Array, installKey: InstallSigner | undefined, deadlineMs: number): Promise<HardwareStep> {
    const record = await this.current();
    const provider = this.settings.provider;
    if (provider.platform === 'ios') {
      if (!installKey) throw new AttestorError('local_error', 'an App Attest provider needs an install key');
      return this.appAttestStep(provider, record, nonce, installKey, deadlineMs);
    }
    return this.androidStep(provider, record, nonce, deadlineMs);
  }

  private async appAttestStep(
    provider: AppAttestProvider,
    record: HardwareKeyRecord | undefined,
    nonce: Uint8Array,
    installKey: InstallSigner,
    deadlineMs: number,
  ): Promise<HardwareStep> {
    const did = await jwkThumbprint(installKey.publicJwk);
    const clientDataHash = await appAttestClientDataHash(nonce, did);
    // The service keeps the App Attest key under the install key it first vouched for: another install key needs another App Attest key.
    const reason = this.newKeyReason(record, 'ios', record?.did === did);
    if (reason === undefined && record?.platform === 'ios') {
      const keyId = decodeB64u(record.keyId)!;
      const assertion = await this.call('assert()', () => provider.assert(keyId, clientDataHash), deadlineMs).catch(this.markUnusable(record));
      checkCbor(assertion, 'assert()', 'the assertion', MAX_APP_ATTEST_ASSERTION_BYTES);
      return { key: installKey, evidence: { platform: 'ios', keyId: record.keyId, assertion: encodeB64u(assertion) }, delivered: nothingToRemember };
    }
    const made = await this.call('attest()', () => provider.attest(clientDataHash), deadlineMs);
    if (typeof made !== 'object' || made === null) throw providerError('attest() must resolve to { keyId, attestation }');
    if (!(made.keyId instanceof Uint8Array) || made.keyId.length !== APP_ATTEST_KEY_ID_BYTES) {
      throw providerError(`attest() returned a keyId that is not ${APP_ATTEST_KEY_ID_BYTES} bytes (base64-decode the id generateKey() gives)`);
    }
    checkCbor(made.attestation, 'attest()', 'the attestation', MAX_APP_ATTEST_ATTESTATION_BYTES);
    const keyId = encodeB64u(made.keyId);
    const created: HardwareKeyRecord = { platform: 'ios', keyId, did, createdAtMs: this.clock.now(), attested: false };
    await this.madeKey(created, reason ?? 'none');
    return {
      key: installKey,
      evidence: { platform: 'ios', keyId, attestation: encodeB64u(made.attestation) },
      delivered: () => this.remember({ ...created, attested: true }),
    };
  }

  private async androidStep(
    provider: AndroidKeyAttestationProvider,
    record: HardwareKeyRecord | undefined,
    nonce: Uint8Array,
    deadlineMs: number,
  ): Promise<HardwareStep> {
    const current = await this.call('currentKey()', () => provider.currentKey(), deadlineMs);
    if (current !== undefined && current !== null && !isInstallPublicJwk(current)) {
      throw providerError('currentKey() must resolve to an EC P-256 public JWK ({ kty, crv, x, y }) or undefined');
    }
    const did = current ? await jwkThumbprint(current) : undefined;
    const reason = this.newKeyReason(record, 'android', did !== undefined && record?.did === did);
    if (reason === undefined && current && record) {
      return { key: this.androidSigner(provider, current, record), evidence: { platform: 'android' }, delivered: nothingToRemember };
    }

    // The challenge is fixed when the key is made, so the chain fits this nonce only: a key whose
    // first attestation does not reach the service is replaced by the next attestation.
    const challenge = await androidAttestationChallenge(nonce);
    const made = await this.call('attest()', () => provider.attest(challenge), deadlineMs);
    if (typeof made !== 'object' || made === null || !isInstallPublicJwk(made.publicJwk)) {
      throw providerError('attest() must resolve to { publicJwk, chain } with publicJwk an EC P-256 public JWK ({ kty, crv, x, y })');
    }
    const chain = checkChain(made.chain);
    const publicJwk: InstallPublicJwk = { kty: 'EC', crv: 'P-256', x: made.publicJwk.x, y: made.publicJwk.y };
    const created: HardwareKeyRecord = { platform: 'android', did: await jwkThumbprint(publicJwk), createdAtMs: this.clock.now(), attested: false };
    await this.madeKey(created, reason ?? 'none');
    return {
      key: this.androidSigner(provider, publicJwk, created),
      evidence: { platform: 'android', chain: chain.map(encodeB64u) },
      delivered: () => this.remember({ ...created, attested: true }),
    };
  }

  private androidSigner(provider: AndroidKeyAttestationProvider, publicJwk: InstallPublicJwk, record: HardwareKeyRecord): InstallSigner {
    const { kty, crv, x, y } = publicJwk;
    const signer = platformSigner({ kty, crv, x, y }, (message) => provider.sign(message), { code: 'hardware_error', what: "the hardware provider's sign()" });
    return { publicJwk: signer.publicJwk, sign: (message) => signer.sign(message).catch(this.markUnusable(record)) };
  }

  /**
   * A key the provider fails to use (App Attest answers invalidKey once a backup is restored on
   * another device; a Keystore key can be invalidated) would fail every attestation until it
   * expires: the next attestation makes a new key instead. Deadlines do not count: slow is not broken.
   */
  private markUnusable(record: HardwareKeyRecord): (error: unknown) => never {
    return (error) => {
      if (error instanceof AttestorError && error.code === 'hardware_error' && this.record === record) this.unusable = record;
      throw error;
    };
  }

  /** Why the remembered key cannot be used (so a new one is due), or undefined when it can. */
  private newKeyReason(record: HardwareKeyRecord | undefined, platform: HardwarePlatform, sameKey: boolean): HardwareKeyReason | undefined {
    if (record?.platform !== platform) return 'none';
    if (!record.attested) return 'undelivered';
    if (!sameKey) return 'key_changed';
    if (record === this.unusable) return 'unusable';
    const ageMs = this.clock.now() - record.createdAtMs;
    // A clock that went back tells nothing about the key's age: renew rather than trust it.
    if (!(ageMs >= 0 && ageMs <= this.settings.maxAgeMs)) return 'expired';
    return undefined;
  }

  private async madeKey(record: HardwareKeyRecord, reason: HardwareKeyReason): Promise<void> {
    this.emit({ type: 'hardware_key', platform: record.platform, reason });
    // Saved before it is sent, so that after a crash or restart the key counts as undelivered.
    await this.remember(record);
  }

  /** The remembered record: read from the store once per client; from then on memory leads and the store follows. */
  private async current(): Promise<HardwareKeyRecord | undefined> {
    if (!this.loaded) {
      this.loaded = true;
      try {
        const stored: unknown = await this.settings.store.load();
        this.record = isHardwareKeyRecord(stored) ? canonicalRecord(stored) : undefined;
      } catch (error) {
        this.emit({ type: 'hardware_store', operation: 'load', problem: describeError(error) });
      }
    }
    return this.record;
  }

  private async remember(record: HardwareKeyRecord): Promise<void> {
    this.record = record;
    try {
      await this.settings.store.save(record);
    } catch (error) {
      // The client keeps the record in memory; a restart before the store works again makes a new key.
      this.emit({ type: 'hardware_store', operation: 'save', problem: describeError(error) });
    }
  }

  /** A provider call within the deadline; any failure but the deadline's becomes hardware_error. */
  private async call<T>(what: string, invoke: () => Promise<T>, deadlineMs: number): Promise<T> {
    const work = Promise.resolve().then(invoke);
    this.calls?.push(work.catch(() => undefined));
    try {
      return await beforeDeadline(work, deadlineMs, this.clock, `the hardware provider's ${what}`);
    } catch (error) {
      if (error instanceof AttestorError && error.code === 'timeout') throw error;
      throw new AttestorError('hardware_error', `the hardware provider's ${what} failed: ${describeError(error)}`, { cause: error });
    }
  }
}

function providerError(message: string): AttestorError {
  return new AttestorError('hardware_error', `the hardware provider's ${message}`);
}

/** A CBOR map (major type 5) of at most `max` bytes: checked here so a bad bridge fails clearly, not as a 400 on a spent nonce. */
function checkCbor(value: unknown, call: string, what: string, max: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0 || value.length > max || value[0]! >> 5 !== 5) {
    throw providerError(`${call} returned ${what} that is not a CBOR map of 1 to ${max} bytes`);
  }
}

function checkChain(chain: unknown): readonly Uint8Array[] {
  const min = MIN_ANDROID_CHAIN_CERTIFICATES;
  const max = MAX_ANDROID_CHAIN_CERTIFICATES;
  if (!Array.isArray(chain) || chain.length < min || chain.length > max) {
    throw providerError(`attest() must return a chain of ${min} to ${max} DER certificates, leaf first (KeyStore.getCertificateChain)`);
  }
  chain.forEach((certificate: unknown, index) => {
    // A DER certificate is a SEQUENCE (0x30).
    if (!(certificate instanceof Uint8Array) || certificate.length === 0 || certificate.length > MAX_ANDROID_CERTIFICATE_BYTES || certificate[0] !== 0x30) {
      throw providerError(`attest() returned chain[${index}], which is not a DER certificate of at most ${MAX_ANDROID_CERTIFICATE_BYTES} bytes`);
    }
  });
  const total = (chain as Uint8Array[]).reduce((sum, certificate) => sum + certificate.length, 0);
  if (total > MAX_ANDROID_CHAIN_BYTES) throw providerError(`attest() returned a chain of ${total} bytes; the protocol allows ${MAX_ANDROID_CHAIN_BYTES}`);
  return chain as Uint8Array[];
}
