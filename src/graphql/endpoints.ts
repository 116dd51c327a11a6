import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'graphql-yoga';
import { type Database, migrationsApplied } from '../db/client.ts';
import type { Metrics } from '../metrics.ts';
import type { Services } from '../services.ts';
import { nodeClientAddress, yogaClientAddress } from './client-limits.ts';
import type { Context } from './context.ts';

/**
 * The operational endpoints as yoga plugins (in the style of yoga's own use-health-check): each answers its exact path
 * in `onRequest`, before authentication, so they work for any transport that reaches yoga (node:http, `yoga.fetch`).
 */

export const HEALTH_PATH = '/health';
export const READY_PATH = '/ready';
export const METRICS_PATH = '/metrics';

/** yoga's built-in health check answers an empty 200 for every URL that merely ends in its endpoint (query strings
 * included). Request URLs are percent-encoded and never end in a NUL, so this endpoint turns it off; useHealth
 * answers instead. */
export const DISABLED_BUILTIN_HEALTH_CHECK = '\u0000';

type FetchAPI = { Response: typeof Response };

function json(fetchAPI: FetchAPI, status: number, body: unknown): Response {
  return new fetchAPI.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** 200 while the process is alive. */
export function useHealth(): Plugin<Context> {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname === HEALTH_PATH) endResponse(json(fetchAPI, 200, { status: 'ok' }));
    },
  };
}

/** 200 when the database answers and every migration is applied, else 503. */
export function useReadiness(database: Database): Plugin<Context> {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== READY_PATH) return;
      let ready = false;
      try {
        await database.ping();
        ready = await migrationsApplied(database);
      } catch {
        ready = false;
      }
      endResponse(json(fetchAPI, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', database: database.kind }));
    },
  };
}

interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function errorBody(status: number, code: string, message: string, headers: Record<string, string> = {}): PlainResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify({ errors: [{ message, extensions: { code } }] }),
  };
}

/**
 * The answer to a GET of /metrics: Prometheus text, or, with PLANTGRAPH_METRICS_KEY, 401 unless the request sends
 * `Authorization: Bearer <that key>` (a wrong key counts as a failed authentication of the client address, and a
 * throttled address gets 429 as on /graphql). API keys are not metrics keys.
 */
export async function metricsResponse(services: Services, authorization: string | null | undefined, address: string | null): Promise<PlainResponse> {
  const { key } = services.config.metrics;
  if (key !== undefined) {
    // undefined: nothing sent; null: not a bearer credential (a failure like a wrong key).
    const header = authorization?.trim();
    const presented = header ? (/^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? null) : undefined;
    const verdict = services.auth.checkSecret(presented, key, address);
    if (typeof verdict === 'number')
      return errorBody(429, 'RATE_LIMITED', `Too many failed authentication attempts from this address; retry in ${verdict} s.`, {
        'retry-after': String(verdict),
      });
    if (verdict === 'denied')
      return errorBody(401, 'UNAUTHENTICATED', '/metrics needs "Authorization: Bearer <metrics key>" (PLANTGRAPH_METRICS_KEY).', {
        'www-authenticate': 'Bearer',
      });
  }
  return { status: 200, headers: { 'content-type': services.metrics.registry.contentType }, body: await services.metrics.registry.metrics() };
}

/**
 * Prometheus text format of the server's registry on /metrics, behind PLANTGRAPH_METRICS_KEY when set; with
 * PLANTGRAPH_METRICS_PORT, /metrics is served only there (startMetricsServer) and answers 404 here.
 */
export function useMetricsEndpoint(services: Services): Plugin<Context> {
  return {
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (url.pathname !== METRICS_PATH) return;
      const r =
        services.config.metrics.port !== undefined
          ? errorBody(404, 'NOT_FOUND', 'Not found.')
          : await metricsResponse(services, request.headers.get('authorization'), yogaClientAddress(services.config, serverContext));
      endResponse(new fetchAPI.Response(r.body, { status: r.status, headers: r.headers }));
    },
  };
}

