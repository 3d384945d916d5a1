/**
 * App identities and the hardware part of policies through the adminCatalog handler (API Gateway's
 * event shape, in-memory registry): what is stored and shown, and every bad value of every field
 * refused with 400 naming it, the stored state unchanged.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DEFAULT_HARDWARE_POLICY } from '../../../packages/contracts/src/admin-api';
import { appIdentitySchema, certificateDigestHex, policySchema } from '../../../packages/contracts/src/admin-validation';
import { checkValue, parseRequest } from '../../../packages/contracts/src/validation';
import { resolveAdminCaller } from '../../../packages/service/src/core/tenancy';
import { adminCatalogHandler } from '../../../packages/service/src/handlers/admin-catalog';
import type { AdminCatalogDeps } from '../../../packages/service/src/handlers/admin/context';
import { silentLogger } from '../../../packages/service/src/handlers/log';
import { ManualClock, MemoryRegistry, registryPorts } from '../../support/memory';

const ROLE = 'arn:aws:iam::123456789012:role/Deployer';
const OTHER = 'arn:aws:iam::123456789012:role/Globex';
const APP = 'com.example.app';
const DIGEST = '3fa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f';
/** The same digest as keytool prints it. */
const KEYTOOL = DIGEST.toUpperCase().match(/../g)!.join(':');
const IOS = { teamId: 'ABCDE12345', bundleId: 'com.example.app' };
const ANDROID = { packageName: 'com.example.app', signingCertificates: [DIGEST], minVersionCode: 120 };
const REJECT = { rooted: false, emulator: false, debugger: false, hooked: true };

function event(method: string, resource: string, body?: unknown, userArn = ROLE): APIGatewayProxyEvent {
  const sample = JSON.parse(readFileSync(join(__dirname, '../../fixtures/apigw-request.json'), 'utf8')) as APIGatewayProxyEvent;
  return {
    ...sample,
    httpMethod: method,
    resource,
    path: resource.replace('{appId}', APP),
    pathParameters: { appId: APP },
    queryStringParameters: null,
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
    requestContext: { ...sample.requestContext, identity: { ...sample.requestContext.identity, userArn } },
  };
}

function setup() {
  const registry = new MemoryRegistry();
  registry.principals.set(ROLE, { principal: ROLE, tenantId: 'acme', operator: false });
  registry.principals.set(OTHER, { principal: OTHER, tenantId: 'globex', operator: false });
  registry.apps.set(APP, { appId: APP, tenantId: 'acme', createdAt: 1 });
  const deps: AdminCatalogDeps = {
    ...registryPorts(registry),
    clock: new ManualClock(),
    random: { bytes: (n) => Buffer.alloc(n, 9) },
    defaultTenantId: 'default',
    callerOf: (e) =>
      resolveAdminCaller({ directory: registry.directory, operatorPrincipals: new Set(), defaultTenantId: 'default' }, e.requestContext?.identity?.userArn),
  };
  const handler = adminCatalogHandler(deps, silentLogger);
  const call = async (method: string, resource: string, body?: unknown, as?: string) => {
    const result = await handler(event(method, resource, body, as));
    return { status: result.statusCode, body: JSON.parse(result.body) as Record<string, unknown> };
  };
  return { registry, call };
}

const IDENTITY = '/v1/admin/apps/{appId}/identity';
const POLICY = '/v1/admin/apps/{appId}/policy';

