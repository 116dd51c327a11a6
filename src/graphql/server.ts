import { LISTEN_BACKLOG } from './listen.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  getOperationAST,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  parse,
} from 'graphql';
import type { Context as WsContext } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, isAsyncIterable, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Services } from '../services.ts';
import type { Principal } from '../auth/roles.ts';
import type { CredentialEnd } from '../auth/sessions.ts';
import { useExecutionBounds } from './bounds.ts';
import { CLOSE_SLOW_CONSUMER, CLOSE_TOO_MANY_CONNECTIONS } from './close-codes.ts';
import { nodeClientAddress, refuseConnectionInit } from './client-limits.ts';
import type { Context } from './context.ts';
import { CLOSE_FORBIDDEN, CLOSE_REASON, credentialEndError, useCredentialLifetime } from './credential-lifetime.ts';
import { boundedParserCache } from './document-cache.ts';
import { maskWithUnavailable, unavailableError } from './error-message.ts';
import { DISABLED_BUILTIN_HEALTH_CHECK, httpMethod, httpRoute, useConsole, useHealth, useHttpMetrics, useMetricsEndpoint, useReadiness } from './endpoints.ts';
import { startKeepAlive } from './keep-alive.ts';
import {
  requestPrincipals,
  useAuditLog,
  useCostLimit,
  useSharedSubscriptionExecution,
  useAuthentication,
  useInputChecks,
  useNoIntrospection,
  useNoSuggestions,
  usePersistedOperationsFile,
  useQueryLimits,
} from './plugins.ts';
import { schema as defaultSchema } from './schema.ts';
import { useSubscriptionCostLimit } from './subscriptions.ts';
import { graphiqlOptions, renderPlantGraphiQL, useGraphiQLAssets } from './graphiql.ts';
import { bodyLimit, uploadFetchAPI, useUploadLimits } from './uploads.ts';

export const GRAPHQL_PATH = '/graphql';

/** Counts operations by name, type and outcome, and times them. */
function useOperationMetrics(services: Services): Plugin<Context> {
  const { operations, operationSeconds } = services.metrics;
  return {
    onExecute({ args }) {
      const op = getOperationAST(args.document, args.operationName);
      const type = op?.operation ?? 'unknown';
      const name = op?.name?.value ?? 'anonymous';
      const end = operationSeconds.startTimer({ type });
      return {
        onExecuteDone({ result }) {
          end();
          const failed = 'errors' in result && Array.isArray(result.errors) && result.errors.length > 0;
          operations.inc({ operation: name, type, outcome: failed ? 'error' : 'ok' });
        },
      };
    },
  };
}

export function createYogaApp(services: Services, schema: GraphQLSchema = defaultSchema): YogaServerInstance<Record<string, unknown>, Context> {
  const { config } = services;
  // The operational endpoints answer before authentication; http metrics count every response.
  const plugins: Plugin<Context>[] = [
    useHttpMetrics(services.metrics, GRAPHQL_PATH),
    useHealth(),
    useReadiness(services.database),
    useMetricsEndpoint(services),
    useConsole(),
    ...(config.graphiql ? [useGraphiQLAssets()] : []),
    useAuthentication(services),
    useUploadLimits(config.limits),
    useQueryLimits(services),
    useInputChecks(services),
    useCostLimit(services),
    useExecutionBounds(services),
    useOperationMetrics(services),
    useSubscriptionCostLimit(services),
    useAuditLog(services),
    useSharedSubscriptionExecution(services),
    useCredentialLifetime(services),
  ];
  if (!config.introspection) plugins.push(useNoIntrospection());
  if (config.production) plugins.push(useNoSuggestions());
  if (config.persistedOperationsFile) plugins.push(usePersistedOperationsFile(config.persistedOperationsFile));
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    fetchAPI: uploadFetchAPI(config.limits),
    healthCheckEndpoint: DISABLED_BUILTIN_HEALTH_CHECK,
    landingPage: false,
    graphiql: config.graphiql ? graphiqlOptions() : false,
    renderGraphiQL: renderPlantGraphiQL,
    maskedErrors: { maskError: maskWithUnavailable },
    batching: { limit: config.limits.maxBatch },
    // The HTTP handler (startServer) refuses a body over the limit by its Content-Length before yoga reads anything,
    // and a POST without one (411); Node's parser never reads past Content-Length. Yoga's own check would pipe every
    // body through a counting stream again (a stream pipeline and an AbortController per request).
    maxRequestBodySize: false,
    parserAndValidationCache: boundedParserCache(),
    logging: {
      debug: (...a) => services.logger.debug(a.map(String).join(' ')),
      info: (...a) => services.logger.info(a.map(String).join(' ')),
      warn: (...a) => services.logger.warn(a.map(String).join(' ')),
      error: (...a) => services.logger.error(a.map((x) => (x instanceof Error ? (x.stack ?? x.message) : String(x))).join(' ')),
    },
    context: (initial) => {
      const ws = initial as Partial<WsOperationContext>;
      const principal = ws.principal ?? requestPrincipals.get(initial.request);
      if (!principal) throw new Error('request reached execution without a principal');
      const socket = ws.socket;
      ws.executing?.();
      return {
        db: services.database.db,
        services,
        auth: principal,
        outcomes: [],
        request: initial.request,
        transport: socket ? 'websocket' : 'http',
        closeConnection: socket ? (code, reason) => closeSocket(socket, code, reason) : undefined,
      };
    },
    plugins,
  });
}