export interface MetricsServer {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

/** /metrics on its own listener (PLANTGRAPH_METRICS_PORT, PLANTGRAPH_METRICS_HOST); every other path is 404. */
export async function startMetricsServer(services: Services, opts: { port: number; host: string; listener?: http.Server }): Promise<MetricsServer> {
  const server = opts.listener ?? http.createServer();
  server.removeAllListeners('request');
  server.on('request', async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      const r =
        path !== METRICS_PATH
          ? errorBody(404, 'NOT_FOUND', 'Not found.')
          : req.method !== 'GET' && req.method !== 'HEAD'
            ? errorBody(405, 'METHOD_NOT_ALLOWED', 'Use GET.', { allow: 'GET, HEAD' })
            : await metricsResponse(services, req.headers.authorization, nodeClientAddress(services.config, req));
      res.writeHead(r.status, r.headers).end(req.method === 'HEAD' ? undefined : r.body);
    } catch (err) {
      services.logger.error({ err }, 'metrics request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'Unexpected error.' }] }));
    }
  });
  if (!opts.listener)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** The `method` label of plantgraph_http_requests_total: a common method, or "other" (bounded label cardinality). */
export function httpMethod(method: string | undefined): string {
  const m = (method ?? 'GET').toUpperCase();
  return HTTP_METHODS.has(m) ? m : 'other';
}

/** The `route` label of plantgraph_http_requests_total: a known path, or "other" (bounded label cardinality). */
export function httpRoute(pathname: string, graphqlPath: string): string {
  return pathname === graphqlPath || pathname === HEALTH_PATH || pathname === READY_PATH || pathname === METRICS_PATH ? pathname : 'other';
}

/** Counts every response yoga sends, early ones (endpoints, 401, 429) included. */
export function useHttpMetrics(metrics: Metrics, graphqlPath: string): Plugin<Context> {
  return {
    onResponse({ request, response }) {
      const route = httpRoute(new URL(request.url, 'http://localhost').pathname, graphqlPath);
      metrics.httpRequests.inc({ method: httpMethod(request.method), route, status: String(response.status) });
    },
  };
}

/**
 * The operator console (console/, built into console/dist by scripts/build-console.mjs) at `/`: index.html with
 * `Cache-Control: no-cache`, its content-hashed files at /assets/<name> with a year's immutable caching. Static files
 * only, before authentication: the page asks for an API key and talks to /graphql like any other client.
 */
export const CONSOLE_ASSETS_PATH = '/assets/';

/** console/dist of the checkout this module runs from (src/graphql/ under tsx, dist/ when bundled). */
function consoleDist(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'console', 'dist');
    dir = path.dirname(dir);
  }
  return undefined;
}

const CONSOLE_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

const CONSOLE_CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

export function useConsole(dist: string | undefined = consoleDist()): Plugin<Context> {
  // Hashed names never change their content: read once, kept.
  const assets = new Map<string, Uint8Array>();
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const isPage = url.pathname === '/' || url.pathname === '/index.html';
      if (!isPage && !url.pathname.startsWith(CONSOLE_ASSETS_PATH)) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(json(fetchAPI, 405, { errors: [{ message: 'Use GET.', extensions: { code: 'METHOD_NOT_ALLOWED' } }] }));
        return;
      }
      const head = request.method === 'HEAD';
      if (isPage) {
        const file = dist && path.join(dist, 'index.html');
        if (!file || !fs.existsSync(file)) {
          endResponse(
            new fetchAPI.Response('The operator console is not built: run npm run build (npm install does).\n', {
              status: 503,
              headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' },
            }),
          );
          return;
        }
        const body = fs.readFileSync(file);
        endResponse(
          new fetchAPI.Response(head ? null : body, {
            status: 200,
            headers: {
              'content-type': 'text/html; charset=utf-8',
              'cache-control': 'no-cache',
              'content-security-policy': CONSOLE_CSP,
              'x-content-type-options': 'nosniff',
              'referrer-policy': 'no-referrer',
            },
          }),
        );
        return;
      }
      const name = url.pathname.slice(CONSOLE_ASSETS_PATH.length);
      const type = CONSOLE_TYPES[path.extname(name)];
      let body = assets.get(name);
      if (!body && dist && type && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name)) {
        const file = path.join(dist, 'assets', name);
        if (fs.existsSync(file)) assets.set(name, (body = fs.readFileSync(file)));
      }
      if (!body || !type) {
        endResponse(json(fetchAPI, 404, { errors: [{ message: 'Not found.', extensions: { code: 'NOT_FOUND' } }] }));
        return;
      }
      endResponse(
        new fetchAPI.Response(head ? null : (body as BodyInit), {
          status: 200,
          headers: { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' },
        }),
      );
    },
  };
}
