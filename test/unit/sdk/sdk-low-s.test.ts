/**
 * Every ES256 signature the SDK sends (install proofs, request proofs, through its own key or a
 * platform's) has s in its low form (PROTOCOL.md §4.4), whatever the signer underneath returns.
 */
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { isLowS } from '../../../packages/contracts/src/p256';
import { p1363ToDer } from '../../../packages/service/src/core/ecdsa';
import { loadOrCreateInstallKey, memoryKeyStore } from '../../../packages/sdk/src/install-key';
import { signInstallProof, verifyInstallProof } from '../../../packages/sdk/src/protocol';
import { platformSigner, softwareSigner } from '../../../packages/sdk/src/signer';
import { highSTwin } from '../../support/es256';

const ROUNDS = 64;
const message = new TextEncoder().encode('attestor-install-v1 message');

describe('SDK signatures are low-s', () => {
  it('normalises its own WebCrypto key (2^-64 odds that 64 signatures are all low by chance)', async () => {
    // Prepare
    const key = await loadOrCreateInstallKey(memoryKeyStore());
    const signer = softwareSigner(key);
    const nonce = new Uint8Array(32).fill(1);
    const measurement = new Uint8Array(32).fill(2);

    // Act
    const signatures = await Promise.all(Array.from({ length: ROUNDS }, () => signer.sign(message)));
    const proofs = await Promise.all(Array.from({ length: ROUNDS }, () => signInstallProof(key.privateKey, nonce, measurement)));

    // Assess
    expect([...signatures, ...proofs].every(isLowS)).toBe(true);
    expect(await verifyInstallProof(key.publicJwk, nonce, measurement, proofs[0]!)).toBe(true);
    expect(await verifyInstallProof(key.publicJwk, nonce, measurement, highSTwin(proofs[0]!))).toBe(false);
  });

  it.each(['der', 'ieee-p1363'] as const)('normalises a platform key that signs high-s %s', async (encoding) => {
    // Prepare: a bridge that always returns the high-s form, as Java, SecKey or CryptoKit may.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    const highS = (data: Uint8Array) => {
      const low = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const twin = isLowS(low) ? highSTwin(low) : low;
      return encoding === 'der' ? p1363ToDer(twin) : twin;
    };
    const signer = platformSigner({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, async (data) => highS(data), { code: 'hardware_error', what: 'test' });

    // Act
    const signature = await signer.sign(message);

    // Assess
    expect(isLowS(signature)).toBe(true);
    expect(verify('sha256', message, { key: createPublicKey(privateKey), dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
  });
});
