/**
 * Simulated devices for the SDK's hardware tests: an iPhone's DCAppAttestService and an Android
 * Keystore, each issuing evidence in the real formats through @attestor/hardware/testing's
 * authority, exposed as the SDK's providers. A device outlives the clients made on it, as the real
 * Keychain and Keystore outlive an app process. Plus the server's side of §5.5, written from the
 * spec with node:crypto alone, to check the SDK's evidence independently of the SDK's own code.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { TestAuthority } from '../../../packages/hardware/src/testing';
import type { AndroidKeyAttestationProvider, AppAttestProvider, InstallPublicJwk } from '../../../packages/sdk/src/index';

/** What App Attest puts in rpIdHash: teamId.bundleId. */
export const APP_ATTEST_APP_ID = 'TEAMID1234.com.example.shop';
export const PACKAGE_NAME = 'com.example.shop';
export const SIGNING_DIGEST = createHash('sha256').update('the release signing certificate').digest();

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

export interface AppAttestDevice {
  readonly provider: AppAttestProvider;
  /** What each call returned, in order, base64url: `attest` gives keyId and attestation, `assert` the assertion. */
  readonly calls: Array<{ call: 'attest'; keyId: string; attestation: string } | { call: 'assert'; keyId: string; assertion: string }>;
  /** Makes the next calls throw this instead (until cleared). */
  failWith: Error | undefined;
}

export function appAttestDevice(authority: TestAuthority): AppAttestDevice {
  const keys = new Map<string, { keyPair: { publicKey: KeyObject; privateKey: KeyObject }; counter: number }>();
  const device: AppAttestDevice = {
    calls: [],
    failWith: undefined,
    provider: {
      platform: 'ios',
      attest: async (clientDataHash) => {
        if (device.failWith) throw device.failWith;
        const made = authority.appAttest.attest({ appId: APP_ATTEST_APP_ID, clientDataHash, environment: 'production' });
        keys.set(b64u(made.keyId), { keyPair: made.keyPair, counter: 0 });
        device.calls.push({ call: 'attest', keyId: b64u(made.keyId), attestation: b64u(made.attestation) });
        return { keyId: made.keyId, attestation: made.attestation };
      },
      assert: async (keyId, clientDataHash) => {
        if (device.failWith) throw device.failWith;
        const key = keys.get(b64u(keyId));
        if (!key) throw new Error('DCErrorInvalidKey');
        key.counter += 1;
        const assertion = authority.appAttest.assert({ keyPair: key.keyPair, appId: APP_ATTEST_APP_ID, clientDataHash, counter: key.counter });
        device.calls.push({ call: 'assert', keyId: b64u(keyId), assertion: b64u(assertion) });
        return assertion;
      },
    },
  };
  return device;
}

export interface AndroidDevice {
  readonly provider: AndroidKeyAttestationProvider;
  /** Each attest() call's challenge, the public key it made and the chain, base64url. */
  readonly attested: Array<{ challenge: string; publicJwk: InstallPublicJwk; chain: string[] }>;
  /** The key in the Keystore now. */
  current: { publicJwk: InstallPublicJwk; privateKey: KeyObject } | undefined;
  /** How sign() encodes: DER as Java's Signature does, or P1363. */
  encoding: 'der' | 'ieee-p1363';
  failWith: Error | undefined;
}

export function androidDevice(authority: TestAuthority): AndroidDevice {
  const device: AndroidDevice = {
    attested: [],
    current: undefined,
    encoding: 'der',
    failWith: undefined,
    provider: {
      platform: 'android',
      attest: async (challenge) => {
        if (device.failWith) throw device.failWith;
        // A new key under the one alias, replacing the previous one, as KeyPairGenerator does.
        const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const { x, y } = publicKey.export({ format: 'jwk' });
        const publicJwk: InstallPublicJwk = { kty: 'EC', crv: 'P-256', x: x!, y: y! };
        const chain = authority.android.attest({
          publicKey,
          challenge,
          packageName: PACKAGE_NAME,
          versionCode: 42,
          signatureDigests: [SIGNING_DIGEST],
          securityLevel: 'STRONG_BOX',
        });
        device.current = { publicJwk, privateKey };
        device.attested.push({ challenge: b64u(challenge), publicJwk, chain: chain.map(b64u) });
        return { publicJwk, chain };
      },
      sign: async (message) => {
        if (device.failWith) throw device.failWith;
        if (!device.current) throw new Error('KeyStoreException: no key');
        return sign('sha256', message, { key: device.current.privateKey, dsaEncoding: device.encoding });
      },
      currentKey: async () => device.current?.publicJwk,
    },
  };
  return device;
}

// ---------- §5.5 as the service computes it, from the spec and node:crypto only ----------

const LABEL = Buffer.from('attestor-hardware-v1', 'ascii');
const NUL = Buffer.of(0);

/** RFC 7638 thumbprint, raw bytes. */
export function thumbprintBytes(jwk: InstallPublicJwk): Buffer {
  return createHash('sha256').update(`{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`).digest();
}

export function expectedAndroidChallenge(nonce: string): Buffer {
  return createHash('sha256').update(Buffer.concat([LABEL, NUL, Buffer.from(nonce, 'base64url')])).digest();
}

export function expectedClientDataHash(nonce: string, installKey: InstallPublicJwk): Buffer {
  return createHash('sha256').update(Buffer.concat([LABEL, NUL, Buffer.from(nonce, 'base64url'), thumbprintBytes(installKey)])).digest();
}
