import { X509Certificate, type JsonWebKey } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { bytesOf } from '../bytes';
import { requireBytes } from '../input';
import { attempt, refuse } from '../errors';

/** Generous for post-quantum keys and signatures (an ML-DSA-87 certificate is about 7.5 KiB). */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;

/**
 * One certificate, parsed twice: node:crypto (OpenSSL) verifies signatures and issuers,
 * asn1-x509 reads extensions, dates and keys that OpenSSL in Node 20 cannot load (ML-DSA).
 */
export interface ParsedCertificate {
  readonly der: Buffer;
  readonly x509: X509Certificate;
  readonly asn: Certificate;
}

export function parseCertificate(der: unknown, what: string): ParsedCertificate {
  const bytes = requireBytes(der, what, { max: MAX_CERTIFICATE_BYTES });
  return attempt('malformed', `${what} is not a DER X.509 certificate`, () => ({
    der: bytes,
    x509: new X509Certificate(bytes),
    asn: AsnConvert.parse(bytes, Certificate),
  }));
}

/** The DER inside the extension's OCTET STRING, or undefined when the certificate has none. */
export function extensionValue(cert: ParsedCertificate, oid: string): Buffer | undefined {
  const found = (cert.asn.tbsCertificate.extensions ?? []).filter((ext) => ext.extnID === oid);
  // RFC 5280 forbids repeating an extension; a second copy could smuggle another value.
  if (found.length > 1) refuse('malformed', `the certificate repeats extension ${oid}`);
  return found[0] ? bytesOf(found[0].extnValue) : undefined;
}

/** Lower-case hex without leading zeros: the form of Google's attestation status list. */
export function serialNumberHex(cert: ParsedCertificate): string {
  return normalizeSerial(cert.x509.serialNumber);
}

export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

/** SubjectPublicKeyInfo DER, read by asn1-x509 so that it works for any key algorithm. */
export function subjectPublicKeyInfo(cert: ParsedCertificate): Buffer {
  return Buffer.from(AsnConvert.serialize(cert.asn.tbsCertificate.subjectPublicKeyInfo));
}

export function validity(cert: ParsedCertificate): { notBefore: Date; notAfter: Date } {
  const { notBefore, notAfter } = cert.asn.tbsCertificate.validity;
  return { notBefore: notBefore.getTime(), notAfter: notAfter.getTime() };
}

/** ML-DSA OIDs (FIPS 204) and their JOSE algorithm names (draft-ietf-cose-dilithium). */
const ML_DSA_ALGORITHMS: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.3.17': 'ML-DSA-44',
  '2.16.840.1.101.3.4.3.18': 'ML-DSA-65',
  '2.16.840.1.101.3.4.3.19': 'ML-DSA-87',
};

/**
 * The certificate's public key as a JWK. EC and RSA come from OpenSSL; ML-DSA keys (Android 17
 * KeyMint) are written as `{ kty: 'AKP', alg, pub }` by hand because Node 20 cannot load them.
 */
export function publicKeyJwk(cert: ParsedCertificate): JsonWebKey {
  const spki = cert.asn.tbsCertificate.subjectPublicKeyInfo;
  const mlDsa = ML_DSA_ALGORITHMS[spki.algorithm.algorithm];
  if (mlDsa) return { kty: 'AKP', alg: mlDsa, pub: bytesOf(spki.subjectPublicKey).toString('base64url') };
  return attempt('malformed', 'the certificate holds a public key of an unsupported type', () =>
    cert.x509.publicKey.export({ format: 'jwk' }),
  );
}
