/**
 * The one route table. The CDK stack (lib/) builds API Gateway resources from it and the local
 * gateway (local/) serves it, so the deployed API and the local one cannot drift apart.
 * No AWS imports: this is data.
 */
export type LambdaName = 'challenge' | 'attest' | 'register' | 'authorizer' | 'demoHello' | 'admin';

export interface LambdaSpec {
  /** Entry file relative to the project root; one thin file per Lambda. */
  readonly entry: string;
  readonly description: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

export const LAMBDAS: Readonly<Record<LambdaName, LambdaSpec>> = {
  challenge: { entry: 'lambdas/challenge.ts', description: 'Issues attestation nonces', memoryMb: 256, timeoutSeconds: 5 },
  attest: { entry: 'lambdas/attest.ts', description: 'Judges attestations and mints tokens', memoryMb: 512, timeoutSeconds: 10 },
  register: { entry: 'lambdas/register.ts', description: 'Hashes uploaded builds into registrations', memoryMb: 256, timeoutSeconds: 900 },
  authorizer: { entry: 'lambdas/authorizer.ts', description: 'Admits requests that carry a valid attestation token', memoryMb: 256, timeoutSeconds: 5 },
  demoHello: { entry: 'lambdas/demo-hello.ts', description: 'Demo route behind the attestation authorizer', memoryMb: 128, timeoutSeconds: 5 },
  admin: { entry: 'lambdas/admin.ts', description: 'Admin API: apps, uploads, keys', memoryMb: 256, timeoutSeconds: 15 },
};

/** none: public; attestation: behind the attestation authorizer; iam: AWS_IAM (SigV4) admin access. */
export type RouteAuth = 'none' | 'attestation' | 'iam';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Route {
  readonly method: HttpMethod;
  /** API Gateway resource path; `{name}` marks a path parameter. */
  readonly path: string;
  readonly lambda: Exclude<LambdaName, 'register' | 'authorizer'>;
  readonly auth: RouteAuth;
}

export const ROUTES: readonly Route[] = [
  // Protocol v1 (PROTOCOL.md): public, throttled.
  { method: 'POST', path: '/v1/challenge', lambda: 'challenge', auth: 'none' },
  { method: 'POST', path: '/v1/attest', lambda: 'attest', auth: 'none' },
  // A protected demo route, behind the attestation authorizer.
  { method: 'GET', path: '/demo/hello', lambda: 'demoHello', auth: 'attestation' },
  // Admin API: IAM (SigV4). Every route resolves the caller to one tenant first.
  { method: 'GET', path: '/v1/admin/tenants', lambda: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/tenants', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/apps', lambda: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/apps', lambda: 'admin', auth: 'iam' },
  { method: 'DELETE', path: '/v1/admin/apps/{appId}', lambda: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/apps/{appId}/uploads', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/uploads/{uploadId}', lambda: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/uploads/{uploadId}/complete', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/apps/{appId}/registrations', lambda: 'admin', auth: 'iam' },
  { method: 'DELETE', path: '/v1/admin/apps/{appId}/registrations/{version}', lambda: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/apps/{appId}/registrations/{version}/expire', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/apps/{appId}/policy', lambda: 'admin', auth: 'iam' },
  { method: 'PUT', path: '/v1/admin/apps/{appId}/policy', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/apps/{appId}/devices', lambda: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/apps/{appId}/devices', lambda: 'admin', auth: 'iam' },
  { method: 'DELETE', path: '/v1/admin/apps/{appId}/devices/{deviceId}', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/keys', lambda: 'admin', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/keys/rotate', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/keys/jwks', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/log', lambda: 'admin', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/stats', lambda: 'admin', auth: 'iam' },
];

/** The header that carries attestation tokens to protected routes. */
export const TOKEN_HEADER_NAME = 'Attestor-Token';
