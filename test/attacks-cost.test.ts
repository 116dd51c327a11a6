import assert from 'node:assert/strict';
import { getNamedType, getNullableType, isInterfaceType, isLeafType, isListType, isObjectType } from 'graphql';
import type { Config } from '../src/config.ts';
import { schema } from '../src/graphql/schema.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { IMPORT_LIMITS, importPlant, type PlantImport } from '../src/twin/import.ts';
import {
  AUDITED,
  after,
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
} from './helpers.ts';

/**
 * Attacks on the cost model from issue 9: plain lists were costed as 10 items whatever they could return, so a cheap
 * estimate served millions of telemetry buckets or routing rows. Each attack is refused with QUERY_TOO_EXPENSIVE (and
 * changes nothing) or served within the bounds; time, memory and the latency of a concurrent small query are printed.
 */

const MB = 1024 * 1024;
type Yoga = ReturnType<typeof createYogaApp>;

/** Runs `fn`, sampling RSS while it runs; a concurrent small query (`probe`) is timed while `fn` is in flight. */
async function measure<T>(fn: () => Promise<T>, probe?: () => Promise<unknown>) {
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 25);
  const start = performance.now();
  try {
    const running = fn();
    let probeMs: number | null = null;
    if (probe) {
      const p0 = performance.now();
      await probe();
      probeMs = Math.round(performance.now() - p0);
    }
    const result = await running;
    const ms = Math.round(performance.now() - start);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    return { result, ms, probeMs, rssBeforeMB: Math.round(rssBefore / MB), rssPeakGrowthMB: Math.round((rssPeak - rssBefore) / MB) };
  } finally {
    clearInterval(sampler);
  }
}

/** POSTs to another yoga instance (other limits) over the same services and database. */
async function post(yoga: Yoga, query: string, variables: Record<string, unknown> | undefined, key: string) {
  const res = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, bytes: Buffer.byteLength(text), body: JSON.parse(text) };
}

/** A yoga over the app's services with some limits changed. */
function withLimits(app: TestApp, limits: Partial<Config['limits']>): Yoga {
  const config = { ...app.services.config, limits: { ...app.services.config.limits, ...limits } };
  return createYogaApp({ ...app.services, config });
}

const errorOf = (body: any) => body.errors?.[0];

/** The size a list field declares for the cost estimate (src/graphql/cost.ts reads the same extension). */
const listSizeOf = (field: { extensions?: Record<string, unknown> | null }) => field.extensions?.listSize as { max: number; inParent?: true } | undefined;

