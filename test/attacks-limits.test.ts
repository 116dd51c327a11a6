import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.ts';
import { type RunningServer, startServer } from '../src/graphql/server.ts';
import { startServerProcess } from './process.ts';
import {
  after,
  as,
  before,
  createTestApp,
  describe,
  it,
  makeKey,
  statementsDuring,
  TEST_ADMIN_KEY,
  type TestApp,
  testBackends,
  unchanged,
  waitFor,
} from './helpers.ts';

/**
 * Attacks from issue 9 on the limits: unbounded Prometheus labels and an open /metrics, batches that bought ten
 * operations per rate-limit token, refused operations that cost no token, and failed logins that were never
 * throttled. Modules added by the fix are imported inside the tests, so the file also runs (and fails) on the code
 * from before it.
 */

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const MB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const randomKey = () => `pgk_${randomBytes(32).toString('base64url')}`;
/** Metrics and throttling do not depend on the database: one backend. */
const ONE_BACKEND = testBackends()[0] ?? 'pglite';

/** The series of one metric in Prometheus text: labels and value. */
function series(text: string, metric: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const end = line.lastIndexOf('} ');
    const labels = Object.fromEntries([...line.slice(metric.length + 1, end).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    out.push({ labels, value: Number(line.slice(end + 2)) });
  }
  return out;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request on its own connection from the local address `from` (any 127.x.y.z reaches 127.0.0.1 on Linux). */
function request(base: string, opts: { from: string; path?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = opts.body;
    const req = http.request(
      new URL(opts.path ?? '/graphql', base),
      {
        method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
        localAddress: opts.from,
        agent: false,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }), ...opts.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `{ me { name } }` with `key` from `from`. */
const meFrom = (base: string, from: string, key: string, headers: Record<string, string> = {}) =>
  request(base, { from, headers: { authorization: `Bearer ${key}`, ...headers }, body: JSON.stringify({ query: '{ me { name } }' }) });

/** A graphql-ws connection_init from `from`: acknowledged (then one query runs on it) or closed with a code. */
function wsInit(base: string, from: string, key: string): Promise<{ acked: boolean; code?: number; reason?: string; me?: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { localAddress: from });
    let acked = false;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.type === 'connection_ack') {
        acked = true;
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ me { name } }' } }));
      } else if (m.type === 'next') {
        ws.close(1000);
        resolve({ acked, me: m.payload.data?.me ?? m.payload });
      } else if (m.type === 'error') {
        ws.close(1000);
        resolve({ acked, me: m.payload });
      }
    });
    ws.on('close', (code, reason) => resolve({ acked, code, reason: String(reason) }));
    ws.on('error', reject);
  });
}

