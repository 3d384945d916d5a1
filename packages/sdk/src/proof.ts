/**
 * Proof of possession for protected requests (header `Attestor-Proof`): a compact JWS, signed
 * with the install key the token names in `cnf.jkt`, over the request's method and URL and the
 * token's hash. A token lifted from one request is then useless without the device's private
 * key. Portable (WebCrypto only).
 */
import type { InstallKey } from './install-key';
import { PROOF_TYPE } from '@attestor/contracts/protocol';
import { encodeB64u, sha256, utf8 } from './protocol';
import { softwareSigner, type InstallSigner } from './signer';

/**
 * What a proof covers.
 * @example
 * ```ts
 * const request: ProofRequest = { method: 'GET', url: 'https://api.example.com/orders?page=2', token, nowSeconds: 1_800_000_000 };
 * ```
 */
export interface ProofRequest {
  /** HTTP method; sent uppercase as `htm`. */
  readonly method: string;
  /** Absolute request URL; its query and fragment are left out of `htu`. */
  readonly url: string | URL;
  /** The `Attestor-Token` sent alongside; its SHA-256 is `ath`. */
  readonly token: string;
  /** Unix seconds, sent as `iat`. */
  readonly nowSeconds: number;
}

/**
 * The URL as a proof names it (`htu`): scheme, host and path, without query and fragment.
 * @example
 * ```ts
 * proofTargetUri('https://API.example.com/orders?id=1#x'); // 'https://api.example.com/orders'
 * ```
 */
export function proofTargetUri(url: string | URL): string {
  const u = new URL(String(url));
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * Builds the `Attestor-Proof` value for one request: header
 * `{"typ":"attestor-proof+jwt","alg":"ES256","jwk":{kty,crv,x,y}}`, claims
 * `{"htm","htu","iat","jti","ath"}`, ES256 signature (WebCrypto's P1363 `r‖s`) by the install key.
 * Costs one SHA-256 and one ECDSA signature.
 * @example
 * ```ts
 * const nowSeconds = Math.floor(Date.now() / 1000);
 * const proof = await createRequestProof(installKey, { method: 'POST', url: 'https://api.example.com/orders', token, nowSeconds });
 * ```
 */
export async function createRequestProof(key: InstallKey, request: ProofRequest): Promise<string> {
  return signRequestProof(softwareSigner(key), request);
}

/** createRequestProof for any install key, a platform's included (fetch signs with the key that attested). */
export async function signRequestProof(key: InstallSigner, request: ProofRequest): Promise<string> {
  const { kty, crv, x, y } = key.publicJwk;
  const header = { typ: PROOF_TYPE, alg: 'ES256', jwk: { kty, crv, x, y } };
  const jti = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const claims = {
    htm: request.method.toUpperCase(),
    htu: proofTargetUri(request.url),
    iat: Math.floor(request.nowSeconds),
    jti: encodeB64u(jti),
    ath: encodeB64u(await sha256(utf8(request.token))),
  };
  const signingInput = `${encodeB64u(utf8(JSON.stringify(header)))}.${encodeB64u(utf8(JSON.stringify(claims)))}`;
  const signature = await key.sign(utf8(signingInput));
  return `${signingInput}.${encodeB64u(signature)}`;
}
