/**
 * A deployment with hardware evidence for the core's unit tests: the memory fakes of test/support,
 * the test authority of @attestor/hardware/testing trusted as test roots, APP_ID registered with an
 * iOS and an Android identity, and requests carrying App Attest or Android evidence for their nonce.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { createTestAuthority, type KeyPair, type TestAuthority } from '@attestor/hardware/testing';
import type { SecurityLevelName, VerifiedBootStateName } from '@attestor/hardware';
import { DEFAULT_HARDWARE_POLICY, type AppIdentity, type HardwarePolicy, type Policy } from '../../../packages/contracts/src/admin-api';
import { decodeB64u, encodeB64u } from '../../../packages/contracts/src/base64url';
import type { AttestRequest } from '../../../packages/contracts/src/validation';
import type { AttestationLogEntry } from '../../../packages/service/src/core/ports';
import { androidChallenge, appAttestClientDataHash } from '../../../packages/service/src/core/hardware/challenge';
import { DEFAULT_POLICY } from '../../../packages/service/src/core/policy';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import { MemoryHardwareDeviceRecords, MemoryRevocationList } from '../../support/memory';
import { APP_ID, genuineRequest, makeWorld, newInstallKey, type InstallKey, type RequestOptions, type World } from './helpers';

export const TEAM_ID = 'TEAMID1234';
export const BUNDLE_ID = 'com.example.ios';
export const RP_ID = `${TEAM_ID}.${BUNDLE_ID}`;
export const PACKAGE = 'com.example.android';
export const SIGNING_CERT = createHash('sha256').update('release signing certificate').digest();
export const OTHER_CERT = createHash('sha256').update('someone else’s certificate').digest();
export const IDENTITY: AppIdentity = {
  ios: { teamId: TEAM_ID, bundleId: BUNDLE_ID },
  android: { packageName: PACKAGE, signingCertificates: [SIGNING_CERT.toString('hex')], minVersionCode: 40 },
};

/** One authority for every test file: key generation is the slow part. */
export const authority: TestAuthority = createTestAuthority({ now: new Date(1_800_000_000 * 1000) });

export interface HardwareWorld extends World {
  readonly devices: MemoryHardwareDeviceRecords;
  readonly revocations: MemoryRevocationList;
  readonly log: AttestationLogEntry[];
}

/** APP_ID with IDENTITY, a policy with `hardware` (merged over DEFAULT_HARDWARE_POLICY), and an in-memory log. */
export function hardwareWorld(hardware: Partial<HardwarePolicy> = { ios: 'require', android: 'require' }, policy: Partial<Policy> = {}): HardwareWorld {
  const world = makeWorld();
  const devices = new MemoryHardwareDeviceRecords();
  const revocations = new MemoryRevocationList();
  const log: AttestationLogEntry[] = [];
  world.registry.identities.set(APP_ID, IDENTITY);
  world.registry.policies.set(APP_ID, { ...DEFAULT_POLICY, ...policy, hardware: { ...DEFAULT_HARDWARE_POLICY, ...hardware } });
  const deps = {
    ...world.deps,
    hardware: { devices, revocations, testRoots: { appAttest: [authority.appAttest.root.pem], android: [authority.android.root.pem] } },
    attestationLog: {
      // The log keys an entry by time and jti: a second record of one jti replaces the first, as in DynamoDB.
      record: async (entry: AttestationLogEntry) => {
        const i = log.findIndex((e) => e.jti === entry.jti && e.time === entry.time);
        if (i >= 0) log.splice(i, 1, entry);
        else log.push(entry);
      },
    } as never,
  };
  return { ...world, deps, devices, revocations, log };
}

/** A request as an iOS or Android device sends it, without evidence. */
export async function deviceRequest(world: World, platform: string, options: RequestOptions = {}): Promise<AttestRequest> {
  const request = await genuineRequest(world, options);
  return { ...request, device: { ...request.device, platform } };
}

export interface AppAttestKey {
  readonly keyId: string;
  readonly keyPair: KeyPair;
  readonly installKey: InstallKey;
  counter: number;
}

