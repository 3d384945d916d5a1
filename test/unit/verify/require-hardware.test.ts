/**
 * `requireHardware`: the verify library's option, the engine (core/verifier.ts) behind it and the
 * middleware: a token is let in only with an accepted `hw` claim, whichever path verifies it
 * (first sight or the verified-token cache), before anything is consumed from the replay ledger.
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ALL_HARDWARE_KINDS,
  acceptedHardwareKinds,
  hardwareRequirementFromText,
  hardwareRequirementText,
} from '../../../packages/contracts/src/hardware-requirement';
import { attestorMiddleware, createVerifier, InMemoryReplayLedger, type TokenSecretSet, type VerifierOptions } from '../../../packages/verify/src/index';
import { AttestationVerifier, EnforcementConfigurationError } from '../../../packages/verify/src/core/verifier';
import { ManualClock } from '../../support/memory';
import { ISSUER, TENANT, claimsAt, codeOf, forge, hs256 } from '../core/helpers';

const key = randomBytes(32);
const SECRETS: TokenSecretSet = { keys: [{ kty: 'oct', kid: 'k1', alg: 'HS256', k: key.toString('base64url') }] };
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock();
});

const token = (claims: Record<string, unknown> = {}) =>
  forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now, { jti: randomBytes(16).toString('base64url'), ...claims }), hs256(createSecretKey(key)));
const verifierWith = (extra: Partial<VerifierOptions>) => createVerifier({ issuer: ISSUER, secrets: SECRETS, clock, ...extra });

describe('createVerifier requireHardware', () => {
  test.each<[string, VerifierOptions['requireHardware'], Record<string, string | undefined>]>([
    ['true', true, { 'app-attest': 'valid', 'android-key': 'valid', none: 'hardware_missing' }],
    ["['app-attest']", ['app-attest'], { 'app-attest': 'valid', 'android-key': 'hardware_missing', none: 'hardware_missing' }],
    ["['android-key']", ['android-key'], { 'app-attest': 'hardware_missing', 'android-key': 'valid', none: 'hardware_missing' }],
    ['false', false, { 'app-attest': 'valid', 'android-key': 'valid', none: 'valid' }],
    ['left out', undefined, { 'app-attest': 'valid', 'android-key': 'valid', none: 'valid' }],
  ])('%s: which hw claims get in', async (_what, requireHardware, expected) => {
    // Prepare
    const verifier = verifierWith(requireHardware === undefined ? {} : { requireHardware });
    // Act
    const outcome = async (hw: string | undefined) =>
      verifier.verify(token(hw === undefined ? {} : { hw })).then(
        () => 'valid',
        async (e: unknown) => codeOf(Promise.reject(e)),
      );
    const results = { 'app-attest': await outcome('app-attest'), 'android-key': await outcome('android-key'), none: await outcome(undefined) };
    // Assess
    expect(results).toEqual(expected);
  });

  test('the message says what the token rests on and what the API requires', async () => {
    const verifier = verifierWith({ requireHardware: ['app-attest'] });
    await expect(verifier.verify(token())).rejects.toMatchObject({
      code: 'hardware_missing',
      message: 'token rests on no hardware evidence; this API requires app-attest',
    });
    await expect(verifier.verify(token({ hw: 'android-key' }))).rejects.toMatchObject({
      code: 'hardware_missing',
      message: 'token rests on android-key evidence; this API requires app-attest',
    });
    // An hw claim the protocol does not define is not a kind anyone accepts.
    await expect(codeOf(verifierWith({ requireHardware: true }).verify(token({ hw: 'tpm' })))).resolves.toBe('hardware_missing');
  });

  test('a token refused once is refused again from the verified-token cache', async () => {
    // Prepare: one verifier without the requirement fills the shared cache; one with it must still refuse.
    const shared = { issuer: ISSUER, secrets: SECRETS };
    const t = forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(Math.floor(Date.now() / 1000)), hs256(createSecretKey(key)));
    // Act / Assess
    await expect(createVerifier(shared).verify(t)).resolves.toMatchObject({ sub: 'com.example.app' });
    await expect(codeOf(createVerifier({ ...shared, requireHardware: true }).verify(t))).resolves.toBe('hardware_missing');
    const strict = createVerifier({ ...shared, requireHardware: true });
    for (let i = 0; i < 2; i++) await expect(codeOf(strict.verify(t))).resolves.toBe('hardware_missing');
  });

  test('a refused token is not consumed: single use still lets it in where hardware is not required', async () => {
    const ledger = new InMemoryReplayLedger({ clock });
    const t = token();
    await expect(codeOf(verifierWith({ requireHardware: true, limitedUse: true, replayStore: ledger }).verify(t))).resolves.toBe('hardware_missing');
    await expect(verifierWith({ limitedUse: true, replayStore: ledger }).verify(t)).resolves.toMatchObject({ jti: expect.any(String) });
  });

  test.each<[string, unknown, RegExp]>([
    ['an empty list', [], /^requireHardware must not be an empty list: it would deny every token \(false, the default, requires no hardware\)$/],
    [
      'an unknown kind',
      ['app-attest', 'safetynet'],
      /^requireHardware names "safetynet", which is not a kind of hardware evidence: use app-attest or android-key$/,
    ],
    ['a kind twice', ['android-key', 'android-key'], /^requireHardware names android-key twice$/],
    ['a string', 'app-attest', /^requireHardware must be true, false or a list of app-attest, android-key$/],
  ])('refuses %s when created, with a TypeError naming the option', (_what, requireHardware, message) => {
    expect(() => verifierWith({ requireHardware: requireHardware as never })).toThrow(TypeError);
    expect(() => verifierWith({ requireHardware: requireHardware as never })).toThrow(message);
  });
});

describe('AttestationVerifier (the engine the authorizer runs)', () => {
  const engine = (requireHardware: unknown) =>
    new AttestationVerifier({
      keys: { keys: async () => ({ publicKeys: new Map(), secrets: [{ kid: 'k1', key: createSecretKey(key) }] }) },
      tenantId: TENANT,
      issuer: ISSUER,
      clock,
      requireHardware: requireHardware as never,
    });

  test('lets in only the accepted kinds', async () => {
    const verifier = engine(['android-key']);
    await expect(verifier.verify(token({ hw: 'android-key' }))).resolves.toMatchObject({ hw: 'android-key' });
    await expect(codeOf(verifier.verify(token({ hw: 'app-attest' })))).resolves.toBe('hardware_missing');
  });

  test('refuses an unusable requirement as a configuration error', () => {
    expect(() => engine([])).toThrow(EnforcementConfigurationError);
    expect(() => engine(['x'])).toThrow(/^requireHardware names "x"/);
  });
});

describe('middleware', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('denies a token without an accepted hw with 401 and code hardware_missing, and lets one with it through', async () => {
    // Prepare
    const middleware = attestorMiddleware({ issuer: ISSUER, secrets: SECRETS, clock, requireHardware: ['app-attest'] });
    server = createServer((req, res) => middleware(req, res, () => res.end('through')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
    // Act
    const denied = await fetch(url, { headers: { 'Attestor-Token': token({ hw: 'android-key' }) } });
    const passed = await fetch(url, { headers: { 'Attestor-Token': token({ hw: 'app-attest' }) } });
    // Assess
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({
      error: 'attestation_failed',
      code: 'hardware_missing',
      message: 'token rests on android-key evidence; this API requires app-attest',
    });
    expect(passed.status).toBe(200);
    expect(await passed.text()).toBe('through');
  });
});

describe('the shared requirement parser (contracts/hardware-requirement.ts)', () => {
  test('text and option forms mean the same, and the construct writes what the function reads', () => {
    expect(hardwareRequirementFromText(undefined)).toBeUndefined();
    expect(hardwareRequirementFromText('false')).toBeUndefined();
    expect(hardwareRequirementFromText('true')).toEqual(ALL_HARDWARE_KINDS);
    expect(hardwareRequirementFromText('app-attest, android-key')).toEqual(['app-attest', 'android-key']);
    for (const requirement of [true, ['app-attest'], ['android-key'], ['android-key', 'app-attest'], false] as const) {
      const kinds = acceptedHardwareKinds(requirement);
      expect(hardwareRequirementFromText(hardwareRequirementText(kinds))).toEqual(kinds);
    }
    expect(() => hardwareRequirementFromText('true,app-attest')).toThrow(/names "true", which is not a kind of hardware evidence/);
  });
});