describe('identity routes', () => {
  test('GET answers {} until an identity is set; PUT stores it and GET shows it', async () => {
    const { call, registry } = setup();
    expect(await call('GET', IDENTITY)).toEqual({ status: 200, body: {} });
    expect(await call('PUT', IDENTITY, { ios: IOS, android: ANDROID })).toEqual({ status: 200, body: { ios: IOS, android: ANDROID } });
    expect(await call('GET', IDENTITY)).toEqual({ status: 200, body: { ios: IOS, android: ANDROID } });
    expect((await registry.catalog.appSnapshot(APP)).identity).toEqual({ ios: IOS, android: ANDROID });
  });

  test('keytool digests are stored as lower-case hex', async () => {
    const { call, registry } = setup();
    const res = await call('PUT', IDENTITY, { android: { packageName: 'com.example.app', signingCertificates: [KEYTOOL, 'AB'.repeat(32)] } });
    expect(res).toEqual({ status: 200, body: { android: { packageName: 'com.example.app', signingCertificates: [DIGEST, 'ab'.repeat(32)] } } });
    expect(registry.identities.get(APP)?.android?.signingCertificates).toEqual([DIGEST, 'ab'.repeat(32)]);
  });

  test('PUT {} removes the identity', async () => {
    const { call, registry } = setup();
    await call('PUT', IDENTITY, { ios: IOS });
    expect(await call('PUT', IDENTITY, {})).toEqual({ status: 200, body: {} });
    expect(registry.identities.has(APP)).toBe(false);
  });

  test("another tenant's app is not found for GET and PUT, and PUT stores nothing", async () => {
    const { call, registry } = setup();
    const notFound = { status: 404, body: { error: 'not_found', message: `no app ${APP} in tenant globex` } };
    expect(await call('GET', IDENTITY, undefined, OTHER)).toEqual(notFound);
    expect(await call('PUT', IDENTITY, { ios: IOS }, OTHER)).toEqual(notFound);
    expect(registry.identities.size).toBe(0);
  });

  const long = (n: number) => `a${'.b'.repeat(Math.ceil(n / 2))}`.slice(0, n);
  test.each<[string, unknown, string, string]>([
    ['not an object', [], '', 'body must be a JSON object'],
    ['ios not an object', { ios: 'ABCDE12345.com.example.app' }, 'ios', 'ios must be an object {teamId, bundleId}'],
    ['ios without a team', { ios: { bundleId: 'com.example.app' } }, 'ios.teamId', 'ios.teamId is required'],
    [
      'a lower-case team id',
      { ios: { ...IOS, teamId: 'abcde12345' } },
      'ios.teamId',
      'ios.teamId must be an Apple Team ID: 10 upper-case letters and digits, e.g. ABCDE12345',
    ],
    [
      'a team id of 9 characters',
      { ios: { ...IOS, teamId: 'ABCDE1234' } },
      'ios.teamId',
      'ios.teamId must be an Apple Team ID: 10 upper-case letters and digits, e.g. ABCDE12345',
    ],
    ['a numeric team id', { ios: { ...IOS, teamId: 1234567890 } }, 'ios.teamId', 'ios.teamId must be a string'],
    ['ios without a bundle', { ios: { teamId: IOS.teamId } }, 'ios.bundleId', 'ios.bundleId is required'],
    ['an empty bundle id', { ios: { ...IOS, bundleId: '' } }, 'ios.bundleId', 'ios.bundleId must not be empty'],
    [
      'a bundle id with an underscore',
      { ios: { ...IOS, bundleId: 'com.example.my_app' } },
      'ios.bundleId',
      'ios.bundleId must be a bundle id: letters, digits, hyphens and dots, e.g. com.example.app',
    ],
    [
      'a bundle id with an empty segment',
      { ios: { ...IOS, bundleId: 'com..example' } },
      'ios.bundleId',
      'ios.bundleId must be a bundle id: letters, digits, hyphens and dots, e.g. com.example.app',
    ],
    ['a bundle id of 156 characters', { ios: { ...IOS, bundleId: long(156) } }, 'ios.bundleId', 'ios.bundleId must be at most 155 characters'],
    ['android not an object', { android: true }, 'android', 'android must be an object {packageName, signingCertificates, minVersionCode?}'],
    ['android without a package', { android: { signingCertificates: [DIGEST] } }, 'android.packageName', 'android.packageName is required'],
    [
      'a one-segment package',
      { android: { ...ANDROID, packageName: 'app' } },
      'android.packageName',
      expect.stringMatching(/^android\.packageName must be an Android package name: two or more/),
    ],
    [
      'a package segment starting with a digit',
      { android: { ...ANDROID, packageName: 'com.1example' } },
      'android.packageName',
      expect.stringMatching(/each a letter then letters, digits or _/),
    ],
    [
      'a package with a hyphen',
      { android: { ...ANDROID, packageName: 'com.my-app' } },
      'android.packageName',
      expect.stringMatching(/must be an Android package name/),
    ],
    [
      'a package of 256 characters',
      { android: { ...ANDROID, packageName: long(256) } },
      'android.packageName',
      'android.packageName must be at most 255 characters',
    ],
    ['no certificates', { android: { packageName: 'com.example.app' } }, 'android.signingCertificates', 'android.signingCertificates is required'],
    [
      'an empty certificate list',
      { android: { ...ANDROID, signingCertificates: [] } },
      'android.signingCertificates',
      'android.signingCertificates must list at least one signing certificate digest',
    ],
    [
      'six certificates',
      { android: { ...ANDROID, signingCertificates: ['1', '2', '3', '4', '5', '6'].map((c) => c.repeat(64)) } },
      'android.signingCertificates',
      'android.signingCertificates must list at most 5 signing certificate digests',
    ],
    [
      'a certificate digest of SHA-1 length',
      { android: { ...ANDROID, signingCertificates: ['ab'.repeat(20)] } },
      'android.signingCertificates.0',
      expect.stringMatching(/^android\.signingCertificates\.0 must be a SHA-256 certificate digest: 64 hex characters, or 32 colon-separated/),
    ],
    [
      'a digest with a stray colon',
      { android: { ...ANDROID, signingCertificates: [DIGEST, `${DIGEST.slice(0, 62)}:${DIGEST.slice(62)}`] } },
      'android.signingCertificates.1',
      expect.stringMatching(/must be a SHA-256 certificate digest/),
    ],
    [
      'a digest that is not hex',
      { android: { ...ANDROID, signingCertificates: ['g'.repeat(64)] } },
      'android.signingCertificates.0',
      expect.stringMatching(/must be a SHA-256 certificate digest/),
    ],
    [
      'a certificate listed twice in two spellings',
      { android: { ...ANDROID, signingCertificates: [DIGEST, KEYTOOL] } },
      'android.signingCertificates',
      'android.signingCertificates must not list a certificate twice',
    ],
    ['a negative minVersionCode', { android: { ...ANDROID, minVersionCode: -1 } }, 'android.minVersionCode', 'android.minVersionCode must be at least 0'],
    [
      'a fractional minVersionCode',
      { android: { ...ANDROID, minVersionCode: 1.5 } },
      'android.minVersionCode',
      'android.minVersionCode must be a whole number',
    ],
    ['a minVersionCode as a string', { android: { ...ANDROID, minVersionCode: '120' } }, 'android.minVersionCode', 'android.minVersionCode must be a number'],
    [
      'a minVersionCode above Play\'s limit',
      { android: { ...ANDROID, minVersionCode: 2_100_000_001 } },
      'android.minVersionCode',
      'android.minVersionCode must be at most 2100000000',
    ],
  ])('PUT refuses %s with 400 naming the field, and keeps the stored identity', async (_what, body, field, message) => {
    // Prepare
    const { call, registry } = setup();
    await call('PUT', IDENTITY, { ios: IOS });
    // Act
    const res = await call('PUT', IDENTITY, body);
    // Assess
    expect(res).toEqual({ status: 400, body: { error: 'invalid_request', ...(field ? { field } : {}), message } });
    expect(registry.identities.get(APP)).toEqual({ ios: IOS });
  });

  test('a body that is not JSON is a 400 and changes nothing', async () => {
    const { call, registry } = setup();
    const res = await call('PUT', IDENTITY, '{"ios":');
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('invalid_request');
    expect(registry.identities.size).toBe(0);
  });
});

