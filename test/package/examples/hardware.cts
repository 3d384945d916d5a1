// packages/hardware/README.md "Test authority": evidence issued by the test authority verifies
// against its root, and is refused against the pinned Apple root. Prints one JSON line.
import { createHash } from 'node:crypto';
import { HardwareAttestationError, verifyAppAttestAttestation } from '@attestor/hardware';
import { createTestAuthority } from '@attestor/hardware/testing';

const authority = createTestAuthority();
const appId = '6MURL8TA57.com.example.app';
const clientDataHash = createHash('sha256').update('a challenge the server issued').digest();
const { keyId, attestation } = authority.appAttest.attest({ appId, clientDataHash, environment: 'development' });
const input = { attestation, keyId, clientDataHash, appId, environments: ['development'] as const, now: new Date() };

const verified = verifyAppAttestAttestation({ ...input, roots: [authority.appAttest.root.pem] });
let pinned: string;
try {
  verifyAppAttestAttestation(input);
  pinned = 'accepted';
} catch (error) {
  pinned = error instanceof HardwareAttestationError ? error.code : 'threw';
}
console.log(JSON.stringify({ environment: verified.environment, counter: verified.counter, pinnedRoot: pinned }));
