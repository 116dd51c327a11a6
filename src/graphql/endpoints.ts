import type { Plugin } from 'graphql-yoga';
import { type Database, migrationsApplied } from '../db/client.ts';
import type { Metrics } from '../metrics.ts';
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

/** Prometheus text format of the server's registry. */
export function useMetricsEndpoint(metrics: Metrics): Plugin<Context> {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== METRICS_PATH) return;
      const body = await metrics.registry.metrics();
      endResponse(new fetchAPI.Response(body, { status: 200, headers: { 'content-type': metrics.registry.contentType } }));
    },
  };
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
      metrics.httpRequests.inc({ method: request.method, route, status: String(response.status) });
    },
  };
}
