/**
 * ECDSA signature encodings. KMS returns ASN.1 DER (SEQUENCE { r INTEGER, s INTEGER }); JWS ES256
 * needs the fixed-width IEEE P1363 form r||s (RFC 7518 §3.4). Getting this wrong yields tokens that
 * verify in some libraries and not others, so the conversion is strict.
 */
import { ServiceError } from './errors';

const P256_SCALAR_BYTES = 32;

export class SignatureEncodingError extends ServiceError {
  override readonly name = 'SignatureEncodingError';
  override readonly code = 'signature_encoding_invalid';
}

export function derToP1363(der: Uint8Array, scalarBytes = P256_SCALAR_BYTES): Buffer {
  let offset = 0;
  const expect = (cond: boolean, what: string): void => {
    if (!cond) throw new SignatureEncodingError(`malformed DER ECDSA signature: ${what}`);
  };
  expect(der[offset++] === 0x30, 'not a SEQUENCE');
  let seqLen = der[offset++] ?? -1;
  if (seqLen === 0x81) {
    seqLen = der[offset++] ?? -1;
    expect(seqLen >= 0x80, 'non-minimal length');
  }
  expect(seqLen === der.length - offset, 'sequence length');
  const readInt = (): Buffer => {
    expect(der[offset++] === 0x02, 'not an INTEGER');
    const len = der[offset++] ?? -1;
    expect(len > 0 && offset + len <= der.length, 'integer length');
    let bytes = Buffer.from(der.subarray(offset, offset + len));
    offset += len;
    expect(((bytes[0] ?? 0) & 0x80) === 0, 'negative INTEGER');
    expect(!(bytes.length > 1 && bytes[0] === 0x00 && ((bytes[1] ?? 0) & 0x80) === 0), 'non-minimal INTEGER');
    while (bytes.length > 1 && bytes[0] === 0x00) bytes = bytes.subarray(1);
    expect(bytes.length <= scalarBytes, 'integer too large');
    const out = Buffer.alloc(scalarBytes);
    bytes.copy(out, scalarBytes - bytes.length);
    return out;
  };
  const r = readInt();
  const s = readInt();
  expect(offset === der.length, 'trailing bytes');
  return Buffer.concat([r, s]);
}

export function p1363ToDer(sig: Uint8Array, scalarBytes = P256_SCALAR_BYTES): Buffer {
  if (sig.length !== scalarBytes * 2) throw new SignatureEncodingError('P1363 signature has the wrong length');
  const int = (half: Uint8Array): Buffer => {
    let i = 0;
    while (i < half.length - 1 && half[i] === 0) i++;
    let body = Buffer.from(half.subarray(i));
    if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const r = int(sig.subarray(0, scalarBytes));
  const s = int(sig.subarray(scalarBytes));
  const len = r.length + s.length;
  const header = len < 0x80 ? Buffer.from([0x30, len]) : Buffer.from([0x30, 0x81, len]);
  return Buffer.concat([header, r, s]);
}
