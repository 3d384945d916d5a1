/** A request failed validation; `field` names the first offending field ('' for the body itself). */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(field ? `${field} ${detail}` : detail);
  }
}
