// What-if scenarios, timed through the GraphQL API in one process (PGlite, or PostgreSQL with TEST_DATABASE_URL):
// - scenario_create_ms: createScenario on a 500-machine, 20,000-order plant (median and p90 of the rounds), and
//   addScenarioChange (a machine down; a due date, which validates against all 20,000 overlaid orders);
// - scenario_compare_ms: compareScenarios of a scenario's schedule against the live one on that plant (40,000
//   operations each; both plans constructive, time limit 0);
// - small_whatif_seconds: on a 10-machine, 100-operation plant with a live plan, create a scenario, add a machine
//   down, run it with a time limit of L seconds and compare it with the live plan; the goal is at most L + 1 s.
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts.
// Usage: npm run bench:scenario [-- --rounds 20 --limit 2 --orders 20000 --machines 500]
import { parseArgs } from 'node:util';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { encodeId } from '../src/core/ids.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { createLogger } from '../src/logger.ts';
import { importPlant, type PlantImport } from '../src/twin/import.ts';
import { createTestDatabase } from '../test/helpers.ts';
import { emitResult, withSpread } from './result.ts';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    limit: { type: 'string', default: '2' },
    orders: { type: 'string', default: '20000' },
    machines: { type: 'string', default: '500' },
  },
});
const rounds = Number(opts.rounds);
const limit = Number(opts.limit);
const KEY = 'bench-admin-key-0123456789abcdef';

const { database, url, drop } = await createTestDatabase(process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite');
const services = wireServices(
  { ...loadConfig({ PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_RATE_LIMIT_BURST: '0' }), databaseUrl: url, logLevel: 'silent' },
  database,
  createLogger('silent'),
);
services.jobs.start();
const yoga = createYogaApp(services);
const gql = async (query: string, variables?: unknown) => {
  const res = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as any;
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.9 * xs.length))];
const START = new Date(Date.now() + 3_600_000);

/** A plant of `machines` machines in lines of 10 and `orders` orders over products with two steps of two machines each. */
function plantDoc(name: string, machines: number, orders: number): PlantImport {
  const lines = Array.from({ length: Math.ceil(machines / 10) }, (_, l) => ({
    name: `L${l}`,
    machines: Array.from({ length: Math.min(10, machines - l * 10) }, (_, i) => ({ name: `M${l * 10 + i}` })),
  }));
  const products = Array.from({ length: Math.max(1, Math.floor(machines / 4)) }, (_, p) => ({
    name: `P${p}`,
    routing: [
      { machines: [`M${(4 * p) % machines}`, `M${(4 * p + 1) % machines}`], minutesPerUnit: 1 + (p % 5) },
      { machines: [`M${(4 * p + 2) % machines}`, `M${(4 * p + 3) % machines}`], minutesPerUnit: 1 + ((p + 2) % 5) },
    ],
  }));
  return {
    name,
    lines,
    products,
    orders: Array.from({ length: orders }, (_, i) => ({
      code: `O${i}`,
      product: `P${i % products.length}`,
      quantity: 1 + (i % 7),
      dueAt: new Date(START.getTime() + (60 + (i % 500) * 10) * 60_000),
    })),
  };
}

