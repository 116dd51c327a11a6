// Database faults through a TCP proxy between the server and PostgreSQL that can cut every connection, refuse new
// ones, or stall them: requests in flight and during the outage fail with a retryable typed error
// (extensions.code SERVICE_UNAVAILABLE, retryable: true, HTTP 503) rather than a masked fault or a hang; /ready says
// 503; nothing half-written stays; when the database is back, the pool recovers by itself and a retried ingest with
// the same batchId is stored once.
import assert from 'node:assert/strict';
import net from 'node:net';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { createLogger } from '../src/logger.ts';
import { after, before, createTestDatabase, describe, it, TEST_ADMIN_KEY, testBackends, waitFor } from './helpers.ts';

/**
 * A TCP proxy to 127.0.0.1:5432: PASS forwards, CUT destroys every connection and each new one, STALL holds new ones
 * silent, SLOW forwards every chunk of new connections `delayMs` late, both ways.
 */
class FaultProxy {
  mode: 'PASS' | 'CUT' | 'STALL' | 'SLOW' = 'PASS';
  delayMs = 30;
  private sockets = new Set<net.Socket>();
  private server = net.createServer((client) => {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => {});
    if (this.mode === 'CUT') return client.destroy();
    if (this.mode === 'STALL') return;
    const upstream = net.connect(5432, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => {});
    client.on('close', () => upstream.destroy());
    if (this.mode === 'SLOW') {
      const delay = this.delayMs;
      client.on('data', (d) => setTimeout(() => upstream.write(d), delay));
      upstream.on('data', (d) => setTimeout(() => client.write(d), delay));
      return;
    }
    client.pipe(upstream).pipe(client);
  });
  port = 0;
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  /** Ends every connection now; new ones follow `mode`. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
  }
  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const INGEST = `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on IngestTelemetrySuccess { accepted duplicates } ... on Error { code message } } }`;

for (const backend of testBackends().filter((b) => b === 'postgres')) {
  describe(`database faults through a TCP proxy [${backend}]`, () => {
    const proxy = new FaultProxy();
    let drop: () => Promise<void>;
    let services: ReturnType<typeof wireServices>;
    let yoga: ReturnType<typeof createYogaApp>;
    let machineId: string;
    const post = async (query: string, variables?: unknown) => {
      const res = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const ready = async () => (await yoga.fetch('http://localhost/ready')).status;
    before(async () => {
      await proxy.start();
      const created = await createTestDatabase('postgres');
      drop = created.drop;
      const u = new URL(created.url!);
      u.port = String(proxy.port);
      u.hostname = '127.0.0.1';
      const database = await openDatabase({ databaseUrl: u.toString(), poolSize: 4 });
      services = wireServices(
        { ...loadConfig({ PLANTGRAPH_ADMIN_KEY: TEST_ADMIN_KEY, PLANTGRAPH_RATE_LIMIT_BURST: '0' }), databaseUrl: u.toString(), logLevel: 'silent' },
        database,
        createLogger('silent'),
      );
      yoga = createYogaApp(services);
      const imported = await post(
        `mutation($input: PlantImportInput!) { importPlant(input: $input) { __typename ... on ImportPlantSuccess { plant { machines { id } } } ... on Error { message } } }`,
        {
          input: { name: 'faults', lines: [{ name: 'L', machines: [{ name: 'M1' }] }], products: [], orders: [] },
        },
      );
      assert.equal(imported.body.data?.importPlant.__typename, 'ImportPlantSuccess', JSON.stringify(imported.body));
      machineId = imported.body.data.importPlant.plant.machines[0].id;
    });
    after(async () => {
      proxy.mode = 'PASS';
      await services.database.close().catch(() => {});
      await proxy.close();
      await drop();
    });

    it('a cut database: SERVICE_UNAVAILABLE (retryable, HTTP 503) and /ready 503 while away; the pool recovers; a retried batch is stored once', async () => {
      assert.equal(await ready(), 200);
      const point = (value: number) => ({
        batchId: 'faults-batch-1',
        points: [{ machineId, metric: 'temperature', ts: new Date(Date.now() - 1000).toISOString(), value }],
      });
      proxy.mode = 'CUT';
      proxy.cutAll();
      const r = await post(INGEST, { input: point(1) });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE', JSON.stringify(r.body));
      assert.equal(r.body.errors[0].extensions.retryable, true);
      assert.equal(r.body.errors[0].extensions.http, undefined, 'no internal extensions reach the client');
      const q = await post('{ plants(first: 5) { edges { node { name } } } }');
      assert.equal(q.body.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');
      assert.equal(await ready(), 503);
      // Back: the pool reconnects by itself; the retried batch is stored once.
      proxy.mode = 'PASS';
      const ok = await waitFor(async () => {
        const again = await post(INGEST, { input: point(1) });
        return again.body.data?.ingestTelemetry?.__typename === 'IngestTelemetrySuccess' ? again : null;
      });
      assert.equal(ok.body.data.ingestTelemetry.accepted + ok.body.data.ingestTelemetry.duplicates, 1);
      const dup = await post(INGEST, { input: point(1) });
      assert.equal(dup.body.data.ingestTelemetry.duplicates, 1, JSON.stringify(dup.body));
      const [{ n }] = await services.database.query<{ n: number }>(`select count(*)::int as n from telemetry where metric = 'temperature'`);
      assert.equal(Number(n), 1);
      assert.equal(await ready(), 200);
    });

    it('a slow connection (every chunk 30 ms late both ways): queries and ingest succeed, only slower', async () => {
      proxy.mode = 'SLOW';
      proxy.cutAll();
      // The pool's idle connections died with the cut (a retryable error each); then every request gets a slow one.
      await waitFor(async () => !(await post('{ plants(first: 5) { edges { node { name } } } }')).body.errors);
      const started = Date.now();
      const q = await post('{ plants(first: 5) { edges { node { name } } } }');
      assert.equal(q.body.errors, undefined, JSON.stringify(q.body));
      const r = await post(INGEST, {
        input: { batchId: 'slow-1', points: [{ machineId, metric: 'slow', ts: new Date(Date.now() - 1000).toISOString(), value: 1 }] },
      });
      assert.equal(r.body.data?.ingestTelemetry?.__typename, 'IngestTelemetrySuccess', JSON.stringify(r.body));
      assert.ok(Date.now() - started < 30_000);
      proxy.mode = 'PASS';
      proxy.cutAll();
      await waitFor(async () => !(await post('{ plants(first: 5) { edges { node { name } } } }')).body.errors);
    });

    it('a stalled database: a request needing a new connection fails as SERVICE_UNAVAILABLE within the connect timeout, not a hang', async () => {
      proxy.mode = 'STALL';
      proxy.cutAll();
      const started = Date.now();
      const r = await post('{ plants(first: 5) { edges { node { name } } } }');
      const took = Date.now() - started;
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE', JSON.stringify(r.body));
      assert.ok(took < 30_000, `answered after ${took} ms`);
      proxy.mode = 'PASS';
      proxy.cutAll();
      await waitFor(async () => !(await post('{ plants(first: 5) { edges { node { name } } } }')).body.errors);
    });
  });
}
