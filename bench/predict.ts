// Prediction benchmarks of issue 11, each a ratio measured in one run with the rounds interleaved:
// - failureRisk for 1,000 machines through GraphQL over a hand-written baseline (the plant's machines, the same
//   features statement and one session.run on its own session, answered as JSON): goal at most 1.5x;
// - 200 concurrent single-machine predictions, batching on (the default 2 ms window) over off (batches of 1 row):
//   goal at least 3x the throughput;
// - a small GraphQL query's p99 latency while a 5-fold GRADIENT_BOOSTING training on AI4I runs (a job in a worker
//   thread) over its idle p99: goal at most 2x.
// Usage: npm run bench:predict [-- --rounds 7]. Needs PostgreSQL at TEST_DATABASE_URL, like the tests.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { encodeId } from '../src/core/ids.ts';
import { openDatabase } from '../src/db/client.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { createLogger } from '../src/logger.ts';
import { computeFeatures } from '../src/predict/features.ts';
import { rowsToFeeds } from '../src/predict/onnx/feeds.ts';
import { modelBytes, resolveModel } from '../src/predict/registry.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { importPlant } from '../src/twin/import.ts';
import { createTestDatabase } from '../test/helpers.ts';
import { sklearnLogisticRegression } from '../test/onnx-models.ts';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, only: { type: 'string', default: 'risk,batch,train' } } });
const rounds = Number(opts.rounds);
const only = new Set(opts.only.split(','));
const KEY = 'bench-predict-admin-key-0123456789';
const MACHINES = 1000;

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const spread = (v: number[]) => `${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)}`;
const percentile = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];

const t = await createTestDatabase('postgres');
await t.database.close();
const database = await openDatabase({ databaseUrl: t.url, poolSize: 20 });
const env = { PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_RATE_LIMIT_BURST: '0', NODE_ENV: 'production' };
const config = { ...loadConfig(env), databaseUrl: t.url, logLevel: 'silent' };
const services = wireServices(config, database, createLogger('silent'));
const yoga = createYogaApp(services);
// Batching off: the same database, every call its own run.
const unbatched = wireServices({ ...config, predict: { ...config.predict, batchWindowMs: 0, batchMaxRows: 1 } }, database, createLogger('silent'));
const yogaUnbatched = createYogaApp(unbatched);

async function gql(app: typeof yoga, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await app.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as any;
  if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 500));
  return body;
}

/* ---------- data: 1,000 machines with temperature, a failure model on its 10-minute mean ---------- */

const { id: plantId } = await importPlant(database.db, {
  name: 'Bench',
  lines: Array.from({ length: 10 }, (_, l) => ({
    name: `L${l}`,
    machines: Array.from({ length: MACHINES / 10 }, (_, m) => ({ name: `M${l}-${m}`, kind: 'cnc' })),
  })),
});
const ids = (await database.query<{ id: number }>('select id from machines where plant_id = $1 order by id', [plantId])).map((r) => r.id);
const now = Date.now();
await ingestTelemetry(
  services,
  { plantIds: null },
  {
    points: ids.flatMap((machineId, i) =>
      [1, 2, 3].map((k) => ({ machineId, metric: 'temperature', ts: new Date(now - k * 60_000), value: 60 + (i % 40) / 2 + k })),
    ),
  },
);
const definitions = [{ name: 'temperature_mean_600s', metric: 'temperature', aggregate: 'mean' as const, windowSeconds: 600 }];
const model = await services.predictions.register({
  name: 'risk',
  task: 'CLASSIFICATION',
  bytes: sklearnLogisticRegression([[0.5]], [-36], { ints: [0, 1] }, 'binary'),
  features: ['temperature_mean_600s'],
  featureDefinitions: definitions,
  createdBy: 'bench',
});

/* ---------- 1. failureRisk for 1,000 machines: GraphQL over the hand-written baseline ---------- */

const RISK = `query($plant: ID!) { plant(id: $plant) { lines { machines { id failureRisk(model: "risk") } } } }`;
const session = await ort.InferenceSession.create((await modelBytes(database, model.id))!);
const record = (await resolveModel(database, 'risk'))!;
async function baseline(): Promise<string> {
  // What a hand-written handler reads: the plant's machines by line, then their features.
  const machines = await database.query<{ id: number; line_id: number }>('select id, line_id from machines where plant_id = $1 order by line_id, id', [
    plantId,
  ]);
  const machineIds = machines.map((m) => m.id);
  const features = await computeFeatures(database, { machineIds, definitions });
  const out = await session.run(
    rowsToFeeds(
      features.map((f) => (f.ok ? (f.values as number[]) : [Number.NaN])),
      record,
      { allowNaN: true },
    ),
    ['probabilities'],
  );
  const p = out.probabilities.data as Float32Array;
  return JSON.stringify({ data: { machines: machineIds.map((id, i) => ({ id: encodeId('Machine', id), failureRisk: p[i * 2 + 1] })) } });
}
async function timed(fn: () => Promise<unknown>, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - start) / n;
}
const plant = encodeId('Plant', plantId);
const riskRatios: number[] = [];
const graphqlMs: number[] = [];
const baselineMs: number[] = [];
if (only.has('risk')) {
  await gql(yoga, RISK, { plant });
  await baseline();
  for (let r = 0; r < rounds; r++) {
    const g = await timed(() => gql(yoga, RISK, { plant }), 5);
    const b = await timed(baseline, 5);
    graphqlMs.push(g);
    baselineMs.push(b);
    riskRatios.push(g / b);
  }
}