async function waitJob(id: string): Promise<any> {
  for (;;) {
    const { job } = await gql(`query($id: ID!) { job(id: $id) { status error schedule { id } } }`, { id });
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status)) {
      if (job.status !== 'SUCCEEDED') throw new Error(`job ${job.status}: ${job.error}`);
      return job;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
const CREATE = `mutation($input: CreateScenarioInput!) { createScenario(input: $input) { ... on CreateScenarioSuccess { scenario { id } } ... on Error { message } } }`;
const CHANGE = `mutation($input: ScenarioChangeInput!) { addScenarioChange(input: $input) { __typename ... on Error { message } } }`;
const COMPARE = `query($s: ID!) { compareScenarios(scenarioId: $s) { movedOperations comparedOperations kpis { name delta } becameLate { code } } }`;

// ---- the large plant ----
const t0 = performance.now();
const big = await importPlant(database.db, plantDoc('big', Number(opts.machines), Number(opts.orders)));
const importSeconds = (performance.now() - t0) / 1000;
const bigId = encodeId('Plant', big.id);
const { plant } = await gql(`query($id: ID!) { plant(id: $id) { machines { id } orders(first: 1) { edges { node { id } } } } }`, { id: bigId });
const machineId = plant.machines[0].id;
const orderId = plant.orders.edges[0].node.id;
const create: number[] = [];
const addDown: number[] = [];
const addDue: number[] = [];
let last = '';
for (let r = 0; r < rounds; r++) {
  let t = performance.now();
  const d = await gql(CREATE, { input: { plantId: bigId, name: `s${r}` } });
  create.push(performance.now() - t);
  last = d.createScenario.scenario.id;
  t = performance.now();
  const a = await gql(CHANGE, {
    input: {
      scenarioId: last,
      machineDown: { machineId, from: new Date(START.getTime() + 600_000).toISOString(), to: new Date(START.getTime() + 7_200_000).toISOString() },
    },
  });
  addDown.push(performance.now() - t);
  if (a.addScenarioChange.__typename !== 'AddScenarioChangeSuccess') throw new Error(JSON.stringify(a));
  t = performance.now();
  const b = await gql(CHANGE, { input: { scenarioId: last, changeDueDate: { orderId, dueAt: new Date(START.getTime() + 86_400_000).toISOString() } } });
  addDue.push(performance.now() - t);
  if (b.addScenarioChange.__typename !== 'AddScenarioChangeSuccess') throw new Error(JSON.stringify(b));
}
// Plans of the large plant (constructive), then compare.
let t = performance.now();
const live = await gql(
  `mutation($input: OptimizeScheduleInput!) { optimizeSchedule(input: $input) { ... on OptimizeScheduleSuccess { job { id } } ... on Error { message } } }`,
  { input: { plantId: bigId, timeLimitSeconds: 0, start: START.toISOString() } },
);
await waitJob(live.optimizeSchedule.job.id);
const livePlanSeconds = (performance.now() - t) / 1000;
t = performance.now();
const run = await gql(
  `mutation($input: RunScenarioInput!) { runScenario(input: $input) { ... on RunScenarioSuccess { job { id } } ... on Error { message } } }`,
  {
    input: { scenarioId: last, timeLimitSeconds: 0, start: START.toISOString() },
  },
);
await waitJob(run.runScenario.job.id);
const scenarioPlanSeconds = (performance.now() - t) / 1000;
const compare: number[] = [];
let compared: any = null;
for (let r = 0; r < Math.min(rounds, 7); r++) {
  const t1 = performance.now();
  compared = (await gql(COMPARE, { s: last })).compareScenarios;
  compare.push(performance.now() - t1);
}

// ---- the small plant: create, change, run, compare within the limit plus one second ----
const small = await importPlant(database.db, plantDoc('small', 10, 50));
const smallId = encodeId('Plant', small.id);
const firstLive = await gql(
  `mutation($input: OptimizeScheduleInput!) { optimizeSchedule(input: $input) { ... on OptimizeScheduleSuccess { job { id } } ... on Error { message } } }`,
  { input: { plantId: smallId, timeLimitSeconds: limit, start: START.toISOString() } },
);
await waitJob(firstLive.optimizeSchedule.job.id);
const smallMachine = (await gql(`query($id: ID!) { plant(id: $id) { machines { id } } }`, { id: smallId })).plant.machines[0].id;
const whatIf: number[] = [];
for (let r = 0; r < Math.min(rounds, 5); r++) {
  const t1 = performance.now();
  const s = (await gql(CREATE, { input: { plantId: smallId, name: `what-if ${r}` } })).createScenario.scenario.id;
  await gql(CHANGE, {
    input: {
      scenarioId: s,
      machineDown: {
        machineId: smallMachine,
        from: new Date(START.getTime() + 600_000).toISOString(),
        to: new Date(START.getTime() + 3_600_000).toISOString(),
      },
    },
  });
  const j = await gql(
    `mutation($input: RunScenarioInput!) { runScenario(input: $input) { ... on RunScenarioSuccess { job { id } } ... on Error { message } } }`,
    {
      input: { scenarioId: s, timeLimitSeconds: limit, start: START.toISOString() },
    },
  );
  await waitJob(j.runScenario.job.id);
  await gql(COMPARE, { s });
  whatIf.push((performance.now() - t1) / 1000);
}

const result = {
  load: (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  backend: database.kind,
  plant: { machines: Number(opts.machines), orders: Number(opts.orders), importSeconds: round(importSeconds) },
  scenario_create_ms: round(median(create)),
  scenario_create_p90_ms: round(p90(create)),
  scenario_add_machine_down_ms: round(median(addDown)),
  scenario_add_due_date_ms: round(median(addDue)),
  live_plan_constructive_seconds: round(livePlanSeconds),
  scenario_plan_constructive_seconds: round(scenarioPlanSeconds),
  scenario_compare_ms: round(median(compare)),
  compared: { operations: compared.comparedOperations, moved: compared.movedOperations, becameLate: compared.becameLate.length },
  small_whatif_limit_seconds: limit,
  small_whatif_seconds: round(median(whatIf)),
  small_whatif_max_seconds: round(Math.max(...whatIf)),
  small_whatif_overhead_seconds: round(median(whatIf) - limit),
  goals: { scenario_create_ms: 100, small_whatif_overhead_seconds: 1 },
};
console.log(JSON.stringify(result, null, 2));
emitResult({
  ...withSpread('scenario_create_ms', create),
  ...withSpread('scenario_compare_ms', compare),
  scenario_create_ms: median(create),
  scenario_compare_ms: median(compare),
  scenario_create_p90_ms: p90(create),
  scenario_add_machine_down_ms: median(addDown),
  scenario_add_due_date_ms: median(addDue),
  ...withSpread('small_whatif_seconds', whatIf),
  small_whatif_overhead_seconds: median(whatIf) - limit,
  scenario_machines: Number(opts.machines),
  scenario_orders: Number(opts.orders),
});
await services.jobs.stop();
await drop();
process.exit(0);

function round(x: number) {
  return Math.round(x * 100) / 100;
}
