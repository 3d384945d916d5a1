import { AsnConvert } from '@peculiar/asn1-schema';
import { bytesOf } from '../bytes';
import { attempt, guarded, refuse } from '../errors';
import { extensionValue, parseCertificate, type ParsedCertificate } from '../x509/certificate';
import { decodeAuthorizationList, enumName } from './authorization-list';
import { AttestationRecord, KEY_DESCRIPTION_OID } from './key-description-schema';
import { SECURITY_LEVELS, type KeyDescriptionRecord } from './record';

export { KEY_DESCRIPTION_OID };

export interface DecodedKeyDescription {
  readonly record: KeyDescriptionRecord;
  /**
   * True when the extension is canonical DER: it re-encodes to the same bytes and both lists
   * keep ascending tag order. Real BER leniencies (a BOOLEAN TRUE written as 0x01) fail this.
   */
  readonly canonical: boolean;
}

/** Reads the KeyDescription extension of `cert`, refusing `extension_missing` when absent. */
export function decodeKeyDescription(cert: ParsedCertificate): DecodedKeyDescription {
  const extension = extensionValue(cert, KEY_DESCRIPTION_OID);
  if (!extension) return refuse('extension_missing', `the leaf has no KeyDescription extension ${KEY_DESCRIPTION_OID}`);

  const parsed = attempt('malformed', 'the KeyDescription extension does not match the KeyDescription schema', () =>
    AsnConvert.parse(extension, AttestationRecord),
  );
  const reencoded = attempt('malformed', 'the KeyDescription extension cannot be re-encoded', () =>
    Buffer.from(AsnConvert.serialize(parsed)),
  );
  const software = decodeAuthorizationList(parsed.softwareEnforced, 'softwareEnforced');
  const hardware = decodeAuthorizationList(parsed.teeEnforced, 'hardwareEnforced');
  const record: KeyDescriptionRecord = {
    attestationVersion: String(parsed.attestationVersion),
    attestationSecurityLevel: enumName(SECURITY_LEVELS, parsed.attestationSecurityLevel, 'attestationSecurityLevel'),
    keyMintVersion: String(parsed.keymasterVersion),
    keyMintSecurityLevel: enumName(SECURITY_LEVELS, parsed.keymasterSecurityLevel, 'keyMintSecurityLevel'),
    attestationChallenge: bytesOf(parsed.attestationChallenge).toString('base64'),
    uniqueId: bytesOf(parsed.uniqueId).toString('base64'),
    softwareEnforced: software.record,
    hardwareEnforced: hardware.record,
  };
  const canonical =
    reencoded.equals(extension) &&
    software.canonical &&
    hardware.canonical &&
    software.record.areTagsOrdered &&
    hardware.record.areTagsOrdered;
  return { record, canonical };
}

/**
 * Parses the Android Key Attestation record (KeyDescription extension, OID
 * 1.3.6.1.4.1.11129.2.1.17) of a leaf certificate into the JSON shape of android/keyattestation's
 * test data, for conformance tests and for reading fields the verifier does not return.
 *
 * It checks nothing about trust: use {@link verifyAndroidKeyAttestation} for that. Like the
 * reference parser it accepts BER leniencies and out-of-order tags, reporting the latter as
 * `areTagsOrdered: false`; unknown tags and unknown enum values are refused as `malformed`.
 *
 * @throws {@link HardwareAttestationError} `malformed` or `extension_missing`.
 * @example
 * ```ts
 * const record = parseAndroidKeyDescription(chain[0]);
 * record.hardwareEnforced.rootOfTrust?.verifiedBootState; // 'VERIFIED'
 * record.softwareEnforced.attestationApplicationId?.packages; // [{ name: 'com.example', version: '42' }]
 * ```
 */
export function parseAndroidKeyDescription(leafDer: Uint8Array): KeyDescriptionRecord {
  return guarded(() => decodeKeyDescription(parseCertificate(leafDer, 'leafDer')).record);
}
