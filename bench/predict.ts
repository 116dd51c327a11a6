// Prediction benchmarks of issue 11, each a ratio measured in one run with the rounds interleaved, for two failure
// models over 1,000 machines' telemetry: lr1 (a logistic regression on one feature: the smallest model, where GraphQL
// and SQL costs dominate) and gbdt5 (GRADIENT_BOOSTING, 100 trees trained here, on five sensor features: the shape of
// an AI4I-style failure model):
// - failureRisk for 1,000 machines through GraphQL over a hand-written baseline (the plant's machines, the same
//   features statement and one session.run on its own session, answered as JSON): goal at most 1.5x;
// - 200 concurrent single-machine predictions (five such bursts per round), batching on (the default 2 ms window)
//   over off (batches of 1 row): goal at least 3x the throughput;
// - a small GraphQL query's p99 latency while a 5-fold GRADIENT_BOOSTING training on AI4I runs (a job in a worker
//   thread) over its idle p99: goal at most 2x.
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts.
// Usage: npm run bench:predict [-- --rounds 7] [--only risk,batch,train]. Needs PostgreSQL at TEST_DATABASE_URL, like the tests.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { encodeId } from '../src/core/ids.ts';
import { openDatabase } from '../src/db/client.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { createLogger } from '../src/logger.ts';
import { computeFeatures, type FeatureDefinition } from '../src/predict/features.ts';
import { featureFeeds } from '../src/predict/machine.ts';
import { exportModelSpec } from '../src/predict/onnx/export.ts';
import { trainModel } from '../src/predict/train/index.ts';
import type { DataTable } from '../src/predict/table.ts';
import { seededRandom } from '../src/core/random.ts';
import { modelBytes, resolveModel } from '../src/predict/registry.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { importPlant } from '../src/twin/import.ts';
import { createTestDatabase } from '../test/helpers.ts';
import { sklearnLogisticRegression } from '../test/onnx-models.ts';
import { emitResult, type Figures, withSpread } from './result.ts';

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

/* ---------- data: 1,000 machines with five sensors; two failure models over their 10-minute means ---------- */
// lr1: a logistic regression on one feature (the smallest model: GraphQL and SQL costs dominate);
// gbdt5: GRADIENT_BOOSTING (100 trees, trained here) on five features, the shape of an AI4I-style failure model.

const { id: plantId } = await importPlant(database.db, {
  name: 'Bench',
  lines: Array.from({ length: 10 }, (_, l) => ({
    name: `L${l}`,
    machines: Array.from({ length: MACHINES / 10 }, (_, m) => ({ name: `M${l}-${m}`, kind: 'cnc' })),
  })),
});
const ids = (await database.query<{ id: number }>('select id from machines where plant_id = $1 order by id', [plantId])).map((r) => r.id);
const now = Date.now();
const SENSORS = ['temperature', 'vibration', 'speed', 'torque', 'tool_wear'];
const random = seededRandom(11);
await ingestTelemetry(
  services,
  { plantIds: null },
  {
    points: ids.flatMap((machineId) =>
      SENSORS.flatMap((metric, j) => [1, 2, 3].map((k) => ({ machineId, metric, ts: new Date(now - k * 60_000), value: 10 * (j + 1) + 5 * random() }))),
    ),
  },
);
const meanOf = (metric: string) => ({ name: `${metric}_mean_600s`, metric, aggregate: 'mean' as const, windowSeconds: 600 });
const lr1Definitions = [meanOf('temperature')];
await services.predictions.register({
  name: 'lr1',
  task: 'CLASSIFICATION',
  bytes: sklearnLogisticRegression([[0.5]], [-36], { ints: [0, 1] }, 'binary'),
  features: lr1Definitions.map((d) => d.name),
  featureDefinitions: lr1Definitions,
  createdBy: 'bench',
});
const gbdtDefinitions = SENSORS.map(meanOf);
{
  const n = 5000;
  const columns = gbdtDefinitions.map((d, j) => ({
    name: d.name,
    kind: 'numeric' as const,
    values: Float64Array.from({ length: n }, () => 10 * (j + 1) + 5 * random()),
  }));
  const y = Float64Array.from({ length: n }, (_, i) => (columns[0].values[i] - 12 + columns[3].values[i] - 42 + random() > 3.5 ? 1 : 0));
  const table: DataTable = { rowCount: n, columns: [...columns, { name: 'failure', kind: 'numeric', values: y }] };
  const trained = trainModel({
    table,
    target: 'failure',
    features: gbdtDefinitions.map((d) => d.name),
    algorithm: 'GRADIENT_BOOSTING',
    folds: 0,
    params: { max_iter: 100, early_stopping: false },
  });
  await services.predictions.register({
    name: 'gbdt5',
    task: 'CLASSIFICATION',
    bytes: exportModelSpec(trained.spec),
    spec: trained.spec,
    features: trained.spec.features,
    featureDefinitions: gbdtDefinitions,
    createdBy: 'bench',
  });
}
const workloads = [
  { name: 'lr1', definitions: lr1Definitions },
  { name: 'gbdt5', definitions: gbdtDefinitions },
];

