/**
 * Hardware evidence in the attest core (PROTOCOL.md §5.5): what to read before judging, the checks,
 * and the write that follows. The core calls these around its other checks:
 * 1. prepareHardware, with the nonce consumption and the app read (one round trip): the device record
 *    the evidence stands on, the revocation list (cached) and, for evidence that needs cryptography,
 *    the verifier module (loaded on the first such request per container);
 * 2. judgeHardware, with every other check: reasons, and the record write the evidence calls for;
 * 3. the write goes out with the log write (core/attestation.ts).
 * Verification runs whatever the policy says, so the mode and identity change what is reported, not
 * what is computed: failing evidence costs what passing evidence costs.
 */
import { decodeB64u } from '@attestor/contracts/base64url';
import { DEFAULT_HARDWARE_POLICY, type AppIdentity, type HardwarePolicy, type AndroidSecurityLevel } from '@attestor/contracts/admin-api';
import { HARDWARE_KINDS, type HardwareKind, type HardwarePlatform, type InstallPublicJwk } from '@attestor/contracts/protocol';
import type { Policy } from '../policy';
import { androidChallenge, appAttestClientDataHash } from './challenge';
import type { DecodedEvidence } from './evidence';
import type { HardwareDeps, HardwareDeviceRecord, HardwareRecordRef } from './ports';
import type { HardwareReason } from './reasons';

export type HardwareVerifier = typeof import('./verifier');

let verifier: HardwareVerifier | undefined;

/**
 * The verifier module, required on first use and kept for the container's life. Required here rather
 * than imported at the top, so that a container that never sees evidence never loads its ASN.1
 * parsers, and so that the attest bundle can keep it in a file of its own (build-functions.ts
 * resolves this very require to that file). A require rather than import(): it resolves the same in
 * the bundle, in the packages' CommonJS dist/, under tsx and under jest.
 */
export function loadVerifier(): HardwareVerifier {
  verifier ??= require('./verifier') as HardwareVerifier;
  return verifier;
}

const DAY_SECONDS = 86_400;
const NO_SERIALS: ReadonlySet<string> = new Set();

export function platformOf(evidence: DecodedEvidence): HardwarePlatform {
  return evidence.kind === 'android-chain' || evidence.kind === 'android-remembered' ? 'android' : 'ios';
}

/** The `hw` claim of a request: which evidence it carried, whatever the verdict (PROTOCOL.md §5.2). */
export function hardwareKind(evidence: DecodedEvidence | undefined): HardwareKind | undefined {
  return evidence === undefined ? undefined : HARDWARE_KINDS[platformOf(evidence)];
}

/** The device record a piece of evidence stands on (or, for a first attestation, must not find). */
export function recordRefOf(evidence: DecodedEvidence, appId: string, did: string): HardwareRecordRef {
  return evidence.kind === 'app-attest-attestation' || evidence.kind === 'app-attest-assertion'
    ? { platform: 'ios', appId, id: evidence.keyId }
    : { platform: 'android', appId, id: did };
}

/** What prepareHardware read. */
export interface HardwareInputs {
  readonly record: HardwareDeviceRecord | undefined;
  readonly revoked: ReadonlySet<string>;
  /** Absent for chainless Android evidence, which needs no cryptography. */
  readonly verifier?: HardwareVerifier;
}

/** Starts the reads evidence needs; the core awaits them with the nonce consumption and the app read. */
export function prepareHardware(deps: HardwareDeps, evidence: DecodedEvidence, appId: string, did: string): Promise<HardwareInputs> {
  const android = platformOf(evidence) === 'android';
  return Promise.all([
    deps.devices.get(recordRefOf(evidence, appId, did)),
    android ? deps.revocations.revokedSerials() : Promise.resolve(NO_SERIALS),
    // Loaded (once per container) in the same step as the reads.
    evidence.kind === 'android-remembered' ? Promise.resolve(undefined) : Promise.resolve().then(loadVerifier),
  ]).then(([record, revoked, loaded]) => ({ record, revoked, ...(loaded ? { verifier: loaded } : {}) }));
}

/** A device-record write the evidence calls for: a new record, or an App Attest counter moved forward. */
export type HardwareWrite =
  | { readonly kind: 'create'; readonly record: HardwareDeviceRecord }
  | { readonly kind: 'advance'; readonly ref: HardwareRecordRef; readonly from: number; readonly to: number };

export interface HardwareJudgement {
  readonly reasons: readonly HardwareReason[];
  /**
   * Written when the evidence itself verified (cryptography and the registered identity), whatever
   * else failed: the record describes the hardware, and the policy is applied when it is used. So an
   * assertion's counter moves even in an attestation that fails for its measurement, and evidence sent
   * while a platform is `off` is remembered for when it becomes `prefer`.
   */
  readonly write?: HardwareWrite;
}

