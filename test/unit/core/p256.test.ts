import { createPublicKey, sign, verify } from 'node:crypto';
import { generateP256KeyPair } from '../../../packages/local/src/kms/p256';

describe('generateP256KeyPair', () => {
  it('makes matching P-256 pairs whose signatures verify', () => {
    const { privateKey, publicKey } = generateP256KeyPair();
    const message = Buffer.from('attestor');
    const signature = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect(signature).toHaveLength(64);
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    expect(createPublicKey(privateKey).export({ format: 'jwk' })).toEqual(publicKey.export({ format: 'jwk' }));
    expect(publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
  });

  it('always yields a full 32-byte scalar, also when it has leading zero bytes', () => {
    // About one scalar in 256 starts with a zero byte, which ECDH's getPrivateKey drops.
    for (let i = 0; i < 1000; i++) {
      const d = generateP256KeyPair().privateKey.export({ format: 'jwk' }).d!;
      expect(Buffer.from(d, 'base64url')).toHaveLength(32);
    }
  });

  it('makes a different key every time', () => {
    const kids = new Set(Array.from({ length: 20 }, () => generateP256KeyPair().publicKey.export({ format: 'jwk' }).x));
    expect(kids.size).toBe(20);
  });
});
