import { GraphQLError } from 'graphql';
import { maskError } from 'graphql-yoga';
import { isDatabaseUnavailable } from '../db/errors.ts';

/** The same error with another message: locations, path, original error and extensions kept (a plain Error gets none). */
export function withMessage(err: Error, message: string): GraphQLError {
  if (!(err instanceof GraphQLError)) return new GraphQLError(message);
  return new GraphQLError(message, {
    nodes: err.nodes,
    source: err.source,
    positions: err.positions,
    path: err.path,
    originalError: err.originalError,
    extensions: err.extensions,
  });
}

/** The message and extensions of a request that failed because the database is away (a retry may succeed). */
export const SERVICE_UNAVAILABLE_MESSAGE = 'The database is unavailable; retry shortly.';

/**
 * A failure that is the database being away (a restart, a cut or stalled connection) as a retryable typed error:
 * `extensions.code = SERVICE_UNAVAILABLE`, `retryable: true`, HTTP 503; null for anything else.
 */
export function unavailableError(err: unknown): GraphQLError | null {
  if (!isDatabaseUnavailable(err)) return null;
  const g = err instanceof GraphQLError ? err : null;
  return new GraphQLError(SERVICE_UNAVAILABLE_MESSAGE, {
    nodes: g?.nodes,
    source: g?.source,
    positions: g?.positions,
    path: g?.path,
    extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true, http: { status: 503 } },
  });
}

/** Yoga's masking, except that the database being away is a retryable SERVICE_UNAVAILABLE rather than a masked fault. */
export function maskWithUnavailable(error: unknown, message: string, isDev?: boolean): Error {
  return unavailableError(error) ?? maskError(error, message, isDev);
}
