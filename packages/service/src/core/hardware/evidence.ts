/**
 * The structural decode of a request's `hardware` member (PROTOCOL.md §2.2), run before the nonce is
 * consumed: App Attest objects must be one CBOR map, Android certificates DER X.509, or the request is
 * a 400 naming the member. It uses the parsers @attestor/hardware uses (tiny-cbor, node:crypto's
 * X509Certificate) but none of its verification, which is loaded only when needed (./verifier.ts).
 * Evidence that decodes but does not verify is not a 400: it fails the attestation (a decoy).
 */
import { X509Certificate } from 'node:crypto';
import { decodeCBOR } from '@levischuck/tiny-cbor';
import { decodeB64u } from '@attestor/contracts/base64url';
import { InvalidRequestError } from '@attestor/contracts/errors';
import type { AttestRequest } from '@attestor/contracts/validation';

/** A request's hardware evidence, decoded. */
export type DecodedEvidence =
  | { readonly kind: 'app-attest-attestation'; readonly keyId: string; readonly attestation: Buffer }
  | { readonly kind: 'app-attest-assertion'; readonly keyId: string; readonly assertion: Buffer }
  | { readonly kind: 'android-chain'; readonly chain: readonly Buffer[]; readonly serials: readonly string[] }
  | { readonly kind: 'android-remembered' };

type HardwareMember = NonNullable<AttestRequest['hardware']>;

/** Throws InvalidRequestError (400) naming the member that is not CBOR or DER; returns undefined without evidence. */
export function decodeHardwareEvidence(hardware: HardwareMember | undefined): DecodedEvidence | undefined {
  if (hardware === undefined) return undefined;
  if (hardware.platform === 'ios') {
    if (hardware.attestation !== undefined) {
      return { kind: 'app-attest-attestation', keyId: hardware.keyId, attestation: cborMap(hardware.attestation, 'hardware.attestation') };
    }
    // The schema lets exactly one of the two through.
    return { kind: 'app-attest-assertion', keyId: hardware.keyId, assertion: cborMap(hardware.assertion!, 'hardware.assertion') };
  }
  if (hardware.chain === undefined) return { kind: 'android-remembered' };
  const certificates = hardware.chain.map((text, index) => derCertificate(text, `hardware.chain.${index}`));
  return { kind: 'android-chain', chain: certificates.map((c) => c.der), serials: certificates.map((c) => normalizeSerial(c.serial)) };
}

/** Lower-case hex without leading zeros: the form of Google's attestation status list. */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

function cborMap(text: string, field: string): Buffer {
  const bytes = decodeB64u(text)!;
  let item: unknown;
  try {
    // One item that fills the bytes exactly: tiny-cbor refuses trailing data.
    item = decodeCBOR(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    throw new InvalidRequestError(field, 'must be CBOR (an App Attest object)');
  }
  if (!(item instanceof Map)) throw new InvalidRequestError(field, 'must be a CBOR map (an App Attest object)');
  return bytes;
}

function derCertificate(text: string, field: string): { der: Buffer; serial: string } {
  const bytes = decodeB64u(text)!;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(bytes);
  } catch {
    throw new InvalidRequestError(field, 'must be a DER X.509 certificate');
  }
  // X509Certificate also reads PEM, and DER followed by other bytes: only the exact DER encoding is DER.
  if (!certificate.raw.equals(bytes)) throw new InvalidRequestError(field, 'must be a DER X.509 certificate');
  return { der: bytes, serial: certificate.serialNumber };
}
