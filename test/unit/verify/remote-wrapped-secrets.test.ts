/**
 * What the remote key source (the authorizer's KEY_SOURCE=remote, @attestor/verify/aws's
 * attestorSecrets) accepts from /v1/admin/keys/secrets before it asks KMS to unwrap anything: an
 * entry wrapped as a token secret of its tenant, with exactly that encryption context. A server
 * that answered with a test secret's context (which the admin function may unwrap, so it knows the
 * plaintext) must not get that secret trusted as an attestation's. From /v1/admin/tokens/test/secrets
 * (a verifier that accepts test tokens), the reverse: only test kids, under the test context, so a
 * production secret sent there is never unwrapped as a test secret (nor could be: KMS binds the context).
 */
import { secretEncryptionContext } from '../../../packages/contracts/src/admin-api';
import { testSecretEncryptionContext } from '../../../packages/contracts/src/test-tokens';
import { wrappedSecrets } from '../../../packages/verify/src/aws/remote-key-source';

const TENANT = 'acme';
const entry = (kid: string, encryptionContext: Record<string, string>) => ({
  kid,
  keyId: 'arn:aws:kms:us-east-1:123456789012:key/secrets',
  ciphertext: Buffer.from('wrapped').toString('base64'),
  encryptionContext,
});

test('takes an entry wrapped as its tenant\'s token secret, and unwraps it with the context computed locally', () => {
  const [w] = wrappedSecrets({ keys: [entry('k1', secretEncryptionContext(TENANT, 'k1'))] }, TENANT);
  expect(w!.encryptionContext).toEqual(secretEncryptionContext(TENANT, 'k1'));
});

test.each([
  ['another tenant', entry('k1', secretEncryptionContext('other', 'k1')), /another tenant/],
  ['another kid in the context', entry('k1', secretEncryptionContext(TENANT, 'k2')), /not wrapped as a token secret/],
  ['an extra member (a test secret\'s purpose)', entry('k1', { ...secretEncryptionContext(TENANT, 'k1'), 'attestor:purpose': 'test-token' }), /not wrapped/],
  ['a test kid', entry('test-AAAAAAAAAAAAAAAAAAAAAA', secretEncryptionContext(TENANT, 'test-AAAAAAAAAAAAAAAAAAAAAA')), /not wrapped/],
])('refuses the whole answer for %s', (_, bad, message) => {
  const good = entry('k1', secretEncryptionContext(TENANT, 'k1'));
  expect(() => wrappedSecrets({ keys: [good, bad] }, TENANT)).toThrow(message);
});

const TEST_KID = 'test-AAAAAAAAAAAAAAAAAAAAAA';

test('from the test route: takes a test kid wrapped under its tenant\'s test context, computed locally', () => {
  const [w] = wrappedSecrets({ keys: [entry(TEST_KID, testSecretEncryptionContext(TENANT, TEST_KID))] }, TENANT, 'test');
  expect(w!.encryptionContext).toEqual(testSecretEncryptionContext(TENANT, TEST_KID));
});

test.each([
  [
    'a production kid under the production context',
    entry('k1', secretEncryptionContext(TENANT, 'k1')),
    /test secrets: the entry for kid k1 is not wrapped as a test secret/,
  ],
  ['a production kid under a test context', entry('k1', testSecretEncryptionContext(TENANT, 'k1')), /not wrapped as a test secret/],
  ['a test kid under the production context', entry(TEST_KID, secretEncryptionContext(TENANT, TEST_KID)), /not wrapped as a test secret/],
  ['another tenant\'s test secret', entry(TEST_KID, testSecretEncryptionContext('other', TEST_KID)), /another tenant than acme/],
])('from the test route: refuses the whole answer for %s', (_, bad, message) => {
  const good = entry(TEST_KID, testSecretEncryptionContext(TENANT, TEST_KID));
  expect(() => wrappedSecrets({ keys: [good, bad] }, TENANT, 'test')).toThrow(message);
});
