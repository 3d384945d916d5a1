/**
 * Errors the client should see, serialized the way KMS does (`{"__type": ..., "message": ...}`),
 * so the SDK turns them into its named exception classes.
 */
export class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

// Type mismatches are SerializationException and constraint violations ValidationException, as in
// AWS; member names in messages are lowerCamelCase like AWS's.

const memberName = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

export function validationError(name: string, value: unknown, constraint: string): KmsError {
  const shown = typeof value === 'string' ? `'${value.length > 64 ? `${value.slice(0, 64)}...` : value}'` : String(value);
  return new KmsError(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${memberName(name)}' failed to satisfy constraint: ${constraint}`,
  );
}

export function typeError(name: string, expected: string): KmsError {
  return new KmsError('SerializationException', `Expected ${expected} for member ${name}`);
}