/** What a WebSocket operation brings to yoga in place of an HTTP request's authentication (see startServer). */
interface WsOperationContext {
  req: http.IncomingMessage;
  socket: WebSocket;
  principal: Principal;
  /** Called when the operation has passed parsing and validation and its execution context is built. */
  executing: () => void;
}

/**
 * Sends a close frame. A peer that has stopped reading gets it only once it reads again, so it is not cut off after a
 * moment (it would see 1006 instead of the code): ws itself drops a peer that has not completed the close within
 * 30 s, and the heartbeat one that does not answer pings.
 */
function closeSocket(socket: import('ws').WebSocket, code: number, reason: string): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.close(code, reason);
}

/** How long a WebSocket closed for its credential, or at shutdown, may take to answer the close frame before it is dropped. */
const CLOSE_GRACE_MS = 1_000;

/** The Request that stands for a WebSocket operation in yoga's pipeline (a POST: mutations are allowed). */
const WS_OPERATION_URL = `http://localhost${GRAPHQL_PATH}`;

/** What onSubscribe hands graphql-ws: the result yoga produced (graphql-ws needs a document to pick execute or subscribe). */
interface PreparedOperation {
  result: ExecutionResult | AsyncIterable<ExecutionResult>;
}
const DELIVER_RESULT = parse('{ __typename }');

/** An error thrown before execution as the GraphQL error to send; anything but a GraphQLError is masked and logged. */
function requestError(err: unknown, services: Services): GraphQLError {
  const unavailable = unavailableError(err);
  if (unavailable) return unavailable;
  if (err instanceof GraphQLError) return err;
  services.logger.error({ err }, 'WebSocket operation failed');
  return new GraphQLError('Unexpected error.');
}

/** An error as sent to a client: without yoga's internal extensions (`http`, `unexpected`), like HTTP responses. */
function formatError(e: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  const json: GraphQLFormattedError = e instanceof GraphQLError ? e.toJSON() : e;
  if (!json.extensions || !('http' in json.extensions || 'unexpected' in json.extensions)) return json;
  const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions;
  const { extensions: _all, ...rest } = json;
  return Object.keys(extensions).length > 0 ? { ...rest, extensions } : rest;
}

function withoutInternals(result: ExecutionResult | FormattedExecutionResult): FormattedExecutionResult | undefined {
  if (!result.errors || result.errors.length === 0) return undefined;
  return { ...result, errors: result.errors.map(formatError) } as FormattedExecutionResult;
}

export interface RunningServer {
  httpServer: http.Server;
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  url: string;
  close(): Promise<void>;
}

/** HTTP (GraphQL, GraphiQL, health, readiness, metrics) and graphql-ws on one port and path. */
export { CLOSE_SLOW_CONSUMER } from './close-codes.ts';

export interface ServerOptions {
  port: number;
  host: string;
  /** Ping every WebSocket this often; one that has not answered the previous ping is terminated. */
  wsPingMs?: number;
  /** Close a WebSocket with 4008 when more than this many bytes are waiting to be sent to it at two pings in a row. */
  wsMaxBufferedBytes?: number;
  /** A server already listening (bindPort): start-up binds the port before the database work, so a clash fails at once. */
  listener?: http.Server;
}

export { bindPort, PortError } from './listen.ts';