describe('policy: hardware and measurement', () => {
  test('GET shows every setting, defaults included, for an app without a policy', async () => {
    const { call } = setup();
    expect(await call('GET', POLICY)).toEqual({ status: 200, body: { reject: REJECT, hardware: { ...DEFAULT_HARDWARE_POLICY }, measurement: 'require' } });
  });

  test('PUT takes any part of hardware, stores it whole, and GET shows what PUT answered', async () => {
    const { call, registry } = setup();
    const settings = { android: 'require', minAndroidSecurityLevel: 'strongbox', minAndroidPatchLevel: 202406 };
    const res = await call('PUT', POLICY, { reject: REJECT, hardware: settings });
    const hardware = { ...DEFAULT_HARDWARE_POLICY, android: 'require', minAndroidSecurityLevel: 'strongbox', minAndroidPatchLevel: 202406 };
    expect(res).toEqual({ status: 200, body: { reject: REJECT, hardware, measurement: 'require' } });
    expect(await call('GET', POLICY)).toEqual(res);
    expect(registry.policies.get(APP)).toEqual({ reject: REJECT, hardware, measurement: 'require' });
  });

  test('every setting at once round-trips', async () => {
    const { call } = setup();
    const hardware = {
      ios: 'require',
      android: 'require',
      otherPlatforms: 'refuse',
      minAndroidSecurityLevel: 'software',
      requireVerifiedBoot: false,
      minAndroidPatchLevel: 202001,
      appAttestEnvironments: ['development', 'production'],
      rememberDays: 365,
    };
    const policy = { reject: REJECT, minSdkVersion: '2.1.0', hardware, measurement: 'off' };
    expect(await call('PUT', POLICY, policy)).toEqual({ status: 200, body: policy });
  });

  const valid = { reject: REJECT };
  const hw = (hardware: Record<string, unknown>) => ({ ...valid, hardware });
  test.each<[string, unknown, string, string]>([
    ['hardware not an object', hw('require' as never), 'hardware', 'hardware must be an object'],
    ['an unknown iOS mode', hw({ ios: 'always' }), 'hardware.ios', 'hardware.ios must be off, prefer or require'],
    ['an iOS mode of true', hw({ ios: true }), 'hardware.ios', 'hardware.ios must be off, prefer or require'],
    ['an unknown Android mode', hw({ android: 'on' }), 'hardware.android', 'hardware.android must be off, prefer or require'],
    ['an unknown otherPlatforms', hw({ otherPlatforms: 'deny' }), 'hardware.otherPlatforms', 'hardware.otherPlatforms must be allow or refuse'],
    [
      'an unknown security level',
      hw({ minAndroidSecurityLevel: 'trustzone' }),
      'hardware.minAndroidSecurityLevel',
      'hardware.minAndroidSecurityLevel must be software, tee or strongbox',
    ],
    ['requireVerifiedBoot as a string', hw({ requireVerifiedBoot: 'yes' }), 'hardware.requireVerifiedBoot', 'hardware.requireVerifiedBoot must be a boolean'],
    [
      'a patch level as a date string',
      hw({ minAndroidPatchLevel: '2024-06' }),
      'hardware.minAndroidPatchLevel',
      'hardware.minAndroidPatchLevel must be a number (YYYYMM)',
    ],
    [
      'a patch level with a day',
      hw({ minAndroidPatchLevel: 20240605 }),
      'hardware.minAndroidPatchLevel',
      'hardware.minAndroidPatchLevel must be a year and month as YYYYMM up to 209912, e.g. 202406',
    ],
    [
      'a patch level month 13',
      hw({ minAndroidPatchLevel: 202413 }),
      'hardware.minAndroidPatchLevel',
      'hardware.minAndroidPatchLevel must be a year and month as YYYYMM: the month 01 to 12, e.g. 202406',
    ],
    [
      'a patch level month 00',
      hw({ minAndroidPatchLevel: 202400 }),
      'hardware.minAndroidPatchLevel',
      'hardware.minAndroidPatchLevel must be a year and month as YYYYMM: the month 01 to 12, e.g. 202406',
    ],
    [
      'a patch level before 2000',
      hw({ minAndroidPatchLevel: 199912 }),
      'hardware.minAndroidPatchLevel',
      'hardware.minAndroidPatchLevel must be a year and month as YYYYMM from 200001, e.g. 202406',
    ],
    [
      'a fractional patch level',
      hw({ minAndroidPatchLevel: 202406.5 }),
      'hardware.minAndroidPatchLevel',
      'hardware.minAndroidPatchLevel must be a year and month as a whole number YYYYMM, e.g. 202406',
    ],
    [
      'environments as a string',
      hw({ appAttestEnvironments: 'production' }),
      'hardware.appAttestEnvironments',
      'hardware.appAttestEnvironments must be an array of App Attest environments',
    ],
    [
      'no environments',
      hw({ appAttestEnvironments: [] }),
      'hardware.appAttestEnvironments',
      'hardware.appAttestEnvironments must name at least one of production, development (iOS attestations need one)',
    ],
    [
      'an unknown environment',
      hw({ appAttestEnvironments: ['production', 'sandbox'] }),
      'hardware.appAttestEnvironments.1',
      'hardware.appAttestEnvironments.1 must be production or development',
    ],
    [
      'an environment twice',
      hw({ appAttestEnvironments: ['production', 'production'] }),
      'hardware.appAttestEnvironments',
      'hardware.appAttestEnvironments must not name an environment twice',
    ],
    ['rememberDays 0', hw({ rememberDays: 0 }), 'hardware.rememberDays', 'hardware.rememberDays must be at least 1 day'],
    ['rememberDays 366', hw({ rememberDays: 366 }), 'hardware.rememberDays', 'hardware.rememberDays must be at most 365 days'],
    ['fractional rememberDays', hw({ rememberDays: 1.5 }), 'hardware.rememberDays', 'hardware.rememberDays must be a whole number of days'],
    ['an unknown measurement', { ...valid, measurement: 'optional' }, 'measurement', 'measurement must be require or off'],
    [
      'measurement off while Android evidence is only preferred',
      { ...valid, measurement: 'off', hardware: { ios: 'require', android: 'prefer', otherPlatforms: 'refuse' } },
      'measurement',
      expect.stringMatching(/^measurement may be off only when hardware\.ios and hardware\.android are require and hardware\.otherPlatforms is refuse/),
    ],
    [
      'measurement off with other platforms allowed (the default)',
      { ...valid, measurement: 'off', hardware: { ios: 'require', android: 'require' } },
      'measurement',
      expect.stringMatching(/^measurement may be off only when/),
    ],
    ['measurement off without any hardware', { ...valid, measurement: 'off' }, 'measurement', expect.stringMatching(/^measurement may be off only when/)],
  ])('PUT refuses %s with 400 naming the field, and keeps the stored policy', async (_what, body, field, message) => {
    // Prepare
    const { call, registry } = setup();
    await call('PUT', POLICY, { reject: REJECT, hardware: { android: 'prefer' } });
    const before = registry.policies.get(APP);
    // Act
    const res = await call('PUT', POLICY, body);
    // Assess
    expect(res).toEqual({ status: 400, body: { error: 'invalid_request', field, message } });
    expect(registry.policies.get(APP)).toEqual(before);
  });
});

describe('schemas', () => {
  test('certificateDigestHex turns the keytool form into what key attestation reports', () => {
    expect(certificateDigestHex(KEYTOOL)).toBe(DIGEST);
    expect(parseRequest(appIdentitySchema, { android: { packageName: 'a.b', signingCertificates: [KEYTOOL] } }).android?.signingCertificates).toEqual([DIGEST]);
  });

  test('a policy from before hardware existed is still a valid request', () => {
    expect(checkValue(policySchema, { reject: REJECT, minSdkVersion: '1.0.0' }).success).toBe(true);
  });

  test('measurement off is accepted exactly when every platform a client can claim needs hardware', () => {
    const off = (hardware: Record<string, string>) => checkValue(policySchema, { reject: REJECT, measurement: 'off', hardware }).success;
    expect(off({ ios: 'require', android: 'require', otherPlatforms: 'refuse' })).toBe(true);
    expect(off({ ios: 'require', android: 'require', otherPlatforms: 'allow' })).toBe(false);
    expect(off({ ios: 'off', android: 'require', otherPlatforms: 'refuse' })).toBe(false);
  });
});
