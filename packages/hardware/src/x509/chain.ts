import { refuse } from '../errors';
import type { Anchor } from './anchors';
import { serialNumberHex, subjectPublicKeyInfo, validity, type ParsedCertificate } from './certificate';

export interface ChainPolicy {
  readonly anchors: readonly Anchor[];
  readonly now: Date;
  /**
   * Also apply OpenSSL's issuer checks (CA key usage, key identifiers) to every link. Apple's
   * chains pass them; Android's do not always: on many Keymaster devices (Sony among them) the
   * attestation key's certificate says CA:FALSE and digitalSignature only, yet signs the leaf.
   */
  readonly strictIssuers: boolean;
  /** Normalized serials (see normalizeSerial) refused with `revoked`. */
  readonly revokedSerials?: ReadonlySet<string>;
}

export interface VerifiedChain {
  readonly anchor: Anchor;
  /** Leaf first, without any copy of the root: the certificates whose dates were checked. */
  readonly belowRoot: readonly ParsedCertificate[];
}

/**
 * Checks that `certs` (leaf first) chains by name and signature to one of the anchors, that no
 * certificate is revoked and that every certificate below the root is valid at `now`.
 *
 * The chain may end in a copy of a root (any certificate carrying an anchor's key, whatever its
 * dates: Google's old RSA root copy expired in 2026 while its key was re-issued to 2042) or in a
 * certificate that an anchor signed (Apple's x5c leaves the root out).
 */
export function verifyChain(certs: readonly ParsedCertificate[], policy: ChainPolicy): VerifiedChain {
  const last = certs[certs.length - 1];
  if (!last) return refuse('malformed', 'the certificate chain is empty');

  const lastKey = subjectPublicKeyInfo(last);
  const copiedAnchor = policy.anchors.find((anchor) => anchor.spki.equals(lastKey));
  const anchor = copiedAnchor ?? policy.anchors.find((candidate) => isIssuedBy(last, candidate.cert, policy));
  if (!anchor) return refuse('untrusted_chain', 'the certificate chain does not lead to a trusted root');

  const belowRoot = copiedAnchor ? certs.slice(0, -1) : certs;
  if (belowRoot.length === 0) refuse('untrusted_chain', 'the certificate chain holds nothing but a root');
  // With a copy, names chain to the copy; its key is the anchor's, so signatures prove the same.
  const topIssuer = copiedAnchor ? last : anchor.cert;

  belowRoot.forEach((cert, index) => {
    const issuer = belowRoot[index + 1] ?? topIssuer;
    if (!isIssuedBy(cert, issuer, policy)) {
      refuse('untrusted_chain', `certificate ${index} is not signed by the certificate above it`);
    }
  });

  for (const cert of certs) {
    const serial = serialNumberHex(cert);
    if (policy.revokedSerials?.has(serial)) refuse('revoked', `certificate serial ${serial} is revoked`);
  }

  belowRoot.forEach((cert, index) => {
    const { notBefore, notAfter } = validity(cert);
    if (policy.now < notBefore) {
      refuse('expired', `certificate ${index} is not valid before ${notBefore.toISOString()}`);
    }
    if (policy.now > notAfter) refuse('expired', `certificate ${index} expired at ${notAfter.toISOString()}`);
  });

  return { anchor, belowRoot };
}

function isIssuedBy(cert: ParsedCertificate, issuer: ParsedCertificate, policy: ChainPolicy): boolean {
  if (cert.x509.issuer !== issuer.x509.subject) return false;
  if (policy.strictIssuers && !cert.x509.checkIssued(issuer.x509)) return false;
  try {
    return cert.x509.verify(issuer.x509.publicKey);
  } catch {
    // OpenSSL cannot load the issuer's key (an algorithm Node does not know): not provably signed.
    return false;
  }
}
