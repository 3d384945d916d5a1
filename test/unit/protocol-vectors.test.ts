/**
 * The server core against the known-answer vectors of protocol 2 (test/vectors/protocol-v2.json,
 * made by scripts/make-vectors.ts from the spec with node:crypto alone). If one of these fails,
 * either the core or the vectors changed the protocol: both break every client already shipped.
 */
import { createHmac, createPrivateKey, createPublicKey, createSecretKey, verify } from 'node:crypto';
import { isLowS } from '../../packages/contracts/src/p256';
import { highSTwin, signEs256 } from '../support/es256';
import { attest, issueChallenge, newDecoySecret, type AttestationDeps } from '../../packages/service/src/core/attestation';
import { decodeB64u } from '../../packages/contracts/src/base64url';
import { importInstallKey, installProofMessage, jwkThumbprint, verifyInstallProof, type InstallPublicJwk } from '../../packages/verify/src/core/install-key';
import { computeMeasurement, packageDigest } from '../../packages/service/src/core/measurement';
import { INSTALL_PROOF_LABEL, MEASUREMENT_LABEL, NONCE_BYTES } from '../../packages/contracts/src/protocol';
import { HS256_HEADER, type TokenClaims } from '../../packages/contracts/src/protocol';
import { hs256Token } from '../../packages/service/src/core/token';
import { attestRequestSchema, parseRequest } from '../../packages/contracts/src/validation';
import { verifyTokenWithKeys } from '../../packages/verify/src/core/verify';
import vectors from '../vectors/protocol-v2.json';
import { ManualClock, MemoryNonceStore, MemoryRegistry, MemoryTokenKeys } from '../support/memory';

type Case = (typeof vectors.cases)[number];

const bytes = (b64u: string): Buffer => {
  const decoded = decodeB64u(b64u);
  if (!decoded) throw new Error(`vector value is not canonical base64url: ${b64u}`);
  return decoded;
};
const hex = (text: string) => Buffer.from(text, 'hex');
const publicJwk = (c: Case) => c.expected.installKeyPublic as InstallPublicJwk;

