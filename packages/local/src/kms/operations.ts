/**
 * The operations this endpoint serves, by X-Amz-Target name (`TrentService.<name>`). Everything
 * else, including KMS operations the service does not use, is UnknownOperationException.
 */
import { ALIAS_OPERATIONS } from './alias-operations';
import { ENCRYPTION_OPERATIONS } from './encryption-operations';
import { KEY_OPERATIONS } from './key-operations';
import type { Operation } from './operation';
import { SIGNING_OPERATIONS } from './signing-operations';

export const OPERATIONS: ReadonlyMap<string, Operation> = new Map([...KEY_OPERATIONS, ...ALIAS_OPERATIONS, ...SIGNING_OPERATIONS, ...ENCRYPTION_OPERATIONS]);
