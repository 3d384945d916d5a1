import { createTenantSchema } from '../../../packages/contracts/src/admin-validation';
import {
  APP_ID_PATTERN,
  attestRequestSchema,
  challengeRequestSchema,
  checkValue,
  InvalidRequestError,
  parseRequest,
  VERSION_PATTERN,
} from '../../../packages/contracts/src/validation';

const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString('base64url');
/** The public install key of the vectors' `basic` case: a point on P-256. */
const ON_CURVE = { x: 'HVZvPvZpnL8ZXLXVB-e9FiYngOaMItjDkgICuf60iPE', y: 'CrMbNzqlDdRD2NzStwaYey1doDHTE_6T5LD5GK-LRFA' };
/** P-256's field prime p, the first coordinate value that is out of range. */
const FIELD_PRIME = Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex');

function validRequest(): Record<string, any> {
  return {
    nonce: b64(32),
    appId: 'com.example.app',
    appVersion: '1.2.3',
    measurement: b64(32, 2),
    installKey: { kty: 'EC', crv: 'P-256', x: ON_CURVE.x, y: ON_CURVE.y },
    installProof: b64(64, 5),
    device: { platform: 'android', osVersion: '14', model: 'Pixel 8', signals: { rooted: false, emulator: false, debugger: true, hooked: false } },
    sdkVersion: '1.0.0',
    binding: b64(32, 6),
    limitedUse: true,
  };
}

/** Sets (or with `undefined`, deletes) the member at a dotted path of a fresh valid request. */
function withField(path: string, value: unknown): Record<string, any> {
  const request = validRequest();
  const keys = path.split('.');
  let target = request;
  for (const key of keys.slice(0, -1)) target = target[key];
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return request;
}

