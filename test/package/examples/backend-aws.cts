// docs/ENFORCEMENT.md's @attestor/verify/aws snippet, in a backend that installed the optional
// peers it names: the secrets fetched wrapped from the admin API with SigV4 and unwrapped with KMS.
// In AWS the credentials are the backend's role and there is no kmsEndpoint; here they are the
// local cloud's operator credential and its KMS. Prints one JSON line.
import { createVerifier } from '@attestor/verify';
import { attestorSecrets } from '@attestor/verify/aws';

const verifier = createVerifier({
  issuer: 'attestor',
  secrets: attestorSecrets({
    apiUrl: process.env['ATTESTOR_API_URL']!,
    tenantId: 'default',
    region: 'us-east-1',
    credentials: { accessKeyId: process.env['AWS_ACCESS_KEY_ID']!, secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY']! },
    kmsEndpoint: process.env['ATTESTOR_KMS_ENDPOINT']!,
  }),
});

async function main() {
  const claims = await verifier.verify(process.argv[2]!);
  console.log(JSON.stringify({ sub: claims.sub }));
  // The verifier refreshes its secrets in the background; a one-shot check ends here.
  process.exit(0);
}
void main();