export async function startServer(services: Services, opts: ServerOptions): Promise<RunningServer> {
  const yoga = createYogaApp(services);
  const { metrics } = services;

  // Transport-level body checks stay here, before yoga reads anything: a 413 has to drop the socket.
  const handler: http.RequestListener = async (req, res) => {
    const count = () =>
      metrics.httpRequests.inc({
        method: httpMethod(req.method),
        route: httpRoute((req.url ?? '/').split('?')[0], GRAPHQL_PATH),
        status: String(res.statusCode),
      });
    try {
      const limit = bodyLimit(req.headers['content-type'], services.config.limits);
      const length = Number(req.headers['content-length'] ?? 0);
      if (req.method === 'POST' && req.headers['content-length'] === undefined) {
        res.on('finish', count);
        res
          .writeHead(411, { 'content-type': 'application/json' })
          .end(JSON.stringify({ errors: [{ message: 'Content-Length is required.', extensions: { code: 'LENGTH_REQUIRED' } }] }));
        return;
      }
      if (length > limit) {
        res.on('finish', count);
        res.setHeader('connection', 'close');
        res.writeHead(413, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            errors: [{ message: `Request body of ${length} bytes exceeds the limit of ${limit} bytes.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
          }),
        );
        req.destroy();
        return;
      }
      await yoga(req, res);
    } catch (err) {
      services.logger.error({ err }, 'request failed');
      if (!res.headersSent) {
        res.on('finish', count);
        res.writeHead(500, { 'content-type': 'application/json' });
      }
      res.end(JSON.stringify({ errors: [{ message: 'Unexpected error.' }] }));
    }
  };
  const httpServer = opts.listener ?? http.createServer();
  httpServer.removeAllListeners('request');
  httpServer.on('request', handler);

  const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: 1024 * 1024 });
  const keepAlive = startKeepAlive(wsServer, {
    pingMs: opts.wsPingMs ?? 15_000,
    maxBufferedBytes: opts.wsMaxBufferedBytes ?? 4 * 1024 * 1024,
    onSlow: (socket) => closeSocket(socket, CLOSE_SLOW_CONSUMER, 'Slow consumer'),
  });
  const limits = services.config.limits;
  type WsExtra = {
    socket: WebSocket;
    request: http.IncomingMessage;
    /** The Authorization value of connection_init, checked again for every operation. */
    credential?: string;
    principal?: Principal;
    subscriptions?: Set<string>;
    /** Unregisters the connection from the credential sessions. */
    endSession?: () => void;
    /** The credential this connection is counted for in the per-credential connection limit. */
    countedAs?: string;
    /** Set once the connection was ended for its credential: nothing more runs on it. */
    ended?: CredentialEnd;
  };
  type Connection = WsContext<Record<string, unknown>, WsExtra>;
  /** Open (acknowledged) WebSocket connections per credential: an API key, a JWT subject, the environment's ADMIN key. */
  const openConnections = new Map<string, number>();
  const credentialOf = (p: Principal) => (p.keyId !== null ? `key:${p.keyId}` : `${p.kind}:${p.name}`);

  /**
   * Ends a connection whose credential was revoked or has expired: close 4403, and its operations end now. A peer that
   * does not answer the close frame would keep the socket for 30 s (ws's close timeout); it is dropped after a second.
   */
  const endConnection = (conn: Connection, why: CredentialEnd) => {
    const { extra } = conn;
    if (extra.ended) return;
    extra.ended = why;
    extra.endSession?.();
    closeSocket(extra.socket, CLOSE_FORBIDDEN, CLOSE_REASON[why]);
    setTimeout(() => extra.socket.terminate(), CLOSE_GRACE_MS).unref();
    // Removed before they are ended, so that graphql-ws sends them nothing more (not even `complete`).
    const operations = conn.subscriptions as Record<string, unknown>;
    for (const id of Object.keys(operations)) {
      const op = operations[id] as { return?: () => unknown } | null;
      delete operations[id];
      if (typeof op?.return === 'function') void Promise.resolve(op.return()).catch(() => {});
    }
  };

  const wsCleanup = useServer<Record<string, unknown>, WsExtra>(
    {
      connectionInitWaitTimeout: limits.wsInitTimeoutMs,
      // onSubscribe has run the operation through yoga already (below); graphql-ws only delivers its result.
      execute: (args) => (args.rootValue as PreparedOperation).result as never,
      subscribe: (args) => (args.rootValue as PreparedOperation).result as never,
      // Authentication happens in connection_init; refusing it closes the socket with 4403 Forbidden (4429: throttled address).
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const credential = typeof header === 'string' ? header : undefined;
        const result = await services.auth.authenticate(credential, nodeClientAddress(services.config, ctx.extra.request));
        if (!result.ok) return refuseConnectionInit(ctx.extra.socket, result);
        // A socket that closed while its credential was checked is already cleaned up: register nothing for it.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        // A credential past its connection limit is refused with 4429 (nothing is kept for the socket).
        const who = credentialOf(result.principal);
        const open = openConnections.get(who) ?? 0;
        if (open >= limits.maxWsConnectionsPerKey) {
          closeSocket(ctx.extra.socket, CLOSE_TOO_MANY_CONNECTIONS, `Too many connections: at most ${limits.maxWsConnectionsPerKey} per credential`);
          return false;
        }
        openConnections.set(who, open + 1);
        ctx.extra.countedAs = who;
        ctx.extra.credential = credential;
        ctx.extra.principal = result.principal;
        ctx.extra.subscriptions = new Set();
        // The connection lives as long as its credential: revoked or expired, it is closed with 4403.
        ctx.extra.endSession = services.auth.sessions.open(result.principal, (why) => endConnection(ctx, why));
        metrics.wsConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        ctx.extra.endSession?.();
        const who = ctx.extra.countedAs;
        if (who !== undefined) {
          ctx.extra.countedAs = undefined;
          const left = (openConnections.get(who) ?? 1) - 1;
          if (left > 0) openConnections.set(who, left);
          else openConnections.delete(who);
        }
        if (ctx.extra.principal) metrics.wsConnections.dec();
        metrics.subscriptions.dec(ctx.extra.subscriptions?.size ?? 0);
      },
      onComplete: (ctx, id) => {
        if (ctx.extra.subscriptions?.delete(id)) metrics.subscriptions.dec();
      },
      onNext: (_ctx, _id, _payload, _args, result) => withoutInternals(result),
      onError: (_ctx, _id, _payload, errors) => errors.map(formatError),
      onSubscribe: async (ctx, id, params) => {
        const { extra } = ctx;
        // ws still delivers what a peer sends after the server's close frame: nothing new runs on a closing socket.
        const closing = () => {
          if (extra.ended) return [credentialEndError(extra.ended)];
          if (extra.socket.readyState !== extra.socket.OPEN)
            return [new GraphQLError('The connection is closing.', { extensions: { code: 'CONNECTION_CLOSING' } })];
          return null;
        };
        const refused = closing();
        if (refused) return refused;
        // Every operation is authorised with the credential's current state, not with what it was at connection_init.
        const auth = await services.auth.recheck(extra.credential, extra.principal!);
        const closed = closing();
        if (closed) return closed;
        if (!auth.ok) {
          endConnection(ctx, auth.end);
          return [credentialEndError(auth.end)];
        }
        const principal = auth.principal;
        const subs = extra.subscriptions!;
        // Every operation takes a token, also one refused below.
        const wait = services.auth.rateLimit(principal);
        if (wait > 0) return [new GraphQLError(`Rate limit exceeded; retry in ${wait} s.`, { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: wait } })];
        if (subs.size >= limits.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${limits.maxSubscriptionsPerConnection} operations per connection.`, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } }),
          ];
        }
        // The slot is taken before anything is awaited, so concurrent operations cannot pass the limit together.
        subs.add(id);
        metrics.subscriptions.inc();
        const release = () => {
          if (subs.delete(id)) metrics.subscriptions.dec();
        };
        // The same path as an HTTP request's parameters: yoga's onParams hooks (persisted operations, parameter
        // checks), then parse, validate, context, execute or subscribe with every plugin, and its error masking.
        let executing = false;
        const operation: WsOperationContext = { req: extra.request, socket: extra.socket, principal, executing: () => (executing = true) };
        let result: ExecutionResult | AsyncIterable<ExecutionResult>;
        try {
          result = (await yoga.getResultForParams(
            {
              params: params as never,
              request: new yoga.fetchAPI.Request(WS_OPERATION_URL, { method: 'POST', headers: { 'content-type': 'application/json' } }),
            },
            operation as never,
          )) as ExecutionResult | AsyncIterable<ExecutionResult>;
        } catch (err) {
          release();
          return [requestError(err, services)];
        }
        // Refused before execution (parameters, parse, validation): a graphql-ws `error` message, as before.
        if (!executing && !isAsyncIterable(result) && result.errors && result.errors.length > 0) {
          release();
          return result.errors.map((e: GraphQLError | GraphQLFormattedError) =>
            e instanceof GraphQLError ? e : new GraphQLError(e.message, { extensions: e.extensions }),
          );
        }
        const prepared: PreparedOperation = { result };
        return { schema: undefined as never, document: DELIVER_RESULT, contextValue: {}, rootValue: prepared } satisfies ExecutionArgs;
      },
    },
    wsServer,
  );

  if (!opts.listener)
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen({ port: opts.port, host: opts.host, backlog: LISTEN_BACKLOG }, () => resolve());
    });
  const addr = httpServer.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting, tell WebSocket clients we are going away, let in-flight HTTP requests finish.
      const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      keepAlive.stop();
      // A peer that does not answer the 1001 close frame would hold the shutdown for ws's 30 s close timeout.
      const dropWs = setTimeout(() => {
        for (const socket of wsServer.clients) socket.terminate();
      }, CLOSE_GRACE_MS);
      await wsCleanup.dispose();
      clearTimeout(dropWs);
      wsServer.close();
      httpServer.closeIdleConnections();
      const timer = setTimeout(() => httpServer.closeAllConnections(), 10_000);
      await httpClosed;
      clearTimeout(timer);
      await yoga.dispose();
    })());

  return { httpServer, yoga, url, close };
}
