/**
 * The `hardware` member of the attest request (PROTOCOL.md §2.2) as the schema checks it, and the
 * hardware challenges as the server computes them, against the protocol's known answers.
 */
import { attestRequestSchema, InvalidRequestError, parseRequest } from '../../../packages/contracts/src/validation';
import { androidChallenge, appAttestClientDataHash } from '../../../packages/service/src/core/hardware/challenge';
import { decodeB64u } from '../../../packages/contracts/src/base64url';
import vectors from '../../vectors/protocol-v2.json';

const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString('base64url');

function request(platform: string, hardware: unknown): Record<string, unknown> {
  return {
    nonce: b64(32),
    appId: 'com.example.app',
    appVersion: '1.2.3',
    measurement: b64(32, 2),
    // A point on P-256 (the vectors' basic install key): anything else is a 400 naming installKey.
    installKey: vectors.exampleAttestRequest.installKey,
    installProof: b64(64, 5),
    device: { platform, osVersion: '14', model: 'Pixel 8', signals: { rooted: false, emulator: false, debugger: false, hooked: false } },
    sdkVersion: '1.0.0',
    hardware,
  };
}

function rejection(body: unknown): { field: string; detail: string } {
  try {
    parseRequest(attestRequestSchema, body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return { field: (error as InvalidRequestError).field, detail: (error as InvalidRequestError).detail };
  }
  throw new Error('expected a 400');
}

describe('the hardware member', () => {
  it('accepts each shape the protocol defines, and keeps only its members', () => {
    const ios = { platform: 'ios', keyId: b64(32), attestation: b64(5000) };
    expect(parseRequest(attestRequestSchema, request('ios', { ...ios, extra: 1 })).hardware).toEqual(ios);
    expect(parseRequest(attestRequestSchema, request('ios', { platform: 'ios', keyId: b64(32), assertion: b64(1024) })).hardware).toMatchObject({
      assertion: b64(1024),
    });
    expect(parseRequest(attestRequestSchema, request('android', { platform: 'android', chain: [b64(1500), b64(1000), b64(1400)] })).hardware).toMatchObject({
      platform: 'android',
    });
    // Members of the other platform are dropped, like any unknown member (§1).
    expect(parseRequest(attestRequestSchema, request('android', { platform: 'android', keyId: 'x' })).hardware).toEqual({ platform: 'android' });
    expect(parseRequest(attestRequestSchema, request('android', undefined)).hardware).toBeUndefined();
  });

  it.each([
    ['a string', 'hardware', 'android', 'android', 'must be an object'],
    ['an unknown platform', 'hardware.platform', 'windows', { platform: 'windows' }, 'must be "ios" or "android"'],
    ['no platform', 'hardware.platform', 'ios', { keyId: b64(32) }, 'must be "ios" or "android"'],
    [
      'a platform other than device.platform',
      'hardware.platform',
      'android',
      { platform: 'ios', keyId: b64(32), assertion: b64(100) },
      'must equal device.platform',
    ],
    [
      'an iOS key id of 31 bytes',
      'hardware.keyId',
      'ios',
      { platform: 'ios', keyId: b64(31), assertion: b64(100) },
      'must be base64url of 32 bytes (43 characters)',
    ],
    [
      "Apple's standard base64 key id",
      'hardware.keyId',
      'ios',
      { platform: 'ios', keyId: Buffer.alloc(32, 0xfb).toString('base64'), assertion: b64(100) },
      'must be base64url of 32 bytes (43 characters)',
    ],
    [
      'neither attestation nor assertion',
      'hardware.attestation',
      'ios',
      { platform: 'ios', keyId: b64(32) },
      'is required when there is no assertion (exactly one of the two)',
    ],
    [
      'both attestation and assertion',
      'hardware.assertion',
      'ios',
      { platform: 'ios', keyId: b64(32), attestation: b64(100), assertion: b64(100) },
      'must not be sent with an attestation (exactly one of the two)',
    ],
    [
      'an attestation over 8 KiB',
      'hardware.attestation',
      'ios',
      { platform: 'ios', keyId: b64(32), attestation: b64(8193) },
      'must be base64url of at most 8192 bytes',
    ],
    [
      'an assertion over 1 KiB',
      'hardware.assertion',
      'ios',
      { platform: 'ios', keyId: b64(32), assertion: b64(1025) },
      'must be base64url of at most 1024 bytes',
    ],
    [
      'an empty assertion',
      'hardware.assertion',
      'ios',
      { platform: 'ios', keyId: b64(32), assertion: '' },
      'must be base64url of at least 1 byte without padding',
    ],
    [
      'a padded attestation',
      'hardware.attestation',
      'ios',
      { platform: 'ios', keyId: b64(32), attestation: 'AAE=' },
      'must be base64url of at least 1 byte without padding',
    ],
    ['a chain of one certificate', 'hardware.chain', 'android', { platform: 'android', chain: [b64(100)] }, 'must hold 2 to 8 certificates'],
    [
      'a chain of nine certificates',
      'hardware.chain',
      'android',
      { platform: 'android', chain: Array.from({ length: 9 }, () => b64(10)) },
      'must hold 2 to 8 certificates',
    ],
    ['a chain that is not an array', 'hardware.chain', 'android', { platform: 'android', chain: b64(100) }, 'must be an array of base64url certificates'],
    [
      'a certificate over 4 KiB',
      'hardware.chain.1',
      'android',
      { platform: 'android', chain: [b64(100), b64(4097)] },
      'must be base64url of at most 4096 bytes',
    ],
    ['a certificate that is not a string', 'hardware.chain.1', 'android', { platform: 'android', chain: [b64(100), 7] }, 'must be a base64url string'],
    [
      'a chain over 8 KiB together',
      'hardware.chain',
      'android',
      { platform: 'android', chain: [b64(4096), b64(4096), b64(1)] },
      'must be at most 8192 bytes decoded together',
    ],
  ] as const)('refuses %s: 400 naming %s', (_what, field, platform, hardware, detail) => {
    expect(rejection(request(platform, hardware))).toEqual({ field, detail });
  });

  it('reports other fields first: the platform comparison runs only on an otherwise valid request', () => {
    const body = request('android', { platform: 'ios', keyId: b64(32), assertion: b64(100) });
    expect(rejection({ ...body, sdkVersion: 'x' }).field).toBe('sdkVersion');
  });

  it('8 KiB of chain is exactly the limit', () => {
    expect(() => parseRequest(attestRequestSchema, request('android', { platform: 'android', chain: [b64(4096), b64(4096)] }))).not.toThrow();
  });
});

describe('hardware challenges: the server agrees with the known answers of protocol 2.1', () => {
  it.each(vectors.hardware.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const nonce = decodeB64u(c.input.nonce)!;
    expect(androidChallenge(nonce).toString('base64url')).toBe(c.expected.androidChallenge);
    expect(appAttestClientDataHash(nonce, c.expected.thumbprint).toString('base64url')).toBe(c.expected.clientDataHash);
  });

  it('refuses a did that is not 32 bytes', () => {
    expect(() => appAttestClientDataHash(Buffer.alloc(32), 'short')).toThrow();
  });
});