function rejection(body: unknown, schema: typeof attestRequestSchema | typeof challengeRequestSchema = attestRequestSchema): InvalidRequestError {
  try {
    parseRequest(schema as typeof attestRequestSchema, body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error('expected the request to be rejected');
}

const REQUIRED = [
  'nonce',
  'appId',
  'appVersion',
  'measurement',
  'installKey',
  'installKey.kty',
  'installKey.crv',
  'installKey.x',
  'installKey.y',
  'installProof',
  'device',
  'device.platform',
  'device.osVersion',
  'device.model',
  'device.signals',
  'device.signals.rooted',
  'device.signals.emulator',
  'device.signals.debugger',
  'device.signals.hooked',
  'sdkVersion',
];

describe('attest request validation', () => {
  it('refuses an installKey that carries the private scalar d', () => {
    const body = validRequest();
    body['installKey'] = { ...body['installKey'], d: b64(32) };
    const error = rejection(body);
    expect(error.field).toBe('installKey.d');
    expect(error.detail).toMatch(/public key only/);
  });

  it.each(['1.2.0-beta.1+42', '1.2.0+42', '1.2.0-rc.1', '2'])('accepts sdkVersion %s', (sdkVersion) => {
    expect(parseRequest(attestRequestSchema, { ...validRequest(), sdkVersion }).sdkVersion).toBe(sdkVersion);
  });

  it.each(['v1.2.0', '1.2.0+', '1..2'])('refuses sdkVersion %s', (sdkVersion) => {
    expect(rejection({ ...validRequest(), sdkVersion }).field).toBe('sdkVersion');
  });

  it('accepts a complete valid request and returns it', () => {
    // Prepare
    const body = validRequest();
    // Act
    const parsed = parseRequest(attestRequestSchema, body);
    // Assess
    expect(parsed).toEqual(body);
  });

  it('accepts a request without the optional binding and limitedUse', () => {
    const body = withField('binding', undefined);
    delete body['limitedUse'];
    expect(parseRequest(attestRequestSchema, body)).toEqual(body);
  });

  it.each(REQUIRED)('names a missing %s with "is required"', (path) => {
    // Prepare
    const body = withField(path, undefined);
    // Act
    const error = rejection(body);
    // Assess
    expect(error.field).toBe(path);
    expect(error.detail).toBe('is required');
    expect(error.message).toBe(`${path} is required`);
  });

  it.each([
    ['nonce', 42, 'must be a base64url string'],
    ['nonce', null, 'must be a base64url string'],
    ['appId', ['com.example.app'], 'must be a string'],
    ['appVersion', 123, 'must be a string'],
    ['measurement', true, 'must be a base64url string'],
    ['installKey', 'jwk', 'must be an EC P-256 public JWK'],
    ['installKey', null, 'must be an EC P-256 public JWK'],
    ['installKey.kty', 'RSA', 'must be "EC"'],
    ['installKey.kty', 1, 'must be "EC"'],
    ['installKey.crv', 'P-384', 'must be "P-256"'],
    ['installKey.x', {}, 'must be a base64url string'],
    ['installKey.y', 7, 'must be a base64url string'],
    ['installProof', [], 'must be a base64url string'],
    ['device', 'pixel', 'must be an object'],
    ['device.platform', 1, 'must be a string'],
    ['device.osVersion', false, 'must be a string'],
    ['device.model', null, 'must be a string'],
    ['device.signals', [true], 'must be an object of booleans'],
    ['device.signals.rooted', 'false', 'must be a boolean'],
    ['device.signals.emulator', 0, 'must be a boolean'],
    ['device.signals.debugger', null, 'must be a boolean'],
    ['device.signals.hooked', 'yes', 'must be a boolean'],
    ['sdkVersion', 1.2, 'must be a string'],
    ['binding', 5, 'must be a base64url string'],
    ['limitedUse', 'true', 'must be a boolean'],
  ])('names %s of the wrong type (%j)', (path, value, detail) => {
    // Act
    const error = rejection(withField(path, value));
    // Assess
    expect(error.field).toBe(path);
    expect(error.detail).toBe(detail);
  });

  it.each([
    ['nonce', 32, 43],
    ['measurement', 32, 43],
    ['installKey.x', 32, 43],
    ['installKey.y', 32, 43],
    ['installProof', 64, 86],
    ['binding', 32, 43],
  ])('names %s of the wrong length (%i bytes = %i characters)', (path, bytes, chars) => {
    for (const length of [0, chars - 1, chars + 1]) {
      // Act
      const error = rejection(withField(path, 'A'.repeat(length)));
      // Assess
      expect(error.field).toBe(path);
      expect(error.detail).toBe(`must be base64url of ${bytes} bytes (${chars} characters)`);
    }
  });

  it.each([
    ['padding in place of the last character', `${b64(32).slice(0, 42)}=`],
    ['a standard-alphabet character', `+${b64(32).slice(1)}`],
    ['non-canonical trailing bits', `${'A'.repeat(42)}B`],
    ['a space', ` ${b64(32).slice(1)}`],
  ])('rejects a nonce of the right length with %s', (_what, nonce) => {
    const error = rejection(withField('nonce', nonce));
    expect(error.field).toBe('nonce');
    expect(error.detail).toBe('must be base64url of 32 bytes without padding');
  });

  it.each([
    ['device.platform', 32],
    ['device.osVersion', 64],
    ['device.model', 128],
    ['sdkVersion', 32],
  ])('limits %s to %i characters', (path, max) => {
    // Prepare
    const atMax = path === 'sdkVersion' ? `1.${'0'.repeat(max - 2)}` : 'x'.repeat(max);
    const overMax = path === 'sdkVersion' ? `1.${'0'.repeat(max - 1)}` : 'x'.repeat(max + 1);
    // Act
    const error = rejection(withField(path, overMax));
    // Assess
    expect(() => parseRequest(attestRequestSchema, withField(path, atMax))).not.toThrow();
    expect(error.field).toBe(path);
    expect(error.detail).toBe(`must be at most ${max} characters`);
  });

  it.each(['1', '1.2.0', '10.20.30.40', '1.2.0-beta.1', '2.0.0+build.5'])('accepts sdkVersion %s', (sdkVersion) => {
    expect(parseRequest(attestRequestSchema, withField('sdkVersion', sdkVersion)).sdkVersion).toBe(sdkVersion);
  });

  it.each(['', 'v1.2.0', '1.2.3.4.5', '1..2', '1.2.', 'latest'])('rejects sdkVersion %j', (sdkVersion) => {
    const error = rejection(withField('sdkVersion', sdkVersion));
    expect(error.field).toBe('sdkVersion');
    expect(error.detail).toBe('must be a version such as 1.2.0');
  });

  describe('appId', () => {
    it.each(['com.example.app', 'a.b', 'A1_-.x_-9', 'com.example.my-app.debug'])('accepts %s', (appId) => {
      expect(parseRequest(attestRequestSchema, withField('appId', appId)).appId).toBe(appId);
      expect(APP_ID_PATTERN.test(appId)).toBe(true);
    });

    it.each(['', 'app', '1com.example', '.com.example', 'com.example.', 'com..example', 'com/example.app', 'com.example app', 'com.exämple.app', '_a.b'])(
      'rejects %j',
      (appId) => {
        const error = rejection(withField('appId', appId));
        expect(error.field).toBe('appId');
        expect(error.detail).toBe('must be reverse-DNS style, e.g. com.example.app');
      },
    );

    it('accepts 255 characters and rejects 256', () => {
      // Prepare
      const max = `a.${'b'.repeat(253)}`;
      // Act
      const error = rejection(withField('appId', `${max}b`));
      // Assess
      expect(max).toHaveLength(255);
      expect(parseRequest(attestRequestSchema, withField('appId', max)).appId).toBe(max);
      expect(error.field).toBe('appId');
      expect(error.detail).toBe('must be at most 255 characters');
    });
  });

  describe('appVersion', () => {
    it.each(['1', '1.2.3', '1.0.0+build.5', '2024_01-rc.1', 'A'])('accepts %s', (appVersion) => {
      expect(parseRequest(attestRequestSchema, withField('appVersion', appVersion)).appVersion).toBe(appVersion);
      expect(VERSION_PATTERN.test(appVersion)).toBe(true);
    });

    it.each(['.1', '-1', '+1', '1/2', '..', '1 2', '1%2', '1.0~beta'])('rejects %j', (appVersion) => {
      const error = rejection(withField('appVersion', appVersion));
      expect(error.field).toBe('appVersion');
      expect(error.detail).toBe('may contain only letters, digits and . _ + -');
    });

    it('rejects the empty string as empty', () => {
      expect(rejection(withField('appVersion', '')).detail).toBe('must not be empty');
    });

    it('accepts 64 characters and rejects 65', () => {
      const max = '1'.repeat(64);
      expect(parseRequest(attestRequestSchema, withField('appVersion', max)).appVersion).toBe(max);
      const error = rejection(withField('appVersion', `${max}1`));
      expect(error.field).toBe('appVersion');
      expect(error.detail).toBe('must be at most 64 characters');
    });
  });

  it.each([null, [], 'string', 42, true])('rejects a body that is not an object (%j) without a field', (body) => {
    const error = rejection(body);
    expect(error.field).toBe('');
    expect(error.message).toBe('body must be a JSON object');
  });

  it('tolerates and drops unknown fields at every level', () => {
    // Prepare
    const body = validRequest();
    body['future'] = { anything: 1 };
    body['installKey'].kid = 'k1';
    body['installKey'].alg = 'ES256';
    body['device'].fingerprint = 'abc';
    body['device'].signals.magisk = true;
    // Act
    const parsed = parseRequest(attestRequestSchema, body);
    // Assess
    expect(parsed).toEqual(validRequest());
  });

  describe('installKey on the curve', () => {
    it.each([
      ['y of another point', { y: b64(32, 4) }],
      ['both coordinates arbitrary', { x: b64(32, 3), y: b64(32, 4) }],
      ['x and y swapped', { x: ON_CURVE.y, y: ON_CURVE.x }],
      ['y equal to the field prime', { y: FIELD_PRIME.toString('base64url') }],
      ['all-zero coordinates', { x: b64(32, 0), y: b64(32, 0) }],
    ])('refuses %s as a 400 naming installKey', (_name, coordinates) => {
      // Act
      const error = rejection(withField('installKey', { kty: 'EC', crv: 'P-256', ...ON_CURVE, ...coordinates }));
      // Assess
      expect(error.field).toBe('installKey');
      expect(error.message).toBe('installKey is not a point on P-256 (x and y must satisfy the curve equation)');
    });

    it('names a malformed member first: the curve is checked only once x and y are 32 bytes each', () => {
      expect(rejection(withField('installKey.y', b64(31, 4))).field).toBe('installKey.y');
    });
  });

  describe('device texts', () => {
    // What an attacker sent to rewrite an operator's terminal through `attestor log`.
    it.each([
      ['device.model', 'Pixel\u001b[2K\u001b[1A\u001b[32mpass'],
      ['device.model', '\u001b]52;c;cm0gLXJmIH4=\u0007'],
      ['device.platform', 'android\u009b2J'],
      ['device.osVersion', '14\u001b]0;owned\u0007'],
      ['device.model', 'line\nbreak'],
      ['device.model', 'tab\there'],
      ['device.model', 'del\u007f'],
      ['device.model', 'bidi\u202eoverride'],
      ['device.model', 'lone \ud800 surrogate'],
      ['device.model', 'Pixel\u00a08'],
      ['device.model', 'Pixel 8 😀'],
    ])('refuses %s %j as a 400 naming the member', (path, value) => {
      // Act
      const error = rejection(withField(path, value));
      // Assess
      expect(error.field).toBe(path);
      expect(error.message).toBe(`${path} may contain only printable ASCII characters (space to ~)`);
    });

    it.each(['', 'Pixel 8 Pro', 'iPhone15,2', 'SM-G991B (beta) #1 ~ [x] {y} @z'])('accepts %j', (model) => {
      expect(parseRequest(attestRequestSchema, withField('device.model', model)).device.model).toBe(model);
    });
  });

  it('reports the first problem when there are several', () => {
    const body = withField('appId', undefined);
    delete body['nonce'];
    expect(rejection(body).field).toBe('nonce');
  });
});

describe('challenge request validation', () => {
  it('accepts an appId and ignores other members', () => {
    expect(parseRequest(challengeRequestSchema, { appId: 'com.example.app', extra: 1 })).toEqual({ appId: 'com.example.app' });
  });

  it('names a missing appId with "is required"', () => {
    const error = rejection({}, challengeRequestSchema);
    expect(error.message).toBe('appId is required');
  });

  it('names a malformed appId', () => {
    const error = rejection({ appId: 'nodots' }, challengeRequestSchema);
    expect(error.field).toBe('appId');
    expect(error.detail).toBe('must be reverse-DNS style, e.g. com.example.app');
  });
});

describe('tenant creation: each principal judged by its shape', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/Deployer';
  const ARN_MESSAGE = 'must be an IAM user or role ARN, e.g. arn:aws:iam::123456789012:role/Deployer';
  const EITHER = 'must be an IAM user or role ARN (e.g. arn:aws:iam::123456789012:role/Deployer) or {"principal": ARN, "role": "register" | "read" | "admin"}';

  it.each([
    ['a bad bare ARN', ['alice'], 'principals.0', ARN_MESSAGE],
    ["a role principal's bad ARN", [ROLE, { principal: '', role: 'read' }], 'principals.1.principal', ARN_MESSAGE],
    ["a role principal's unknown role", [{ principal: ROLE, role: 'boss' }], 'principals.0.role', 'must be register, read or admin'],
    ['a role principal without its principal', [{ role: 'read' }], 'principals.0.principal', 'is required'],
    ['neither shape', [42], 'principals.0', EITHER],
    ['an array in the list', [[ROLE]], 'principals.0', EITHER],
  ])('%s is named precisely', (_, principals, field, message) => {
    expect(checkValue(createTenantSchema, { tenantId: 'acme', principals })).toEqual({ success: false, field, message });
  });

  it('accepts bare ARNs and role principals together', () => {
    const principals = [ROLE, { principal: `${ROLE}2`, role: 'register' }];
    expect(checkValue(createTenantSchema, { tenantId: 'acme', principals })).toEqual({ success: true, output: { tenantId: 'acme', principals } });
  });
});
