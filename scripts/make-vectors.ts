/**
 * Generates test/vectors/protocol-v2.json, the known-answer vectors of protocol 2: the client's
 * computations (unchanged since protocol 1, labels included), the hs256 token format and the
 * hardware challenges of version 2.1 (PROTOCOL.md §5.5).
 *
 *   npx tsx scripts/make-vectors.ts            # writes the file
 *   npx tsx scripts/make-vectors.ts --check    # exits 1 if the deterministic parts of the file differ
 *
 * Deliberately written from PROTOCOL.md with node:crypto alone, importing neither src/core nor
 * src/sdk: vectors produced by the code under test would only prove the code agrees with itself.
 * Everything is deterministic except `installProof`, because ECDSA signing is randomized; verifiers
 * check that it verifies, never byte equality. A proof already in the file that still verifies (in
 * low-s form, §4.4) is kept, so regenerating changes only what the spec changed. Tokens are HMAC-SHA256, so they are exact.
 */
import { createECDH, createHash, createHmac, createPrivateKey, sign, verify } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OUT = join(__dirname, '..', 'test', 'vectors', 'protocol-v2.json');
const MEASUREMENT_LABEL = 'attestor-measurement-v1';
const INSTALL_PROOF_LABEL = 'attestor-install-v1';
const HARDWARE_LABEL = 'attestor-hardware-v1';

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();
const NUL = Buffer.from([0]);

/** PROTOCOL.md §4.4: s ≤ n/2, where n is the order of P-256's base point. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const sOf = (signature: Buffer) => BigInt(`0x${signature.subarray(32).toString('hex')}`);
const isLowS = (signature: Buffer) => signature.length === 64 && sOf(signature) <= P256_ORDER / 2n;
/** (r, n − s) for a high s: the same signature in the only form verifiers accept. */
function toLowS(signature: Buffer): Buffer {
  if (isLowS(signature)) return signature;
  return Buffer.concat([signature.subarray(0, 32), Buffer.from((P256_ORDER - sOf(signature)).toString(16).padStart(64, '0'), 'hex')]);
}

/** The file as it is, for the proofs worth keeping. */
const previous: { cases?: { name: string; expected: { installProof: string } }[] } = existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : {};

/** A P-256 private key from a fixed seed, as a JWK with d, x and y. Test keys only. */
function installKeyFromSeed(seed: string) {
  const d = sha256(`attestor test install key: ${seed}`);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(); // 0x04 || x || y
  return { kty: 'EC' as const, crv: 'P-256' as const, x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33, 65)), d: b64u(d) };
}

interface CaseInput {
  readonly name: string;
  readonly description: string;
  readonly nonce: Buffer;
  readonly appId: string;
  readonly appVersion: string;
  readonly packageBytes: Buffer;
  readonly keySeed: string;
}