for (const backend of testBackends()) {
  describe(`attacks on the cost model: buckets, routings, time and response size [${backend}]`, () => {
    let app: TestApp;
    let viewer: string;
    let plantId: string;
    let machineIds: string[];
    before(async () => {
      app = await createTestApp(backend);
      viewer = (await makeKey(app, 'cost viewer', 'VIEWER')).key;
      const plant = (await app.gql('{ plants(first: 1) { edges { node { id machines { id } } } } }')).body.data.plants.edges[0].node;
      plantId = plant.id;
      machineIds = plant.machines.map((m: { id: string }) => m.id);
    });
    after(() => app.close());

    const smallQuery = () => app.gql(`query($id: ID!) { plant(id: $id) { name lines { name } } }`, { id: plantId }, { authorization: `Bearer ${viewer}` });

    it('many telemetry buckets: a wide window in 1-second buckets across machines and metrics is refused; the largest allowed bucket read is served within bounds', async (t) => {
      const to = new Date(Math.floor(Date.now() / 1000) * 1000);
      const from = new Date(to.getTime() - 10_000_000); // 10,000 one-second buckets, the most one call may ask for
      const metrics = ['temperature', 'vibration', 'spindle_temp', 'current', 'pressure'];
      const aliases = metrics
        .map((metric, i) => `m${i}: telemetry(metric: "${metric}", from: $from, to: $to, bucketSeconds: 1) { start count avg min max }`)
        .join(' ');
      const attack = `query Buckets($id: ID!, $from: DateTime!, $to: DateTime!) { plant(id: $id) { machines { name ${aliases} } } }`;
      const vars = { id: plantId, from: from.toISOString(), to: to.toISOString() };
      const m = await measure(() => unchanged(app.database, () => app.gql(attack, vars, { authorization: `Bearer ${viewer}` })), smallQuery);
      const served = m.result.body.data?.plant?.machines?.reduce((n: number, x: any) => n + metrics.reduce((k, _m, i) => k + x[`m${i}`].length, 0), 0) ?? 0;
      t.diagnostic(
        `buckets attack (${machineIds.length} machines x ${metrics.length} metrics x 10,000 buckets): status ${m.result.status}, ${errorOf(m.result.body)?.extensions?.code ?? 'served'} cost ${errorOf(m.result.body)?.extensions?.cost ?? '-'}, buckets served ${served}, ${m.ms} ms, RSS ${m.rssBeforeMB} MB +${m.rssPeakGrowthMB} MB peak, concurrent small query ${m.probeMs} ms`,
      );
      assert.equal(m.result.status, 400, `served ${served} buckets`);
      assert.equal(errorOf(m.result.body).extensions.code, 'QUERY_TOO_EXPENSIVE');
      assert.ok(errorOf(m.result.body).extensions.cost >= machineIds.length * metrics.length * 10_000, JSON.stringify(errorOf(m.result.body)));
      assert.match(errorOf(m.result.body).message, /estimated cost \d+ exceeds the limit of 100000/);
      assert.ok(m.ms < 10_000 && m.probeMs! < 10_000, `refused in ${m.ms} ms, small query ${m.probeMs} ms`);

      // The same query with variables in the window and the bucket size costs the same.
      const byVars = await app.gql(attack.replace(/bucketSeconds: 1/g, 'bucketSeconds: $b').replace('$to: DateTime!)', '$to: DateTime!, $b: Int = 1)'), vars, {
        authorization: `Bearer ${viewer}`,
      });
      assert.equal(errorOf(byVars.body)?.extensions?.cost, errorOf(m.result.body).extensions.cost, JSON.stringify(byVars.body).slice(0, 300));

      // One machine's 10,000 buckets (cost about 50,000) are within the limit and served.
      const one = `query One($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) { ... on Machine { telemetry(metric: "temperature", from: $from, to: $to, bucketSeconds: 1) { start count avg min max } } } }`;
      const ok = await measure(() => app.gql(one, { ...vars, id: machineIds[0] }, { authorization: `Bearer ${viewer}` }), smallQuery);
      assert.equal(ok.result.body.errors, undefined, JSON.stringify(ok.result.body.errors));
      assert.equal(ok.result.body.data.node.telemetry.length, 10_000);
      t.diagnostic(
        `largest allowed bucket read (1 machine x 10,000 buckets): ${ok.ms} ms, RSS +${ok.rssPeakGrowthMB} MB peak, concurrent small query ${ok.probeMs} ms`,
      );
      assert.ok(ok.ms < 30_000, `served in ${ok.ms} ms`);
      assert.ok(ok.rssPeakGrowthMB < 400, `RSS grew ${ok.rssPeakGrowthMB} MB`);
    });

    it('deep routing lists: after importing a plant with many products and long routings, listing every routing step machine is refused; one plant’s steps are served within bounds', async (t) => {
      const products = 300;
      const steps = IMPORT_LIMITS.stepsPerProduct;
      const machines = Array.from({ length: 50 }, (_, i) => ({ name: `R${i}` }));
      const input: PlantImport = {
        name: `Routing plant ${Math.random().toString(36).slice(2)}`,
        lines: [{ name: 'L', machines }],
        products: Array.from({ length: products }, (_, p) => ({
          name: `P${p}`,
          routing: Array.from({ length: steps }, (_, s) => ({
            machines: [0, 1, 2].map((k) => machines[(p + s + k * 7) % machines.length].name),
            minutesPerUnit: 1,
          })),
        })),
      };
      const i0 = performance.now();
      const { id } = await importPlant(app.database.db, input);
      t.diagnostic(`imported ${products} products x ${steps} steps x 3 machines in ${Math.round(performance.now() - i0)} ms`);

      const attack = `{ plants(first: 5) { edges { node { name products { name routing { index minutesPerUnit machines { name } } } } } } }`;
      const m = await measure(() => unchanged(app.database, () => app.gql(attack, undefined, { authorization: `Bearer ${viewer}` })), smallQuery);
      const rows =
        m.result.body.data?.plants?.edges?.reduce(
          (n: number, e: any) =>
            n + e.node.products.reduce((k: number, p: any) => k + p.routing.length + p.routing.reduce((j: number, s: any) => j + s.machines.length, 0), 0),
          0,
        ) ?? 0;
      t.diagnostic(
        `routing attack: status ${m.result.status}, ${errorOf(m.result.body)?.extensions?.code ?? 'served'} cost ${errorOf(m.result.body)?.extensions?.cost ?? '-'}, routing rows served ${rows}, ${m.ms} ms, RSS ${m.rssBeforeMB} MB +${m.rssPeakGrowthMB} MB peak, concurrent small query ${m.probeMs} ms`,
      );
      assert.equal(m.result.status, 400, `served ${rows} routing rows`);
      assert.equal(errorOf(m.result.body).extensions.code, 'QUERY_TOO_EXPENSIVE');
      assert.ok(errorOf(m.result.body).extensions.cost >= products * steps * 4, JSON.stringify(errorOf(m.result.body)));
      assert.ok(m.ms < 10_000 && m.probeMs! < 10_000, `refused in ${m.ms} ms, small query ${m.probeMs} ms`);

      // The steps of the one plant (30,000) are within the limit and served, all of them.
      const gid = Buffer.from(`Plant:${id}`).toString('base64');
      const one = `query($id: ID!) { plant(id: $id) { products { name routing { index } } } }`;
      const ok = await measure(() => app.gql(one, { id: gid }, { authorization: `Bearer ${viewer}` }), smallQuery);
      assert.equal(ok.result.body.errors, undefined, JSON.stringify(ok.result.body.errors));
      const served = ok.result.body.data.plant.products.reduce((n: number, p: any) => n + p.routing.length, 0);
      assert.equal(served, products * steps);
      t.diagnostic(`one plant's routing steps (${served}): ${ok.ms} ms, RSS +${ok.rssPeakGrowthMB} MB peak, concurrent small query ${ok.probeMs} ms`);
      assert.ok(ok.ms < 60_000, `served in ${ok.ms} ms`);
      assert.ok(ok.rssPeakGrowthMB < 400, `RSS grew ${ok.rssPeakGrowthMB} MB`);
    });

    it('a mutation answer is costed with the twin it may have just created: an import reading its routings back wide is refused, a narrow read-back is served', async (t) => {
      const machines = Array.from({ length: 200 }, (_, i) => ({ name: `W${i}` }));
      const input = (name: string) => ({
        name,
        lines: [{ name: 'L', machines }],
        products: Array.from({ length: 100 }, (_, p) => ({
          name: `P${p}`,
          routing: Array.from({ length: 20 }, (_, s) => ({ machines: [machines[(p + s) % 200].name, machines[(p + s + 1) % 200].name], minutesPerUnit: 1 })),
        })),
      });
      const M = (answer: string) =>
        `mutation Imp($input: PlantImportInput!) { importPlant(input: $input) { __typename ... on ImportPlantSuccess { plant { ${answer} } } } }`;
      // Every step machine's line's machines: 100 x 20 x 2 x 200 = 800,000 objects in the answer.
      const wide = 'products { routing { machines { line { machines { name } } } } }';
      const refused = await unchanged(app.database, () => app.gql(M(wide), { input: input(`Wide answer ${Math.random()}`) }), AUDITED);
      t.diagnostic(`wide import answer: status ${refused.status}, ${JSON.stringify(errorOf(refused.body)?.extensions)}`);
      assert.equal(refused.status, 400);
      assert.equal(errorOf(refused.body).extensions.code, 'QUERY_TOO_EXPENSIVE');
      assert.ok(errorOf(refused.body).extensions.cost >= 800_000, JSON.stringify(errorOf(refused.body).extensions));
      // Reading back the plant's lines, machines and products is within the limit.
      const narrow = await app.gql(M('lines { machines { name } } products { name }'), {
        input: input(`Narrow answer ${Math.random()}`),
      });
      assert.equal(narrow.body.errors, undefined, JSON.stringify(narrow.body.errors));
      assert.equal(narrow.body.data.importPlant.plant.products.length, 100);
      assert.equal(narrow.body.data.importPlant.plant.lines[0].machines.length, 200);
    });

    it('a list whose data exceeds its declared bound (written around the import) is capped at the bound', async () => {
      const bound = IMPORT_LIMITS.machinesPerLine;
      const name = `Wide ${Math.random().toString(36).slice(2)}`;
      const { id } = await importPlant(app.database.db, { name, lines: [{ name: 'L', machines: [{ name: 'W0' }] }] });
      await app.database.query(
        `insert into machines (plant_id, line_id, name) select $1::int, l.id, 'W' || g from lines l, generate_series(1, $2::int) g where l.plant_id = $1::int`,
        [id, bound],
      );
      const gid = Buffer.from(`Plant:${id}`).toString('base64');
      const r = await app.gql(`query($id: ID!) { plant(id: $id) { lines { machines { name } } } }`, { id: gid });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      assert.equal(r.body.data.plant.lines[0].machines.length, bound, `a line lists at most ${bound} machines`);
    });

    it('a filter list repeated 100,000 times (orders and alerts by status) reads like the set of its values', async () => {
      const q = `query($id: ID!, $s: [OrderStatus!], $a: [AlertStatus!]) { plant(id: $id) { orders(first: 5, status: $s) { totalCount } } alerts(plantId: $id, status: $a, first: 5) { edges { cursor } } }`;
      const once = await app.gql(q, { id: plantId, s: ['PLANNED'], a: ['OPEN'] }, { authorization: `Bearer ${viewer}` });
      assert.equal(once.body.errors, undefined, JSON.stringify(once.body.errors));
      const repeated = await unchanged(app.database, () =>
        app.gql(q, { id: plantId, s: Array(100_000).fill('PLANNED'), a: Array(100_000).fill('OPEN') }, { authorization: `Bearer ${viewer}` }),
      );
      assert.equal(repeated.body.errors, undefined, JSON.stringify(repeated.body.errors));
      assert.deepEqual(repeated.body.data, once.body.data);
    });

    it('a query that is cheap by estimate but slow is cancelled with EXECUTION_TIMEOUT, and no further statement runs', async (t) => {
      const metric = `slow-${Math.random().toString(36).slice(2)}`;
      const machine = Number(Buffer.from(machineIds[0], 'base64').toString().split(':')[1]);
      const to = new Date(Math.floor(Date.now() / 60_000) * 60_000);
      const points = 300_000;
      const i0 = performance.now();
      await app.database.query(
        `insert into telemetry (machine_id, metric, ts, value) select $1::int, $2, $3::timestamptz - g * interval '1 second', g from generate_series(1, $4::int) g`,
        [machine, metric, to.toISOString(), points],
      );
      t.diagnostic(`inserted ${points} raw points in ${Math.round(performance.now() - i0)} ms`);
      const from = new Date(to.getTime() - 4 * 86_400_000);
      // One bucket per alias (bucketSeconds longer than the window, not whole minutes: read from the raw points), so the
      // estimate counts a handful of rows while each alias aggregates every raw point of the window.
      // PGlite cannot interrupt the statement, so it runs to its end there: fewer aliases keep that short.
      const aliases = Array.from(
        { length: backend === 'postgres' ? 16 : 2 },
        (_, k) => `t${k}: telemetry(metric: $metric, from: $from, to: $to, bucketSeconds: ${4 * 86_400 + 1 + k}) { count }`,
      ).join(' ');
      const q = `query Slow($id: ID!, $metric: String!, $from: DateTime!, $to: DateTime!) { node(id: $id) { ... on Machine { ${aliases} plant { kpis(from: $from, to: $to) { oee } } } } }`;
      const vars = { id: machineIds[0], metric, from: from.toISOString(), to: to.toISOString() };

      const roomy = withLimits(app, { maxExecutionMs: 600_000 } as Partial<Config['limits']>);
      let natural!: Awaited<ReturnType<typeof post>>;
      const n0 = performance.now();
      const naturalStatements = await statementsDuring(app.database, async () => {
        natural = await post(roomy, q, vars, viewer);
      });
      const naturalMs = Math.round(performance.now() - n0);
      assert.equal(natural.body.errors, undefined, JSON.stringify(natural.body.errors));
      assert.equal(natural.body.data.node.t0[0].count, points, 'the slow query is served whole without a limit');

      // A quarter of the natural time (a fast machine runs it in a few hundred milliseconds, a loaded one in seconds).
      const limitMs = Math.max(100, Math.floor(naturalMs / 4));
      const tight = withLimits(app, { maxExecutionMs: limitMs } as Partial<Config['limits']>);
      let timedOut!: Awaited<ReturnType<typeof post>>;
      let answerMs = 0;
      let endedMs: number | null = null;
      const timedOutStatements = await unchanged(app.database, async () => {
        const a0 = performance.now();
        const sent = await statementsDuring(app.database, async () => {
          timedOut = await post(tight, q, vars, viewer);
        });
        answerMs = Math.round(performance.now() - a0);
        if (backend === 'postgres') {
          // The statement is cancelled on the server, not left running after the answer.
          const active = `select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and state = 'active' and pid <> pg_backend_pid()`;
          for (;;) {
            const [{ n }] = await app.database.query<{ n: number }>(active);
            if (Number(n) === 0 || performance.now() - a0 > naturalMs) break;
            await new Promise((r) => setImmediate(r));
          }
          endedMs = Math.round(performance.now() - a0);
        }
        return sent;
      });
      // The node's statement (buckets and all) runs first; the plant KPIs' statements follow it only when it is done.
      const afterFirst = (list: string[]) => list.filter((sql) => !sql.includes('api_keys') && !sql.includes('json_agg'));
      t.diagnostic(
        `slow query: natural ${naturalMs} ms in ${naturalStatements.length} statements; limit ${limitMs} ms: answered ${timedOut.status} ${errorOf(timedOut.body)?.extensions?.code ?? 'served'} after ${answerMs} ms, ${afterFirst(timedOutStatements).length} of ${afterFirst(naturalStatements).length} later statements sent${endedMs === null ? '' : `, database work ended after ${endedMs} ms`}`,
      );
      assert.ok(naturalMs > 2 * limitMs, `the query takes ${naturalMs} ms without a limit`);
      assert.equal(errorOf(timedOut.body)?.extensions?.code, 'EXECUTION_TIMEOUT', JSON.stringify(timedOut.body).slice(0, 300));
      assert.match(errorOf(timedOut.body).message, new RegExp(`${limitMs} ms`));
      assert.equal(timedOut.body.data ?? null, null);
      assert.ok(afterFirst(naturalStatements).length >= 1, JSON.stringify(naturalStatements));
      assert.deepEqual(afterFirst(timedOutStatements), [], 'no statement is sent after the deadline');
      if (backend === 'postgres') {
        assert.ok(answerMs < naturalMs * 0.75, `answered after ${answerMs} ms (natural ${naturalMs} ms)`);
        assert.ok(endedMs! < naturalMs * 0.75, `the statement ended after ${endedMs} ms (natural ${naturalMs} ms)`);
      }
      // The process is healthy afterwards: a small query answers, and under the tight limit so does one without any
      // database work (an execution that completes synchronously).
      assert.equal((await smallQuery()).body.errors, undefined);
      assert.equal((await post(tight, '{ me { role } }', undefined, viewer)).body.data?.me?.role, 'VIEWER');
    });

    it('a response over the configured size cap is refused with RESPONSE_TOO_LARGE; smaller ones are served', async (t) => {
      const cap = 16 * 1024;
      const capped = withLimits(app, { maxResponseBytes: cap } as Partial<Config['limits']>);
      const to = new Date(Math.floor(Date.now() / 60_000) * 60_000);
      const q = (buckets: number) =>
        `query($id: ID!) { node(id: $id) { ... on Machine { telemetry(metric: "temperature", from: "${new Date(to.getTime() - buckets * 60_000).toISOString()}", to: "${to.toISOString()}", bucketSeconds: 60) { start count avg } } } }`;
      const big = await unchanged(app.database, () => post(capped, q(1_000), { id: machineIds[0] }, viewer));
      t.diagnostic(`1,000 buckets under a ${cap}-byte cap: status ${big.status}, ${big.bytes} bytes, ${errorOf(big.body)?.extensions?.code ?? 'served'}`);
      assert.equal(errorOf(big.body)?.extensions?.code, 'RESPONSE_TOO_LARGE', JSON.stringify(big.body).slice(0, 300));
      assert.match(errorOf(big.body).message, new RegExp(`limit of ${cap} bytes`));
      assert.equal(big.body.data ?? null, null);
      assert.ok(big.bytes < 1024, `the refusal itself is small (${big.bytes} bytes)`);
      const small = await post(capped, q(10), { id: machineIds[0] }, viewer);
      assert.equal(small.body.errors, undefined, JSON.stringify(small.body.errors));
      assert.equal(small.body.data.node.telemetry.length, 10);

      // A mutation's oversized response is not sent either, and says that the mutation itself has run.
      const name = `Big answer ${Math.random().toString(36).slice(2)}`;
      const machines = Array.from({ length: 500 }, (_, i) => ({ name: `Machine number ${i}`, kind: 'a rather long machine kind' }));
      const M = `mutation($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { machines { name kind } } } } }`;
      const imported = await unchanged(app.database, () => post(capped, M, { input: { name, lines: [{ name: 'L', machines }] } }, TEST_ADMIN_KEY), {
        plants: 1,
        lines: 1,
        machines: 500,
        audit_log: 1,
      });
      assert.equal(errorOf(imported.body)?.extensions?.code, 'RESPONSE_TOO_LARGE', JSON.stringify(imported.body).slice(0, 300));
      assert.match(errorOf(imported.body).message, /the mutation itself has run/);
      const [{ n }] = await app.database.query<{ n: number }>('select count(*)::int as n from plants where name = $1', [name]);
      assert.equal(Number(n), 1);
    });
  });
}

