/**
 * `@attestor/verify`: verify Attestor attestation tokens in any Node backend, outside API Gateway.
 * No dependencies beyond node:crypto and the global fetch.
 *
 * - {@link createVerifier} / {@link verifyToken}: claims, or a TokenVerificationError with a stable code.
 * - {@link attestorMiddleware}: the same for Express and connect, with a monitor mode.
 * - binding ({@link bindingOf}), proof of possession, single use and hardware (`requireHardware`): see docs/ENFORCEMENT.md.
 */
export { bindingOf } from './core/binding';
export type { Clock } from './core/ports';
export { PROOF_HEADER_NAME, PROOF_TYPE, TOKEN_HEADER_NAME } from '@attestor/contracts/protocol';
export type { HardwareKind } from '@attestor/contracts/protocol';
export type { HardwareRequirement } from '@attestor/contracts/hardware-requirement';
export { InMemoryReplayLedger, ReplayLedgerFullError, type ReplayLedger } from './core/replay';
export { TokenVerificationError, VERIFY_ERROR_CODES, type VerifyErrorCode } from './core/verify';
export { JwksFetchError, JwksKeySource, parseJwks, type FetchLike, type JsonWebKey, type JsonWebKeySet } from './jwks';
export { parseSecretSet, SecretSetError, type SecretJwk, type TokenSecretSet } from './secrets';
export { attestationOf, attestorMiddleware, type AttestedIncomingMessage, type MiddlewareOptions, type VerificationOutcome } from './middleware';
export { createVerifier, verifyToken, type AttestationClaims, type RequestFacts, type Verifier, type VerifierOptions } from './verifier';
