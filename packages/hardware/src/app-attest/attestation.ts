import type { JsonWebKey } from 'node:crypto';
import { bytesEqual, copyBytes, sha256 } from '../bytes';
import { guarded, refuse } from '../errors';
import { requireBytes, requireDate, requireString } from '../input';
import { APPLE_APP_ATTESTATION_ROOT_CA } from '../roots';
import { lazyAnchors, loadAnchors } from '../x509/anchors';
import { extensionValue, parseCertificate, publicKeyJwk, type ParsedCertificate } from '../x509/certificate';
import { verifyChain } from '../x509/chain';
import { readAttestedAuthenticatorData } from './authenticator-data';
import { cborBytes, cborMap, decodeCborMap } from './cbor';
import { APP_ATTEST_NONCE_OID, readAppAttestNonce } from './nonce-extension';
import type {
  AppAttestAttestationInput,
  AppAttestEnvironment,
  VerifiedAppAttestAttestation,
} from './types';

export const MAX_ATTESTATION_BYTES = 16 * 1024;

/** aaguid values from Apple's guide: 16 bytes, the production one padded with zero bytes. */
export const APP_ATTEST_AAGUIDS: Readonly<Record<AppAttestEnvironment, Buffer>> = {
  development: Buffer.from('appattestdevelop', 'ascii'),
  production: Buffer.concat([Buffer.from('appattest', 'ascii'), Buffer.alloc(7)]),
};

const appleAnchors = lazyAnchors([APPLE_APP_ATTESTATION_ROOT_CA]);

/**
 * Verifies an App Attest attestation object, following Apple's "Validating apps that connect to
 * your server" step by step, and returns the attested key to store for assertions.
 *
 * Proves: a genuine Apple device's Secure Enclave holds the key `keyId`, made for `appId` in an
 * allowed environment, in answer to `clientDataHash`. Does not prove: that `clientDataHash`
 * embeds a fresh, single-use challenge (the caller checks its own client data), nor anything
 * the receipt says (it is returned as is for Apple's fraud-metric service).
 *
 * @throws {@link HardwareAttestationError} with a code from {@link HARDWARE_ERROR_CODES}.
 * @example
 * ```ts
 * const verified = verifyAppAttestAttestation({
 *   attestation: Buffer.from(body.attestation, 'base64'),
 *   keyId: Buffer.from(body.keyId, 'base64'),
 *   clientDataHash: createHash('sha256').update(clientData).digest(),
 *   appId: '6MURL8TA57.com.example.app',
 *   environments: ['production'],
 *   now: new Date(),
 * });
 * await keys.put(body.keyId, { jwk: verified.publicKeyJwk, counter: verified.counter });
 * ```
 */
export function verifyAppAttestAttestation(input: AppAttestAttestationInput): VerifiedAppAttestAttestation {
  return guarded(() => followApplesAttestationSteps(input));
}

function followApplesAttestationSteps(input: AppAttestAttestationInput): VerifiedAppAttestAttestation {
  const attestation = requireBytes(input.attestation, 'attestation', { max: MAX_ATTESTATION_BYTES });
  const keyId = requireBytes(input.keyId, 'keyId', { min: 32, max: 32 });
  const clientDataHash = requireBytes(input.clientDataHash, 'clientDataHash', { min: 32, max: 32 });
  const appId = requireString(input.appId, 'appId');
  const now = requireDate(input.now, 'now');
  const environments = requireEnvironments(input.environments);
  const anchors = input.roots === undefined ? appleAnchors() : loadAnchors(input.roots);

  const object = decodeCborMap(attestation, 'attestation');
  if (object.get('fmt') !== 'apple-appattest') refuse('malformed', 'attestation fmt is not "apple-appattest"');
  const statement = cborMap(object, 'attStmt', 'attestation');
  const authData = cborBytes(object, 'authData', 'attestation');
  const receipt = cborBytes(statement, 'receipt', 'attStmt');
  const [credCert, ...intermediates] = readX5c(statement.get('x5c'));

  // Step 1: the x5c chain (credCert first) leads to Apple's root and is valid now.
  verifyChain([credCert, ...intermediates], { anchors, now, strictIssuers: true });

  // Steps 2-4: nonce = SHA-256(authData || clientDataHash) is the value in credCert's extension.
  const nonceExtension = extensionValue(credCert, APP_ATTEST_NONCE_OID);
  if (!nonceExtension) refuse('extension_missing', `credCert has no nonce extension ${APP_ATTEST_NONCE_OID}`);
  if (!bytesEqual(readAppAttestNonce(nonceExtension), sha256(authData, clientDataHash))) {
    refuse('challenge_mismatch', 'the certified nonce is not SHA-256(authData || clientDataHash)');
  }

  // Step 5: keyId is the SHA-256 of credCert's public key as an uncompressed point.
  const publicKey = p256PublicKey(credCert);
  if (!bytesEqual(sha256(publicKey.point), keyId)) {
    refuse('key_mismatch', 'keyId is not the SHA-256 of the certified public key');
  }

  const authenticator = readAttestedAuthenticatorData(authData);
  // Step 6: the RP ID is the App ID.
  if (!bytesEqual(authenticator.rpIdHash, sha256(Buffer.from(appId, 'utf8')))) {
    refuse('app_mismatch', `the attestation was made for another app than ${appId}`);
  }
  // Step 7: a fresh key has never signed.
  if (authenticator.counter !== 0) refuse('counter_invalid', 'the attestation counter is not 0');
  // Step 8: the aaguid names the environment.
  const environment = environmentOf(authenticator.aaguid);
  if (!environments.includes(environment)) {
    refuse('environment_not_allowed', `the key belongs to the ${environment} environment`);
  }
  // Step 9: the credential is the attested key.
  if (!bytesEqual(authenticator.credentialId, keyId)) refuse('key_mismatch', 'credentialId is not keyId');

  return {
    keyId: copyBytes(keyId),
    publicKeyJwk: publicKey.jwk,
    environment,
    receipt: copyBytes(receipt),
    counter: authenticator.counter,
  };
}

function readX5c(x5c: unknown): [ParsedCertificate, ...ParsedCertificate[]] {
  // Apple sends [credCert, intermediate]; a third entry would be a root copy at most.
  if (!Array.isArray(x5c) || x5c.length < 2 || x5c.length > 3) {
    refuse('malformed', 'attStmt.x5c must hold the credential and intermediate certificates');
  }
  const [first, ...rest] = x5c.map((der: unknown, index) => parseCertificate(der, `x5c[${index}]`));
  return [first as ParsedCertificate, ...rest];
}

function p256PublicKey(cert: ParsedCertificate): { jwk: JsonWebKey; point: Buffer } {
  const jwk = publicKeyJwk(cert);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    return refuse('malformed', 'credCert does not hold a P-256 public key');
  }
  const point = Buffer.concat([Buffer.of(0x04), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return { jwk, point };
}

function environmentOf(aaguid: Buffer): AppAttestEnvironment {
  if (aaguid.equals(APP_ATTEST_AAGUIDS.production)) return 'production';
  if (aaguid.equals(APP_ATTEST_AAGUIDS.development)) return 'development';
  return refuse('environment_not_allowed', 'the aaguid names no App Attest environment');
}

function requireEnvironments(value: unknown): readonly AppAttestEnvironment[] {
  const valid = Array.isArray(value) && value.every((env) => env === 'production' || env === 'development');
  if (!valid) refuse('malformed', "environments must be an array of 'production' and 'development'");
  return value as AppAttestEnvironment[];
}
