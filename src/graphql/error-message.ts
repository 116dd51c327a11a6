import { GraphQLError } from 'graphql';

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
