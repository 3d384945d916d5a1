/**
 * Flaw: `verifyToken(token, options)` remembers one verifier per options object, and the request
 * facts (binding, proof, method, url) can only be passed inside that object (`options.request`).
 * Every request therefore builds a new options object (as `{ ...ATTESTATION, request }`, the
 * pattern the library's own tests use), gets a brand-new verifier, and with it a brand-new default
 * in-memory replay ledger. Single use (`limitedUse`) and proof-jti replay protection then never
 * see an earlier use: the same single-use token, or the same captured Attestor-Proof, is let in
 * again and again.
 *
 * Fixed by sharing the default in-memory ledger across verifiers (per clock) and by taking the
 * request facts as verifyToken's third argument; these tests guard both.
 */
import { randomBytes } from 'node:crypto';
import { TokenVerificationError, verifyToken, type VerifierOptions } from '../../packages/verify/src/index';
import { jwkThumbprint } from '../../packages/verify/src/core/install-key';
import { ManualClock, generateTestKey } from '../support/memory';
import { makeProof } from '../support/proof';
import { ISSUER, TENANT, claimsAt, es256, forge, newInstallKey } from '../unit/core/helpers';
import { publicJwk } from '../unit/verify/jwks-server';

const tenant = generateTestKey();
const clock = new ManualClock();
const jwks = { keys: [publicJwk(tenant)] };
const URL_OF_API = 'https://api.example.com/orders';

function tokenFor(jkt: string, extra: Record<string, unknown> = {}): string {
  return forge(
    { alg: 'ES256', typ: 'JWT', kid: tenant.kid },
    claimsAt(clock.now, { aud: TENANT, jti: randomBytes(16).toString('base64url'), did: jkt, cnf: { jkt }, ...extra }),
    es256(tenant.privateKey),
  );
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'accepted',
    (error: unknown) => (error instanceof TokenVerificationError ? error.code : `error:${String(error)}`),
  );
}

describe('verifyToken: replay ledger lives only as long as one options object', () => {
  it('verifyToken_limitedUse_token_accepted_twice_with_per_request_options', async () => {
    // The API enforces single use and passes request facts, so each call spreads the shared settings.
    const ATTESTATION: VerifierOptions = { issuer: ISSUER, audience: TENANT, keys: jwks, clock, limitedUse: true };
    const install = newInstallKey();
    const token = tokenFor(jwkThumbprint(install.jwk), { lut: true });

    expect(await outcome(verifyToken(token, { ...ATTESTATION, request: { binding: 'Bearer u' } }))).toBe('accepted');
    // Same single-use token, second request: must be denied as replayed.
    expect(await outcome(verifyToken(token, { ...ATTESTATION, request: { binding: 'Bearer u' } }))).toBe('replayed');
  });

  it('verifyToken_requireProof_same_proof_jti_accepted_twice', async () => {
    const ATTESTATION: VerifierOptions = { issuer: ISSUER, audience: TENANT, keys: jwks, clock, requireProof: true };
    const install = newInstallKey();
    const token = tokenFor(jwkThumbprint(install.jwk));
    // One captured request: token plus its proof.
    const proof = makeProof({ key: install, token, method: 'POST', url: URL_OF_API, iat: clock.now });
    const request = () => ({ ...ATTESTATION, request: { proof, method: 'POST', url: URL_OF_API } });

    expect(await outcome(verifyToken(token, request()))).toBe('accepted');
    // The captured proof replayed within its 60 s window: must be denied as replayed.
    expect(await outcome(verifyToken(token, request()))).toBe('replayed');
  });

  it('verifyToken_limitedUse_with_request_facts_as_third_argument_consumes_once', async () => {
    const ATTESTATION: VerifierOptions = { issuer: ISSUER, audience: TENANT, keys: jwks, clock, limitedUse: true };
    const token = tokenFor(jwkThumbprint(newInstallKey().jwk), { lut: true });
    expect(await outcome(verifyToken(token, ATTESTATION, { binding: 'Bearer u' }))).toBe('accepted');
    expect(await outcome(verifyToken(token, ATTESTATION, { binding: 'Bearer u' }))).toBe('replayed');
  });
});
