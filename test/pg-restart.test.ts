// A real PostgreSQL stop, start and restart under load, on a private PostgreSQL cluster this test creates (initdb on a
// free port, run as the postgres user), so the shared server the other suites use is never touched:
// - while it is stopped, requests fail with SERVICE_UNAVAILABLE (retryable, HTTP 503) and /ready says 503;
// - restarted while three writers ingest: every answer is a success or that retryable error, nothing else; every
//   acknowledged point is stored, and retrying the unacknowledged batchIds stores each exactly once;
// - the LISTEN connection comes back by itself: an event published by another process after the restart arrives;
// - a scheduling job running across the restart ends (SUCCEEDED, or FAILED with a reason), never stuck.
// Needs to run as root (to run initdb as postgres); skipped otherwise, saying so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { encodeId } from '../src/core/ids.ts';
import { migrateDatabase, openDatabase } from '../src/db/client.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { createLogger } from '../src/logger.ts';
import { parseJobShop, problemToPlantImport } from '../src/optimize/schedule/jsplib.ts';
import { PgPubSub } from '../src/pubsub/index.ts';
import { alertTopic } from '../src/alerts/service.ts';
import { alertEventsWithCatchUp } from '../src/alerts/subscription.ts';
import { machineStatusTopic } from '../src/telemetry/events.ts';
import { importPlant } from '../src/twin/import.ts';
import { after, before, describe, it, TEST_ADMIN_KEY, testBackends, waitFor } from './helpers.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const canRun = process.getuid?.() === 0 && fs.existsSync(`${BIN}/initdb`);

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