/* ---------- 1. failureRisk for 1,000 machines: GraphQL over the hand-written baseline ---------- */

const plant = encodeId('Plant', plantId);
async function baselineFor(name: string, definitions: FeatureDefinition[]): Promise<() => Promise<string>> {
  const record = (await resolveModel(database, name))!;
  const session = await ort.InferenceSession.create((await modelBytes(database, record.id))!);
  const output = record.serving.probabilities!;
  return async () => {
    // What a hand-written handler reads: the plant's machines by line, then their features, then one run.
    const machines = await database.query<{ id: number; line_id: number }>('select id, line_id from machines where plant_id = $1 order by line_id, id', [
      plantId,
    ]);
    const machineIds = machines.map((m) => m.id);
    const features = await computeFeatures(database, { machineIds, definitions });
    const out = await session.run(
      featureFeeds(
        record,
        features.map((f) => (f.ok ? f.values : definitions.map(() => Number.NaN))),
      ),
      [output],
    );
    const p = out[output].data as Float32Array;
    const k = out[output].dims.at(-1) ?? 1;
    return JSON.stringify({ data: { machines: machineIds.map((id, i) => ({ id: encodeId('Machine', id), failureRisk: p[i * k + k - 1] })) } });
  };
}
async function timed(fn: () => Promise<unknown>, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - start) / n;
}
const risk: Record<string, { ratios: number[]; graphqlMs: number[]; baselineMs: number[] }> = {};
if (only.has('risk')) {
  const runs = [];
  for (const w of workloads) {
    const query = `query($plant: ID!) { plant(id: $plant) { lines { machines { id failureRisk(model: "${w.name}") } } } }`;
    const baseline = await baselineFor(w.name, w.definitions);
    const viaGraphql = () => gql(yoga, query, { plant });
    // Same answers both ways (the first machine's risk).
    const g = (await viaGraphql()).data.plant.lines[0].machines[0].failureRisk;
    const b = JSON.parse(await baseline()).data.machines[0].failureRisk;
    if (Math.abs(g - b) > 1e-6) throw new Error(`${w.name}: GraphQL says ${g}, the baseline ${b}`);
    risk[w.name] = { ratios: [], graphqlMs: [], baselineMs: [] };
    runs.push({ name: w.name, viaGraphql, baseline });
  }
  for (let r = 0; r < rounds; r++) {
    for (const w of runs) {
      const g = await timed(w.viaGraphql, 5);
      const b = await timed(w.baseline, 5);
      risk[w.name].graphqlMs.push(g);
      risk[w.name].baselineMs.push(b);
      risk[w.name].ratios.push(g / b);
    }
  }
}

/* ---------- 2. 200 concurrent single-machine predictions: batching on over off ---------- */