describe('declared list sizes', () => {
  it('every list field that is not a connection declares an upper bound for the cost estimate', () => {
    const missing: string[] = [];
    let lists = 0;
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
      if (type.name.endsWith('Connection')) continue; // edges: bounded by the connection's page size
      for (const field of Object.values(type.getFields())) {
        if (!isListType(getNullableType(field.type))) continue;
        lists++;
        const size = listSizeOf(field);
        if (!size || !(Number.isInteger(size.max) && size.max > 0)) missing.push(`${type.name}.${field.name}`);
        if (size?.inParent) {
          // Costed as one object: its items must be plain values, with nothing behind them to resolve.
          const item = getNamedType(field.type);
          assert.ok(isObjectType(item), `${type.name}.${field.name}`);
          for (const f of Object.values(item.getFields()))
            assert.ok(isLeafType(getNamedType(f.type)), `${type.name}.${field.name}: ${item.name}.${f.name} is not a scalar or enum`);
        }
      }
    }
    assert.deepEqual(missing, [], 'list fields without a declared size');
    assert.ok(lists >= 10, `found ${lists} list fields`);
  });

  it('every connection field takes first/last (its page bounds the cost), and the declared twin bounds are the import limits', () => {
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
      for (const field of Object.values(type.getFields())) {
        if (!getNamedType(field.type).name.endsWith('Connection')) continue;
        const args = field.args.map((a) => a.name);
        assert.ok(args.includes('first') && args.includes('last'), `${type.name}.${field.name} takes first and last`);
      }
    }
    const max = (t: string, f: string) => {
      const type = schema.getType(t);
      assert.ok(isObjectType(type), t);
      return listSizeOf(type.getFields()[f])?.max;
    };
    assert.equal(max('Plant', 'lines'), IMPORT_LIMITS.lines);
    assert.equal(max('Plant', 'machines'), IMPORT_LIMITS.machines);
    assert.equal(max('Plant', 'products'), IMPORT_LIMITS.products);
    assert.equal(max('Line', 'machines'), IMPORT_LIMITS.machinesPerLine);
    assert.equal(max('Product', 'routing'), IMPORT_LIMITS.stepsPerProduct);
    assert.equal(max('RoutingStep', 'machines'), IMPORT_LIMITS.machinesPerStep);
    assert.equal(max('PlantKpis', 'machines'), IMPORT_LIMITS.machines);
    // The audit entry lists each top-level mutation field once.
    const mutation = schema.getMutationType()!;
    assert.ok(Object.keys(mutation.getFields()).length <= max('AuditEntry', 'fields')!);
  });
});
