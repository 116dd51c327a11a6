// The event loop stays free while heavy work runs: with a 20 s schedule optimisation (ft10 imported as a plant) and a
// GRADIENT_BOOSTING training job (AI4I 2020) running at the same time in worker threads, a small query sent every
// 20 ms keeps its p99 low. The bound here is generous (250 ms against the goal of 100 ms: the machine is shared);
// bench/solve-latency.ts reports the exact figure as a ratio against idle.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { encodeId } from '../src/core/ids.ts';
import { parseJobShop, problemToPlantImport } from '../src/optimize/schedule/jsplib.ts';
import { importPlant } from '../src/twin/import.ts';
import { after, before, createTestApp, describe, it, type TestApp, testBackends } from './helpers.ts';
import { AI4I_FEATURES } from './train-data.ts';

const SOLVE_SECONDS = 20;

for (const backend of testBackends().filter((b) => b === 'pglite')) {
  describe(`event loop under a solve and a training [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_BURST: '0', PLANTGRAPH_WORKER_THREADS: '2' } });
      app.services.jobs.start();
    });
    after(async () => {
      await app.services.jobs.stop();
      await app.close();
    });

    it(`small queries keep a p99 under 250 ms while a ${SOLVE_SECONDS} s schedule optimisation and a model training run`, async (t) => {
      const start = new Date(Date.now() + 3_600_000);
      const { id } = await importPlant(
        app.database.db,
        problemToPlantImport(parseJobShop(fs.readFileSync('test/fixtures/jsplib/ft10.txt', 'utf8')), 'ft10', start),
      );
      const plantId = encodeId('Plant', id);
      const ds = await app.gql(
        `mutation($input: ImportDatasetInput!) { importDataset(input: $input) { __typename ... on ImportDatasetSuccess { dataset { id } } ... on Error { message } } }`,
        { input: { name: 'ai4i-loop', csv: fs.readFileSync('test/fixtures/ai4i2020/ai4i2020.csv', 'utf8') } },
      );
      assert.equal(ds.body.data.importDataset.__typename, 'ImportDatasetSuccess', JSON.stringify(ds.body));
      const solve = await app.gql(
        `mutation($p: ID!, $t: DateTime!) { optimizeSchedule(input: { plantId: $p, timeLimitSeconds: ${SOLVE_SECONDS}, start: $t }) { __typename ... on OptimizeScheduleSuccess { job { id } } } }`,
        { p: plantId, t: start.toISOString() },
      );
      const train = await app.gql(
        `mutation($input: TrainModelInput!) { trainModel(input: $input) { __typename ... on TrainModelSuccess { job { id } } ... on Error { message } } }`,
        {
          input: {
            name: 'loop-gbdt',
            datasetId: ds.body.data.importDataset.dataset.id,
            algorithm: 'GRADIENT_BOOSTING',
            target: 'Machine failure',
            features: AI4I_FEATURES,
          },
        },
      );
      assert.equal(train.body.data.trainModel.__typename, 'TrainModelSuccess', JSON.stringify(train.body));
      const jobs = [solve.body.data.optimizeSchedule.job.id, train.body.data.trainModel.job.id];
      const status = async (jobId: string) => (await app.gql(`query($id: ID!) { job(id: $id) { status error } }`, { id: jobId })).body.data.job;
      const latencies: number[] = [];
      let bothRunning = 0;
      const small = `query($id: ID!) { node(id: $id) { ... on Plant { name machines { name status } } } }`;
      for (let i = 0; ; i++) {
        const t0 = performance.now();
        const r = await app.gql(small, { id: plantId });
        latencies.push(performance.now() - t0);
        assert.equal(r.body.errors, undefined);
        if (i % 10 === 0) {
          const states = await Promise.all(jobs.map(status));
          if (states.every((s) => s.status === 'RUNNING')) bothRunning++;
          if (states.every((s) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(s.status))) {
            for (const s of states) assert.equal(s.status, 'SUCCEEDED', s.error);
            break;
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const p99 = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))];
      const p50 = sorted[Math.floor(0.5 * sorted.length)];
      t.diagnostic(
        `${latencies.length} small queries during the solve and the training: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (both jobs seen running at ${bothRunning} of the status checks)`,
      );
      assert.ok(latencies.length > 100, `${latencies.length} samples`);
      assert.ok(p99 < 250, `p99 ${p99.toFixed(1)} ms`);
    });
  });
}
