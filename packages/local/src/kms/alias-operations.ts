/** CreateAlias and UpdateAlias; aliases are never deleted except with their key. */
import { KmsError } from './errors';
import { reqString, type Input } from './input';
import type { Operation } from './operation';

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

function aliasName(input: Input): string {
  const name = reqString(input, 'AliasName', 1, 256);
  if (!ALIAS_NAME.test(name)) {
    throw new KmsError('InvalidAliasNameException', `Alias name ${name} must begin with alias/ and contain only alphanumerics, /, _ and -`);
  }
  if (name.startsWith('alias/aws/')) throw new KmsError('InvalidAliasNameException', 'Alias names beginning with alias/aws/ are reserved for AWS managed keys');
  return name;
}

/** CreateAlias and UpdateAlias: an alias name and a target key, which must not be pending deletion. */
function pointAlias(point: (kms: Parameters<Operation>[0], name: string, keyId: string) => Promise<unknown>): Operation {
  return (kms, input) => {
    const name = aliasName(input);
    // Only a key id or ARN: an alias cannot point at another alias.
    const target = kms.resolve(reqString(input, 'TargetKeyId'), false);
    return {
      key: target,
      execute: async () => {
        kms.requireNotPendingDeletion(target);
        await point(kms, name, target.keyId);
        return {};
      },
    };
  };
}

const createAlias = pointAlias((kms, name, keyId) => kms.createAlias(name, keyId));
const updateAlias = pointAlias((kms, name, keyId) => kms.updateAlias(name, keyId));

export const ALIAS_OPERATIONS: ReadonlyArray<readonly [string, Operation]> = [
  ['CreateAlias', createAlias],
  ['UpdateAlias', updateAlias],
];
