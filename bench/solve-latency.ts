// Event-loop protection: a small query's latency while optimizeSchedule runs a long solve (ft10 imported as a plant),
// against the same query idle, in one process and one run. The solve runs in a worker thread; this measures what is
// left of it on the event loop (job progress, the final check and the store). Reports p50/p99 idle, p50/p99 during
// the solve, and small_query_p99_under_solve_ratio (goal at most 2).
// Usage: npm run bench:solve-latency [-- --seconds 30 --interval-ms 20]
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { encodeId } from '../src/core/ids.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { createLogger } from '../src/logger.ts';
import { parseJobShop, problemToPlantImport } from '../src/optimize/schedule/jsplib.ts';
import { importPlant } from '../src/twin/import.ts';
import { createTestDatabase } from '../test/helpers.ts';

const { values: opts } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, 'interval-ms': { type: 'string', default: '20' } } });
const seconds = Number(opts.seconds);
const intervalMs = Number(opts['interval-ms']);
const KEY = 'bench-admin-key-0123456789abcdef';

const { database, url, drop } = await createTestDatabase(process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite');
const services = wireServices(
  { ...loadConfig({ PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_RATE_LIMIT_BURST: '0' }), databaseUrl: url, logLevel: 'silent' },
  database,
  createLogger('silent'),
);
services.jobs.start();
const yoga = createYogaApp(services);
const start = new Date(Date.now() + 3_600_000);
const { id } = await importPlant(database.db, problemToPlantImport(parseJobShop(fs.readFileSync('test/fixtures/jsplib/ft10.txt', 'utf8')), 'ft10', start));
const plantId = encodeId('Plant', id);
const gql = async (query: string, variables?: unknown) => {
  const res = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as any;
};
const SMALL = `query($id: ID!) { node(id: $id) { ... on Plant { name machines { name status } } } }`;

async function sample(ms: number, until?: () => boolean): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end && !(until?.() ?? false)) {
    const t = performance.now();
    const r = await gql(SMALL, { id: plantId });
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    out.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return out;
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

await sample(2_000); // warm-up
const idle = await sample(seconds * 1000 * 0.5);
const queued = await gql(
  `mutation($p: ID!, $s: Float!, $t: DateTime!) { optimizeSchedule(input: { plantId: $p, timeLimitSeconds: $s, start: $t }) { __typename ... on OptimizeScheduleSuccess { job { id } } } }`,
  {
    p: plantId,
    s: seconds,
    t: start.toISOString(),
  },
);
const jobId = queued.data.optimizeSchedule.job.id;
let done = false;
const poll = setInterval(async () => {
  const j = await gql(`query($id: ID!) { job(id: $id) { status } }`, { id: jobId });
  if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.data.job.status)) done = true;
}, 500);
const busy = await sample(seconds * 1000 + 30_000, () => done);
clearInterval(poll);
const job = await gql(`query($id: ID!) { job(id: $id) { status error schedule { makespanMinutes gap } } }`, { id: jobId });
const result = {
  load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  solve: job.data.job,
  idle: { n: idle.length, p50: pct(idle, 50), p99: pct(idle, 99) },
  underSolve: { n: busy.length, p50: pct(busy, 50), p99: pct(busy, 99) },
  small_query_p99_under_solve_ratio: pct(busy, 99) / pct(idle, 99),
};
console.log(JSON.stringify(result, null, 2));
await services.jobs.stop();
await drop();
process.exit(0);
