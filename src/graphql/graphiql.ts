import { createHash } from 'node:crypto';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import type { Context } from './context.ts';

/**
 * GraphiQL without internet: the page at /graphql loads its script, styles, editor workers and icon from this server
 * (/graphql/assets/...), taken from @graphql-yoga/render-graphiql (pinned in package.json), which bundles all of them
 * (fonts and images are data URIs inside the CSS). Nothing is fetched from another host.
 *
 * Subscriptions go over SSE, so they carry the headers of the Headers tab like queries do. The page's fetch wrapper
 * (PAGE_SCRIPT) holds the schema introspection while the Headers tab has no key, so the result pane shows no 401 at
 * page load, and re-runs it once a key has been typed (after a second without typing), so Docs load by themselves; a
 * refused key is not sent again until it is changed or the user re-fetches.
 */

export const GRAPHIQL_ASSETS_PATH = '/graphql/assets/';

export const KEY_PLACEHOLDER = '<your API key>';

export const DEFAULT_HEADERS = `{\n  "Authorization": "Bearer ${KEY_PLACEHOLDER}"\n}`;

export const DEFAULT_QUERY = `# PlantGraph: put an API key in the Headers tab below, as
#   { "Authorization": "Bearer <key>" }
# (the key printed at the first start, or one made with createApiKey), then run with Ctrl-Enter.

query Plants {
  plants(first: 10) {
    totalCount
    edges {
      node {
        id
        name
        timezone
        machines {
          id
          name
          kind
          status
        }
      }
    }
  }
}

# Live alerts of a plant (paste a plant id from above); they arrive over SSE with the same key.
subscription PlantAlerts($plantId: ID!) {
  alerts(plantId: $plantId) {
    kind
    alert {
      severity
      status
      value
      rule {
        name
      }
    }
  }
}
`;

interface Asset {
  body: string | Uint8Array;
  type: string;
  etag: string;
}

type Bundle = typeof import('@graphql-yoga/render-graphiql/graphiql');

let assetsPromise: Promise<Map<string, Asset>> | undefined;

