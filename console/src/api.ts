// The console's only way to the server: GraphQL over HTTP (queries, mutations) and graphql-ws (subscriptions) at
// /graphql of the page's own origin, with the API key as a bearer credential.
import { type Client, createClient } from 'graphql-ws';

import type { Role } from './schema.ts';

export type { Role };
/** The roles, lowest first: each can do what the ones before it can. */
const ROLES: Role[] = ['VIEWER', 'OPERATOR', 'PLANNER', 'ENGINEER', 'ADMIN'];
export const roleAtLeast = (have: Role, need: Role) => ROLES.indexOf(have) >= ROLES.indexOf(need);

/** Dispatched on window when the server refuses the key (HTTP 401, WebSocket close 4403): revoked or expired. */
export const UNAUTHORIZED_EVENT = 'plantgraph:unauthorized';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * A query or mutation. Errors with no data at all throw; `partial: true` returns the data that came with field errors
 * (e.g. a failure risk that cannot be scored for one machine).
 */
export async function gql<T>(key: string, query: string, variables?: Record<string, unknown>, opts: { partial?: boolean } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError('The server cannot be reached.', 'NETWORK');
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await res.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError(`The server answered ${res.status} without a GraphQL response.`, 'HTTP', res.status);
  }
  if (res.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  const first = body.errors?.[0];
  if (first && (!body.data || !opts.partial)) throw new ApiError(first.message, first.extensions?.code, res.status);
  if (!body.data) throw new ApiError(`The server answered ${res.status} without data.`, 'HTTP', res.status);
  return body.data;
}

/** A mutation result union: its success member, or an ApiError with the error member's message. */
export function success<T extends { __typename: string }>(r: T, typename: string): T {
  if (r.__typename !== typename) throw new ApiError((r as { message?: string }).message ?? r.__typename, r.__typename);
  return r;
}

export interface Live {
  client: Client;
  subscribe<T>(query: string, variables: Record<string, unknown>, next: (data: T) => void, error?: (e: unknown) => void): () => void;
  /** Called after every (re)connection but the first: time to catch up on what was missed. */
  onReconnect(fn: () => void): () => void;
  onState(fn: (connected: boolean) => void): () => void;
  dispose(): void;
}

export function connectLive(key: string): Live {
  const reconnects = new Set<() => void>();
  const states = new Set<(c: boolean) => void>();
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
  let connectedOnce = false;
  const client = createClient({
    url,
    connectionParams: { authorization: `Bearer ${key}` },
    lazy: false,
    // A refused connection is reported through `closed` (UNAUTHORIZED_EVENT), not on the browser console.
    onNonLazyError: () => {},
    retryAttempts: Number.POSITIVE_INFINITY,
    // A refused key (4403) is not retried; anything else (server restart, network) is, with graphql-ws's back-off.
    shouldRetry: (e) => !(typeof e === 'object' && e !== null && 'code' in e && (e as CloseEvent).code === 4403),
    on: {
      connected: () => {
        for (const s of states) s(true);
        if (connectedOnce) for (const r of reconnects) r();
        connectedOnce = true;
      },
      closed: (e) => {
        for (const s of states) s(false);
        if ((e as CloseEvent)?.code === 4403) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
      },
    },
  });
  return {
    client,
    subscribe(query, variables, next, error) {
      return client.subscribe<any>(
        { query, variables },
        {
          next: (r) => {
            if (r.data) next(r.data as never);
          },
          error: (e) => error?.(e),
          complete: () => {},
        },
      );
    },
    onReconnect(fn) {
      reconnects.add(fn);
      return () => reconnects.delete(fn);
    },
    onState(fn) {
      states.add(fn);
      return () => states.delete(fn);
    },
    dispose: () => client.dispose(),
  };
}