export interface HardwareRequest {
  readonly appId: string;
  readonly nonce: Uint8Array;
  readonly did: string;
  readonly installKey: InstallPublicJwk;
  /** Service time, unix seconds. */
  readonly now: number;
}

/** The app's hardware policy, every member stated: what a policy leaves out is DEFAULT_HARDWARE_POLICY's. */
export function hardwarePolicyOf(policy: Policy): HardwarePolicy {
  return { ...DEFAULT_HARDWARE_POLICY, ...policy.hardware };
}

/** Reasons of a request without evidence: only a policy that requires hardware for what the client claims to be fails it. */
export function judgeMissingHardware(policy: HardwarePolicy, platform: string): HardwareReason[] {
  if (platform === 'ios' || platform === 'android') return policy[platform] === 'require' ? ['hardware_missing'] : [];
  // A client chooses what it claims to be: claiming neither platform must not dodge a requirement.
  const required = policy.ios === 'require' || policy.android === 'require';
  return required && policy.otherPlatforms === 'refuse' ? ['hardware_missing'] : [];
}

/**
 * Judges evidence against the app's identity and hardware policy. Every verification runs whatever
 * the identity or the mode, so that what is computed does not depend on them.
 */
export function judgeHardware(
  request: HardwareRequest,
  evidence: DecodedEvidence,
  inputs: HardwareInputs,
  context: { readonly policy: HardwarePolicy; readonly identity: AppIdentity | undefined; readonly testRoots?: HardwareDeps['testRoots'] },
): HardwareJudgement {
  const judged = judgeEvidence(request, evidence, inputs, context);
  // `off`: the platform does not use hardware evidence, yet the token of this request carries `hw`,
  // which must mean verified evidence (PROTOCOL.md §5.5): evidence sent anyway fails the attestation.
  const mode = context.policy[platformOf(evidence)];
  return mode === 'off' ? { reasons: ['hardware_policy'], ...(judged.write ? { write: judged.write } : {}) } : judged;
}