async function throughput(app: typeof yoga, model: string): Promise<number> {
  const one = `query($id: ID!) { node(id: $id) { ... on Machine { failureRisk(model: "${model}") } } }`;
  // Five bursts of 200 concurrent requests, one after another: a burst alone lasts only tens of milliseconds.
  const start = performance.now();
  for (let burst = 0; burst < 5; burst++) await Promise.all(ids.slice(0, 200).map((id) => gql(app, one, { id: encodeId('Machine', id) })));
  return 1000 / ((performance.now() - start) / 1000);
}
const batch: Record<string, { ratios: number[]; on: number[]; off: number[] }> = {};
if (only.has('batch')) {
  // Warm-up: three rounds of each before measuring (the first ones run cold code paths and fill the pools).
  for (let i = 0; i < 3; i++) {
    for (const w of workloads) {
      await throughput(yoga, w.name);
      await throughput(yogaUnbatched, w.name);
    }
  }
  for (const w of workloads) {
    batch[w.name] = { ratios: [], on: [], off: [] };
  }
  for (let r = 0; r < rounds; r++) {
    for (const w of workloads) {
      const runsOn = services.predictions.batcher.runs;
      const on = await throughput(yoga, w.name);
      const runsPerRound = services.predictions.batcher.runs - runsOn;
      const off = await throughput(yogaUnbatched, w.name);
      batch[w.name].on.push(on);
      batch[w.name].off.push(off);
      batch[w.name].ratios.push(on / off);
      if (r === 0) console.log(`${w.name}, batching on: ${runsPerRound} session.run calls for 5 bursts of 200 requests`);
      if (r === 0 && process.env.BENCH_STATEMENTS) {
        const seen = new Map<string, number>();
        const stop = database.sql.onStatement((sql) => seen.set(sql.slice(0, 90), (seen.get(sql.slice(0, 90)) ?? 0) + 1));
        await throughput(yoga, w.name);
        stop();
        console.log(w.name, [...seen]);
      }
    }
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

const result: Record<string, unknown> = {};
for (const [name, r] of Object.entries(risk)) {
  result[`failure_risk_1000_${name}_graphql_ms`] = median(r.graphqlMs);
  result[`failure_risk_1000_${name}_baseline_ms`] = median(r.baselineMs);
  result[`failure_risk_${name}_vs_baseline_ratio`] = median(r.ratios);
  result[`failure_risk_${name}_vs_baseline_spread`] = spread(r.ratios);
}
for (const [name, r] of Object.entries(batch)) {
  result[`batching_${name}_on_rps`] = median(r.on);
  result[`batching_${name}_off_rps`] = median(r.off);
  result[`batching_${name}_speedup`] = median(r.ratios);
  result[`batching_${name}_speedup_spread`] = spread(r.ratios);
}
Object.assign(result, {
  idle_small_query_p99_ms: percentile(idle, 99),
  training_small_query_p99_ms: percentile(busy, 99),
  training_p99_over_idle_ratio: percentile(busy, 99) / percentile(idle, 99),
  training_job: job?.status,
  training_seconds: trainSeconds,
  training_cv_auc: job?.model?.metrics.find((m: any) => m.name === 'cv_auc')?.value ?? null,
  load_average: Number((await import('node:os')).loadavg()[0].toFixed(2)),
});
console.log(JSON.stringify(result, null, 2));
const figures: Figures = {};
for (const [name, r] of Object.entries(risk)) Object.assign(figures, withSpread(`failure_risk_${name}_vs_baseline_ratio`, r.ratios));
for (const [name, r] of Object.entries(batch)) Object.assign(figures, withSpread(`batching_${name}_speedup`, r.ratios));
if (idle.length > 0 && busy.length > 0)
  Object.assign(figures, {
    idle_small_query_p99_ms: percentile(idle, 99),
    training_small_query_p99_ms: percentile(busy, 99),
    training_p99_over_idle_ratio: percentile(busy, 99) / percentile(idle, 99),
    training_seconds: trainSeconds,
  });
emitResult(figures);
await services.jobs.stop();
await services.predictions.stop();
await unbatched.predictions.stop();
await services.predictionRules.stop();
await unbatched.predictionRules.stop();
await database.close();
await t.drop();
process.exit(0);
