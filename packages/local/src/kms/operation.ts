import type { EncryptionContext, Input, Output } from './input';
import type { LiveKey } from './key';
import type { LocalKms } from './store';

/**
 * An operation runs in two steps so that no operation can act before the caller is authorized:
 * `prepare` validates the input and resolves the key without changing anything; the server then
 * asks the caller's credential whether it may perform the operation on that key (with that
 * encryption context), and only then calls `execute`, which checks the key's state and acts.
 */
export interface Prepared {
  /** The key acted on; absent for account-level operations (CreateKey, ListKeys). */
  readonly key?: LiveKey;
  readonly encryptionContext?: EncryptionContext;
  readonly execute: () => Output | Promise<Output>;
}

export type Operation = (kms: LocalKms, input: Input) => Prepared;
