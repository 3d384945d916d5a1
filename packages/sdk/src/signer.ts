/**
 * Whatever signs for the install key: a WebCrypto key the SDK holds, or a key the platform keeps
 * (Secure Enclave, Android Keystore) behind a bridge. Either way every signature comes out as the
 * IEEE P1363 r‖s the protocol wants, s in its low form, and a failure is an AttestorError naming the part that failed.
 */
import type { InstallPublicJwk } from '@attestor/contracts/protocol';
import { AttestorError, describeError, type AttestorErrorCode } from './errors';
import type { InstallKey } from './install-key';
import { subtle, toLowS } from './protocol';

/** The install key as the exchange and the request proofs use it. */
export interface InstallSigner {
  readonly publicJwk: InstallPublicJwk;
  /** ES256 over `message`: IEEE P1363 r‖s, 64 bytes. Throws AttestorError only. */
  sign(message: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A key the SDK holds: WebCrypto already signs in P1363; s is normalised to its low form (PROTOCOL.md §4.4). */
export function softwareSigner(key: InstallKey): InstallSigner {
  return {
    publicJwk: key.publicJwk,
    sign: async (message) => {
      try {
        return toLowS(new Uint8Array(await subtle().sign(ES256, key.privateKey, message)));
      } catch (error) {
        throw new AttestorError('local_error', `signing with the install key failed: ${describeError(error)}`, { cause: error });
      }
    },
  };
}

/** Who signs, for messages and error codes: a platform install key fails as local_error, a hardware provider as hardware_error. */
export interface SignerOrigin {
  readonly code: AttestorErrorCode;
  /** e.g. "the hardware provider's sign()". */
  readonly what: string;
}

/**
 * A key a platform keeps and signs with. Platforms disagree on the signature's form (Java, SecKey
 * and OpenSSL give DER, CryptoKit's rawRepresentation and WebCrypto P1363), so both are taken.
 * Each signature is checked against the public key before it is used: a bridge that signs with
 * another key or hashes twice would otherwise only ever show as decoy tokens (PROTOCOL.md §5.3).
 */
export function platformSigner(publicJwk: InstallPublicJwk, sign: (message: Uint8Array) => Promise<Uint8Array>, origin: SignerOrigin): InstallSigner {
  let verifier: Promise<CryptoKey> | undefined;
  const verifyKey = () =>
    (verifier ??= subtle()
      .importKey('jwk', { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y }, ECDSA_P256, false, ['verify'])
      .catch((error: unknown) => {
        verifier = undefined;
        throw new AttestorError(origin.code, `the public key that goes with ${origin.what} is not a P-256 key: ${describeError(error)}`, { cause: error });
      }));
  return {
    publicJwk,
    sign: async (message) => {
      let signature: unknown;
      try {
        signature = await sign(message);
      } catch (error) {
        throw new AttestorError(origin.code, `${origin.what} failed: ${describeError(error)}`, { cause: error });
      }
      if (!(signature instanceof Uint8Array)) throw new AttestorError(origin.code, `${origin.what} must resolve to the signature's bytes (a Uint8Array)`);
      const key = await verifyKey();
      for (const candidate of p1363Candidates(signature)) {
        // Platforms return either s; the service accepts only the low one.
        if (await subtle().verify(ES256, key, candidate, message)) return toLowS(candidate);
      }
      const expected = 'ECDSA P-256 with SHA-256 over the message, by the key whose public half it reported, as DER or IEEE P1363';
      throw new AttestorError(origin.code, `${origin.what} returned a signature that does not verify (it must be ${expected})`);
    },
  };
}

/**
 * The P1363 forms a signature may stand for. 64 bytes is read as P1363 first: a DER signature of
 * exactly 64 bytes needs r and s both well below 2^248 (odds near 2^-50), and the check against
 * the public key settles it either way.
 */
function p1363Candidates(signature: Uint8Array): Uint8Array<ArrayBuffer>[] {
  const der = derToP1363(signature);
  const raw = signature.length === 64 ? [new Uint8Array(signature)] : [];
  return der ? [...raw, der] : raw;
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279) to r‖s, each left-padded to 32 bytes; undefined if not that. */
function derToP1363(der: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
  // A P-256 signature is at most 2 + 2 × 35 = 72 bytes, so only the short length form is DER here.
  if (der[0] !== 0x30 || der[1] !== der.length - 2 || der.length > 72) return undefined;
  const out = new Uint8Array(64);
  let i = 2;
  for (const offset of [0, 32]) {
    const length = der[i + 1];
    if (der[i] !== 0x02 || length === undefined || length === 0 || length > 33 || i + 2 + length > der.length) return undefined;
    let integer = der.subarray(i + 2, i + 2 + length);
    i += 2 + length;
    // Negative integers are no ECDSA values; a leading zero is how DER keeps r or s ≥ 2^255 positive.
    if ((integer[0]! & 0x80) !== 0) return undefined;
    while (integer.length > 1 && integer[0] === 0) integer = integer.subarray(1);
    if (integer.length > 32) return undefined;
    out.set(integer, offset + 32 - integer.length);
  }
  return i === der.length ? out : undefined;
}
