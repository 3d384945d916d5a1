import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { id_ce_keyDescription } from '@peculiar/asn1-android';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import {
  parseAndroidKeyDescription,
  verifyAndroidKeyAttestation,
  verifyAppAttestAssertion,
  verifyAppAttestAttestation,
  type AndroidKeyAttestationInput,
} from '../src';
import { createTestAuthority, type AndroidAttestRequest } from '../src/testing';
import { issueCertificate } from '../src/testing/certificates';
import { outcomeOf } from './support/codes';

const APP_ID = 'TEAMID1234.com.example.app';
const DAY = 24 * 60 * 60 * 1000;
const now = new Date('2027-03-01T12:00:00Z');
const authority = createTestAuthority({ now });
const clientDataHash = createHash('sha256').update('{"challenge":"c1"}').digest();

const spkiOf = (jwk: unknown) =>
  createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'der' });

describe('test authority: App Attest', () => {
  const attested = authority.appAttest.attest({ appId: APP_ID, clientDataHash, environment: 'development' });
  const verifyAttestation = (overrides: Partial<Parameters<typeof verifyAppAttestAttestation>[0]> = {}) =>
    verifyAppAttestAttestation({
      attestation: attested.attestation,
      keyId: attested.keyId,
      clientDataHash,
      appId: APP_ID,
      environments: ['development'],
      now,
      roots: [authority.appAttest.root.der],
      ...overrides,
    });

  it('issues an attestation the verifier accepts when told to trust the test root', () => {
    // Act
    const result = verifyAttestation();

    // Assess
    expect(Buffer.from(result.keyId)).toEqual(Buffer.from(attested.keyId));
    expect(result.environment).toBe('development');
    expect(result.counter).toBe(0);
    expect(spkiOf(result.publicKeyJwk)).toEqual(attested.keyPair.publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('accepts the root as PEM too', () => {
    expect(outcomeOf(() => verifyAttestation({ roots: [authority.appAttest.root.pem] }))).toBe('accepted');
  });

  it('is refused when the test root is not passed', () => {
    expect(outcomeOf(() => verifyAttestation({ roots: undefined }))).toBe('untrusted_chain');
  });

  it("is refused under another authority's root", () => {
    const roots = [createTestAuthority({ now }).appAttest.root.der];
    expect(outcomeOf(() => verifyAttestation({ roots }))).toBe('untrusted_chain');
  });

  it('dates credential certificates like Apple: refused four days later', () => {
    expect(outcomeOf(() => verifyAttestation({ now: new Date(now.getTime() + 4 * DAY) }))).toBe('expired');
  });

  it('names the production environment in the aaguid', () => {
    // Prepare
    const production = authority.appAttest.attest({ appId: APP_ID, clientDataHash, environment: 'production' });
    const input = { attestation: production.attestation, keyId: production.keyId };

    // Act / Assess
    expect(verifyAttestation({ ...input, environments: ['production'] }).environment).toBe('production');
    expect(outcomeOf(() => verifyAttestation(input))).toBe('environment_not_allowed');
  });

  it('attests the key pair it is given', () => {
    // Prepare
    const keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });

    // Act
    const result = authority.appAttest.attest({ appId: APP_ID, clientDataHash, environment: 'development', keyPair });

    // Assess
    expect(result.keyPair).toBe(keyPair);
    const verified = verifyAttestation({ attestation: result.attestation, keyId: result.keyId });
    expect(spkiOf(verified.publicKeyJwk)).toEqual(keyPair.publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('is refused for another app', () => {
    expect(outcomeOf(() => verifyAttestation({ appId: 'TEAMID1234.com.example.other' }))).toBe('app_mismatch');
  });

  describe('assertions', () => {
    const publicKeyJwk = verifyAttestation().publicKeyJwk;
    const assertion = authority.appAttest.assert({ keyPair: attested.keyPair, appId: APP_ID, clientDataHash, counter: 1 });
    const verifyAssertion = (overrides: Partial<Parameters<typeof verifyAppAttestAssertion>[0]> = {}) =>
      verifyAppAttestAssertion({
        assertion,
        clientDataHash,
        appId: APP_ID,
        publicKeyJwk,
        previousCounter: 0,
        ...overrides,
      });

    it('issues assertions the verifier accepts, counting up', () => {
      // Prepare
      const second = authority.appAttest.assert({ keyPair: attested.keyPair, appId: APP_ID, clientDataHash, counter: 2 });

      // Act / Assess
      expect(verifyAssertion().counter).toBe(1);
      expect(verifyAssertion({ assertion: second, previousCounter: 1 }).counter).toBe(2);
    });

    it('refuses a replayed assertion', () => {
      expect(outcomeOf(() => verifyAssertion({ previousCounter: 1 }))).toBe('counter_invalid');
    });

    it('refuses an assertion for another app', () => {
      const other = authority.appAttest.assert({ keyPair: attested.keyPair, appId: 'X.other', clientDataHash, counter: 5 });
      expect(outcomeOf(() => verifyAssertion({ assertion: other }))).toBe('app_mismatch');
    });

    it('refuses an assertion from another key', () => {
      const keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const other = authority.appAttest.assert({ keyPair, appId: APP_ID, clientDataHash, counter: 5 });
      expect(outcomeOf(() => verifyAssertion({ assertion: other }))).toBe('bad_signature');
    });
  });
});

describe('test authority: Android Key Attestation', () => {
  const installKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const challenge = randomBytes(32);
  const signingDigest = createHash('sha256').update('release signing certificate').digest();
  const request: AndroidAttestRequest = {
    publicKey: installKey.publicKey,
    challenge,
    packageName: 'com.example.app',
    versionCode: 42,
    signatureDigests: [signingDigest],
    securityLevel: 'TRUSTED_ENVIRONMENT',
  };
  const chain = authority.android.attest(request);
  const verify = (overrides: Partial<AndroidKeyAttestationInput> = {}) =>
    verifyAndroidKeyAttestation({ chain, challenge, now, roots: [authority.android.root.pem], ...overrides });

  it('issues a chain, leaf first, that the verifier accepts with the test root', () => {
    // Act
    const result = verify({ packageName: 'com.example.app', signatureDigests: [signingDigest] });

    // Assess
    expect(chain).toHaveLength(3);
    expect(Buffer.from(chain[2] as Uint8Array)).toEqual(Buffer.from(authority.android.root.der));
    expect(result.packages).toEqual([{ name: 'com.example.app', version: 42 }]);
    expect(result.versionCode).toBe(42);
    expect(result.signatureDigests.map((d) => Buffer.from(d))).toEqual([signingDigest]);
    expect(result.attestationSecurityLevel).toBe('TRUSTED_ENVIRONMENT');
    expect(result.keymasterSecurityLevel).toBe('TRUSTED_ENVIRONMENT');
    expect(result.rootOfTrust.verifiedBootState).toBe('VERIFIED');
    expect(result.rootOfTrust.deviceLocked).toBe(true);
    expect(result.osVersion).toBe(150000);
    expect(result.osPatchLevel).toBe(202509);
    expect(spkiOf(result.publicKeyJwk)).toEqual(installKey.publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('encodes the record as canonical DER that the conformance parser reads back', () => {
    // Act
    const record = parseAndroidKeyDescription(chain[0] as Uint8Array);

    // Assess
    expect(record.hardwareEnforced.areTagsOrdered).toBe(true);
    expect(record.softwareEnforced.areTagsOrdered).toBe(true);
    expect(record.attestationChallenge).toBe(challenge.toString('base64'));
    expect(record.softwareEnforced.creationDateTime).toBe(String(now.getTime()));
    expect(record.hardwareEnforced.origin).toBe('GENERATED');
  });

  it('carries the requested security level, boot state and versions', () => {
    // Prepare
    const strongBox = authority.android.attest({
      ...request,
      securityLevel: 'STRONG_BOX',
      rootOfTrust: { deviceLocked: false, verifiedBootState: 'UNVERIFIED' },
      osVersion: 140000,
      osPatchLevel: 202401,
    });

    // Act
    const result = verify({ chain: strongBox });

    // Assess
    expect(result.attestationSecurityLevel).toBe('STRONG_BOX');
    expect(result.rootOfTrust).toMatchObject({ deviceLocked: false, verifiedBootState: 'UNVERIFIED' });
    expect([result.osVersion, result.osPatchLevel]).toEqual([140000, 202401]);
  });

  it('is refused for the wrong package', () => {
    expect(outcomeOf(() => verify({ packageName: 'com.example.other' }))).toBe('app_mismatch');
  });

  it('is refused for the wrong signing digest', () => {
    const signatureDigests = [createHash('sha256').update('someone else').digest()];
    expect(outcomeOf(() => verify({ signatureDigests }))).toBe('app_mismatch');
  });

  it('is refused when its attestation certificate serial is revoked', () => {
    // Prepare
    const revokedChain = authority.android.attest({ ...request, serial: '0a1b2c3d4e5f' });

    // Act / Assess
    expect(outcomeOf(() => verify({ chain: revokedChain }))).toBe('accepted');
    expect(outcomeOf(() => verify({ chain: revokedChain, revokedSerials: ['a1b2c3d4e5f'] }))).toBe('revoked');
  });

  it('is refused for another challenge', () => {
    expect(outcomeOf(() => verify({ challenge: randomBytes(32) }))).toBe('challenge_mismatch');
  });

  it('is refused when the test root is not passed', () => {
    expect(outcomeOf(() => verify({ roots: undefined }))).toBe('untrusted_chain');
  });

  it('refuses a forged record signed by the attested key itself', () => {
    // Prepare: the app's own key signs a leaf carrying a KeyDescription of its choosing.
    const realLeaf = AsnConvert.parse(chain[0] as Uint8Array, Certificate);
    const forged = issueCertificate({
      commonName: 'Android Keystore Key',
      publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      issuer: { name: realLeaf.tbsCertificate.subject, privateKey: installKey.privateKey },
      notBefore: new Date(0),
      notAfter: new Date('2048-01-01T00:00:00Z'),
      ca: false,
      extraExtensions: [{ oid: id_ce_keyDescription, value: keyDescriptionOf(chain[0] as Uint8Array) }],
    });

    // Act / Assess
    expect(outcomeOf(() => verify({ chain: [forged.der, ...chain] }))).toBe('untrusted_chain');
  });
});

function keyDescriptionOf(leaf: Uint8Array): Uint8Array {
  const extension = AsnConvert.parse(leaf, Certificate).tbsCertificate.extensions?.find(
    (ext) => ext.extnID === id_ce_keyDescription,
  );
  return new Uint8Array(extension?.extnValue.buffer ?? new ArrayBuffer(0));
}
