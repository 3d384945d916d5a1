/**
 * ECDSA P-256 public-key recovery, as an attacker would run it against ES256 tokens: from a
 * signature (r, s) and its message, the two public keys that could have made it. Anyone holding two
 * genuine tokens of a tenant learns its key this way (the one candidate they share), and can then
 * sort every other token into pass or decoy offline. It is the reason hs256 is the default
 * (PROTOCOL.md §9), and the verdict-secrecy test uses it to show its classifier bites.
 *
 * Textbook arithmetic in Jacobian coordinates with BigInt: fine for a test, never for secrets.
 */
import { createHash } from 'node:crypto';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

interface Jacobian {
  readonly x: bigint;
  readonly y: bigint;
  readonly z: bigint;
}
const INFINITY: Jacobian = { x: 1n, y: 1n, z: 0n };

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function pow(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}
const inverse = (a: bigint, m: bigint) => pow(a, m - 2n, m);

function double(p: Jacobian): Jacobian {
  if (p.z === 0n || p.y === 0n) return INFINITY;
  const ysq = (p.y * p.y) % P;
  const s = (4n * p.x * ysq) % P;
  const zsq = (p.z * p.z) % P;
  const m = mod(3n * (p.x - zsq) * (p.x + zsq), P); // a = -3
  const x = mod(m * m - 2n * s, P);
  return { x, y: mod(m * (s - x) - 8n * ysq * ysq, P), z: (2n * p.y * p.z) % P };
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const z1sq = (p.z * p.z) % P;
  const z2sq = (q.z * q.z) % P;
  const u1 = (p.x * z2sq) % P;
  const u2 = (q.x * z1sq) % P;
  const s1 = (p.y * z2sq * q.z) % P;
  const s2 = (q.y * z1sq * p.z) % P;
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const h2 = (h * h) % P;
  const h3 = (h2 * h) % P;
  const x = mod(r * r - h3 - 2n * u1 * h2, P);
  return { x, y: mod(r * (u1 * h2 - x) - s1 * h3, P), z: (h * p.z * q.z) % P };
}

function multiply(k: bigint, p: Jacobian): Jacobian {
  let result = INFINITY;
  for (let i = 255n; i >= 0n; i--) {
    result = double(result);
    if ((k >> i) & 1n) result = add(result, p);
  }
  return result;
}

function affineHex(p: Jacobian): string {
  const zi = inverse(p.z, P);
  const x = (p.x * zi * zi) % P;
  const y = (p.y * zi * zi * zi) % P;
  return `${x.toString(16).padStart(64, '0')}${y.toString(16).padStart(64, '0')}`;
}

/**
 * The (at most two) public keys, as hex x‖y, under which `signature` (P1363 r‖s, 64 bytes) is a
 * valid ES256 signature of `message`.
 */
export function recoverPublicKeys(message: Uint8Array, signature: Uint8Array): string[] {
  const r = BigInt(`0x${Buffer.from(signature.subarray(0, 32)).toString('hex')}`);
  const s = BigInt(`0x${Buffer.from(signature.subarray(32, 64)).toString('hex')}`);
  const z = BigInt(`0x${createHash('sha256').update(message).digest('hex')}`) % N;
  if (r === 0n || s === 0n || r >= N || s >= N) return [];
  // R's x is r (r + n exceeds p for all but a negligible share of signatures); its y is either root.
  const ysq = mod(r * r * r - 3n * r + B, P);
  const y = pow(ysq, (P + 1n) / 4n, P);
  if ((y * y) % P !== ysq) return [];
  const rInverse = inverse(r, N);
  const u1 = mod(-z * rInverse, N);
  const u2 = (s * rInverse) % N;
  const g = multiply(u1, { x: GX, y: GY, z: 1n });
  return [y, P - y].map((ry) => affineHex(add(g, multiply(u2, { x: r, y: ry, z: 1n }))));
}

/** The x‖y hex of an EC public JWK, to compare with recovered keys. */
export function jwkHex(jwk: { x: string; y: string }): string {
  return `${Buffer.from(jwk.x, 'base64url').toString('hex')}${Buffer.from(jwk.y, 'base64url').toString('hex')}`;
}
