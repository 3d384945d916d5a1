/**
 * `attestor keys secret`: the tenant's hs256 secrets in plaintext, for verifiers outside AWS to keep
 * in their own secret store. The admin API hands secrets out wrapped only; this unwraps them with
 * KMS Decrypt under the operator's own credentials (in AWS, an IAM principal allowed kms:Decrypt
 * with the tenant's encryption context; locally, the local KMS, which lets a tenant's admin
 * credential unwrap that tenant's secrets only).
 */
import type { WrappedTokenSecret } from '@attestor/contracts/admin-api';
import type { SecretJwk, TokenSecretSet } from '@attestor/verify';
import type { Command } from 'commander';
import { adminClientSettings, type CliContext } from './context';
import { isLocalEndpoint, type CredentialSource } from './credentials';
import { CliError } from './errors';
import { localKmsEndpoint } from './local-service';
import { formatTable, toJson, type Column } from './output';


export interface KmsAccess {
  readonly credentials: CredentialSource;
  /** Local cloud: its KMS endpoint. Absent: AWS, in the region of each wrapping key's ARN. */
  readonly endpoint?: string;
  readonly region: string;
}

const KMS_ARN_REGION = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/;

/** The secrets as a JWK Set, in the order given (the signing one first). */
export async function unwrapSecrets(wrapped: readonly WrappedTokenSecret[], access: KmsAccess): Promise<TokenSecretSet> {
  // Loaded here: the KMS client is a large module no other command needs.
  const { KMSClient, DecryptCommand } = require('@aws-sdk/client-kms') as typeof import('@aws-sdk/client-kms');
  const clients = new Map<string, InstanceType<typeof KMSClient>>();
  const clientFor = (keyId: string) => {
    const region = access.endpoint !== undefined ? access.region : (KMS_ARN_REGION.exec(keyId)?.[1] ?? access.region);
    let client = clients.get(region);
    if (!client) {
      client = new KMSClient({ region, credentials: access.credentials, ...(access.endpoint !== undefined ? { endpoint: access.endpoint } : {}) });
      clients.set(region, client);
    }
    return client;
  };
  try {
    const keys = await Promise.all(
      wrapped.map(async (w): Promise<SecretJwk> => {
        let plaintext: Uint8Array | undefined;
        try {
          ({ Plaintext: plaintext } = await clientFor(w.keyId).send(
            new DecryptCommand({ KeyId: w.keyId, CiphertextBlob: Buffer.from(w.ciphertext, 'base64'), EncryptionContext: { ...w.encryptionContext } }),
          ));
        } catch (error) {
          const name = (error as Error)?.name ?? 'Error';
          throw new CliError(
            name === 'AccessDeniedException'
              ? `KMS refused to unwrap secret ${w.kid} with your credentials: allow kms:Decrypt on ${w.keyId} with the tenant's encryption context ` +
                `(docs/DEPLOY.md)`
              : `KMS could not unwrap secret ${w.kid} (${name}): retry, or check ${w.keyId}`,
          );
        }
        if (!plaintext) throw new CliError(`KMS returned no plaintext for secret ${w.kid}`);
        return {
          kty: 'oct',
          kid: w.kid,
          alg: 'HS256',
          use: 'sig',
          k: Buffer.from(plaintext).toString('base64url'),
          status: w.status,
          activatesAt: w.activatesAt,
          ...(w.retiresAt !== undefined ? { retiresAt: w.retiresAt } : {}),
        };
      }),
    );
    return { keys };
  } finally {
    for (const client of clients.values()) client.destroy();
  }
}

/**
 * Unwraps with the command's own credentials, through the KMS of the service it talks to: the local
 * cloud's for a local endpoint, AWS KMS otherwise (`attestor keys secret`, `attestor token secret`).
 */
export function unwrapForCommand(ctx: CliContext, command: Command, wrapped: readonly WrappedTokenSecret[]): Promise<TokenSecretSet> {
  const settings = adminClientSettings(ctx, command);
  return unwrapSecrets(wrapped, {
    credentials: settings.credentials,
    region: settings.region,
    ...(isLocalEndpoint(settings.endpoint) ? { endpoint: localKmsEndpoint(ctx.env, ctx.cwd) } : {}),
  });
}

/** How a command prints a secret set: what to say when there is none, its table's columns, the warning after. */
export interface SecretSetPrinting {
  readonly json: boolean;
  /** On stderr when the tenant has no such secret (and `{"keys":[]}` on stdout with --json). */
  readonly none: string;
  readonly columns: ReadonlyArray<Column<SecretJwk>>;
  /** On stderr after the table: where the secrets belong. */
  readonly warning: string;
}

/** Unwraps `wrapped` with the command's credentials and prints the set: a JWK Set with --json, a table otherwise. */
export async function printSecretSet(ctx: CliContext, command: Command, wrapped: readonly WrappedTokenSecret[], printing: SecretSetPrinting): Promise<void> {
  if (wrapped.length === 0) {
    ctx.stderr.write(`${printing.none}\n`);
    if (printing.json) ctx.stdout.write(toJson({ keys: [] }));
    return;
  }
  const set = await unwrapForCommand(ctx, command, wrapped);
  if (printing.json) return void ctx.stdout.write(toJson(set));
  ctx.stdout.write(formatTable(set.keys, printing.columns));
  ctx.stderr.write(`${printing.warning}\n`);
}