function makeCase(input: CaseInput) {
  const installKey = installKeyFromSeed(input.keySeed);
  const packageDigest = sha256(input.packageBytes);
  const measurementMessage = Buffer.concat([
    Buffer.from(MEASUREMENT_LABEL, 'utf8'),
    NUL,
    Buffer.from(input.appId, 'utf8'),
    NUL,
    Buffer.from(input.appVersion, 'utf8'),
    NUL,
    packageDigest,
  ]);
  const measurement = createHmac('sha256', input.nonce).update(measurementMessage).digest();
  const installProofMessage = Buffer.concat([Buffer.from(INSTALL_PROOF_LABEL, 'utf8'), NUL, input.nonce, measurement]);
  const publicJwk = { kty: installKey.kty, crv: installKey.crv, x: installKey.x, y: installKey.y };
  const thumbprintInput = `{"crv":"${publicJwk.crv}","kty":"${publicJwk.kty}","x":"${publicJwk.x}","y":"${publicJwk.y}"}`;
  const privateKey = createPrivateKey({ key: installKey, format: 'jwk' });
  const kept = previous.cases?.find((c) => c.name === input.name)?.expected.installProof;
  const keptProof = kept === undefined ? undefined : Buffer.from(kept, 'base64url');
  const verifies = (proof: Buffer) => verify('sha256', installProofMessage, { key: privateKey, dsaEncoding: 'ieee-p1363' }, proof);
  const reusable = keptProof !== undefined && isLowS(keptProof) && verifies(keptProof);
  const installProof = reusable ? keptProof : toLowS(sign('sha256', installProofMessage, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  if (!verify('sha256', installProofMessage, { key: privateKey, dsaEncoding: 'ieee-p1363' }, installProof))
    throw new Error(`${input.name}: proof does not verify`);
  if (!isLowS(installProof)) throw new Error(`${input.name}: proof is not in low-s form`);
  return {
    name: input.name,
    description: input.description,
    input: {
      nonce: b64u(input.nonce),
      appId: input.appId,
      appVersion: input.appVersion,
      packageBytesHex: input.packageBytes.toString('hex'),
      installKey,
    },
    expected: {
      packageDigest: b64u(packageDigest),
      packageDigestHex: packageDigest.toString('hex'),
      measurementMessageHex: measurementMessage.toString('hex'),
      measurement: b64u(measurement),
      installProofMessageHex: installProofMessage.toString('hex'),
      installKeyPublic: publicJwk,
      thumbprintInput,
      thumbprint: b64u(sha256(thumbprintInput)),
      installProof: b64u(installProof),
    },
  };
}

const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const cases = [
  makeCase({
    name: 'basic',
    description: 'A typical request: the worked example of PROTOCOL.md.',
    nonce: ascending,
    appId: 'com.example.app',
    appVersion: '1.0.0',
    packageBytes: Buffer.from('attestor test package v1\n', 'utf8'),
    keySeed: 'basic',
  }),
  makeCase({
    name: 'max-lengths',
    description:
      'appId of exactly 255 characters and appVersion of exactly 64, using every character class validation.ts allows; nonce of 0xff bytes; package of ' +
        'the 256 byte values.',
    nonce: Buffer.alloc(32, 0xff),
    appId: `org.Example_9.sub-domain.${'x'.repeat(255 - 'org.Example_9.sub-domain.'.length)}`,
    appVersion: `10.20.30-rc_1+build.${'7'.repeat(64 - '10.20.30-rc_1+build.'.length)}`,
    packageBytes: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    keySeed: 'max-lengths',
  }),
  makeCase({
    name: 'minimal',
    description:
      'Shortest valid appId ("a.b") and appVersion ("0"); nonce of zero bytes; package of one 0x00 byte, so the message ends in a digest that follows ' +
        'a 0x00 separator.',
    nonce: Buffer.alloc(32, 0),
    appId: 'a.b',
    appVersion: '0',
    packageBytes: Buffer.from([0]),
    keySeed: 'minimal',
  }),
  // Without the 0x00 separators these two would measure the same text, "com.example.app11.0":
  // the pair shows the separators are there and where.
  makeCase({
    name: 'separators-a',
    description:
      'appId "com.example.app", appVersion "11.0". Pairs with separators-b: without 0x00 separators both would measure "com.example.app11.0"; with ' +
        'them the measurements differ.',
    nonce: ascending,
    appId: 'com.example.app',
    appVersion: '11.0',
    packageBytes: Buffer.from('attestor test package v1\n', 'utf8'),
    keySeed: 'basic',
  }),
  makeCase({
    name: 'separators-b',
    description: 'appId "com.example.app1", appVersion "1.0". See separators-a.',
    nonce: ascending,
    appId: 'com.example.app1',
    appVersion: '1.0',
    packageBytes: Buffer.from('attestor test package v1\n', 'utf8'),
    keySeed: 'basic',
  }),
];

const basic = cases[0]!;

/**
 * An hs256 token as PROTOCOL.md §5.2 lays it out: header and claims are JSON without whitespace, in
 * the member order shown there, and the signature is HMAC-SHA256 of the first two segments.
 */
function makeToken(name: string, description: string, secretSeed: string, claims: Record<string, unknown>) {
  const secret = sha256(`attestor test token secret: ${secretSeed}`);
  const header = b64u(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), 'utf8'));
  const payload = b64u(Buffer.from(JSON.stringify(claims), 'utf8'));
  const signingInput = `${header}.${payload}`;
  const signature = b64u(createHmac('sha256', secret).update(signingInput, 'ascii').digest());
  return {
    name,
    description,
    input: { secret: b64u(secret), claims },
    expected: { header, claims: payload, signingInput, signature, token: `${signingInput}.${signature}` },
  };
}

const did = basic.expected.thumbprint;
const tokens = [
  makeToken('hs256-basic', 'The token of the worked example: issued at 1800000000 with the default 300 s lifetime.', 'basic', {
    iss: 'attestor',
    sub: basic.input.appId,
    iat: 1_800_000_000,
    exp: 1_800_000_300,
    jti: 'QkJCQkJCQkJCQkJCQkJCQg',
    ver: basic.input.appVersion,
    did,
    cnf: { jkt: did },
  }),
  makeToken('hs256-bound-single-use', 'With binding (pay) and limitedUse (lut), which come last, in that order.', 'basic', {
    iss: 'attestor',
    sub: basic.input.appId,
    iat: 1_800_000_000,
    exp: 1_800_000_300,
    jti: 'Q0NDQ0NDQ0NDQ0NDQ0NDQw',
    ver: basic.input.appVersion,
    did,
    cnf: { jkt: did },
    pay: b64u(sha256('Bearer user-token-42')),
    lut: true,
  }),
  makeToken(
    'hs256-other-secret',
    'The claims of hs256-basic under another secret: the same header and claims, a different signature. A verifier holding only the hs256-basic secret ' +
      'must refuse it (this is what a decoy is).',
    'another tenant',
    {
      iss: 'attestor',
      sub: basic.input.appId,
      iat: 1_800_000_000,
      exp: 1_800_000_300,
      jti: 'QkJCQkJCQkJCQkJCQkJCQg',
      ver: basic.input.appVersion,
      did,
      cnf: { jkt: did },
    },
  ),
];

