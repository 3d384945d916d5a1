/**
 * SigV4 for a request given as a URL, shared by the CLI's admin client and the authorizer's JWKS
 * fetch. It takes a signer rather than making one, so that the CLI, which brings its own
 * credentials, does not load the AWS credential provider chain at startup.
 */
import type { SignatureV4 } from '@smithy/signature-v4';

/**
 * The headers to send: the given ones plus host, date and signature. Method, host, port, path,
 * every query value and the body (when there is one) are under the signature.
 */
export async function signUrlRequest(
  signer: Pick<SignatureV4, 'sign'>,
  request: { readonly method: string; readonly url: URL; readonly headers: Readonly<Record<string, string>>; readonly body?: string },
): Promise<Record<string, string>> {
  const { url } = request;
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name);
    query[name] = values.length === 1 ? values[0]! : values;
  }
  const signed = await signer.sign({
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { ...request.headers, host: url.host },
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return signed.headers as Record<string, string>;
}
