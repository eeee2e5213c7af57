/** Options shared by every Keel error: the underlying cause and structured details for the API. */
export interface KeelErrorOptions {
  cause?: unknown
  details?: unknown
}

/** Base class of the errors services throw; the API and CLI map each subclass to a status. */
export class KeelError extends Error {
  readonly details: unknown

  constructor(message: string, options: KeelErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.details = options.details
  }
}

/** The caller sent something invalid (HTTP 400, CLI exit 2). */
export class InputError extends KeelError {}

/** The named object does not exist (HTTP 404). */
export class NotFoundError extends KeelError {}

/** The request conflicts with the current state (HTTP 409). */
export class ConflictError extends KeelError {}

/** The caller is known but may not do this (HTTP 403). */
export class NotAllowedError extends KeelError {}

/** The caller could not be identified (HTTP 401). */
export class AuthenticationError extends KeelError {}
