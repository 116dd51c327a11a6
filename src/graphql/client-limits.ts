import type http from 'node:http';
import { GraphQLError } from 'graphql';
import type { GraphQLParams } from 'graphql-yoga';
import { clientAddress } from '../auth/login-throttle.ts';
import type { AuthResult } from '../auth/service.ts';
import type { Principal } from '../auth/roles.ts';
import type { Config } from '../config.ts';
import type { Services } from '../services.ts';
import { CLOSE_TOO_MANY_FAILED_LOGINS } from './close-codes.ts';
import { CLOSE_FORBIDDEN } from './credential-lifetime.ts';

/**
 * Per-client limits at the transport edge: the client address the failed-login throttle counts, the WebSocket refusal
 * of a throttled address, and the rate-limit tokens of a JSON-array batch (one per operation).
 */

type NodeRequest = Pick<http.IncomingMessage, 'headers'> & { socket?: { remoteAddress?: string } | null };

/** The client address of a node:http request (an HTTP request or a WebSocket upgrade); see clientAddress. */
export function nodeClientAddress(config: Pick<Config, 'trustProxy'>, req: NodeRequest | undefined): string | null {
  if (!req) return null;
  return clientAddress(req.socket?.remoteAddress, req.headers?.['x-forwarded-for'], config.trustProxy);
}

/**
 * The client address of a request yoga serves: its node:http request is in the server context (`req`). In-process
 * `yoga.fetch` calls have none and are not throttled.
 */
export function yogaClientAddress(config: Pick<Config, 'trustProxy'>, serverContext: unknown): string | null {
  return nodeClientAddress(config, (serverContext as { req?: NodeRequest } | undefined)?.req);
}

/**
 * The close reason of a refused connection_init (at most 123 bytes): whether the credential was missing, malformed or
 * refused; a refused one says nothing about which keys exist.
 */
export const WS_AUTH_REASONS = {
  missing: 'Forbidden: missing credentials: send {"authorization": "Bearer <api key>"} in connection_init',
  malformed: 'Forbidden: malformed authorization in connection_init: expected "Bearer <api key>"',
  refused: 'Forbidden: invalid, expired or revoked credentials',
} as const;

/**
 * A refused connection_init: a throttled address is closed with 4429 (the reason says when to retry), anything else
 * with 4403 and a reason that says what was wrong (WS_AUTH_REASONS). Returns false for onConnect.
 */
export function refuseConnectionInit(socket: unknown, result: AuthResult): false {
  const ws = socket as { readyState?: number; OPEN?: number; close?: (code: number, reason: string) => void };
  if (result.ok || ws.readyState !== ws.OPEN) return false;
  if (result.failure === 'throttled') ws.close?.(CLOSE_TOO_MANY_FAILED_LOGINS, `Too many failed authentication attempts; retry in ${result.retryAfter} s`);
  else ws.close?.(CLOSE_FORBIDDEN, WS_AUTH_REASONS[result.failure]);
  return false;
}

/** The GraphQL error (HTTP 429 with Retry-After) of a caller over its rate. */
export function rateLimitedError(wait: number, message = `Rate limit exceeded; retry in ${wait} s.`): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'RATE_LIMITED', retryAfterSeconds: wait, http: { status: 429, headers: { 'retry-after': String(wait) } } },
  });
}

/**
 * A JSON-array batch of N operations takes N rate-limit tokens: useAuthentication took one for the request, this takes
 * the other N - 1 once the body is parsed. If they are not all there, the whole batch is refused with 429 before any
 * of it executes, and the request's token is given back (a refused request costs nothing). A batch over the batch
 * limit is left to yoga's own 413, and one larger than the rate-limit burst, which could never run, is refused with 413.
 */
export function takeBatchTokens(services: Services, principal: Principal | undefined, params: GraphQLParams | GraphQLParams[]): void {
  if (!principal || !Array.isArray(params) || params.length <= 1) return;
  const { limiter } = services.auth;
  if (!limiter.enabled || params.length > services.config.limits.maxBatch) return;
  if (params.length > limiter.burst) {
    services.auth.refundRateLimit(principal, 1);
    throw new GraphQLError(`A batch takes one rate-limit token per operation: at most ${limiter.burst} operations per batch.`, {
      extensions: { code: 'BAD_REQUEST', http: { status: 413 } },
    });
  }
  const wait = services.auth.rateLimit(principal, params.length - 1);
  if (wait === 0) return;
  services.auth.refundRateLimit(principal, 1);
  throw rateLimitedError(wait, `Rate limit exceeded: this batch needs ${params.length} tokens (one per operation); retry in ${wait} s.`);
}