class PrivateCluster {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-pg-'));
  port = 0;
  private ctl(...args: string[]) {
    const r = spawnSync('runuser', ['-u', 'postgres', '--', `${BIN}/pg_ctl`, '-D', `${this.dir}/data`, '-w', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pg_ctl ${args[0]}: ${r.stderr}${r.stdout}`);
  }
  private get opts() {
    return ['-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`, '-l', `${this.dir}/log`];
  }
  async init(): Promise<void> {
    fs.chownSync(this.dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), 0);
    const r = spawnSync('runuser', ['-u', 'postgres', '--', `${BIN}/initdb`, '-D', `${this.dir}/data`, '-A', 'trust', '-U', 'postgres'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`initdb: ${r.stderr}`);
    this.port = await freePort();
    this.start();
  }
  start = () => this.ctl('start', ...this.opts);
  stop = () => this.ctl('stop', '-m', 'fast');
  restart = () => this.ctl('restart', '-m', 'fast', ...this.opts);
  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/plantgraph`;
  }
  destroy(): void {
    try {
      this.stop();
    } catch {}
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const INGEST = `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on IngestTelemetrySuccess { accepted duplicates } ... on Error { code message } } }`;

for (const backend of testBackends().filter((b) => b === 'postgres')) {
  describe(`a real PostgreSQL restart [${backend}]`, () => {
    const cluster = new PrivateCluster();
    let services: ReturnType<typeof wireServices>;
    let yoga: ReturnType<typeof createYogaApp>;
    let other: PgPubSub;
    let machineId = '';
    let plantId = 0;
    const post = async (query: string, variables?: unknown) => {
      const res = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    before(async () => {
      if (!canRun) return;
      await cluster.init();
      const admin = new pg.Client({ connectionString: cluster.url.replace('/plantgraph', '/postgres') });
      await admin.connect();
      await admin.query('create database plantgraph');
      await admin.end();
      const database = await openDatabase({ databaseUrl: cluster.url, poolSize: 6 });
      await migrateDatabase(database);
      const pubsub = await PgPubSub.connect({ url: cluster.url, pool: database.pool! });
      other = await PgPubSub.connect({ url: cluster.url, pool: database.pool! });
      services = wireServices(
        { ...loadConfig({ PLANTGRAPH_ADMIN_KEY: TEST_ADMIN_KEY, PLANTGRAPH_RATE_LIMIT_BURST: '0' }), databaseUrl: cluster.url, logLevel: 'silent' },
        database,
        createLogger('silent'),
        pubsub,
      );
      services.jobs.start();
      yoga = createYogaApp(services);
      const plant = await importPlant(database.db, {
        ...problemToPlantImport(parseJobShop(fs.readFileSync('test/fixtures/jsplib/ft06.txt', 'utf8')), 'ft06', new Date(Date.now() + 3_600_000)),
        name: 'restart',
      });
      plantId = plant.id;
      const m = await post(`query($id: ID!) { plant(id: $id) { machines { id } } }`, { id: encodeId('Plant', plant.id) });
      machineId = m.body.data.plant.machines[0].id;
    });
    after(async () => {
      if (!canRun) return;
      await services.jobs.stop().catch(() => {});
      await other.close().catch(() => {});
      await services.pubsub.close().catch(() => {});
      await services.database.close().catch(() => {});
      cluster.destroy();
    });

    it('stopped: SERVICE_UNAVAILABLE and /ready 503; restarted under ingest: nothing lost or doubled, LISTEN back, the job ends', async (t) => {
      if (!canRun) {
        t.skip('needs root to run initdb and pg_ctl as the postgres user');
        return;
      }
      // Stopped.
      cluster.stop();
      const down = await post('{ plants(first: 1) { totalCount } }');
      assert.equal(down.status, 503, JSON.stringify(down.body));
      assert.equal(down.body.errors[0].extensions.code, 'SERVICE_UNAVAILABLE');
      assert.equal(down.body.errors[0].extensions.retryable, true);
      assert.equal((await yoga.fetch('http://localhost/ready')).status, 503);
      cluster.start();
      await waitFor(async () => (await yoga.fetch('http://localhost/ready')).status === 200);

      // A job that runs across the restart.
      const job = await post(
        `mutation($p: ID!) { optimizeSchedule(input: { plantId: $p, timeLimitSeconds: 4 }) { __typename ... on OptimizeScheduleSuccess { job { id } } } }`,
        { p: encodeId('Plant', plantId) },
      );
      const jobId = job.body.data.optimizeSchedule.job.id;

      // Restarted while three writers ingest.
      const t0 = Date.now() - 6 * 3_600_000;
      const batch = (i: number) => ({
        batchId: `restart-${i}`,
        points: Array.from({ length: 20 }, (_, k) => ({ machineId, metric: 'temperature', ts: new Date(t0 + (i * 20 + k) * 1000).toISOString(), value: k })),
      });
      const acked = new Set<number>();
      const unexpected: string[] = [];
      let sent = 0;
      let stop = false;
      let unavailable = 0;
      const writer = async () => {
        while (!stop) {
          const i = sent++;
          const r = await post(INGEST, { input: batch(i) });
          if (r.body.data?.ingestTelemetry?.__typename === 'IngestTelemetrySuccess') acked.add(i);
          else if (r.status === 503 && r.body.errors?.[0]?.extensions?.code === 'SERVICE_UNAVAILABLE') unavailable++;
          else unexpected.push(`${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        }
      };
      const writers = [writer(), writer(), writer()];
      await waitFor(() => acked.size >= 10);
      cluster.restart();
      const afterRestart = acked.size;
      await waitFor(() => acked.size >= afterRestart + 10, { timeoutMs: 60_000 });
      stop = true;
      await Promise.all(writers);
      assert.deepEqual(unexpected, []);
      // Retry every batch that was not acknowledged: each is stored once.
      for (let i = 0; i < sent; i++) {
        if (acked.has(i)) continue;
        const r = await post(INGEST, { input: batch(i) });
        assert.equal(r.body.data?.ingestTelemetry?.__typename, 'IngestTelemetrySuccess', JSON.stringify(r.body));
      }
      const [{ n }] = await services.database.query<{ n: number }>('select count(*)::int as n from telemetry');
      assert.equal(Number(n), sent * 20, `${sent} batches of 20 points`);

      // LISTEN is back: an event another process publishes now reaches this one.
      const controller = new AbortController();
      const sub = services.pubsub.subscribe(machineStatusTopic, plantId, { signal: controller.signal });
      const received = (async () => {
        for await (const e of sub) return e;
      })().catch(() => null);
      await waitFor(
        async () => {
          await other
            .publish(machineStatusTopic, plantId, { machineId: 1, plantId, status: 'IDLE', previous: null, at: new Date(), current: true })
            .catch(() => {});
          return Promise.race([received, new Promise((r) => setTimeout(() => r(null), 200))]);
        },
        { timeoutMs: 30_000 },
      );
      controller.abort();

      // Alerts raised after the restart reach a subscriber of another process: live through NOTIFY once its LISTEN is
      // back, the rest by catch-up from the last cursor it saw (what the console does after a reconnect).
      const rule = await post(`mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename } }`, {
        input: { plantId: encodeId('Plant', plantId), name: 'hot', kind: 'THRESHOLD', severity: 'CRITICAL', metric: 'hot', comparator: 'GT', threshold: 100 },
      });
      assert.equal(rule.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess');
      const live = new Set<number>();
      const alertsController = new AbortController();
      // The subscription the GraphQL alerts field uses, on the other process's pub/sub: live events, and a re-read
      // of what changed while its LISTEN connection was away.
      const alertSub = await alertEventsWithCatchUp(services.database, plantId, (onGap) =>
        other.subscribe(alertTopic, plantId, { signal: alertsController.signal, onGap }),
      );
      const reading = (async () => {
        for await (const e of alertSub) if (e.kind === 'OPENED') live.add(e.alert.id);
      })().catch(() => {});
      const machines = (await post(`query($id: ID!) { plant(id: $id) { machines { id } } }`, { id: encodeId('Plant', plantId) })).body.data.plant.machines;
      const breach = async (m: string) =>
        waitFor(async () => {
          const r = await post(INGEST, { input: { points: [{ machineId: m, metric: 'hot', ts: new Date().toISOString(), value: 500 }] } });
          return r.body.data?.ingestTelemetry?.__typename === 'IngestTelemetrySuccess';
        });
      await breach(machines[0].id);
      await waitFor(() => live.size === 1, { message: 'the first alert, live' });
      const cursor = (await post(`query($p: ID!) { alerts(plantId: $p, first: 1) { edges { cursor } } }`, { p: encodeId('Plant', plantId) })).body.data.alerts
        .edges[0].cursor;
      cluster.restart();
      for (const m of machines.slice(1, 4)) await breach(m.id);
      const raisedAfter = 3;
      // Delivered to the subscriber itself: live, or re-read when its LISTEN connection is back.
      await waitFor(() => live.size === 1 + raisedAfter, {
        timeoutMs: 30_000,
        message: () => `${live.size - 1} of ${raisedAfter} alerts after the restart delivered`,
      });
      const caught = (
        await post(`query($p: ID!, $c: String) { alerts(plantId: $p, after: $c, first: 50) { edges { node { id } } } }`, {
          p: encodeId('Plant', plantId),
          c: cursor,
        })
      ).body.data.alerts.edges.map((e: any) => e.node.id);
      alertsController.abort();
      await reading;
      const liveAfter = live.size - 1;
      // Every alert raised after the restart is delivered: live or by catch-up (the catch-up lists all of them).
      assert.equal(caught.length, raisedAfter, JSON.stringify(caught));
      assert.equal(liveAfter, raisedAfter);
      const alertsLine = `alerts raised after the restart ${raisedAfter}, delivered to the other process's subscriber ${liveAfter} (live or re-read after its LISTEN came back); Query.alerts(after: cursor) lists ${caught.length}`;

      const end = await waitFor(
        async () => {
          const j = (await post(`query($id: ID!) { job(id: $id) { status error } }`, { id: jobId })).body.data?.job;
          return j && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status) ? j : null;
        },
        { timeoutMs: 90_000 },
      );
      assert.ok(end.status === 'SUCCEEDED' || (end.status === 'FAILED' && end.error), JSON.stringify(end));
      t.diagnostic(
        `restart under ingest: ${sent} batches sent, ${acked.size} acknowledged, ${unavailable} answered SERVICE_UNAVAILABLE, ${Number(n)} points stored (${sent * 20} expected); the job ended ${end.status}; ${alertsLine}`,
      );
    });
  });
}
