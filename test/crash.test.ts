// Embedded mode (PGlite on disk) under SIGKILL: a server killed while ingest requests are in flight loses no point it
// acknowledged, its data directory opens again (the dead process's lock is taken over), and retried batchIds are not
// stored twice. A second process on the same data directory is refused with a clear error instead of sharing it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseJobShop, problemToPlantImport } from '../src/optimize/schedule/jsplib.ts';
import { after, before, describe, it, testBackends, waitFor } from './helpers.ts';
import { runServerProcess, type ServerProcess, startServerProcess } from './process.ts';

const KEY = 'crash-test-admin-key-0123456789ab';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
const INGEST = `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on IngestTelemetrySuccess { accepted duplicates } ... on Error { message } } }`;

for (const backend of testBackends().filter((b) => b === 'pglite')) {
  describe(`SIGKILL in embedded mode [${backend}]`, () => {
    let dataDir: string;
    let env: Record<string, string>;
    let server: ServerProcess | undefined;
    before(() => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-crash-'));
      env = {
        PLANTGRAPH_DATA_DIR: dataDir,
        DATABASE_URL: '',
        PLANTGRAPH_ADMIN_KEY: KEY,
        PLANTGRAPH_SEED: 'none',
        PLANTGRAPH_RATE_LIMIT_BURST: '0',
        PLANTGRAPH_JOB_LEASE_SECONDS: '2',
      };
    });
    after(async () => {
      await server?.stop('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const gql = async (url: string, query: string, variables?: unknown) => {
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      return (await res.json()) as any;
    };

    it('loses no acknowledged point, reopens the directory, stores retried batches once, and refuses a second process', async (t) => {
      server = await startServerProcess(env);
      const imported = await gql(
        server.url,
        `mutation($input: PlantImportInput!) { importPlant(input: $input) { __typename ... on ImportPlantSuccess { plant { machines { id } } } } }`,
        { input: { name: 'crash', lines: [{ name: 'L', machines: [{ name: 'M1' }] }], products: [], orders: [] } },
      );
      const machineId = imported.data.importPlant.plant.machines[0].id;
      // A long job runs when the process is killed too.
      const ft10 = problemToPlantImport(parseJobShop(fs.readFileSync('test/fixtures/jsplib/ft10.txt', 'utf8')), 'ft10', new Date(Date.now() + 3_600_000));
      const plant = await gql(
        server.url,
        `mutation($input: PlantImportInput!) { importPlant(input: $input) { __typename ... on ImportPlantSuccess { plant { id } } } }`,
        {
          input: ft10,
        },
      );
      const queued = await gql(
        server.url,
        `mutation($p: ID!) { optimizeSchedule(input: { plantId: $p, timeLimitSeconds: 120 }) { __typename ... on OptimizeScheduleSuccess { job { id } } } }`,
        { p: plant.data.importPlant.plant.id },
      );
      const jobId = queued.data.optimizeSchedule.job.id;
      const jobStatus = async () => (await gql(server!.url, `query($id: ID!) { job(id: $id) { status error attempts } }`, { id: jobId })).data.job;
      await waitFor(async () => (await jobStatus()).status === 'RUNNING');
      // A second process on the same directory is refused, naming it, while the first one runs.
      const second = await runServerProcess(env, { timeoutMs: 60_000 });
      assert.notEqual(second.code, 0);
      assert.match(second.output, new RegExp(`${path.basename(dataDir)}[\\s\\S]*(in use|used by|PID)`, 'i'));

      const acknowledged = new Map<string, number>();
      const t0 = Date.now() - 6 * 3_600_000;
      let n = 0;
      const batch = (i: number) => ({
        batchId: `crash-${i}`,
        points: Array.from({ length: 50 }, (_, k) => ({ machineId, metric: 'temperature', ts: new Date(t0 + (i * 50 + k) * 1000).toISOString(), value: k })),
      });
      // Writers keep ingesting; the server is killed in the middle of it.
      let killed = false;
      const writer = async () => {
        while (!killed) {
          const i = n++;
          try {
            const r = await gql(server!.url, INGEST, { input: batch(i) });
            if (r.data?.ingestTelemetry?.__typename === 'IngestTelemetrySuccess') acknowledged.set(`crash-${i}`, r.data.ingestTelemetry.accepted);
          } catch {
            // the connection died with the server: not acknowledged
          }
        }
      };
      const writers = [writer(), writer(), writer()];
      while (acknowledged.size < 20) await new Promise((r) => setImmediate(r));
      killed = true;
      await server.stop('SIGKILL');
      await Promise.all(writers);
      const acked = acknowledged.size;

      server = await startServerProcess(env);
      const stored = await gql(
        server.url,
        `query($id: ID!) { node(id: $id) { ... on Machine { telemetry(metric: "temperature", from: "${new Date(t0 - 1000).toISOString()}", to: "${new Date(Date.now()).toISOString()}", bucketSeconds: 86400) { count } } } }`,
        { id: machineId },
      );
      assert.equal(stored.errors, undefined, JSON.stringify(stored.errors));
      const count = stored.data.node.telemetry.reduce((a: number, b: { count: number }) => a + b.count, 0);
      assert.ok(count >= acked * 50, `${acked} batches (${acked * 50} points) acknowledged, ${count} stored`);
      t.diagnostic(`SIGKILL with ingest in flight: ${acked * 50} points acknowledged, ${count} stored after restart (${n} batches sent)`);
      // Every acknowledged batch again: all duplicates, nothing stored twice.
      for (const id of acknowledged.keys()) {
        const r = await gql(server.url, INGEST, { input: batch(Number(id.split('-')[1])) });
        assert.equal(r.data.ingestTelemetry.accepted, 0, JSON.stringify(r));
      }
      const after = await gql(
        server.url,
        `query($id: ID!) { node(id: $id) { ... on Machine { telemetry(metric: "temperature", from: "${new Date(t0 - 1000).toISOString()}", to: "${new Date(Date.now()).toISOString()}", bucketSeconds: 86400) { count } } } }`,
        { id: machineId },
      );
      assert.equal(
        after.data.node.telemetry.reduce((a: number, b: { count: number }) => a + b.count, 0),
        count,
      );
      // The job the killed process was running is not left RUNNING: its lease expires and it fails with the reason
      // (one attempt, as optimizeSchedule queues it), or it is run again.
      const job = await waitFor(async () => {
        const j = await jobStatus();
        return j.status === 'RUNNING' || j.status === 'QUEUED' ? null : j;
      });
      assert.ok(job.status === 'SUCCEEDED' || (job.status === 'FAILED' && /stopped/.test(job.error)), JSON.stringify(job));
      t.diagnostic(`the job running at the SIGKILL ended ${job.status}: ${job.error ?? ''}`);
      assert.equal(await server.stop(), 0);
      server = undefined;
    });
  });
}
