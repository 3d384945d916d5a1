import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import { highSTwin, signEs256 } from '../../support/es256';
import { encodeB64u } from '../../../packages/contracts/src/base64url';
import { importInstallKey, installProofMessage, jwkThumbprint, verifyInstallProof, type InstallPublicJwk } from '../../../packages/verify/src/core/install-key';
import { newInstallKey } from './helpers';
import { generateP256KeyPair } from '../../../packages/local/src/kms/p256';

/** RFC 7638 §3: required members only, sorted by name, no whitespace, SHA-256, base64url. */
function referenceThumbprint(jwk: Record<string, string>, required: readonly string[]): string {
  const members = [...required].sort().map((name) => [name, jwk[name]]);
  const canonical = JSON.stringify(Object.fromEntries(members));
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}
const EC_REQUIRED = ['crv', 'kty', 'x', 'y'];

describe('jwkThumbprint (RFC 7638)', () => {
  it('the reference computation reproduces the RFC 7638 §3.1 example', () => {
    // Prepare: the RSA key of RFC 7638 §3.1 and its published thumbprint.
    const rfcKey = {
      kty: 'RSA',
      n:
        '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6' +
        '4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO' +
        'pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    // Act / Assess
    expect(referenceThumbprint(rfcKey, ['e', 'kty', 'n'])).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('matches the reference computation on keys exported by node:crypto as JWK', () => {
    for (let i = 0; i < 20; i++) {
      // Prepare
      const { publicKey } = generateP256KeyPair();
      const exported = createPublicKey(publicKey.export({ format: 'pem', type: 'spki' })).export({ format: 'jwk' }) as Record<string, string>;
      // Act
      const thumbprint = jwkThumbprint(exported as unknown as InstallPublicJwk);
      // Assess
      expect(thumbprint).toBe(referenceThumbprint(exported, EC_REQUIRED));
      expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('matches a fixed EC vector computed by hand', () => {
    // Prepare
    const jwk: InstallPublicJwk = {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    };
    const canonical = '{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}';
    // Act / Assess
    expect(jwkThumbprint(jwk)).toBe(createHash('sha256').update(canonical).digest('base64url'));
  });

  it('ignores member order and optional members', () => {
    const { jwk } = newInstallKey();
    const reordered = { y: jwk.y, x: jwk.x, kid: 'k', use: 'sig', crv: jwk.crv, kty: jwk.kty } as unknown as InstallPublicJwk;
    expect(jwkThumbprint(reordered)).toBe(jwkThumbprint(jwk));
  });

  it('differs between keys', () => {
    expect(jwkThumbprint(newInstallKey().jwk)).not.toBe(jwkThumbprint(newInstallKey().jwk));
  });
});

describe('install proof', () => {
  const nonce = Buffer.alloc(32, 1);
  const measurement = Buffer.alloc(32, 2);
  const key = newInstallKey();
  const proofOf = (n: Buffer, m: Buffer) => signEs256(installProofMessage(n, m), key.privateKey);

  it('signs "attestor-install-v1" 0x00 nonce measurement', () => {
    expect(installProofMessage(nonce, measurement)).toEqual(Buffer.concat([Buffer.from('attestor-install-v1'), Buffer.from([0]), nonce, measurement]));
  });

  it('verifies a genuine proof', () => {
    // Prepare
    const publicKey = importInstallKey(key.jwk);
    // Act
    const ok = verifyInstallProof(publicKey, nonce, measurement, proofOf(nonce, measurement));
    // Assess
    expect(publicKey?.asymmetricKeyType).toBe('ec');
    expect(publicKey?.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(ok).toBe(true);
  });

  it('fails for an altered nonce', () => {
    const altered = Buffer.from(nonce);
    altered[0]! ^= 1;
    expect(verifyInstallProof(importInstallKey(key.jwk), altered, measurement, proofOf(nonce, measurement))).toBe(false);
  });

  it('fails for an altered measurement', () => {
    const altered = Buffer.from(measurement);
    altered[31]! ^= 0x80;
    expect(verifyInstallProof(importInstallKey(key.jwk), nonce, altered, proofOf(nonce, measurement))).toBe(false);
  });

  it('fails for another install key', () => {
    expect(verifyInstallProof(importInstallKey(newInstallKey().jwk), nonce, measurement, proofOf(nonce, measurement))).toBe(false);
  });

  it('fails for a tampered signature', () => {
    const proof = proofOf(nonce, measurement);
    proof[40]! ^= 1;
    expect(verifyInstallProof(importInstallKey(key.jwk), nonce, measurement, proof)).toBe(false);
  });

  it.each([0, 63, 65, 72])('fails, without throwing, for a proof of %i bytes', (length) => {
    const proof = Buffer.concat([proofOf(nonce, measurement), Buffer.alloc(8)]).subarray(0, length);
    expect(verifyInstallProof(importInstallKey(key.jwk), nonce, measurement, proof)).toBe(false);
  });

  it('fails for a DER-encoded proof of the right message', () => {
    const der = sign('sha256', installProofMessage(nonce, measurement), { key: key.privateKey, dsaEncoding: 'der' });
    expect(verifyInstallProof(importInstallKey(key.jwk), nonce, measurement, der)).toBe(false);
  });

  it('refuses the high-s twin (r, n − s) of a genuine proof, which plain ECDSA accepts', () => {
    // Prepare: an attacker who saw one proof derives a second encoding of it without the key.
    const proof = proofOf(nonce, measurement);
    const twin = highSTwin(proof);
    // Act
    const plainEcdsa = verify('sha256', installProofMessage(nonce, measurement), { key: createPublicKey(key.privateKey), dsaEncoding: 'ieee-p1363' }, twin);
    // Assess
    expect(plainEcdsa).toBe(true);
    expect(verifyInstallProof(importInstallKey(key.jwk), nonce, measurement, proof)).toBe(true);
    expect(verifyInstallProof(importInstallKey(key.jwk), nonce, measurement, twin)).toBe(false);
  });

  it('fails for an all-zero 64-byte proof (r = s = 0)', () => {
    expect(verifyInstallProof(importInstallKey(key.jwk), nonce, measurement, Buffer.alloc(64))).toBe(false);
  });

  it('refuses to import a point that is not on P-256, and such a key verifies nothing', () => {
    // Prepare: keep x, move y off the curve.
    const y = Buffer.from(key.jwk.y, 'base64url');
    y[31]! ^= 1;
    const offCurve: InstallPublicJwk = { ...key.jwk, y: encodeB64u(y) };
    // Act
    const imported = importInstallKey(offCurve);
    // Assess
    expect(imported).toBeUndefined();
    expect(verifyInstallProof(imported, nonce, measurement, proofOf(nonce, measurement))).toBe(false);
  });

  it('refuses to import coordinates of the wrong length', () => {
    expect(importInstallKey({ ...key.jwk, x: encodeB64u(Buffer.alloc(31, 1)) })).toBeUndefined();
  });
});