/**
 * The hardware challenges of PROTOCOL.md §5.5 for a case's nonce and install key:
 *   androidChallenge = SHA-256(label 0x00 nonce)
 *   clientDataHash   = SHA-256(label 0x00 nonce thumbprint), the thumbprint as its 32 raw bytes.
 */
function makeHardwareCase(c: (typeof cases)[number], description: string) {
  const nonce = Buffer.from(c.input.nonce, 'base64url');
  const thumbprint = sha256(c.expected.thumbprintInput);
  const androidChallengeMessage = Buffer.concat([Buffer.from(HARDWARE_LABEL, 'utf8'), NUL, nonce]);
  const clientData = Buffer.concat([Buffer.from(HARDWARE_LABEL, 'utf8'), NUL, nonce, thumbprint]);
  return {
    name: c.name,
    description,
    input: { nonce: c.input.nonce, installKey: c.expected.installKeyPublic },
    expected: {
      thumbprint: b64u(thumbprint),
      androidChallengeMessageHex: androidChallengeMessage.toString('hex'),
      androidChallenge: b64u(sha256(androidChallengeMessage)),
      androidChallengeHex: sha256(androidChallengeMessage).toString('hex'),
      clientDataHex: clientData.toString('hex'),
      clientDataHash: b64u(sha256(clientData)),
      clientDataHashHex: sha256(clientData).toString('hex'),
    },
  };
}

const caseNamed = (name: string) => cases.find((c) => c.name === name)!;
const hardware = {
  description: [
    'The hardware challenges of protocol 2.1 (PROTOCOL.md §5.5) for the nonce and install key of the case of the same name:',
    'androidChallenge = SHA-256(label 0x00 nonce), the Android attestation challenge;',
    'clientDataHash = SHA-256(label 0x00 nonce thumbprint), what App Attest signs, with the thumbprint as 32 raw bytes.',
  ].join(' '),
  label: HARDWARE_LABEL,
  cases: [
    makeHardwareCase(caseNamed('basic'), 'The nonce 00 01 … 1f and install key of the worked example.'),
    makeHardwareCase(caseNamed('max-lengths'), 'A nonce of 0xff bytes and another install key.'),
    makeHardwareCase(caseNamed('minimal'), 'An all-zero nonce: the challenge still differs from SHA-256 of the nonce alone, since the label comes first.'),
  ],
};

const vectors = {
  protocol: 2,
  description:
    'Known-answer vectors of Attestor protocol 2 (PROTOCOL.md). Binary values are base64url without padding unless the member name ends in Hex. ' +
      'installProof is one valid ES256 (P1363 r||s) signature: ECDSA is randomized, so check that it verifies, not that a new one is equal. Tokens are ' +
      'exact. The install keys and token secrets are TEST KEYS derived from public seeds: never use them for anything else.',
  generatedBy: 'npx tsx scripts/make-vectors.ts',
  labels: { measurement: MEASUREMENT_LABEL, installProof: INSTALL_PROOF_LABEL },
  cases,
  exampleAttestRequest: {
    nonce: basic.input.nonce,
    appId: basic.input.appId,
    appVersion: basic.input.appVersion,
    measurement: basic.expected.measurement,
    installKey: basic.expected.installKeyPublic,
    installProof: basic.expected.installProof,
    device: { platform: 'android', osVersion: '14', model: 'Pixel 8', signals: { rooted: false, emulator: false, debugger: false, hooked: false } },
    sdkVersion: '0.1.0',
  },
  tokens,
  hardware,
};

/** The file minus the randomized signatures, for --check. */
function deterministic(v: unknown): string {
  return JSON.stringify(v, (key, value: unknown) => (key === 'installProof' ? '<random>' : value));
}

if (process.argv.includes('--check')) {
  const current: unknown = JSON.parse(readFileSync(OUT, 'utf8'));
  if (deterministic(current) !== deterministic(vectors)) {
    console.error(`${OUT} is out of date: run npx tsx scripts/make-vectors.ts`);
    process.exit(1);
  }
  console.log(`${OUT} is up to date`);
} else {
  writeFileSync(OUT, `${JSON.stringify(vectors, null, 2)}\n`);
  console.log(`wrote ${cases.length} cases to ${OUT}`);
}
