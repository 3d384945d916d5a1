import { refuse } from '../errors';

/**
 * WebAuthn authenticator data, the fixed binary layout App Attest reuses:
 * rpIdHash (32) | flags (1) | signCount (4, big-endian) | [aaguid (16) | credentialIdLength (2) |
 * credentialId | credentialPublicKey (COSE)]. The bracketed part is only in attestations.
 */
export interface AuthenticatorData {
  readonly rpIdHash: Buffer;
  readonly counter: number;
}

export interface AttestedAuthenticatorData extends AuthenticatorData {
  readonly aaguid: Buffer;
  readonly credentialId: Buffer;
}

const RP_ID_HASH_END = 32;
const COUNTER_START = 33;
const COUNTER_END = 37;
const AAGUID_END = 53;
const CREDENTIAL_ID_START = 55;

/**
 * Reads an assertion's authenticator data. The flags byte is ignored on purpose: iOS sets the
 * "attested credential data" bit in assertions although none follows (seen in the real vectors).
 */
export function readAuthenticatorData(bytes: Buffer): AuthenticatorData {
  if (bytes.byteLength < COUNTER_END) refuse('malformed', 'authenticator data is shorter than 37 bytes');
  return { rpIdHash: bytes.subarray(0, RP_ID_HASH_END), counter: bytes.readUInt32BE(COUNTER_START) };
}

/** Reads an attestation's authenticator data, which must carry attested credential data. */
export function readAttestedAuthenticatorData(bytes: Buffer): AttestedAuthenticatorData {
  if (bytes.byteLength < CREDENTIAL_ID_START) {
    refuse('malformed', 'authenticator data is too short to hold attested credential data');
  }
  const credentialIdLength = bytes.readUInt16BE(AAGUID_END);
  const credentialIdEnd = CREDENTIAL_ID_START + credentialIdLength;
  if (bytes.byteLength < credentialIdEnd) refuse('malformed', 'authenticator data ends inside the credential id');
  return {
    ...readAuthenticatorData(bytes),
    aaguid: bytes.subarray(COUNTER_END, AAGUID_END),
    credentialId: bytes.subarray(CREDENTIAL_ID_START, credentialIdEnd),
  };
}
