import { type ExecutionResult, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/roles.ts';
import { CREDENTIAL_END_MESSAGE, type CredentialEnd, type CredentialSessions } from '../auth/sessions.ts';
import type { Services } from '../services.ts';
import type { Context } from './context.ts';

/** WebSocket close code for a connection whose credential was revoked or expired (as for refused credentials). */
export const CLOSE_FORBIDDEN = 4403;

/** The WebSocket close reason for each end. */
export const CLOSE_REASON: Record<CredentialEnd, string> = {
  CREDENTIALS_REVOKED: 'Credentials revoked',
  CREDENTIALS_EXPIRED: 'Credentials expired',
};

/** The error a stream ends with: `UNAUTHENTICATED` (what a new request with the credential gets), and why. */
export function credentialEndError(why: CredentialEnd): GraphQLError {
  return new GraphQLError(CREDENTIAL_END_MESSAGE[why], { extensions: { code: 'UNAUTHENTICATED', reason: why } });
}

/**
 * Subscriptions over HTTP (SSE, multipart) live as long as their credential: when it is revoked or expires, the stream
 * gets one final result with the UNAUTHENTICATED error and ends. WebSocket connections are sessions as a whole
 * (server.ts closes them with 4403).
 */
export function useCredentialLifetime(services: Services): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const ctx = args.contextValue as Context;
      // PLANTGRAPH_ADMIN_KEY and a JWT without `exp` never end.
      if (ctx.transport === 'websocket' || (ctx.auth.keyId === null && !ctx.auth.expiresAt)) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(untilCredentialEnds(services.auth.sessions, ctx.auth, result));
        },
      };
    },
  };
}

/** `source` until the principal's credential ends, then one result with the error; the source is ended then. */
export function untilCredentialEnds(
  sessions: CredentialSessions,
  principal: Principal,
  source: AsyncIterable<ExecutionResult>,
): AsyncIterableIterator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  let final: ExecutionResult | null = null;
  let finished = false;
  let wake: () => void = () => {};
  const ended = new Promise<null>((resolve) => {
    wake = () => resolve(null);
  });
  const unregister = sessions.open(principal, (why) => {
    final = { errors: [credentialEndError(why)] };
    wake();
  });
  const finish = () => {
    if (finished) return;
    finished = true;
    unregister();
    void Promise.resolve(it.return?.()).catch(() => {});
  };
  const done = (): IteratorReturnResult<undefined> => ({ value: undefined, done: true });
  const self: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      if (finished) return done();
      if (final === null) {
        const next = it.next();
        // Once the credential has ended, this source event is never read: nothing may reject unhandled.
        next.catch(() => {});
        const r = await Promise.race([next, ended]);
        if (r !== null && final === null) {
          if (r.done) finish();
          return r;
        }
      }
      const value = final as ExecutionResult | null;
      finish();
      return value ? { value, done: false } : done();
    },
    async return() {
      finish();
      return done();
    },
    async throw(err?: unknown) {
      finish();
      throw err;
    },
    [Symbol.asyncIterator]: () => self,
  };
  return self;
}
