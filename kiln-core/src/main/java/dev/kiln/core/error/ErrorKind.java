package dev.kiln.core.error;

/**
 * The closed set of failure kinds. Exactly one place (the HTTP layer's problem mapper) turns a kind
 * into a status code; everything else speaks in kinds.
 */
public enum ErrorKind {
  /** The request is malformed or does not match the model's signature. */
  INVALID_INPUT,
  /** No such model or version in the repository. */
  MODEL_NOT_FOUND,
  /** No route answers the request's path. */
  NOT_FOUND,
  /** The path is a route, but not for the request's method. */
  METHOD_NOT_ALLOWED,
  /** The model exists but no version of it is ready (loading, failed or unloaded). */
  MODEL_NOT_READY,
  /** The request body is larger than the configured limit. */
  PAYLOAD_TOO_LARGE,
  /** An admin operation without the right token. */
  UNAUTHORIZED,
  /**
   * The operation is not allowed in the server's current mode (e.g. load without explicit mode).
   */
  CONFLICT,
  /** Queue full or too many requests in flight: retry later. */
  OVERLOADED,
  /** The request's deadline passed before it could be computed. */
  DEADLINE_EXCEEDED,
  /** A feature of a model file or request that Kiln does not support. */
  UNSUPPORTED,
  /** Anything unexpected: a bug or a runtime failure. Never shown to clients in detail. */
  INTERNAL
}
