import { decodeCBOR, type CBORType } from '@levischuck/tiny-cbor';
import { isBytes } from '../bytes';
import { attempt, refuse } from '../errors';

/** Decodes one CBOR item that must fill `bytes` exactly and be a map with text keys. */
export function decodeCborMap(bytes: Buffer, what: string): Map<string | number, CBORType> {
  // tiny-cbor accepts only a plain Uint8Array or DataView; a DataView also covers Buffer.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const item = attempt('malformed', `${what} is not well-formed CBOR`, () => decodeCBOR(view));
  if (!(item instanceof Map)) return refuse('malformed', `${what} is not a CBOR map`);
  return item;
}

export function cborBytes(map: Map<string | number, CBORType>, key: string, what: string): Buffer {
  const value = map.get(key);
  if (!isBytes(value)) return refuse('malformed', `${what} has no byte string "${key}"`);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function cborMap(
  map: Map<string | number, CBORType>,
  key: string,
  what: string,
): Map<string | number, CBORType> {
  const value = map.get(key);
  if (!(value instanceof Map)) return refuse('malformed', `${what} has no map "${key}"`);
  return value;
}
