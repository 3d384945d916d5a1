import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
  id_ce_keyUsage,
} from '@peculiar/asn1-x509';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';

/** A certificate the authority made, with what is needed to issue below it. */
export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly name: Name;
  readonly privateKey?: KeyObject;
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly organization?: string;
  readonly publicKey: KeyObject;
  /** Signs with this issuer; without it the certificate signs itself with `privateKey`. */
  readonly issuer?: { readonly name: Name; readonly privateKey: KeyObject };
  readonly privateKey?: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly ca: boolean;
  /** Lower-case hex; a random positive 16-byte serial when absent. */
  readonly serialHex?: string;
  readonly extraExtensions?: readonly { oid: string; value: Uint8Array }[];
}

/** Builds and ECDSA-P256-SHA256 signs an X.509 v3 certificate with asn1-x509 and node:crypto. */
export function issueCertificate(request: CertificateRequest): IssuedCertificate {
  const name = distinguishedName(request.commonName, request.organization);
  const signer = request.issuer ?? { name, privateKey: request.privateKey };
  if (!signer.privateKey) throw new TypeError('a self-signed certificate needs its privateKey');

  const keyUsage = request.ca ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign : KeyUsageFlags.digitalSignature;
  const extensions = [
    extension(id_ce_basicConstraints, true, AsnConvert.serialize(new BasicConstraints({ cA: request.ca }))),
    extension(id_ce_keyUsage, true, AsnConvert.serialize(new KeyUsage(keyUsage))),
    ...(request.extraExtensions ?? []).map(({ oid, value }) => extension(oid, false, value)),
  ];
  const algorithm = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(request.serialHex),
    signature: algorithm,
    issuer: signer.name,
    validity: new Validity({ notBefore: request.notBefore, notAfter: request.notAfter }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(
      request.publicKey.export({ type: 'spki', format: 'der' }),
      SubjectPublicKeyInfo,
    ),
    extensions: new Extensions(extensions),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbsCertificate)), {
    key: signer.privateKey,
    dsaEncoding: 'der',
  });
  const certificate = new Certificate({
    tbsCertificate,
    signatureAlgorithm: algorithm,
    signatureValue: toArrayBuffer(signature),
  });
  return {
    der: new Uint8Array(AsnConvert.serialize(certificate)),
    name,
    ...(request.privateKey ? { privateKey: request.privateKey } : {}),
  };
}

export function toPem(der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return ['-----BEGIN CERTIFICATE-----', ...lines, '-----END CERTIFICATE-----', ''].join('\n');
}

function distinguishedName(commonName: string, organization?: string): Name {
  const attribute = (type: string, text: string) => {
    const value = new AttributeValue({ utf8String: text });
    return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]);
  };
  return new Name([
    ...(organization ? [attribute(ORGANIZATION, organization)] : []),
    attribute(COMMON_NAME, commonName),
  ]);
}

function extension(oid: string, critical: boolean, value: ArrayBuffer | Uint8Array): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(value) });
}

function serialNumber(hex: string | undefined): ArrayBuffer {
  if (hex === undefined) {
    const random = randomBytes(16);
    // Top bit clear keeps the INTEGER positive (RFC 5280); a set second bit keeps it minimal.
    random[0] = 0x40 | ((random[0] as number) & 0x3f);
    return toArrayBuffer(random);
  }
  if (!/^[0-9a-f]+$/i.test(hex)) throw new TypeError(`serial ${hex} is not hexadecimal`);
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  if ((bytes[0] as number) & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
  return toArrayBuffer(bytes);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