/** A first attestation with a new App Attest key vouching for `installKey`. */
export async function appAttestAttestation(
  world: World,
  options: {
    readonly installKey?: InstallKey;
    readonly rpId?: string;
    readonly environment?: 'production' | 'development';
    readonly request?: RequestOptions;
  } = {},
): Promise<{ request: AttestRequest; key: AppAttestKey }> {
  const installKey = options.installKey ?? newInstallKey();
  const request = await deviceRequest(world, 'ios', { ...options.request, installKey });
  const clientDataHash = appAttestClientDataHash(decodeB64u(request.nonce)!, jwkThumbprint(installKey.jwk));
  const made = authority.appAttest.attest({ appId: options.rpId ?? RP_ID, clientDataHash, environment: options.environment ?? 'production' });
  const keyId = encodeB64u(made.keyId);
  return {
    request: { ...request, hardware: { platform: 'ios', keyId, attestation: encodeB64u(made.attestation) } },
    key: { keyId, keyPair: made.keyPair, installKey, counter: 0 },
  };
}

/** A later attestation: an assertion with `counter` (default: one more than the key's last). */
export async function appAttestAssertion(
  world: World,
  key: AppAttestKey,
  options: { readonly counter?: number; readonly installKey?: InstallKey; readonly rpId?: string; readonly request?: RequestOptions } = {},
): Promise<AttestRequest> {
  const installKey = options.installKey ?? key.installKey;
  const request = await deviceRequest(world, 'ios', { ...options.request, installKey });
  const counter = options.counter ?? key.counter + 1;
  key.counter = Math.max(key.counter, counter);
  const clientDataHash = appAttestClientDataHash(decodeB64u(request.nonce)!, jwkThumbprint(installKey.jwk));
  const assertion = authority.appAttest.assert({ keyPair: key.keyPair, appId: options.rpId ?? RP_ID, clientDataHash, counter });
  return { ...request, hardware: { platform: 'ios', keyId: key.keyId, assertion: encodeB64u(assertion) } };
}

export interface AndroidOptions {
  readonly installKey?: InstallKey;
  readonly packageName?: string;
  readonly signatureDigests?: readonly Uint8Array[];
  readonly versionCode?: number;
  readonly securityLevel?: SecurityLevelName;
  readonly verifiedBootState?: VerifiedBootStateName;
  readonly deviceLocked?: boolean;
  readonly osPatchLevel?: number;
  readonly serial?: string;
  /** The key attests this key instead of the install key. */
  readonly attestedKey?: InstallKey;
  /** The key was made for another nonce. */
  readonly challenge?: Uint8Array;
  readonly request?: RequestOptions;
}

/** An Android install key's first attestation: the chain, made for this request's nonce. */
export async function androidChainRequest(
  world: World,
  options: AndroidOptions = {},
): Promise<{ request: AttestRequest; installKey: InstallKey; chain: Uint8Array[] }> {
  const installKey = options.installKey ?? newInstallKey();
  const request = await deviceRequest(world, 'android', { ...options.request, installKey });
  const chain = authority.android.attest({
    publicKey: createPublicKey({ key: { ...(options.attestedKey ?? installKey).jwk }, format: 'jwk' }),
    challenge: options.challenge ?? androidChallenge(decodeB64u(request.nonce)!),
    packageName: options.packageName ?? PACKAGE,
    versionCode: options.versionCode ?? 42,
    signatureDigests: options.signatureDigests ?? [SIGNING_CERT],
    securityLevel: options.securityLevel ?? 'TRUSTED_ENVIRONMENT',
    rootOfTrust: { verifiedBootState: options.verifiedBootState ?? 'VERIFIED', deviceLocked: options.deviceLocked ?? true },
    ...(options.osPatchLevel !== undefined ? { osPatchLevel: options.osPatchLevel } : {}),
    ...(options.serial !== undefined ? { serial: options.serial } : {}),
  });
  return { request: { ...request, hardware: { platform: 'android', chain: chain.map(encodeB64u) } }, installKey, chain };
}

/** A later attestation of an Android install key: no chain, the device record stands for it. */
export async function androidRememberedRequest(world: World, installKey: InstallKey, options: RequestOptions = {}): Promise<AttestRequest> {
  const request = await deviceRequest(world, 'android', { ...options, installKey });
  return { ...request, hardware: { platform: 'android' } };
}