describe(`attacks on /metrics: label cardinality [${ONE_BACKEND}]`, () => {
  it('40 VIEWER operations with distinct 4 MB names fold into one "other" label: /metrics and the heap stay small', async (t) => {
    const app = await createTestApp(ONE_BACKEND, { seed: false });
    try {
      const viewer = await makeKey(app, 'metrics-viewer', 'VIEWER');
      const metrics = async () => (await app.yoga.fetch('http://localhost/metrics')).text();
      await as(app, viewer.key)('query Dashboard { me { name } }');
      gc();
      const before = { size: (await metrics()).length, heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
      const started = Date.now();
      // 4 MiB names: the default body limit (8 MiB) lets them through.
      for (let i = 0; i < 40; i++) {
        const r = await as(app, viewer.key)(`query Q${i}_${'x'.repeat(4 * 1024 * 1024)} { __typename }`);
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
        assert.deepEqual(r.body.data, { __typename: 'Query' });
      }
      const seconds = (Date.now() - started) / 1000;
      const text = await metrics();
      gc();
      const now = { size: text.length, heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
      t.diagnostic(
        `40 × 4 MiB names in ${seconds.toFixed(1)} s: /metrics ${MB(before.size)} -> ${MB(now.size)}, ` +
          `heap after GC +${MB(now.heap - before.heap)}, RSS +${MB(now.rss - before.rss)}`,
      );
      // A second round of 40 new names: memory that is only garbage is reused, nothing accumulates.
      for (let i = 40; i < 80; i++) assert.equal((await as(app, viewer.key)(`query Q${i}_${'x'.repeat(4 * 1024 * 1024)} { __typename }`)).status, 200);
      gc();
      const second = { heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
      t.diagnostic(`after 40 more: heap after GC +${MB(second.heap - before.heap)}, RSS +${MB(second.rss - before.rss)} (both from the start)`);
      assert.ok(second.heap - before.heap < 40 * 1024 * 1024, `heap grew by ${MB(second.heap - before.heap)}`);
      const ops = series(await metrics(), 'plantgraph_graphql_operations_total').filter((s) => s.labels.type === 'query');
      assert.deepEqual(
        ops.map((s) => [s.labels.operation, s.value]),
        [
          ['Dashboard', 1],
          ['other', 80],
        ],
      );
      assert.ok(now.size - before.size < 64 * 1024, `/metrics grew by ${now.size - before.size} bytes`);
      // 160 MiB of names were sent; none of them may stay reachable (labels, parse cache).
      assert.ok(now.heap - before.heap < 40 * 1024 * 1024, `heap grew by ${MB(now.heap - before.heap)}`);
    } finally {
      await app.close();
    }
  });

  it('only the most recent N distinct names are labels; older ones move their counts to "other"; persisted names always stay', async (t) => {
    const app = await createTestApp(ONE_BACKEND, { seed: false, env: { PLANTGRAPH_METRICS_OPERATION_NAMES: '5' } });
    try {
      for (let i = 0; i < 12; i++) assert.equal((await app.gql(`query N${i} { __typename }`)).status, 200);
      assert.equal((await app.gql('query N11 { __typename }')).status, 200);
      assert.equal((await app.gql('query other { __typename }')).status, 200);
      const ops = series(await (await app.yoga.fetch('http://localhost/metrics')).text(), 'plantgraph_graphql_operations_total').filter(
        (s) => s.labels.type === 'query',
      );
      t.diagnostic(`12 distinct names, limit 5: labels ${ops.map((s) => `${s.labels.operation}=${s.value}`).join(', ')}`);
      assert.deepEqual(
        ops.map((s) => [s.labels.operation, s.value]),
        [
          ['N7', 1],
          ['N8', 1],
          ['N9', 1],
          ['N10', 1],
          ['N11', 2],
          ['other', 8],
        ],
      );
    } finally {
      await app.close();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-persisted-'));
    const file = path.join(dir, 'operations.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ a: 'query PersistedA { __typename }', b: 'query PersistedB { __typename }', c: 'query PersistedC { __typename }' }),
    );
    const persisted = await createTestApp(ONE_BACKEND, {
      seed: false,
      env: { PLANTGRAPH_PERSISTED_OPERATIONS: file, PLANTGRAPH_METRICS_OPERATION_NAMES: '1' },
    });
    try {
      for (const id of ['a', 'b', 'c', 'a']) {
        const res = await persisted.yoga.fetch('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
          body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } }),
        });
        assert.equal(res.status, 200, await res.clone().text());
      }
      const ops = series(await (await persisted.yoga.fetch('http://localhost/metrics')).text(), 'plantgraph_graphql_operations_total');
      assert.deepEqual(
        ops.map((s) => [s.labels.operation, s.value]),
        [
          ['PersistedA', 2],
          ['PersistedB', 1],
          ['PersistedC', 1],
        ],
      );
    } finally {
      await persisted.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('HTTP methods outside the common ones count as method="other"', async (t) => {
    const app = await createTestApp(ONE_BACKEND, { seed: false });
    try {
      for (let i = 0; i < 30; i++)
        await app.yoga.fetch('http://localhost/graphql', { method: `X${i}FLOOD`, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      const methods = new Set(
        series(await (await app.yoga.fetch('http://localhost/metrics')).text(), 'plantgraph_http_requests_total').map((s) => s.labels.method),
      );
      t.diagnostic(`30 made-up methods -> method labels ${[...methods].join(', ')}`);
      assert.ok(methods.has('other'));
      assert.ok(methods.size <= 8, [...methods].join(', '));
    } finally {
      await app.close();
    }
  });

  it('the parse cache keeps neither large documents nor an unbounded number of them', async () => {
    const { BoundedDocumentCache } = await import('../src/graphql/document-cache.ts');
    const cache = new BoundedDocumentCache<number>();
    cache.set('x'.repeat(65 * 1024), 1);
    assert.equal(cache.size, 0, 'a document over 64 KiB is not cached');
    for (let i = 0; i < 5_000; i++) cache.set(`query Q${i} { __typename }`, i);
    assert.equal(cache.size, 1_024);
    assert.equal(cache.get('query Q4999 { __typename }'), 4_999);
    assert.equal(cache.get('query Q0 { __typename }'), undefined);
    for (let i = 0; i < 200; i++) cache.set(`${i} ${'y'.repeat(60 * 1024)}`, i);
    assert.ok(cache.totalChars <= 8 * 1024 * 1024, `${cache.totalChars} characters cached`);
  });
});

describe(`attacks on /metrics: access [${ONE_BACKEND}]`, () => {
  const METRICS_KEY = 'metrics-key-0123456789abcdef';

  it('with PLANTGRAPH_METRICS_KEY, /metrics answers 401 without that exact bearer key (an API key is not one)', async () => {
    const app = await createTestApp(ONE_BACKEND, { seed: false, env: { PLANTGRAPH_METRICS_KEY: METRICS_KEY } });
    try {
      const get = (authorization?: string) => app.yoga.fetch('http://localhost/metrics', { headers: authorization ? { authorization } : {} });
      for (const authorization of [undefined, `Bearer ${METRICS_KEY}x`, `Bearer ${TEST_ADMIN_KEY}`, METRICS_KEY, `Basic ${b64(`x:${METRICS_KEY}`)}`]) {
        const r = await get(authorization);
        const text = await r.text();
        assert.equal(r.status, 401, `${authorization}: ${text.slice(0, 200)}`);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
        assert.equal(JSON.parse(text).errors[0].extensions.code, 'UNAUTHENTICATED');
        assert.match(JSON.parse(text).errors[0].message, /PLANTGRAPH_METRICS_KEY/);
        assert.doesNotMatch(text, /plantgraph_/);
      }
      const ok = await get(`Bearer ${METRICS_KEY}`);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^plantgraph_http_requests_total\{/m);
    } finally {
      await app.close();
    }
  });

  it('with PLANTGRAPH_METRICS_PORT, /metrics is served only on its own listener (404 on the GraphQL port)', async () => {
    const app = await createTestApp(ONE_BACKEND, { seed: false, env: { PLANTGRAPH_METRICS_PORT: '0', PLANTGRAPH_METRICS_KEY: METRICS_KEY } });
    const server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
    let metricsServer: { url: string; close(): Promise<void> } | undefined;
    try {
      const endpoints = (await import('../src/graphql/endpoints.ts')) as Record<string, unknown>;
      assert.equal(typeof endpoints.startMetricsServer, 'function', 'a separate metrics listener exists');
      const start = endpoints.startMetricsServer as (s: unknown, o: { port: number; host: string }) => Promise<{ url: string; close(): Promise<void> }>;
      metricsServer = await start(app.services, { port: app.services.config.metrics.port!, host: '127.0.0.1' });
      const main = await request(server.url, { from: '127.0.0.1', path: '/metrics', headers: { authorization: `Bearer ${METRICS_KEY}` } });
      assert.equal(main.status, 404, main.body.slice(0, 200));
      assert.equal(JSON.parse(main.body).errors[0].extensions.code, 'NOT_FOUND');
      assert.doesNotMatch(main.body, /plantgraph_/);
      const own = new URL(metricsServer.url);
      const scraped = await request(own.origin, { from: '127.0.0.1', path: '/metrics', headers: { authorization: `Bearer ${METRICS_KEY}` } });
      assert.equal(scraped.status, 200);
      assert.match(scraped.body, /^plantgraph_http_requests_total\{method="GET",route="\/metrics",status="404"\} 1$/m);
      const noKey = await request(own.origin, { from: '127.0.0.1', path: '/metrics' });
      assert.equal(noKey.status, 401);
      const elsewhere = await request(own.origin, { from: '127.0.0.1', path: '/graphql', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      assert.equal(elsewhere.status, 404);
      assert.equal(JSON.parse(elsewhere.body).errors[0].extensions.code, 'NOT_FOUND');
      const post = await request(own.origin, { from: '127.0.0.1', path: '/metrics', body: '{}', headers: { authorization: `Bearer ${METRICS_KEY}` } });
      assert.equal(post.status, 405);
    } finally {
      await metricsServer?.close();
      await server.close();
      await app.close();
    }
  });

  it('a server process serves /metrics on PLANTGRAPH_METRICS_PORT, and warns in production when /metrics is public', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-metrics-'));
    // LOG_LEVEL: the suite runs silent by default, and the warning is a log line.
    const env = {
      PLANTGRAPH_DATA_DIR: dataDir,
      DATABASE_URL: '',
      PLANTGRAPH_ADMIN_KEY: TEST_ADMIN_KEY,
      PLANTGRAPH_SEED: 'none',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
    };
    try {
      const separate = await startServerProcess({ ...env, PLANTGRAPH_METRICS_PORT: '0' });
      try {
        const url = /metrics: (http:\/\/\S+\/metrics)/.exec(separate.output())?.[1];
        assert.ok(url && !url.startsWith(`${separate.url}/`), separate.output());
        const own = new URL(url);
        assert.equal((await request(own.origin, { from: '127.0.0.1', path: '/metrics' })).status, 200);
        assert.equal((await request(separate.url, { from: '127.0.0.1', path: '/metrics' })).status, 404);
        assert.doesNotMatch(separate.output(), /\/metrics is open to anyone/);
        assert.equal(await separate.stop('SIGTERM'), 0, separate.output());
      } finally {
        await separate.stop('SIGKILL');
      }
      const open = await startServerProcess(env);
      try {
        await waitFor(() => /\/metrics is open to anyone who can reach the server: set PLANTGRAPH_METRICS_KEY or PLANTGRAPH_METRICS_PORT/.test(open.output()), {
          message: `the warning in ${open.output()}`,
        });
        assert.equal((await request(open.url, { from: '127.0.0.1', path: '/metrics' })).status, 200);
      } finally {
        await open.stop('SIGKILL');
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the new limits are checked at start-up like the others', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ PLANTGRAPH_METRICS_KEY: 'short' }, /PLANTGRAPH_METRICS_KEY must be at least 16 characters/],
      [{ PLANTGRAPH_METRICS_PORT: 'nine' }, /PLANTGRAPH_METRICS_PORT must be an integer from 0 to 65535/],
      [{ PORT: '4100', PLANTGRAPH_METRICS_PORT: '4100' }, /PLANTGRAPH_METRICS_PORT must differ from PORT/],
      [{ PLANTGRAPH_METRICS_OPERATION_NAMES: '10001' }, /PLANTGRAPH_METRICS_OPERATION_NAMES must be an integer from 0 to 10000/],
      [{ PLANTGRAPH_AUTH_FAILURE_LIMIT: '-1' }, /PLANTGRAPH_AUTH_FAILURE_LIMIT must be an integer from 0 to 1000000/],
      [{ PLANTGRAPH_AUTH_FAILURE_WINDOW_SECONDS: '0' }, /PLANTGRAPH_AUTH_FAILURE_WINDOW_SECONDS must be an integer from 1 to 86400/],
      [{ PLANTGRAPH_TRUST_PROXY: 'maybe' }, /PLANTGRAPH_TRUST_PROXY must be true or false/],
    ];
    for (const [env, message] of bad)
      assert.throws(
        () => loadConfig(env),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
        JSON.stringify(env),
      );
    const c = loadConfig({}) as unknown as Record<string, any>;
    assert.deepEqual(
      { metrics: c.metrics, trustProxy: c.trustProxy, limit: c.limits.authFailureLimit, window: c.limits.authFailureWindowSeconds },
      { metrics: { key: undefined, port: undefined, host: '127.0.0.1', operationNames: 200 }, trustProxy: false, limit: 20, window: 60 },
    );
  });
});

for (const backend of testBackends()) {
  describe(`attacks on the rate limit: batches and refused operations [${backend}]`, () => {
    /** A JSON-array batch through yoga. */
    const batch = async (app: TestApp, ops: { query: string; variables?: Record<string, unknown> }[], key = TEST_ADMIN_KEY): Promise<Response> =>
      app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(ops),
      });
    const ME = { query: '{ me { name } }' };

    it('a batch of N operations takes N tokens: with a burst of 25, 20 operations run before the 429, not 250', async (t) => {
      const app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '1', PLANTGRAPH_RATE_LIMIT_BURST: '25' } });
      try {
        let executed = 0;
        let batches = 0;
        let refused: Response | undefined;
        const started = Date.now();
        while (batches < 50) {
          const res = await batch(
            app,
            Array.from({ length: 10 }, () => ME),
          );
          if (res.status === 429) {
            refused = res;
            break;
          }
          batches++;
          executed += ((await res.json()) as any[]).filter((r) => r.data?.me?.name).length;
        }
        t.diagnostic(`burst 25: ${executed} operations in ${batches} batches of 10 before the first 429 (${Date.now() - started} ms)`);
        assert.equal(executed, 20);
        assert.ok(refused, 'a 429 came');
        const body: any = await refused.json();
        assert.equal(body.errors[0].extensions.code, 'RATE_LIMITED');
        assert.match(body.errors[0].message, /needs 10 tokens/);
        assert.ok(Number(refused.headers.get('retry-after')) >= 1);
        // The 5 tokens left (the refused batch cost none) serve 5 single requests.
        for (let i = 0; i < 5; i++) assert.equal((await app.gql('{ me { name } }')).status, 200);
        assert.equal((await app.gql('{ me { name } }')).status, 429);
      } finally {
        await app.close();
      }
    });

    it('a batch with fewer tokens left than operations is refused whole: nothing of it runs, and it costs nothing', async () => {
      const app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '1', PLANTGRAPH_RATE_LIMIT_BURST: '15' } });
      try {
        const first = await batch(
          app,
          Array.from({ length: 10 }, () => ME),
        );
        assert.equal(first.status, 200);
        const CREATE = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }';
        const mutations = Array.from({ length: 10 }, (_, i) => ({ query: CREATE, variables: { input: { name: `batched-${i}`, role: 'VIEWER' } } }));
        const refused = await unchanged(app.database, () => batch(app, mutations));
        assert.equal(refused.status, 429);
        const body: any = await refused.json();
        assert.equal(body.errors[0].extensions.code, 'RATE_LIMITED');
        assert.ok(Number(refused.headers.get('retry-after')) >= 1);
        // The 5 tokens left are still there: a batch of 5 runs, and then nothing does.
        const five = await batch(
          app,
          Array.from({ length: 5 }, () => ME),
        );
        assert.equal(five.status, 200);
        assert.equal(((await five.json()) as any[]).filter((r) => r.data?.me?.name).length, 5);
        assert.equal((await app.gql('{ me { name } }')).status, 429);
      } finally {
        await app.close();
      }
    });

    it('a batch larger than the rate-limit burst is refused with 413 and nothing runs', async () => {
      const app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '1', PLANTGRAPH_RATE_LIMIT_BURST: '5' } });
      try {
        const CREATE = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }';
        const mutations = Array.from({ length: 8 }, (_, i) => ({ query: CREATE, variables: { input: { name: `too-many-${i}`, role: 'VIEWER' } } }));
        const r = await unchanged(app.database, () => batch(app, mutations));
        assert.equal(r.status, 413);
        const body: any = await r.json();
        assert.equal(body.errors[0].extensions.code, 'BAD_REQUEST');
        assert.match(body.errors[0].message, /at most 5 operations per batch/);
        // The refusal cost nothing: the whole burst is left.
        for (let i = 0; i < 5; i++) assert.equal((await app.gql('{ me { name } }')).status, 200);
        assert.equal((await app.gql('{ me { name } }')).status, 429);
      } finally {
        await app.close();
      }
    });

    it('refused operations take tokens too: forbidden, invalid, too expensive and typed-error mutations, alone or batched', async (t) => {
      const app = await createTestApp(backend, {
        seed: false,
        env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '1', PLANTGRAPH_RATE_LIMIT_BURST: '12', PLANTGRAPH_MAX_COST: '100' },
      });
      try {
        const operator = await makeKey(app, 'refused-operator', 'OPERATOR');
        const input = { machineId: b64('Machine:987654'), status: 'DOWN', at: new Date().toISOString() };
        const refusals: { name: string; op: { query: string; variables?: Record<string, unknown> }; code: (r: any) => unknown; expect: string }[] = [
          {
            name: 'forbidden',
            op: {
              query: 'mutation Forbidden($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }',
              variables: { input: { name: 'x', role: 'ADMIN' } },
            },
            code: (r) => r.errors?.[0]?.extensions?.code,
            expect: 'FORBIDDEN',
          },
          { name: 'invalid', op: { query: 'mutation Invalid { nope }' }, code: (r) => r.errors?.[0]?.extensions?.code, expect: 'GRAPHQL_VALIDATION_FAILED' },
          {
            name: 'too expensive',
            op: {
              query:
                'mutation Expensive($input: MachineStateInput!) { recordMachineState(input: $input) { ... on RecordMachineStateSuccess { machine { states(first: 200) { edges { node { status } } } } } } }',
              variables: { input },
            },
            code: (r) => r.errors?.[0]?.extensions?.code,
            expect: 'QUERY_TOO_EXPENSIVE',
          },
          {
            name: 'typed error',
            op: { query: 'mutation Typed($input: MachineStateInput!) { recordMachineState(input: $input) { __typename } }', variables: { input } },
            code: (r) => r.data?.recordMachineState?.__typename,
            expect: 'ValidationError',
          },
        ];
        const ops = refusals.map((r) => r.op);
        let used = 0;
        // Three of the four are audited (the invalid one never executes): 3 entries per round of four.
        await unchanged(
          app.database,
          async () => {
            for (const r of refusals) {
              const res = await app.yoga.fetch('http://localhost/graphql', {
                method: 'POST',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${operator.key}` },
                body: JSON.stringify(r.op),
              });
              assert.notEqual(res.status, 429, r.name);
              assert.equal(r.code(await res.json()), r.expect, r.name);
              used++;
            }
            for (let round = 0; round < 2; round++) {
              const res = await batch(app, ops, operator.key);
              assert.equal(res.status, 200, `batch ${round}`);
              const results = (await res.json()) as any[];
              for (const [i, r] of refusals.entries()) assert.equal(r.code(results[i]), r.expect, `batched ${r.name}`);
              used += ops.length;
            }
          },
          { audit_log: 9 },
        );
        const next = await as(app, operator.key)('{ me { name } }');
        t.diagnostic(`burst 12: ${used} refused operations (4 alone, 8 in two batches), then the next request answered ${next.status}`);
        assert.equal(next.status, 429, JSON.stringify(next.body));
        assert.equal(next.body.errors[0].extensions.code, 'RATE_LIMITED');
      } finally {
        await app.close();
      }
    });

    it('on a WebSocket, operations refused at validation or for too many operations take tokens too', async (t) => {
      const app = await createTestApp(backend, {
        seed: false,
        env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '1', PLANTGRAPH_RATE_LIMIT_BURST: '6', PLANTGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION: '1' },
      });
      let server: RunningServer | undefined;
      let client: ReturnType<typeof createClient> | undefined;
      try {
        const operator = await makeKey(app, 'ws-operator', 'OPERATOR');
        const imported = await app.gql(
          'mutation { importPlant(input: { name: "WS plant", lines: [{ name: "L", machines: [{ name: "M" }] }] }) { ... on ImportPlantSuccess { plant { id } } } }',
        );
        const plantId = imported.body.data.importPlant.plant.id as string;
        server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
        client = createClient({
          url: `${server.url.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: { authorization: `Bearer ${operator.key}` },
        });
        const c = client;
        const run = (query: string) =>
          new Promise<any>((resolve) => {
            let last: unknown = null;
            c.subscribe({ query }, { next: (v) => (last = v), error: (e) => resolve({ errors: e }), complete: () => resolve(last) });
          });
        const invalid = await run('{ nope }');
        assert.match(invalid.errors?.[0]?.message ?? '', /Cannot query field "nope"/, JSON.stringify(invalid));
        c.subscribe({ query: `subscription { alerts(plantId: "${plantId}") { kind } }` }, { next: () => {}, error: () => {}, complete: () => {} });
        const topic = `alerts:${Buffer.from(plantId, 'base64').toString().split(':')[1]}`;
        await waitFor(() => (app.services.pubsub as unknown as { subscriberCount(t: string): number }).subscriberCount(topic) === 1);
        for (let i = 0; i < 3; i++) {
          const r = await run('{ me { name } }');
          assert.equal(r.errors?.[0]?.extensions?.code, 'TOO_MANY_SUBSCRIPTIONS', JSON.stringify(r));
        }
        // 1 invalid + 1 subscription + 3 refused = 5 of 6 tokens: one request left.
        const last = await as(app, operator.key)('{ me { name } }');
        const over = await as(app, operator.key)('{ me { name } }');
        t.diagnostic(`burst 6, 5 WebSocket operations (4 refused): next HTTP requests answered ${last.status}, ${over.status}`);
        assert.equal(last.status, 200);
        assert.equal(over.status, 429);
        assert.equal(over.body.errors[0].extensions.code, 'RATE_LIMITED');
      } finally {
        await client?.dispose();
        await server?.close();
        await app.close();
      }
    });
  });
}