/** The bundle is 9 MB of JavaScript: loaded on the first GraphiQL request only, then kept. */
function loadAssets(): Promise<Map<string, Asset>> {
  assetsPromise ??= import('@graphql-yoga/render-graphiql/graphiql').then((b: Bundle) => {
    const asset = (body: string | Uint8Array, type: string): Asset => ({
      body,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
    const js = 'text/javascript; charset=utf-8';
    const favicon = b.favicon.startsWith('data:image/x-icon;base64,')
      ? asset(Buffer.from(b.favicon.slice('data:image/x-icon;base64,'.length), 'base64'), 'image/x-icon')
      : undefined;
    const assets = new Map<string, Asset>([
      ['graphiql.js', asset(b.js, js)],
      ['graphiql.css', asset(b.css, 'text/css; charset=utf-8')],
      ['editor.worker.js', asset(b.editorWorkerService, js)],
      ['json.worker.js', asset(b.jsonWorker, js)],
      ['graphql.worker.js', asset(b.graphqlWorker, js)],
      ['page.js', asset(PAGE_SCRIPT, js)],
    ]);
    if (favicon) assets.set('favicon.ico', favicon);
    return assets;
  });
  return assetsPromise;
}

/**
 * Runs before the GraphiQL bundle. Points Monaco's workers at our URLs and wraps window.fetch (which yoga's GraphiQL
 * fetcher calls for every request) so that an introspection without a key is held instead of answered with a 401.
 */
const PAGE_SCRIPT = `(function () {
  'use strict';
  var base = ${JSON.stringify(GRAPHIQL_ASSETS_PATH)};
  var workers = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' };
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) { return base + (workers[label] || workers.editorWorkerService); },
  };
  var placeholder = ${JSON.stringify(KEY_PLACEHOLDER)};
  var realFetch = window.fetch.bind(window);
  var schemaLoaded = false;
  var refused = null; // { value, status, body, headers } of the last refused introspection
  var explicit = false;
  function authorization(headers) {
    if (!headers) return '';
    if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get('authorization') || '';
    var list = Array.isArray(headers) ? headers : Object.keys(headers).map(function (k) { return [k, headers[k]]; });
    for (var i = 0; i < list.length; i++) if (String(list[i][0]).toLowerCase() === 'authorization') return String(list[i][1] || '');
    return '';
  }
  function hasKey(value) {
    var v = value.trim().replace(/^bearer\\s*/i, '');
    return v !== '' && v.indexOf(placeholder) === -1;
  }
  window.fetch = function (input, init) {
    try {
      var url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url, location.href);
      var body = init && typeof init.body === 'string' ? init.body : '';
      if (url.origin === location.origin && url.pathname === location.pathname && body.indexOf('__schema') !== -1) {
        var wasExplicit = explicit;
        explicit = false;
        var value = authorization(init.headers);
        // No key yet: wait for the user instead of answering with a 401.
        if (!hasKey(value)) return new Promise(function () {});
        // The key that was just refused (GraphiQL retries a failed introspection at once, and the automatic re-fetch
        // below runs on any edit): the same answer again, without another failed authentication at the server.
        if (refused && value === refused.value && !wasExplicit)
          return Promise.resolve(new Response(refused.body, { status: refused.status, headers: refused.headers }));
        return realFetch(input, init).then(function (res) {
          schemaLoaded = res.ok;
          refused = null;
          if (res.status !== 401 && res.status !== 429) return res;
          return res.text().then(function (text) {
            refused = { value: value, status: res.status, body: text, headers: { 'content-type': res.headers.get('content-type') || 'application/json' } };
            return new Response(text, { status: res.status, headers: refused.headers });
          });
        });
      }
    } catch (_e) {}
    return realFetch(input, init);
  };
  // A key typed or pasted into the Headers tab: once the typing has stopped for a second, introspect again
  // (GraphiQL's own Shift-Ctrl-R handler), until the schema has loaded.
  var timer = null;
  function edited() {
    if (schemaLoaded) return;
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (schemaLoaded) return;
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'R', ctrlKey: true, shiftKey: true }));
    }, 1000);
  }
  // The user's own re-fetch (button or Shift-Ctrl-R) sends even a refused key again.
  document.addEventListener('click', function (e) {
    if (e.target && e.target.closest && e.target.closest('[aria-label^="Re-fetch GraphQL schema"]')) explicit = true;
  }, true);
  window.addEventListener('keydown', function (e) { if (e.isTrusted && e.ctrlKey && e.key === 'R') explicit = true; }, true);
  document.addEventListener('input', edited, true);
  document.addEventListener('paste', edited, true);
})();
`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page itself: only same-origin references; the options go in as JSON (with '<' escaped for the script tag). */
export function renderPlantGraphiQL(opts: GraphiQLOptions): string {
  const options = JSON.stringify(opts).replace(/</g, '\\u003c');
  const title = escapeHtml(opts.title ?? 'PlantGraph');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    <link rel="icon" href="${GRAPHIQL_ASSETS_PATH}favicon.ico" />
    <link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script src="${GRAPHIQL_ASSETS_PATH}page.js"></script>
    <script src="${GRAPHIQL_ASSETS_PATH}graphiql.js"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(window.document.querySelector('#root'), ${options});
    </script>
  </body>
</html>
`;
}

/** yoga's GraphiQL options for PlantGraph: SSE subscriptions (they send the Headers tab), headers not persisted. */
export function graphiqlOptions(): GraphiQLOptions {
  return {
    title: 'PlantGraph',
    subscriptionsProtocol: 'SSE',
    defaultQuery: DEFAULT_QUERY,
    defaultHeaders: DEFAULT_HEADERS,
    shouldPersistHeaders: false,
  };
}

/** Serves GET /graphql/assets/<name> before authentication (they are the public GraphiQL files), with an ETag. */
export function useGraphiQLAssets(): Plugin<Context> {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(GRAPHIQL_ASSETS_PATH)) return;
      const assets = await loadAssets();
      const asset = request.method === 'GET' || request.method === 'HEAD' ? assets.get(url.pathname.slice(GRAPHIQL_ASSETS_PATH.length)) : undefined;
      if (!asset) {
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message: 'No such GraphiQL asset.', extensions: { code: 'NOT_FOUND' } }] }), {
            status: 404,
            headers: { 'content-type': 'application/json' },
          }),
        );
        return;
      }
      const headers = { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
      if (request.headers.get('if-none-match') === asset.etag) {
        endResponse(new fetchAPI.Response(null, { status: 304, headers }));
        return;
      }
      endResponse(new fetchAPI.Response(request.method === 'HEAD' ? null : (asset.body as BodyInit), { status: 200, headers }));
    },
  };
}
