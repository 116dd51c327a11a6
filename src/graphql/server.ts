import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DocumentNode, getOperationAST, GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Services } from '../services.ts';
import type { Principal } from '../auth/roles.ts';
import { useExecutionBounds } from './bounds.ts';
import { CLOSE_SLOW_CONSUMER } from './close-codes.ts';
import { nodeClientAddress, refuseConnectionInit } from './client-limits.ts';
import type { Context } from './context.ts';
import { boundedParserCache } from './document-cache.ts';
import { DISABLED_BUILTIN_HEALTH_CHECK, httpMethod, httpRoute, useHealth, useHttpMetrics, useMetricsEndpoint, useReadiness } from './endpoints.ts';
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
    useAuthentication(services),
    useQueryLimits(services),
    useInputChecks(services),
    useCostLimit(services),
    useExecutionBounds(services),
    useOperationMetrics(services),
    useSubscriptionCostLimit(services),
    useAuditLog(services),
    useSharedSubscriptionExecution(services),
  ];
  if (!config.introspection) plugins.push(useNoIntrospection());
  if (config.production) plugins.push(useNoSuggestions());
  if (config.persistedOperationsFile) plugins.push(usePersistedOperationsFile(config.persistedOperationsFile));
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: DISABLED_BUILTIN_HEALTH_CHECK,
    landingPage: false,
    graphiql: config.graphiql ? { title: 'PlantGraph', subscriptionsProtocol: 'WS' } : false,
    maskedErrors: true,
    batching: { limit: config.limits.maxBatch },
    parserAndValidationCache: boundedParserCache(),
    logging: {
      debug: (...a) => services.logger.debug(a.map(String).join(' ')),
      info: (...a) => services.logger.info(a.map(String).join(' ')),
      warn: (...a) => services.logger.warn(a.map(String).join(' ')),
      error: (...a) => services.logger.error(a.map((x) => (x instanceof Error ? (x.stack ?? x.message) : String(x))).join(' ')),
    },
    context: (initial) => {
      const principal = (initial as { principal?: Principal }).principal ?? requestPrincipals.get(initial.request);
      if (!principal) throw new Error('request reached execution without a principal');
      const socket = (initial as { socket?: import('ws').WebSocket }).socket;
      return {
        db: services.database.db,
        services,
        auth: principal,
        outcomes: [],
        request: initial.request,
        closeConnection: socket ? (code, reason) => closeSocket(socket, code, reason) : undefined,
      };
    },
    plugins,
  });
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
}

export async function startServer(services: Services, opts: ServerOptions): Promise<RunningServer> {
  const yoga = createYogaApp(services);
  const { metrics } = services;

  // Transport-level body checks stay here, before yoga reads anything: a 413 has to drop the socket.
  const httpServer = http.createServer(async (req, res) => {
    const count = () =>
      metrics.httpRequests.inc({
        method: httpMethod(req.method),
        route: httpRoute((req.url ?? '/').split('?')[0], GRAPHQL_PATH),
        status: String(res.statusCode),
      });
    try {
      const limit = services.config.limits.maxBodyBytes;
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
  });

  const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: 1024 * 1024 });
  const keepAlive = startKeepAlive(wsServer, {
    pingMs: opts.wsPingMs ?? 15_000,
    maxBufferedBytes: opts.wsMaxBufferedBytes ?? 4 * 1024 * 1024,
    onSlow: (socket) => closeSocket(socket, CLOSE_SLOW_CONSUMER, 'Slow consumer'),
  });
  const limits = services.config.limits;
  type WsExtra = { socket: unknown; request: http.IncomingMessage; principal?: Principal; subscriptions?: Set<string> };
  const wsCleanup = useServer<Record<string, unknown>, WsExtra>(
    {
      connectionInitWaitTimeout: limits.wsInitTimeoutMs,
      execute: (args) => (args.rootValue as { execute: (a: unknown) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => unknown }).subscribe(args) as never,
      // Authentication happens in connection_init; refusing it closes the socket with 4403 Forbidden (4429: throttled address).
      onConnect: async (ctx) => {
        const header = (ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization) as string | undefined;
        const result = await services.auth.authenticate(typeof header === 'string' ? header : undefined, nodeClientAddress(services.config, ctx.extra.request));
        if (!result.ok) return refuseConnectionInit(ctx.extra.socket, result);
        ctx.extra.principal = result.principal;
        ctx.extra.subscriptions = new Set();
        metrics.wsConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.principal) metrics.wsConnections.dec();
        metrics.subscriptions.dec(ctx.extra.subscriptions?.size ?? 0);
      },
      onComplete: (ctx, id) => {
        if (ctx.extra.subscriptions?.delete(id)) metrics.subscriptions.dec();
      },
      onSubscribe: async (ctx, id, params) => {
        const principal = ctx.extra.principal!;
        const subs = ctx.extra.subscriptions!;
        // Every operation takes a token, also one refused below.
        const wait = services.auth.rateLimit(principal);
        if (wait > 0) return [new GraphQLError(`Rate limit exceeded; retry in ${wait} s.`, { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: wait } })];
        if (subs.size >= limits.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${limits.maxSubscriptionsPerConnection} operations per connection.`, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } }),
          ];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          principal,
        });
        let document: DocumentNode;
        try {
          document = parse(params.query);
        } catch (err) {
          return [err as never];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        subs.add(id);
        metrics.subscriptions.inc();
        return {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wsServer,
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
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
      await wsCleanup.dispose();
      wsServer.close();
      httpServer.closeIdleConnections();
      const timer = setTimeout(() => httpServer.closeAllConnections(), 10_000);
      await httpClosed;
      clearTimeout(timer);
      await yoga.dispose();
    })());

  return { httpServer, yoga, url, close };
}
