import type { KeyObject } from 'node:crypto';

/** A test authority's root certificate, to pass as `roots` to the verifiers. */
export interface TestRoot {
  readonly der: Uint8Array;
  readonly pem: string;
}

export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

interface Window {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Validity of each level of the issued chains, derived from the authority's clock. */
export interface ValidityWindow {
  readonly root: Window;
  readonly intermediate: Window;
  readonly leaf: Window;
}