describe(`attacks on authentication: failed logins are throttled per client address [${ONE_BACKEND}]`, () => {
  let app: TestApp;
  let server: RunningServer;
  const METRICS_KEY = 'metrics-key-0123456789abcdef';
  before(async () => {
    app = await createTestApp(ONE_BACKEND, {
      seed: false,
      env: { PLANTGRAPH_AUTH_FAILURE_LIMIT: '10', PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '0', PLANTGRAPH_METRICS_KEY: METRICS_KEY },
    });
    server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await server.close();
    await app.close();
  });

  it('random keys from one address get 401 ten times, then 429 with Retry-After; a real key from another address still works', async (t) => {
    const from = '127.0.0.2';
    const statuses: number[] = [];
    let throttled: Answer | undefined;
    const started = Date.now();
    while (statuses.length < 200) {
      const r = await meFrom(server.url, from, randomKey());
      statuses.push(r.status);
      if (r.status === 429) {
        throttled = r;
        break;
      }
      assert.equal(r.status, 401);
      assert.equal(JSON.parse(r.body).errors[0].extensions.code, 'UNAUTHENTICATED');
    }
    const ms = Date.now() - started;
    t.diagnostic(
      `${throttled ? 'throttled after' : 'not throttled in'} ${statuses.length} requests (${statuses.filter((s) => s === 401).length} × 401) in ${ms} ms`,
    );
    assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
    const body = JSON.parse(throttled!.body);
    assert.equal(body.errors[0].extensions.code, 'RATE_LIMITED');
    assert.match(body.errors[0].message, /Too many failed authentication attempts from this address/);
    const retry = Number(throttled!.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, String(retry));
    // The throttled address: refused without looking at the credential, a valid one included (documented).
    const stmts = await statementsDuring(app.database, async () => assert.equal((await meFrom(server.url, from, randomKey())).status, 429));
    assert.deepEqual(stmts, [], 'a throttled attempt does not look the key up');
    assert.equal((await meFrom(server.url, from, TEST_ADMIN_KEY)).status, 429);
    // Another address: the real key works, and a wrong key there is a plain 401.
    const other = await meFrom(server.url, '127.0.0.3', TEST_ADMIN_KEY);
    assert.equal(other.status, 200);
    assert.deepEqual(JSON.parse(other.body).data, { me: { name: 'PLANTGRAPH_ADMIN_KEY' } });
    assert.equal((await meFrom(server.url, '127.0.0.3', randomKey())).status, 401);
    // WebSocket connection_init: the throttled address is closed with 4429, the other one is served.
    const ws = await wsInit(server.url, from, TEST_ADMIN_KEY);
    assert.deepEqual([ws.acked, ws.code], [false, 4429]);
    assert.match(ws.reason ?? '', /Too many failed authentication attempts/);
    const ok = await wsInit(server.url, '127.0.0.3', TEST_ADMIN_KEY);
    assert.deepEqual(ok, { acked: true, me: { name: 'PLANTGRAPH_ADMIN_KEY' } });
  });

  it('failed WebSocket inits and wrong metrics keys count like failed HTTP logins', async () => {
    const from = '127.0.0.4';
    for (let i = 0; i < 10; i++) {
      const r = await wsInit(server.url, from, randomKey());
      assert.deepEqual([r.acked, r.code], [false, 4403], `attempt ${i + 1}`);
    }
    const ws = await wsInit(server.url, from, TEST_ADMIN_KEY);
    assert.deepEqual([ws.acked, ws.code], [false, 4429]);
    assert.equal((await meFrom(server.url, from, TEST_ADMIN_KEY)).status, 429);

    const scraper = '127.0.0.5';
    for (let i = 0; i < 10; i++) {
      const r = await request(server.url, { from: scraper, path: '/metrics', headers: { authorization: `Bearer wrong-metrics-key-${i}` } });
      assert.equal(r.status, 401, `attempt ${i + 1}`);
    }
    const blocked = await request(server.url, { from: scraper, path: '/metrics', headers: { authorization: `Bearer ${METRICS_KEY}` } });
    assert.equal(blocked.status, 429);
    assert.equal(JSON.parse(blocked.body).errors[0].extensions.code, 'RATE_LIMITED');
    assert.doesNotMatch(blocked.body, /plantgraph_/);
    assert.equal((await request(server.url, { from: '127.0.0.1', path: '/metrics', headers: { authorization: `Bearer ${METRICS_KEY}` } })).status, 200);
  });

  it('a valid key does not reset the count, and X-Forwarded-For is ignored unless PLANTGRAPH_TRUST_PROXY is set', async () => {
    const from = '127.0.0.6';
    for (let i = 0; i < 9; i++) assert.equal((await meFrom(server.url, from, randomKey(), { 'x-forwarded-for': `10.9.0.${i}` })).status, 401);
    assert.equal((await meFrom(server.url, from, TEST_ADMIN_KEY)).status, 200);
    assert.equal((await meFrom(server.url, from, randomKey(), { 'x-forwarded-for': '10.9.0.99' })).status, 401);
    assert.equal((await meFrom(server.url, from, TEST_ADMIN_KEY, { 'x-forwarded-for': '10.9.1.1' })).status, 429);
  });

  it('missing credentials are a 401 that does not count as a failed guess', async () => {
    const from = '127.0.0.7';
    for (let i = 0; i < 15; i++) {
      const r = await request(server.url, { from, body: JSON.stringify({ query: '{ me { name } }' }) });
      assert.equal(r.status, 401);
      assert.match(JSON.parse(r.body).errors[0].message, /Missing credentials/);
    }
    assert.equal((await meFrom(server.url, from, TEST_ADMIN_KEY)).status, 200);
  });
});

