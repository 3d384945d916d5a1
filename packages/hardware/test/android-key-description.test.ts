import { join } from 'node:path';
import { parseAndroidKeyDescription, type KeyDescriptionRecord } from '../src';
import { outcomeOf } from './support/codes';
import { ANDROID_VECTORS, androidDeviceVectors, readPemChain } from './support/vectors';

/** The Kotlin model defaults areTagsOrdered to true, so the test data writes it only sometimes. */
function withKotlinDefaults(record: unknown): KeyDescriptionRecord {
  const copy = structuredClone(record) as KeyDescriptionRecord;
  copy.softwareEnforced.areTagsOrdered ??= true;
  copy.hardwareEnforced.areTagsOrdered ??= true;
  return copy;
}

function leafOf(file: string): Uint8Array {
  const [leaf] = readPemChain(join(ANDROID_VECTORS, file));
  if (!leaf) throw new Error(`${file} holds no certificate`);
  return leaf;
}


describe('parseAndroidKeyDescription on real devices (conformance with android/keyattestation)', () => {
  const vectors = androidDeviceVectors();

  it('finds every device vector', () => {
    // Prepare / Act: the loader walks <model>/sdk<N>/*.pem like the Kotlin tests do.
    const names = vectors.map((vector) => vector.name);

    // Assess: 21 chains from 7 models, none skipped silently.
    expect(names).toHaveLength(21);
    expect(names).toContain('tokay/sdk37/TEE_MLDSA_RKP.pem');
    expect(names).toContain('sony-xperia10-iii/sdk33/TEE_EC.pem');
  });

  it.each(vectors.map((vector) => [vector.name, vector] as const))('%s parses to exactly its .json', (_name, vector) => {
    // Prepare
    const [leaf] = vector.chain;

    // Act
    const record = parseAndroidKeyDescription(leaf as Uint8Array);

    // Assess
    expect(record).toStrictEqual(withKotlinDefaults(vector.record));
  });
});

describe('parseAndroidKeyDescription on special cases', () => {
  it('keeps allowWhileOnBody, a tag the Kotlin model drops', () => {
    // Act
    const record = parseAndroidKeyDescription(leafOf('allow_while_on_body.pem'));

    // Assess
    expect(record.softwareEnforced.allowWhileOnBody ?? record.hardwareEnforced.allowWhileOnBody).toBe(true);
  });

  it('reports out-of-order tags instead of hiding them', () => {
    // Act
    const record = parseAndroidKeyDescription(leafOf('invalid/tags_not_in_ascending_order.pem'));

    // Assess: parsing stays lenient like the reference; verification refuses (see verifier tests).
    expect(record.hardwareEnforced.areTagsOrdered).toBe(false);
    expect(record.softwareEnforced.areTagsOrdered).toBe(true);
  });

  it('reads a BER-encoded deviceLocked as the reference parser does', () => {
    // Act
    const record = parseAndroidKeyDescription(leafOf('invalid/malformed_rot_device_locked.pem'));

    // Assess
    expect(record.hardwareEnforced.rootOfTrust?.deviceLocked).toBe(true);
  });

  it('refuses an extension that is not a KeyDescription as malformed', () => {
    // Act / Assess: this test-only leaf carries a placeholder extension.
    expect(outcomeOf(() => parseAndroidKeyDescription(leafOf('p256_sha384_intermediate.pem')))).toBe('malformed');
  });

  it('refuses a certificate without the extension as extension_missing', () => {
    // Prepare
    const [, intermediate] = readPemChain(join(ANDROID_VECTORS, 'akita/sdk34/TEE_EC_NONE.pem'));

    // Act / Assess
    expect(outcomeOf(() => parseAndroidKeyDescription(intermediate as Uint8Array))).toBe('extension_missing');
  });

  it('refuses bytes that are not a certificate as malformed', () => {
    // Act / Assess
    expect(outcomeOf(() => parseAndroidKeyDescription(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])))).toBe('malformed');
    expect(outcomeOf(() => parseAndroidKeyDescription('not bytes' as unknown as Uint8Array))).toBe('malformed');
  });
});
