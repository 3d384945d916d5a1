/** The compact lines `npm start` prints per event: their shape, and text from clients shown escaped, never obeyed. */
import { liveLine } from '../../../packages/local/src/live-lines';

const AT = new Date(2026, 0, 2, 3, 4, 5);

test('an attestation: time, verdict, app, version, platform and reasons', () => {
  const event = { appId: 'com.example.app', appVersion: '1.2.0', platform: 'ios', outcome: 'fail', reasons: ['hash_mismatch', 'rooted'] };
  expect(liveLine('attestation', event, AT)).toBe(
    '03:04:05  attestation   fail        com.example.app 1.2.0  ios  hash_mismatch, rooted\n',
  );
});

test('register events name app and version, from the object key when the event has only that', () => {
  expect(liveLine('build_rejected', { objectKey: 'builds/com.example.app/2.0.0/01HZX3Q9B8K2M4N6P8R0T2V4W6', reason: 'version_conflict' }, AT)).toBe(
    '03:04:05  registration  rejected    com.example.app 2.0.0  version_conflict\n',
  );
  expect(liveLine('build_registered', { appId: 'com.example.app', version: '2.0.0', sha256: 'ab'.repeat(32), size: 10 }, AT)).toBe(
    '03:04:05  registration  registered  com.example.app 2.0.0  sha256 abababababab…  10 bytes\n',
  );
  expect(liveLine('register_failed', { objectKey: 'elsewhere/x', code: 'dynamodb_throttled' }, AT)).toBe(
    '03:04:05  registration  failed      elsewhere/x  dynamodb_throttled: see the log file\n',
  );
});

test('control characters, bidi overrides and line breaks in any field are escaped: one inert line', () => {
  // Prepare: what a hostile client would send if validation ever let it through.
  const hostile = {
    appId: 'com.evil\u001b]52;c;cm0=\u0007',
    appVersion: '1\n12:00:00  attestation   pass',
    platform: 'android\u202e',
    outcome: 'pass',
    reasons: [],
  };
  // Act
  const line = liveLine('attestation', hostile, AT)!;
  // Assess
  expect(line).toBe('03:04:05  attestation   pass        com.evil\\x1b]52;c;cm0=\\x07 1\\n12:00:00  attestation   pass  android\\u202e\n');
  expect(line.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
});

test('other events stay in the log file only', () => {
  expect(liveLine('dependency_unavailable', { handler: 'attest' }, AT)).toBeUndefined();
  expect(liveLine('data_dir_restored', {}, AT)).toBeUndefined();
});