describe(`failed-login throttling behind a trusted proxy, and the end of the window [${ONE_BACKEND}]`, () => {
  it('with PLANTGRAPH_TRUST_PROXY, the last X-Forwarded-For address is the client; the block ends with the window', async (t) => {
    const app = await createTestApp(ONE_BACKEND, {
      seed: false,
      env: { PLANTGRAPH_TRUST_PROXY: 'true', PLANTGRAPH_AUTH_FAILURE_LIMIT: '3', PLANTGRAPH_AUTH_FAILURE_WINDOW_SECONDS: '2' },
    });
    const server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
    try {
      const proxy = '127.0.0.8';
      // The client may put anything in front; the proxy appends the address it saw.
      for (let i = 0; i < 3; i++) assert.equal((await meFrom(server.url, proxy, randomKey(), { 'x-forwarded-for': `1.2.3.${i}, 10.1.1.1` })).status, 401);
      const blocked = await meFrom(server.url, proxy, TEST_ADMIN_KEY, { 'x-forwarded-for': '10.1.1.1' });
      assert.equal(blocked.status, 429);
      const retry = Number(blocked.headers['retry-after']);
      assert.ok(retry >= 1 && retry <= 2, String(retry));
      assert.equal((await meFrom(server.url, proxy, TEST_ADMIN_KEY, { 'x-forwarded-for': '10.1.1.2' })).status, 200, 'another client of the proxy');
      assert.equal((await meFrom(server.url, proxy, TEST_ADMIN_KEY)).status, 200, 'the proxy itself (no header)');
      const blockedAt = Date.now();
      await waitFor(async () => (await meFrom(server.url, proxy, TEST_ADMIN_KEY, { 'x-forwarded-for': '10.1.1.1' })).status === 200, {
        intervalMs: 200,
        timeoutMs: 30_000,
      });
      const waited = Date.now() - blockedAt;
      t.diagnostic(`window 2 s: the blocked client got in again after ${waited} ms`);
      assert.ok(waited <= 20_000, `${waited} ms`);
    } finally {
      await server.close();
      await app.close();
    }
  });
});

