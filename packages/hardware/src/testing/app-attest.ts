import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { encodeCBOR, type CBORType } from '@levischuck/tiny-cbor';
import { sha256 } from '../bytes';
import { APP_ATTEST_AAGUIDS } from '../app-attest/attestation';
import { APP_ATTEST_NONCE_OID, encodeAppAttestNonce } from '../app-attest/nonce-extension';
import type { AppAttestEnvironment } from '../app-attest/types';
import { issueCertificate, toPem, type IssuedCertificate } from './certificates';
import type { KeyPair, TestRoot, ValidityWindow } from './types';

export interface AppAttestAttestRequest {
  readonly appId: string;
  readonly clientDataHash: Uint8Array;
  readonly environment: AppAttestEnvironment;
  /** The device key; a fresh P-256 pair when absent. */
  readonly keyPair?: KeyPair;
}

export interface AppAttestAttestResult {
  readonly keyId: Uint8Array;
  readonly attestation: Uint8Array;
  readonly keyPair: KeyPair;
}

export interface AppAttestAssertRequest {
  readonly keyPair: KeyPair;
  readonly appId: string;
  readonly clientDataHash: Uint8Array;
  readonly counter: number;
}

/** Issues App Attest evidence the way a device and Apple's CA would, from a test root. */
export interface AppAttestTestIssuer {
  readonly root: TestRoot;
  /**
   * Makes a key's attestation object: credential certificate with the nonce extension, an
   * intermediate, authData with rpIdHash, counter 0, the environment's aaguid and credentialId.
   *
   * @example
   * ```ts
   * const { keyId, attestation, keyPair } = authority.appAttest.attest({
   *   appId: 'TEAMID1234.com.example.app', clientDataHash, environment: 'production',
   * });
   * ```
   */
  attest(request: AppAttestAttestRequest): AppAttestAttestResult;
  /**
   * Makes an assertion signed by `keyPair`, carrying `counter`.
   *
   * @example
   * ```ts
   * const assertion = authority.appAttest.assert({ keyPair, appId, clientDataHash, counter: 1 });
   * ```
   */
  assert(request: AppAttestAssertRequest): Uint8Array;
}

/** Stands where Apple puts a PKCS#7 receipt; the verifiers return receipts without reading them. */
const DUMMY_RECEIPT = 'test receipt, not from Apple';
/** Flags as iOS sends them: "attested credential data" (0x40), even in assertions. */
const FLAGS_AS_IOS_SENDS = 0x40;

export function createAppAttestIssuer(window: ValidityWindow): AppAttestTestIssuer {
  const rootKeys = p256();
  const root = issueCertificate({
    commonName: 'Attestor Test App Attestation Root CA',
    organization: 'Attestor test authority',
    publicKey: rootKeys.publicKey,
    privateKey: rootKeys.privateKey,
    ...window.root,
    ca: true,
  });
  const intermediateKeys = p256();
  const intermediate: IssuedCertificate = {
    ...issueCertificate({
      commonName: 'Attestor Test App Attestation CA 1',
      organization: 'Attestor test authority',
      publicKey: intermediateKeys.publicKey,
      issuer: { name: root.name, privateKey: rootKeys.privateKey },
      ...window.intermediate,
      ca: true,
    }),
    privateKey: intermediateKeys.privateKey,
  };

  return {
    root: { der: root.der, pem: toPem(root.der) },
    attest({ appId, clientDataHash, environment, keyPair = p256() }) {
      const point = uncompressedPoint(keyPair.publicKey);
      const keyId = sha256(point);
      const authData = Buffer.concat([
        sha256(Buffer.from(appId, 'utf8')),
        Buffer.of(FLAGS_AS_IOS_SENDS),
        Buffer.alloc(4), // a fresh key has never signed: counter 0
        APP_ATTEST_AAGUIDS[environment],
        Buffer.from([0, keyId.length]),
        keyId,
        coseKey(point),
      ]);
      const credCert = issueCertificate({
        commonName: keyId.toString('hex'),
        publicKey: keyPair.publicKey,
        issuer: { name: intermediate.name, privateKey: intermediate.privateKey as KeyObject },
        ...window.leaf,
        ca: false,
        extraExtensions: [{ oid: APP_ATTEST_NONCE_OID, value: encodeAppAttestNonce(sha256(authData, clientDataHash)) }],
      });
      const attestation = cborMap({
        fmt: 'apple-appattest',
        attStmt: cborMap({ x5c: [credCert.der, intermediate.der], receipt: Buffer.from(DUMMY_RECEIPT) }),
        authData,
      });
      return { keyId: new Uint8Array(keyId), attestation: encodeCBOR(attestation), keyPair };
    },
    assert({ keyPair, appId, clientDataHash, counter }) {
      const counterBytes = Buffer.alloc(4);
      counterBytes.writeUInt32BE(counter);
      const rpIdHash = sha256(Buffer.from(appId, 'utf8'));
      const authenticatorData = Buffer.concat([rpIdHash, Buffer.of(FLAGS_AS_IOS_SENDS), counterBytes]);
      const nonce = sha256(authenticatorData, clientDataHash);
      const signature = sign('sha256', nonce, { key: keyPair.privateKey, dsaEncoding: 'der' });
      return encodeCBOR(cborMap({ signature, authenticatorData }));
    },
  };
}

function p256(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function uncompressedPoint(publicKey: KeyObject): Buffer {
  const { x, y } = publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.of(0x04), Buffer.from(x as string, 'base64url'), Buffer.from(y as string, 'base64url')]);
}

/** COSE_Key for an ES256 P-256 key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y. */
function coseKey(point: Buffer): Uint8Array {
  const key = new Map<number, CBORType>([
    [1, 2],
    [3, -7],
    [-1, 1],
    [-2, new Uint8Array(point.subarray(1, 33))],
    [-3, new Uint8Array(point.subarray(33))],
  ]);
  return encodeCBOR(key);
}

/** tiny-cbor needs plain Uint8Arrays (not Buffers) and Maps; this builds one from an object. */
function cborMap(entries: Record<string, CBORType | Buffer | Buffer[] | Uint8Array[]>): Map<string, CBORType> {
  const plain = (value: unknown): CBORType =>
    Buffer.isBuffer(value) ? new Uint8Array(value) : Array.isArray(value) ? value.map(plain) : (value as CBORType);
  return new Map(Object.entries(entries).map(([key, value]) => [key, plain(value)]));
}