describe('protocol 2 vectors: server core', () => {
  it('has the labels and cases this suite expects', () => {
    expect(vectors.protocol).toBe(2);
    expect(vectors.labels).toEqual({ measurement: MEASUREMENT_LABEL, installProof: INSTALL_PROOF_LABEL });
    expect(vectors.cases.map((c) => c.name)).toEqual(['basic', 'max-lengths', 'minimal', 'separators-a', 'separators-b']);
  });

  describe.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const nonce = bytes(c.input.nonce);
    const digest = packageDigest(hex(c.input.packageBytesHex));
    const measurement = computeMeasurement(nonce, c.input.appId, c.input.appVersion, digest);

    it('uses inputs the service accepts', () => {
      expect(nonce).toHaveLength(NONCE_BYTES);
      const request = parseRequest(attestRequestSchema, { ...vectors.exampleAttestRequest, ...requestFields(c) });
      expect(request.appId).toBe(c.input.appId);
      expect(request.appVersion).toBe(c.input.appVersion);
    });

    it('reproduces packageDigest', () => {
      expect(digest.toString('hex')).toBe(c.expected.packageDigestHex);
      expect(bytes(c.expected.packageDigest)).toEqual(digest);
    });

    it('reproduces measurement, and it is the HMAC of the documented message', () => {
      expect(measurement).toEqual(bytes(c.expected.measurement));
      const message = hex(c.expected.measurementMessageHex);
      const layout = Buffer.concat([Buffer.from(`${MEASUREMENT_LABEL}\0${c.input.appId}\0${c.input.appVersion}\0`, 'utf8'), digest]);
      expect(message).toEqual(layout);
      expect(createHmac('sha256', nonce).update(message).digest()).toEqual(measurement);
    });

    it('reproduces the install-proof message bytes', () => {
      expect(installProofMessage(nonce, measurement).toString('hex')).toBe(c.expected.installProofMessageHex);
      expect(installProofMessage(nonce, measurement)).toHaveLength(INSTALL_PROOF_LABEL.length + 1 + 32 + 32);
    });

    it('reproduces the thumbprint, and the public key belongs to the private one', () => {
      expect(jwkThumbprint(publicJwk(c))).toBe(c.expected.thumbprint);
      const derived = createPublicKey(createPrivateKey({ key: c.input.installKey, format: 'jwk' })).export({ format: 'jwk' });
      expect({ kty: derived.kty, crv: derived.crv, x: derived.x, y: derived.y }).toEqual(c.expected.installKeyPublic);
    });

    it('accepts the vector installProof and rejects it altered or on another nonce', () => {
      const key = importInstallKey(publicJwk(c));
      const proof = bytes(c.expected.installProof);
      expect(verifyInstallProof(key, nonce, measurement, proof)).toBe(true);
      const flipped = Buffer.from(proof);
      flipped[10]! ^= 0x01;
      expect(verifyInstallProof(key, nonce, measurement, flipped)).toBe(false);
      const otherNonce = Buffer.from(nonce);
      otherNonce[0]! ^= 0x80;
      expect(verifyInstallProof(key, otherNonce, measurement, proof)).toBe(false);
    });

    it('holds its installProof in low-s form and refuses the high-s twin, which plain ECDSA accepts (PROTOCOL.md §4.4)', () => {
      const key = importInstallKey(publicJwk(c))!;
      const proof = bytes(c.expected.installProof);
      const twin = highSTwin(proof);
      expect(isLowS(proof)).toBe(true);
      expect(verify('sha256', installProofMessage(nonce, measurement), { key, dsaEncoding: 'ieee-p1363' }, twin)).toBe(true);
      expect(verifyInstallProof(key, nonce, measurement, twin)).toBe(false);
    });
  });

  it('separates appId from appVersion: separators-a and -b concatenate alike but measure differently', () => {
    const [a, b] = [vectors.cases[3]!, vectors.cases[4]!];
    expect(a.input.appId + a.input.appVersion).toBe(b.input.appId + b.input.appVersion);
    expect(a.input.packageBytesHex).toBe(b.input.packageBytesHex);
    expect(a.expected.measurement).not.toBe(b.expected.measurement);
  });

  it('the example attest request passes the real attest() end to end, with a fresh signature too', async () => {
    const c = vectors.cases[0]!;
    const nonce = bytes(c.input.nonce);
    const clock = new ManualClock();
    const registry = new MemoryRegistry();
    const keys = new MemoryTokenKeys();
    await registry.appStore.ensureApp({ appId: c.input.appId, tenantId: 'tenant-a', createdAt: clock.now });
    await registry.registrationStore.putRegistrationIfAbsent({
      appId: c.input.appId,
      version: c.input.appVersion,
      sha256: c.expected.packageDigestHex,
      size: c.input.packageBytesHex.length / 2,
      objectKey: 'k',
      registeredAt: clock.now,
    });
    const deps: AttestationDeps = {
      nonces: new MemoryNonceStore(),
      catalog: registry.catalog,
      keys,
      clock,
      // The first draw is the challenge nonce, later ones are jtis.
      random: { bytes: (n) => (n === NONCE_BYTES ? Buffer.from(nonce) : Buffer.alloc(n, 7)) },
      issuer: 'attestor',
      tokenTtlSeconds: 300,
      decoySecret: newDecoySecret(),
      defaultTenantId: 'default',
    };

    const challenge = await issueChallenge(deps, { appId: c.input.appId });
    expect(challenge.nonce).toBe(c.input.nonce);
    const request = parseRequest(attestRequestSchema, vectors.exampleAttestRequest);
    const result = await attest(deps, request);
    expect(result.verdict).toMatchObject({ passed: true, reasons: [], tenantId: 'tenant-a', did: c.expected.thumbprint });

    // ECDSA is randomized: a signature the vectors do not contain must pass just the same.
    await issueChallenge(deps, { appId: c.input.appId });
    const fresh = signEs256(hex(c.expected.installProofMessageHex), createPrivateKey({ key: c.input.installKey, format: 'jwk' }));
    expect(fresh.toString('base64url')).not.toBe(c.expected.installProof);
    const again = await attest(deps, parseRequest(attestRequestSchema, { ...vectors.exampleAttestRequest, installProof: fresh.toString('base64url') }));
    expect(again.verdict.passed).toBe(true);
    const tenantSecret = keys.secretFor('tenant-a').key;
    for (const token of [result.token, again.token]) {
      const [h, p, mac] = token.split('.');
      expect(createHmac('sha256', tenantSecret).update(`${h}.${p}`).digest('base64url')).toBe(mac);
    }
  });
});

describe('protocol 2 vectors: hs256 tokens', () => {
  it.each(vectors.tokens.map((t) => [t.name, t] as const))('%s: the core mints exactly the expected token', (_name, t) => {
    // Act
    const token = hs256Token(createSecretKey(bytes(t.input.secret)), t.input.claims as TokenClaims);
    // Assess
    expect(token).toBe(t.expected.token);
    expect(token.split('.')[0]).toBe(HS256_HEADER);
  });

  it('the core verifies the basic token with its secret and refuses the same claims under another secret', () => {
    const [basic, , other] = vectors.tokens;
    const keys = { publicKeys: new Map(), secrets: [{ kid: 'basic', key: createSecretKey(bytes(basic!.input.secret)) }] };
    const options = { issuer: 'attestor', nowSeconds: 1_800_000_100 };
    expect(verifyTokenWithKeys(basic!.expected.token, keys, options).sub).toBe('com.example.app');
    expect(() => verifyTokenWithKeys(other!.expected.token, keys, options)).toThrow(expect.objectContaining({ code: 'bad_signature' }));
  });
});

function requestFields(c: Case) {
  return {
    nonce: c.input.nonce,
    appId: c.input.appId,
    appVersion: c.input.appVersion,
    measurement: c.expected.measurement,
    installKey: c.expected.installKeyPublic,
    installProof: c.expected.installProof,
  };
}
