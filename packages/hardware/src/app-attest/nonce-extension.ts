import { AsnConvert, AsnProp, AsnType, AsnTypeTypes, OctetString } from '@peculiar/asn1-schema';
import { bytesOf } from '../bytes';
import { attempt } from '../errors';

/** The credential certificate extension that carries the attestation nonce. */
export const APP_ATTEST_NONCE_OID = '1.2.840.113635.100.8.2';

/**
 * `SEQUENCE { [1] EXPLICIT OCTET STRING }`, as Apple's guide describes the extension value.
 * Decorators are applied as plain calls: the repository's swc setup does not parse decorator syntax.
 */
export class AppAttestNonce {
  nonce = new OctetString();

  constructor(nonce?: Uint8Array) {
    if (nonce) this.nonce = new OctetString(nonce);
  }
}
AsnProp({ type: OctetString, context: 1 })(AppAttestNonce.prototype, 'nonce');
AsnType({ type: AsnTypeTypes.Sequence })(AppAttestNonce);

export function readAppAttestNonce(extensionValue: Buffer): Buffer {
  return attempt('malformed', 'the App Attest nonce extension is not the expected DER', () =>
    bytesOf(AsnConvert.parse(extensionValue, AppAttestNonce).nonce),
  );
}

export function encodeAppAttestNonce(nonce: Uint8Array): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new AppAttestNonce(nonce)));
}
