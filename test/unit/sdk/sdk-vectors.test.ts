/**
 * The SDK's protocol functions (WebCrypto only) against the known-answer vectors, plus the SDK's
 * base64url codec against the server's, so client and server cannot drift apart silently.
 */
import { createPublicKey, verify } from 'node:crypto';
import fc from 'fast-check';
import { decodeB64u as coreDecodeB64u } from '../../../packages/contracts/src/base64url';
import { loadOrCreateInstallKey, memoryKeyStore, type StoredInstallKey } from '../../../packages/sdk/src/install-key';
import { HARDWARE_LABEL } from '../../../packages/contracts/src/protocol';
import {
  androidAttestationChallenge,
  androidChallengeMessage,
  appAttestClientData,
  appAttestClientDataHash,
  computeMeasurement,
  decodeB64u,
  encodeB64u,
  installProofMessage,
  jwkThumbprint,
  measurementMessage,
  sha256,
  signInstallProof,
  verifyInstallProof,
} from '../../../packages/sdk/src/protocol';
import type { InstallPublicJwk } from '../../../packages/contracts/src/protocol';
import vectors from '../../vectors/protocol-v2.json';

const bytes = (b64u: string): Uint8Array => {
  const decoded = decodeB64u(b64u);
  if (!decoded) throw new Error(`not canonical base64url: ${b64u}`);
  return decoded;
};
const fromHex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('protocol 2 vectors: SDK', () => {
  describe.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const nonce = bytes(c.input.nonce);
    const publicJwk = c.expected.installKeyPublic as InstallPublicJwk;

    it('reproduces packageDigest, measurement message and measurement', async () => {
      const digest = await sha256(fromHex(c.input.packageBytesHex));
      expect(encodeB64u(digest)).toBe(c.expected.packageDigest);
      expect(toHex(measurementMessage(c.input.appId, c.input.appVersion, digest))).toBe(c.expected.measurementMessageHex);
      expect(encodeB64u(await computeMeasurement(nonce, c.input.appId, c.input.appVersion, digest))).toBe(c.expected.measurement);
    });

    it('reproduces the install-proof message and the thumbprint', async () => {
      expect(toHex(installProofMessage(nonce, bytes(c.expected.measurement)))).toBe(c.expected.installProofMessageHex);
      expect(await jwkThumbprint(publicJwk)).toBe(c.expected.thumbprint);
    });

    it('verifies the vector proof, and rejects it on another measurement', async () => {
      const measurement = bytes(c.expected.measurement);
      expect(await verifyInstallProof(publicJwk, nonce, measurement, bytes(c.expected.installProof))).toBe(true);
      const other = Uint8Array.from(measurement);
      other[31]! ^= 1;
      expect(await verifyInstallProof(publicJwk, nonce, other, bytes(c.expected.installProof))).toBe(false);
    });

    it('signs proofs that node:crypto (the server side) accepts, from the stored vector key', async () => {
      const key = await loadOrCreateInstallKey(memoryKeyStore(c.input.installKey as StoredInstallKey));
      expect(key.publicJwk).toEqual(publicJwk);
      const measurement = bytes(c.expected.measurement);
      const proof = await signInstallProof(key.privateKey, nonce, measurement);
      expect(proof).toHaveLength(64);
      const serverKey = createPublicKey({ key: { ...publicJwk }, format: 'jwk' });
      expect(verify('sha256', fromHex(c.expected.installProofMessageHex), { key: serverKey, dsaEncoding: 'ieee-p1363' }, proof)).toBe(true);
    });
  });
});

describe('protocol 2.1 hardware vectors: SDK', () => {
  it('has the label and cases this suite expects', () => {
    expect(vectors.hardware.label).toBe(HARDWARE_LABEL);
    expect(vectors.hardware.cases.map((c) => c.name)).toEqual(['basic', 'max-lengths', 'minimal']);
  });

  describe.each(vectors.hardware.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const nonce = bytes(c.input.nonce);

    it('reproduces the Android attestation challenge and its message', async () => {
      expect(toHex(androidChallengeMessage(nonce))).toBe(c.expected.androidChallengeMessageHex);
      const challenge = await androidAttestationChallenge(nonce);
      expect(encodeB64u(challenge)).toBe(c.expected.androidChallenge);
      expect(toHex(challenge)).toBe(c.expected.androidChallengeHex);
    });

    it('reproduces the App Attest client data and its hash from the install key', async () => {
      const did = await jwkThumbprint(c.input.installKey as InstallPublicJwk);
      expect(did).toBe(c.expected.thumbprint);
      expect(toHex(appAttestClientData(nonce, did))).toBe(c.expected.clientDataHex);
      const clientDataHash = await appAttestClientDataHash(nonce, did);
      expect(encodeB64u(clientDataHash)).toBe(c.expected.clientDataHash);
      expect(toHex(clientDataHash)).toBe(c.expected.clientDataHashHex);
    });

    it('binds the client data to the install key: another key gives another hash', async () => {
      const other = vectors.hardware.cases.find((o) => o.expected.thumbprint !== c.expected.thumbprint)!;
      expect(encodeB64u(await appAttestClientDataHash(nonce, other.expected.thumbprint))).not.toBe(c.expected.clientDataHash);
    });
  });

  it('refuses a did that is not a 32-byte thumbprint', () => {
    expect(() => appAttestClientData(new Uint8Array(32), 'AAAA')).toThrow(TypeError);
  });
});

describe('SDK base64url', () => {
  it('round-trips and matches the server encoding for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const text = encodeB64u(b);
        expect(text).toBe(Buffer.from(b).toString('base64url'));
        expect(decodeB64u(text)).toEqual(b);
      }),
    );
  });

  it('accepts exactly the strings the server accepts', () => {
    const alphabet = fc.constantFrom(...'AQgw_-=+/ .9zZ'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 12 }), (text) => {
        const server = coreDecodeB64u(text);
        const client = decodeB64u(text);
        expect(client === undefined).toBe(server === undefined);
        if (server && client) expect(Buffer.from(client)).toEqual(server);
      }),
      { numRuns: 500 },
    );
  });

  it.each(['AA==', 'AB', 'A', 'AA A', 'AA+/'])('rejects %p', (text) => {
    expect(decodeB64u(text)).toBeUndefined();
  });
});
