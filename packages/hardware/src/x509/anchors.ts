import { X509Certificate } from 'node:crypto';
import { isBytes } from '../bytes';
import { attempt, refuse } from '../errors';
import { parseCertificate, subjectPublicKeyInfo, type ParsedCertificate } from './certificate';

/** A root certificate to trust: DER bytes or PEM text. Trust goes to its public key. */
export type TrustAnchor = Uint8Array | string;

export interface Anchor {
  readonly cert: ParsedCertificate;
  /** Trust is decided by this key, not by the certificate's dates or serial. */
  readonly spki: Buffer;
}

export function loadAnchors(roots: readonly TrustAnchor[]): Anchor[] {
  if (!Array.isArray(roots) || roots.length === 0) refuse('malformed', 'roots must be a non-empty array');
  return roots.map((root, index) => {
    const der = isBytes(root)
      ? root
      : attempt('malformed', `roots[${index}] is not a PEM certificate`, () => new X509Certificate(root).raw);
    const cert = parseCertificate(der, `roots[${index}]`);
    return { cert, spki: subjectPublicKeyInfo(cert) };
  });
}

/** Parses built-in roots once, on first use, so importing the package stays cheap. */
export function lazyAnchors(roots: readonly TrustAnchor[]): () => Anchor[] {
  let loaded: Anchor[] | undefined;
  return () => (loaded ??= loadAnchors(roots));
}