describe('the failure table and client addresses', () => {
  it('the failure table stays bounded under a spray of addresses, and a fresh attacker is still blocked', async (t) => {
    const { LoginThrottle } = await import('../src/auth/login-throttle.ts');
    const throttle = new LoginThrottle(3, 60_000, 1_000);
    const now = Date.now();
    const heap = process.memoryUsage().heapUsed;
    for (let i = 0; i < 50_000; i++) throttle.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now);
    t.diagnostic(`50,000 addresses -> ${throttle.size} entries, heap +${MB(process.memoryUsage().heapUsed - heap)}`);
    assert.equal(throttle.size, 1_000);
    for (let i = 0; i < 3; i++) throttle.failed('192.0.2.1', now);
    assert.equal(throttle.wait('192.0.2.1', now + 1_000), 59);
    assert.equal(throttle.wait('192.0.2.1', now + 60_000), 0, 'the block ends with the window');
    assert.equal(throttle.wait(null, now), 0, 'no address, no throttle');
  });

  it('the service keeps at most 10,000 addresses (malformed credentials from 20,000 addresses)', async () => {
    const app = await createTestApp(ONE_BACKEND, { seed: false });
    try {
      const auth = app.services.auth as unknown as {
        authenticate(h: string, a: string): Promise<{ ok: boolean; retryAfter?: number }>;
        loginThrottle?: { size: number };
      };
      assert.ok(auth.loginThrottle, 'the service has a failure table');
      for (let i = 0; i < 20_000; i++) await auth.authenticate('Basic x', `10.2.${i >> 8}.${i & 255}`);
      assert.equal(auth.loginThrottle.size, 10_000);
      for (let i = 0; i < 20; i++) assert.equal((await auth.authenticate('Basic x', '198.51.100.7')).ok, false);
      const r = await auth.authenticate(`Bearer ${TEST_ADMIN_KEY}`, '198.51.100.7');
      assert.equal(r.ok, false);
      assert.ok((r.retryAfter ?? 0) >= 1);
      assert.equal((await auth.authenticate(`Bearer ${TEST_ADMIN_KEY}`, '198.51.100.8')).ok, true);
    } finally {
      await app.close();
    }
  });

  it('addresses: IPv4-mapped IPv6 is IPv4, IPv6 counts by /64, X-Forwarded-For only when trusted', async () => {
    const { addressKey, clientAddress } = await import('../src/auth/login-throttle.ts');
    assert.equal(addressKey('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:DB8:1:2:bbbb:cccc:dddd:2'));
    assert.equal(addressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'));
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('not an address'), null);
    assert.equal(clientAddress('127.0.0.1', '10.0.0.9', false), '127.0.0.1');
    assert.equal(clientAddress('127.0.0.1', '6.6.6.6, 10.0.0.9', true), '10.0.0.9');
    assert.equal(clientAddress('127.0.0.1', ['6.6.6.6', '10.0.0.9'], true), '10.0.0.9');
    assert.equal(clientAddress('127.0.0.1', 'garbage', true), '127.0.0.1');
    assert.equal(clientAddress('127.0.0.1', undefined, true), '127.0.0.1');
  });
});