/* ---------- 2. 200 concurrent single-machine predictions: batching on over off ---------- */

const ONE = `query($id: ID!) { node(id: $id) { ... on Machine { failureRisk(model: "risk") } } }`;
async function throughput(app: typeof yoga): Promise<number> {
  const start = performance.now();
  await Promise.all(ids.slice(0, 200).map((id) => gql(app, ONE, { id: encodeId('Machine', id) })));
  return 200 / ((performance.now() - start) / 1000);
}
const batchRatios: number[] = [];
const onRps: number[] = [];
const offRps: number[] = [];
if (only.has('batch')) {
  await throughput(yoga);
  await throughput(yogaUnbatched);
  for (let r = 0; r < rounds; r++) {
    const runsOn = services.predictions.batcher.runs;
    const on = await throughput(yoga);
    const runsPerRound = services.predictions.batcher.runs - runsOn;
    const off = await throughput(yogaUnbatched);
    onRps.push(on);
    offRps.push(off);
    batchRatios.push(on / off);
    if (r === 0) console.log(`batching on: ${runsPerRound} session.run calls for 200 requests`);
  }
}

/* ---------- 3. small query p99 while a 5-fold GBDT training runs, over idle ---------- */

let idle: number[] = [];
const busy: number[] = [];
let trainSeconds = 0;
let job: any = null;
if (only.has('train')) {
  const csv = fs.readFileSync(new URL('../test/fixtures/ai4i2020/ai4i2020.csv', import.meta.url), 'utf8');
  const ds = await gql(
    yoga,
    `mutation($csv: String!) { importDataset(input: { name: "ai4i", csv: $csv }) { ... on ImportDatasetSuccess { dataset { id } } } }`,
    {
      csv,
    },
  );
  const datasetId = ds.data.importDataset.dataset.id;
  const SMALL = `{ me { role } }`;
  async function latencies(ms: number): Promise<number[]> {
    const out: number[] = [];
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const s = performance.now();
      await gql(yoga, SMALL);
      out.push(performance.now() - s);
    }
    return out;
  }
  services.jobs.start();
  idle = await latencies(3000);
  const train = await gql(
    yoga,
    `mutation($input: TrainModelInput!) { trainModel(input: $input) { ... on TrainModelSuccess { job { id } } ... on ValidationError { fieldErrors { path message } } } }`,
    {
      input: {
        name: 'ai4i-gbdt',
        datasetId,
        target: 'Machine failure',
        features: ['Type', 'Air temperature [K]', 'Process temperature [K]', 'Rotational speed [rpm]', 'Torque [Nm]', 'Tool wear [min]'],
        algorithm: 'GRADIENT_BOOSTING',
        folds: 5,
      },
    },
  );
  const jobId = train.data.trainModel.job.id;
  let status = 'QUEUED';
  const trainStart = performance.now();
  while (status === 'QUEUED' || status === 'RUNNING') {
    busy.push(...(await latencies(500)));
    status = (await gql(yoga, `query($id: ID!) { job(id: $id) { status } }`, { id: jobId })).data.job.status;
  }
  trainSeconds = (performance.now() - trainStart) / 1000;
  job = (await gql(yoga, `query($id: ID!) { job(id: $id) { status error model { metrics { name value } } } }`, { id: jobId })).data.job;
}

const result = {
  failure_risk_1000_graphql_ms: median(graphqlMs),
  failure_risk_1000_baseline_ms: median(baselineMs),
  failure_risk_vs_baseline_ratio: median(riskRatios),
  failure_risk_vs_baseline_spread: spread(riskRatios),
  batching_on_rps: median(onRps),
  batching_off_rps: median(offRps),
  batching_speedup: median(batchRatios),
  batching_speedup_spread: spread(batchRatios),
  idle_small_query_p99_ms: percentile(idle, 99),
  training_small_query_p99_ms: percentile(busy, 99),
  training_p99_over_idle_ratio: percentile(busy, 99) / percentile(idle, 99),
  training_job: job?.status,
  training_seconds: trainSeconds,
  training_cv_auc: job?.model?.metrics.find((m: any) => m.name === 'cv_auc')?.value ?? null,
  load_average: Number((await import('node:os')).loadavg()[0].toFixed(2)),
};
console.log(JSON.stringify(result, null, 2));
await session.release();
await services.jobs.stop();
await services.predictions.stop();
await unbatched.predictions.stop();
await services.predictionRules.stop();
await unbatched.predictionRules.stop();
await database.close();
await t.drop();
process.exit(0);