function judgeEvidence(
  request: HardwareRequest,
  evidence: DecodedEvidence,
  inputs: HardwareInputs,
  context: { readonly policy: HardwarePolicy; readonly identity: AppIdentity | undefined; readonly testRoots?: HardwareDeps['testRoots'] },
): HardwareJudgement {
  const { policy, identity } = context;
  switch (evidence.kind) {
    case 'app-attest-attestation': {
      const ios = identity?.ios;
      const verified = inputs.verifier!.verifyAppAttestKey({
        attestation: evidence.attestation,
        keyId: decodeB64u(evidence.keyId)!,
        clientDataHash: appAttestClientDataHash(request.nonce, request.did),
        rpId: rpIdOf(ios, request.appId),
        environments: policy.appAttestEnvironments,
        now: new Date(request.now * 1000),
        ...(context.testRoots ? { testRoots: context.testRoots.appAttest } : {}),
      });
      if (!ios) return { reasons: ['hardware_app_mismatch'] };
      if (!verified.ok) return { reasons: [verified.reason] };
      // A key attests once; seeing it again means the attestation object is being replayed.
      if (inputs.record) return { reasons: ['hardware_counter_replay'] };
      const record: HardwareDeviceRecord = {
        platform: 'ios',
        appId: request.appId,
        keyId: evidence.keyId,
        did: request.did,
        publicKey: verified.value.publicKey,
        counter: 0,
        environment: verified.value.environment,
        receipt: Buffer.from(verified.value.receipt).toString('base64url'),
        createdAt: request.now,
        expiresAt: request.now + policy.rememberDays * DAY_SECONDS,
      };
      return { reasons: [], write: { kind: 'create', record } };
    }
    case 'app-attest-assertion': {
      const ios = identity?.ios;
      const record = usable(inputs.record, 'ios', request, policy);
      if (!record) return { reasons: ['hardware_missing'] };
      const verified = inputs.verifier!.verifyAppAttestAssertionOf({
        assertion: evidence.assertion,
        clientDataHash: appAttestClientDataHash(request.nonce, request.did),
        rpId: rpIdOf(ios, request.appId),
        publicKey: record.publicKey,
        previousCounter: record.counter,
      });
      if (!ios) return { reasons: ['hardware_app_mismatch'] };
      // The App Attest key vouches for the install key it was attested with, and for no other.
      if (record.did !== request.did) return { reasons: ['hardware_invalid'] };
      if (!verified.ok) return { reasons: [verified.reason] };
      const write: HardwareWrite = {
        kind: 'advance',
        ref: recordRefOf(evidence, request.appId, request.did),
        from: record.counter,
        to: verified.value.counter,
      };
      return { reasons: policy.appAttestEnvironments.includes(record.environment) ? [] : ['hardware_policy'], write };
    }
    case 'android-chain': {
      const android = identity?.android;
      const verified = inputs.verifier!.verifyAndroidChain({
        chain: evidence.chain,
        challenge: androidChallenge(request.nonce),
        now: new Date(request.now * 1000),
        revokedSerials: inputs.revoked,
        packageName: android?.packageName ?? request.appId,
        signatureDigests: (android?.signingCertificates ?? []).map((hex) => Buffer.from(hex, 'hex')),
        ...(context.testRoots ? { testRoots: context.testRoots.android } : {}),
      });
      if (!android) return { reasons: ['hardware_app_mismatch'] };
      if (!verified.ok) return { reasons: [verified.reason] };
      const facts = verified.value;
      // The install key is the Keystore key: the chain vouches for this install only if its leaf certifies installKey.
      if (!facts.publicKey || facts.publicKey.x !== request.installKey.x || facts.publicKey.y !== request.installKey.y) {
        return { reasons: ['hardware_invalid'] };
      }
      if (android.minVersionCode !== undefined && !(facts.versionCode !== undefined && facts.versionCode >= android.minVersionCode)) {
        return { reasons: ['hardware_app_mismatch'] };
      }
      const record: HardwareDeviceRecord = {
        platform: 'android',
        appId: request.appId,
        did: request.did,
        securityLevel: facts.securityLevel,
        verifiedBootState: facts.verifiedBootState,
        deviceLocked: facts.deviceLocked,
        osPatchLevel: facts.osPatchLevel,
        osVersion: facts.osVersion,
        packageName: facts.packageName,
        signatureDigests: facts.signatureDigests,
        ...(facts.versionCode !== undefined ? { versionCode: facts.versionCode } : {}),
        serials: evidence.serials,
        createdAt: request.now,
        expiresAt: request.now + policy.rememberDays * DAY_SECONDS,
      };
      return { reasons: androidPolicyReasons(record, policy), write: { kind: 'create', record } };
    }
    case 'android-remembered': {
      const android = identity?.android;
      const record = usable(inputs.record, 'android', request, policy);
      if (!record) return { reasons: ['hardware_missing'] };
      if (!android) return { reasons: ['hardware_app_mismatch'] };
      if (record.serials.some((serial) => inputs.revoked.has(serial))) return { reasons: ['hardware_revoked'] };
      // The identity may have changed since (a signing certificate withdrawn): the record must still match it.
      const registered = new Set(android.signingCertificates.map((hex) => hex.toLowerCase()));
      if (record.packageName !== android.packageName || record.signatureDigests.some((digest) => !registered.has(digest))) {
        return { reasons: ['hardware_app_mismatch'] };
      }
      return { reasons: androidPolicyReasons(record, policy) };
    }
    default: {
      const unknown: never = evidence;
      throw new Error(`unknown evidence ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * teamId.bundleId; an app without an iOS identity gets a stand-in that no App Attest key can have
 * been made for (a Team ID has 10 characters), so that the verification still runs in full.
 */
function rpIdOf(ios: AppIdentity['ios'], appId: string): string {
  return ios ? `${ios.teamId}.${ios.bundleId}` : `no-ios-identity.${appId}`;
}

/**
 * The record if it exists, is of the platform and has not expired. Expiry is the earlier of what was
 * written and createdAt + the current rememberDays, so shortening rememberDays applies at once.
 */
function usable<P extends HardwarePlatform>(
  record: HardwareDeviceRecord | undefined,
  platform: P,
  request: HardwareRequest,
  policy: HardwarePolicy,
): Extract<HardwareDeviceRecord, { platform: P }> | undefined {
  if (record?.platform !== platform || record.appId !== request.appId) return undefined;
  const expiresAt = Math.min(record.expiresAt, record.createdAt + policy.rememberDays * DAY_SECONDS);
  return request.now < expiresAt ? (record as Extract<HardwareDeviceRecord, { platform: P }>) : undefined;
}

const RANK: Readonly<Record<AndroidSecurityLevel, number>> = { software: 0, tee: 1, strongbox: 2 };

/** The attested device against the policy: security level, verified boot and a locked bootloader, patch level. */
function androidPolicyReasons(
  facts: Pick<HardwareDeviceRecord & { platform: 'android' }, 'securityLevel' | 'verifiedBootState' | 'deviceLocked' | 'osPatchLevel'>,
  policy: HardwarePolicy,
): HardwareReason[] {
  const level = RANK[facts.securityLevel] >= RANK[policy.minAndroidSecurityLevel];
  const boot = !policy.requireVerifiedBoot || (facts.verifiedBootState === 'VERIFIED' && facts.deviceLocked);
  const patch = policy.minAndroidPatchLevel === undefined || facts.osPatchLevel >= policy.minAndroidPatchLevel;
  return level && boot && patch ? [] : ['hardware_policy'];
}
