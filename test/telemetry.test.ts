import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { ValidationError } from '../src/core/errors.ts';
import { decodeId } from '../src/core/ids.ts';
import { startServer, type RunningServer } from '../src/graphql/server.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { maintainTelemetry, partitionName } from '../src/telemetry/partitions.ts';
import { dayOf } from '../src/telemetry/timestamps.ts';
import { telemetryBuckets } from '../src/telemetry/read.ts';
import { createTestApp, describe, it, subscribe, TEST_ADMIN_KEY, type TestApp, testBackends, waitFor } from './helpers.ts';

const INGEST = /* GraphQL */ `
  mutation Ingest($input: TelemetryBatchInput!) {
    ingestTelemetry(input: $input) {
      __typename
      ... on IngestTelemetrySuccess { accepted duplicates }
      ... on ValidationError { code message fieldErrors { path message } }
    }
  }`;

const BUCKETS = /* GraphQL */ `
  query Buckets($id: ID!, $metric: String!, $from: DateTime!, $to: DateTime!, $b: Int) {
    node(id: $id) { ... on Machine { telemetry(metric: $metric, from: $from, to: $to, bucketSeconds: $b) { start count avg min max } } }
  }`;

const MIN = 60_000;
/** A whole minute three hours ago: inside the retention, never in the future. */
const BASE = Math.floor((Date.now() - 3 * 3_600_000) / MIN) * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

interface Pt {
  ts: number;
  value: number;
}

/** Irregular points: every 7 s plus a jitter, values multiples of 0.25 (exact sums, so both read paths agree to the bit). */
function series(count: number, start = BASE, seed = 1): Pt[] {
  let s = seed;
  const rand = () => (s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  return Array.from({ length: count }, (_, i) => ({ ts: start + i * 7_000 + Math.floor(rand() * 5_000), value: Math.round(rand() * 400 - 100) / 4 }));
}

function expectedBuckets(points: Pt[], from: number, to: number, bucketSeconds: number) {
  const n = Math.ceil((to - from) / (bucketSeconds * 1000));
  const out = Array.from({ length: n }, (_, k) => ({
    start: iso(from + k * bucketSeconds * 1000),
    count: 0,
    sum: 0,
    min: null as number | null,
    max: null as number | null,
  }));
  for (const p of points) {
    if (p.ts < from || p.ts >= to) continue;
    const b = out[Math.floor((p.ts - from) / (bucketSeconds * 1000))];
    b.count++;
    b.sum += p.value;
    b.min = b.min === null ? p.value : Math.min(b.min, p.value);
    b.max = b.max === null ? p.value : Math.max(b.max, p.value);
  }
  return out.map((b) => ({ start: b.start, count: b.count, avg: b.count ? b.sum / b.count : null, min: b.min, max: b.max }));
}

async function count(app: TestApp, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await app.database.query<{ n: number }>(sql, params);
  return Number(rows[0].n);
}

for (const backend of testBackends()) {
  describe(`telemetry [${backend}]`, () => {
    let app: TestApp;
    let machines: { id: string; name: string; rowId: number }[];
    let plantId: string;
    let otherPlantMachine: string;

    before(async () => {
      app = await createTestApp(backend);
      const r = await app.gql('{ plants { edges { node { id machines { id name } } } } }');
      plantId = r.body.data.plants.edges[0].node.id;
      const rows = await app.database.query<{ id: number; name: string }>('select id, name from machines order by id');
      machines = r.body.data.plants.edges[0].node.machines.map((m: any) => ({ ...m, rowId: rows.find((x) => x.name === m.name)!.id }));
      const imp = await app.gql(
        `mutation { importPlant(input: { name: "Other", lines: [{ name: "L", machines: [{ name: "X-1" }] }] }) { ... on ImportPlantSuccess { plant { machines { id } } } } }`,
      );
      otherPlantMachine = imp.body.data.importPlant.plant.machines[0].id;
    });
    after(() => app.close());

    it('stores the row form and the columnar form identically', async () => {
      const pts = series(300, BASE, 7);
      const m = machines[0].id;
      const rows = await app.gql(INGEST, { input: { points: pts.map((p) => ({ machineId: m, metric: 'form-rows', ts: iso(p.ts), value: p.value })) } });
      assert.deepEqual(rows.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: 300, duplicates: 0 });
      const cols = await app.gql(INGEST, {
        input: {
          columns: { machineIds: pts.map(() => m), metrics: pts.map(() => 'form-cols'), ts: pts.map((p) => iso(p.ts)), values: pts.map((p) => p.value) },
        },
      });
      assert.deepEqual(cols.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: 300, duplicates: 0 });
      const read = (metric: string) =>
        app.database.query<{ machine_id: number; ts: Date; value: number }>('select machine_id, ts, value from telemetry where metric = $1 order by ts', [
          metric,
        ]);
      const a = await read('form-rows');
      const b = await read('form-cols');
      assert.equal(a.length, 300);
      assert.deepEqual(a, b);
      assert.deepEqual(
        a.map((r) => [new Date(r.ts).getTime(), r.value]),
        [...pts].sort((x, y) => x.ts - y.ts).map((p) => [p.ts, p.value]),
      );
    });

    it('stores the same through every insert method (binary COPY on PostgreSQL, unnest), odd values and names included', async () => {
      const m = machines[9].rowId;
      const values = [0, -0.5, 1e-300, -1.7976931348623157e308, 123456.789, Number.MIN_VALUE, 42];
      const names = ['odd\\name', 'ünïcödé °C', 'tab\tless'.replace('\t', ' ')];
      const methods = backend === 'postgres' ? (['copy', 'unnest'] as const) : (['unnest'] as const);
      const stored: unknown[] = [];
      for (const method of methods) {
        const pts = names.flatMap((metric, k) =>
          values.map((value, i) => ({ machineId: m, metric: `${method}:${metric}`, ts: new Date(BASE + k * 60_000 + i * 1_001), value })),
        );
        const r = await ingestTelemetry(app.services, { plantIds: null }, { points: pts }, { method });
        assert.deepEqual(r, { accepted: pts.length, duplicates: 0 });
        const rows = await app.database.query<{ metric: string; ts: Date; value: number }>(
          `select substr(metric, length($2) + 2) as metric, ts, value from telemetry where machine_id = $1 and metric like $2 || ':%' order by metric, ts`,
          [m, method],
        );
        const order = (a: unknown[], b: unknown[]) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : Number(a[1]) - Number(b[1]));
        assert.deepEqual(
          rows.map((r) => [r.metric, new Date(r.ts).getTime(), r.value]).sort(order),
          pts.map((p) => [p.metric.slice(method.length + 1), p.ts.getTime(), p.value]).sort(order),
        );
        stored.push(rows.map((r) => [r.metric, new Date(r.ts).getTime(), r.value]).sort(order));
        const rollup = await app.database.query<{ n: number }>(
          `select sum(count)::int as n from telemetry_1m where machine_id = $1 and metric like $2 || ':%'`,
          [m, method],
        );
        assert.equal(Number(rollup[0].n), pts.length);
      }
      if (stored.length === 2) assert.deepEqual(stored[0], stored[1]);
    });

    it('computes bucket aggregates equal to the test, on the rollup path and the raw path', async () => {
      const m = machines[1];
      const pts = series(400, BASE, 3); // ~47 minutes
      const r = await app.gql(INGEST, {
        input: { columns: { machineIds: pts.map(() => m.id), metrics: pts.map(() => 'temp'), ts: pts.map((p) => iso(p.ts)), values: pts.map((p) => p.value) } },
      });
      assert.equal(r.body.data.ingestTelemetry.accepted, 400);

      // Whole minutes: served by the one-minute rollup.
      const from = BASE;
      const to = BASE + 50 * MIN;
      const viaApi = await app.gql(BUCKETS, { id: m.id, metric: 'temp', from: iso(from), to: iso(to), b: 300 });
      assert.equal(viaApi.body.errors, undefined, JSON.stringify(viaApi.body.errors));
      assert.deepEqual(viaApi.body.data.node.telemetry, expectedBuckets(pts, from, to, 300));
      // The same range forced through both paths gives identical results.
      const raw = await telemetryBuckets(app.database, [m.rowId], {
        metric: 'temp',
        from: new Date(from),
        to: new Date(to),
        bucketSeconds: 300,
        source: 'raw',
      });
      const rollup = await telemetryBuckets(app.database, [m.rowId], {
        metric: 'temp',
        from: new Date(from),
        to: new Date(to),
        bucketSeconds: 300,
        source: 'rollup',
      });
      assert.deepEqual(raw, rollup);

      // Not whole minutes: raw points, buckets aligned to `from`, the last one clipped.
      const from2 = BASE + 13_000;
      const to2 = BASE + 31 * MIN + 7_000;
      const viaRaw = await app.gql(BUCKETS, { id: m.id, metric: 'temp', from: iso(from2), to: iso(to2), b: 45 });
      assert.deepEqual(viaRaw.body.data.node.telemetry, expectedBuckets(pts, from2, to2, 45));
      // Default bucket: 60 s.
      const def = await app.gql(BUCKETS, { id: m.id, metric: 'temp', from: iso(from), to: iso(from + 10 * MIN) });
      assert.deepEqual(def.body.data.node.telemetry, expectedBuckets(pts, from, from + 10 * MIN, 60));
    });

    it('reads whole-minute ranges from the rollup (still answered after the raw rows are gone)', async () => {
      const m = machines[2];
      const pts = series(120, BASE, 11);
      await app.gql(INGEST, {
        input: { columns: { machineIds: pts.map(() => m.id), metrics: pts.map(() => 'rpm'), ts: pts.map((p) => iso(p.ts)), values: pts.map((p) => p.value) } },
      });
      const args = { id: m.id, metric: 'rpm', from: iso(BASE), to: iso(BASE + 20 * MIN), b: 120 };
      const before = (await app.gql(BUCKETS, args)).body.data.node.telemetry;
      await app.database.query('delete from telemetry where machine_id = $1 and metric = $2', [m.rowId, 'rpm']);
      const afterDelete = (await app.gql(BUCKETS, args)).body.data.node.telemetry;
      assert.deepEqual(afterDelete, before);
      assert.ok(before.some((b: any) => b.count > 0));
      const rawNow = (await app.gql(BUCKETS, { ...args, from: iso(BASE + 1_000) })).body.data.node.telemetry;
      assert.ok(
        rawNow.every((b: any) => b.count === 0),
        'the raw path reads the (now empty) raw table',
      );
    });

    it('refuses more than 10,000 buckets, an empty range and a bad bucket size, naming the argument', async () => {
      const m = machines[0].id;
      const tooMany = await app.gql(BUCKETS, { id: m, metric: 'temp', from: iso(BASE), to: iso(BASE + 10_001_000), b: 1 });
      assert.equal(tooMany.body.errors[0].extensions.code, 'VALIDATION_FAILED');
      assert.equal(tooMany.body.errors[0].extensions.fieldErrors[0].path, 'bucketSeconds');
      const empty = await app.gql(BUCKETS, { id: m, metric: 'temp', from: iso(BASE), to: iso(BASE), b: 60 });
      assert.equal(empty.body.errors[0].extensions.fieldErrors[0].path, 'to');
      const zero = await app.gql(BUCKETS, { id: m, metric: 'temp', from: iso(BASE), to: iso(BASE + MIN), b: 0 });
      assert.equal(zero.body.errors[0].extensions.fieldErrors[0].path, 'bucketSeconds');
      const ok = await app.gql(BUCKETS, { id: m, metric: 'temp', from: iso(BASE), to: iso(BASE + 10_000_000), b: 1 });
      assert.equal(ok.body.data.node.telemetry.length, 10_000);
    });

    it('stores nothing twice: a retried batchId, and points already stored', async () => {
      const m = machines[3];
      const pts = series(200, BASE, 5);
      const input = {
        batchId: `batch-${backend}-1`,
        columns: { machineIds: pts.map(() => m.id), metrics: pts.map(() => 'vib'), ts: pts.map((p) => iso(p.ts)), values: pts.map((p) => p.value) },
      };
      const first = await app.gql(INGEST, { input });
      assert.deepEqual(first.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: 200, duplicates: 0 });
      const retry = await app.gql(INGEST, { input });
      assert.deepEqual(retry.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: 0, duplicates: 200 });
      assert.equal(await count(app, `select count(*)::int as n from telemetry where machine_id = $1 and metric = 'vib'`, [m.rowId]), 200);

      // A new batch overlapping the stored points: only the new ones are stored and counted in the rollup.
      const more = series(50, BASE + 200 * 7_000 + 10_000, 9);
      const overlap = [...pts.slice(150), ...more, pts[0]];
      const r = await app.gql(INGEST, { input: { points: overlap.map((p) => ({ machineId: m.id, metric: 'vib', ts: iso(p.ts), value: p.value })) } });
      assert.deepEqual(r.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: 50, duplicates: 51 });
      assert.equal(await count(app, `select count(*)::int as n from telemetry where machine_id = $1 and metric = 'vib'`, [m.rowId]), 250);
      assert.equal(await count(app, `select sum(count)::int as n from telemetry_1m where machine_id = $1 and metric = 'vib'`, [m.rowId]), 250);
      // The same point twice within one batch is stored once.
      const twice = await app.gql(INGEST, { input: { points: [1, 2].map(() => ({ machineId: m.id, metric: 'vib2', ts: iso(BASE), value: 1 })) } });
      assert.deepEqual(twice.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: 1, duplicates: 1 });
    });

    it('rejects a whole batch with one bad point, naming every bad index, and stores nothing', async () => {
      const m = machines[4].id;
      const before = await count(app, 'select count(*)::int as n from telemetry');
      const rollupBefore = await count(app, 'select count(*)::int as n from telemetry_1m');
      const pts = series(1000, BASE, 13).map((p) => ({ machineId: m, metric: 'power', ts: iso(p.ts), value: p.value }));
      pts[17].ts = iso(Date.now() + 2 * 86_400_000);
      pts[400].machineId = otherPlantMachine.replace(/./g, 'x').slice(0, 8); // malformed
      pts[401].machineId = plantId; // a Plant ID, not a Machine
      pts[999].metric = '  ';
      const r = await app.gql(INGEST, { input: { points: pts } });
      const res = r.body.data.ingestTelemetry;
      assert.equal(res.__typename, 'ValidationError');
      assert.deepEqual(
        res.fieldErrors.map((e: any) => e.path),
        ['points[17].ts', 'points[400].machineId', 'points[401].machineId', 'points[999].metric'],
      );
      assert.match(res.fieldErrors[0].message, /future/);
      assert.match(res.fieldErrors[1].message, /unknown machine/);
      assert.equal(await count(app, 'select count(*)::int as n from telemetry'), before);
      assert.equal(await count(app, 'select count(*)::int as n from telemetry_1m'), rollupBefore);

      const cols = await app.gql(INGEST, { input: { columns: { machineIds: [m, m], metrics: ['a'], ts: [iso(BASE), iso(BASE)], values: [1, 2, 3] } } });
      assert.deepEqual(
        cols.body.data.ingestTelemetry.fieldErrors.map((e: any) => e.path),
        ['columns.metrics', 'columns.values'],
      );
      const colBad = await app.gql(INGEST, {
        input: {
          columns: { machineIds: [m, m, 'nope'], metrics: ['a', '', 'a'], ts: [iso(BASE), iso(BASE - 200 * 86_400_000), iso(BASE)], values: [1, 2, 3] },
        },
      });
      assert.deepEqual(
        colBad.body.data.ingestTelemetry.fieldErrors.map((e: any) => e.path),
        ['columns.metrics[1]', 'columns.ts[1]', 'columns.machineIds[2]'],
      );
      const neither = await app.gql(INGEST, { input: {} });
      assert.deepEqual(
        neither.body.data.ingestTelemetry.fieldErrors.map((e: any) => e.path),
        ['points'],
      );
      assert.equal(await count(app, 'select count(*)::int as n from telemetry'), before);

      // What GraphQL cannot even carry is still checked by the ingest function (the MQTT bridge uses it too).
      const deps = app.services;
      await assert.rejects(
        ingestTelemetry(
          deps,
          { plantIds: null },
          {
            points: [
              { machineId: machines[4].rowId, metric: 'p', ts: new Date(BASE), value: NaN },
              { machineId: machines[4].rowId, metric: 'p', ts: new Date(NaN), value: Infinity },
            ],
          },
        ),
        (e: unknown) =>
          e instanceof ValidationError &&
          JSON.stringify(e.fieldErrors.map((f) => f.path)) === JSON.stringify(['points[0].value', 'points[1].ts', 'points[1].value']),
      );
      const big = 50_001;
      await assert.rejects(
        ingestTelemetry(
          deps,
          { plantIds: null },
          {
            columns: {
              machineIds: new Array(big).fill(machines[4].rowId),
              metrics: new Array(big).fill('p'),
              ts: new Array(big).fill(BASE),
              values: new Array(big).fill(1),
            },
          },
        ),
        (e: unknown) => e instanceof ValidationError && e.fieldErrors[0].path === 'columns.machineIds' && /50,000/.test(e.fieldErrors[0].message),
      );
      assert.equal(await count(app, 'select count(*)::int as n from telemetry'), before);
    });

    it('ingests 50,000 points in one call', async () => {
      const n = 50_000;
      const ids = machines.map((m) => m.id);
      const input = {
        columns: {
          machineIds: Array.from({ length: n }, (_, i) => ids[i % ids.length]),
          metrics: Array.from({ length: n }, (_, i) => `big-${Math.floor(i / ids.length) % 5}`),
          ts: Array.from({ length: n }, (_, i) => iso(BASE + Math.floor(i / 50) * 1000)),
          values: Array.from({ length: n }, (_, i) => i % 1000),
        },
      };
      const r = await app.gql(INGEST, { input });
      assert.deepEqual(r.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: n, duplicates: 0 });
      assert.equal(await count(app, `select count(*)::int as n from telemetry where metric like 'big-%'`), n);
      assert.equal(await count(app, `select sum(count)::int as n from telemetry_1m where metric like 'big-%'`), n);
      // The same points again, plus 10 new ones: only those are stored (on PostgreSQL the COPY fails on the first
      // duplicate and the careful path takes over).
      const k = n - ids.length;
      const c = input.columns;
      const retry = {
        columns: {
          machineIds: [...c.machineIds.slice(0, k), ...ids],
          metrics: [...c.metrics.slice(0, k), ...ids.map(() => 'big-0')],
          ts: [...c.ts.slice(0, k), ...ids.map(() => iso(BASE + 2_000_000))],
          values: [...c.values.slice(0, k), ...ids.map(() => 1)],
        },
      };
      const r2 = await app.gql(INGEST, { input: retry });
      assert.deepEqual(r2.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: ids.length, duplicates: k });
      assert.equal(await count(app, `select count(*)::int as n from telemetry where metric like 'big-%'`), n + ids.length);
      assert.equal(await count(app, `select sum(count)::int as n from telemetry_1m where metric like 'big-%'`), n + ids.length);
    });

    it('answers Machine.latest with the newest point, in a bounded number of statements for many machines', async () => {
      const m = machines[5];
      await app.gql(INGEST, {
        input: {
          points: [
            { machineId: m.id, metric: 'level', ts: iso(BASE + 5 * MIN), value: 5 },
            { machineId: m.id, metric: 'level', ts: iso(BASE + 2 * MIN), value: 2 },
          ],
        },
      });
      // A late, older point does not replace the latest.
      await app.gql(INGEST, { input: { points: [{ machineId: m.id, metric: 'level', ts: iso(BASE + MIN), value: 1 }] } });
      const r = await app.gql(
        `query($id: ID!) { node(id: $id) { ... on Machine { latest(metric: "level") { metric ts value machine { name } } none: latest(metric: "nothing") { value } } } }`,
        { id: m.id },
      );
      assert.deepEqual(r.body.data.node, { latest: { metric: 'level', ts: iso(BASE + 5 * MIN), value: 5, machine: { name: m.name } }, none: null });

      const every = machines.map((x, i) => ({ machineId: x.id, metric: 'level-all', ts: iso(BASE + i * 1000), value: i }));
      assert.equal((await app.gql(INGEST, { input: { points: every } })).body.data.ingestTelemetry.accepted, machines.length);
      const q = `{ plants { edges { node { machines { name a: latest(metric: "level") { value } b: latest(metric: "level-all") { value ts } } } } } }`;
      const before = app.database.sql.count;
      const all = await app.gql(q);
      const statements = app.database.sql.count - before;
      assert.equal(all.body.errors, undefined, JSON.stringify(all.body.errors));
      const list = all.body.data.plants.edges.flatMap((e: any) => e.node.machines);
      assert.equal(list.length, 11);
      assert.equal(list.find((x: any) => x.name === m.name).a.value, 5);
      assert.equal(list.filter((x: any) => x.b !== null).length, machines.length);
      assert.ok(statements <= 4, `${statements} statements for 11 machines x 2 latest values`);
    });

    it('lets a plant-scoped OPERATOR ingest only for its plant, and no VIEWER at all', async () => {
      const key = async (role: string, plantIds?: string[]) => {
        const r = await app.gql(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { ... on CreateApiKeySuccess { key } } }`, {
          input: { name: `${role}-${Math.random()}`, role, plantIds },
        });
        return r.body.data.createApiKey.key as string;
      };
      const operator = await key('OPERATOR', [plantId]);
      const viewer = await key('VIEWER');
      const auth = (k: string) => ({ authorization: `Bearer ${k}` });
      const mine = { points: [{ machineId: machines[6].id, metric: 'scoped', ts: iso(BASE), value: 1 }] };
      const theirs = { points: [{ machineId: otherPlantMachine, metric: 'scoped', ts: iso(BASE), value: 1 }] };
      const ok = await app.gql(INGEST, { input: mine }, auth(operator));
      assert.deepEqual(ok.body.data.ingestTelemetry, { __typename: 'IngestTelemetrySuccess', accepted: 1, duplicates: 0 });
      const other = await app.gql(INGEST, { input: theirs }, auth(operator));
      assert.equal(other.body.data.ingestTelemetry.__typename, 'ValidationError');
      assert.deepEqual(other.body.data.ingestTelemetry.fieldErrors, [{ path: 'points[0].machineId', message: 'unknown machine' }]);
      const asViewer = await app.gql(INGEST, { input: mine }, auth(viewer));
      assert.equal(asViewer.body.errors[0].extensions.code, 'FORBIDDEN');
      assert.equal(asViewer.body.data?.ingestTelemetry ?? null, null);
      assert.equal(await count(app, `select count(*)::int as n from telemetry where metric = 'scoped'`), 1);
      // The VIEWER can read.
      const read = await app.gql(
        `query($id: ID!) { node(id: $id) { ... on Machine { latest(metric: "scoped") { value } } } }`,
        { id: machines[6].id },
        auth(viewer),
      );
      assert.equal(read.body.data.node.latest.value, 1);
    });

    it('puts points into daily partitions, moves points out of the default partition, and applies retention', async () => {
      const own = series(30, BASE, 5).map((p) => ({ machineId: machines[2].id, metric: 'partitioned', ts: iso(p.ts), value: p.value }));
      assert.equal((await app.gql(INGEST, { input: { points: own } })).body.data.ingestTelemetry.accepted, own.length);
      const day = dayOf(BASE);
      const name = partitionName(day);
      const parts = await app.database.query<{ p: string }>(`select distinct tableoid::regclass::text as p from telemetry where metric = 'partitioned'`);
      const names = parts.map((r) => r.p);
      assert.ok(names.includes(name), JSON.stringify(names));
      assert.ok(
        names.every((p) => p === name || p === partitionName(day + 1)),
        JSON.stringify(names),
      );
      // A point that reached the default partition (its day had no partition) moves when that day gets one.
      const lateDay = dayOf(Date.now()) - 20;
      const ts = new Date(lateDay * 86_400_000 + 3_600_000);
      await app.database.query(`insert into telemetry_default (machine_id, metric, ts, value) values ($1, 'late', $2, 1)`, [
        machines[0].rowId,
        ts.toISOString(),
      ]);
      const r = await app.gql(INGEST, {
        input: { points: [{ machineId: machines[0].id, metric: 'late', ts: new Date(ts.getTime() + 1000).toISOString(), value: 2 }] },
      });
      assert.equal(r.body.data.ingestTelemetry.accepted, 1);
      const late = await app.database.query<{ p: string }>(`select tableoid::regclass::text as p from telemetry where metric = 'late'`);
      assert.deepEqual(
        late.map((x) => x.p),
        [partitionName(lateDay), partitionName(lateDay)],
      );

      // Retention: 10 days from a clock 30 days ahead drops every partition older than 20 days from now.
      const future = new Date(Date.now() + 30 * 86_400_000);
      const res = await maintainTelemetry(app.database, { retentionDays: 10, rollupRetentionDays: 10 }, future);
      assert.ok(res.dropped.includes(name) && res.dropped.includes(partitionName(lateDay)), JSON.stringify(res));
      assert.equal(await count(app, `select count(*)::int as n from telemetry where metric = 'late' or metric = 'partitioned'`), 0);
      assert.equal(
        await count(app, `select count(*)::int as n from telemetry_1m where minute < $1::timestamptz`, [
          new Date(future.getTime() - 10 * 86_400_000).toISOString(),
        ]),
        0,
      );
      const left = await app.database.query<{ p: string }>(
        `select c.relname as p from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'telemetry'::regclass`,
      );
      assert.ok(
        left.some((x) => x.p === partitionName(dayOf(future.getTime()) + 3)),
        'partitions are created ahead',
      );
      assert.ok(left.some((x) => x.p === 'telemetry_default'));
      // Points older than the retention are refused (they would be dropped at once).
      const old = await app.gql(INGEST, {
        input: { points: [{ machineId: machines[0].id, metric: 'old', ts: iso(Date.now() - 100 * 86_400_000), value: 1 }] },
      });
      assert.deepEqual(
        old.body.data.ingestTelemetry.fieldErrors.map((e: any) => e.path),
        ['points[0].ts'],
      );
      assert.match(old.body.data.ingestTelemetry.fieldErrors[0].message, /retention of 90 days/);
    });

    describe('subscriptions', () => {
      let server: RunningServer;
      before(async () => {
        server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      });
      after(() => server.close());

      /** A subscription that is live on the server (subscribed to `topic`) when this resolves. */
      const liveSub = (query: string, variables: Record<string, unknown>, topic: string) =>
        subscribe(server.url, TEST_ADMIN_KEY, query, variables, { live: { pubsub: app.services.pubsub, topic } });

      it('delivers new points of the chosen metrics of a machine, one event per ingest call with its newest point and all of them', async () => {
        const m = machines[7];
        const sub = await liveSub(
          `subscription($id: ID!) { telemetry(machineId: $id, metrics: ["temp", "rpm"]) { metric ts value machine { name } count points { metric ts value } } }`,
          { id: m.id },
          `telemetry:${m.rowId}`,
        );
        const now = Date.now() - 60_000;
        await app.gql(INGEST, {
          input: {
            points: [
              { machineId: m.id, metric: 'rpm', ts: iso(now + 1), value: 1200 },
              { machineId: m.id, metric: 'temp', ts: iso(now), value: 1.5 },
              { machineId: m.id, metric: 'vib', ts: iso(now), value: 9 },
              { machineId: machines[8].id, metric: 'temp', ts: iso(now), value: 7 },
            ],
          },
        });
        // Only vib: no event for this subscriber.
        await app.gql(INGEST, { input: { points: [{ machineId: m.id, metric: 'vib', ts: iso(now + 2), value: 3 }] } });
        // Events arrive in order: once a later one is there, nothing else of the earlier batches can follow.
        await app.gql(INGEST, { input: { points: [{ machineId: m.id, metric: 'temp', ts: iso(now + 2), value: 2.5 }] } });
        await sub.waitFor(2);
        assert.deepEqual(
          sub.events.map((e) => e.data.telemetry),
          [
            {
              metric: 'rpm',
              ts: iso(now + 1),
              value: 1200,
              machine: { name: m.name },
              count: 2,
              points: [
                { metric: 'temp', ts: iso(now), value: 1.5 },
                { metric: 'rpm', ts: iso(now + 1), value: 1200 },
              ],
            },
            { metric: 'temp', ts: iso(now + 2), value: 2.5, machine: { name: m.name }, count: 1, points: [{ metric: 'temp', ts: iso(now + 2), value: 2.5 }] },
          ],
        );
        await sub.dispose();
      });

      it('delivers machine status events of a plant and refuses unknown or invisible IDs with NOT_FOUND', async () => {
        const sub = await liveSub(
          `subscription($id: ID!) { machineStatus(plantId: $id) { machine { name status } status previous at current } }`,
          { id: plantId },
          `machineStatus:${decodeId('Plant', plantId)}`,
        );
        const at = iso(Date.now() - 1000);
        const r = await app.gql(
          `mutation($input: MachineStateInput!) { recordMachineState(input: $input) { __typename ... on RecordMachineStateSuccess { current machine { status } } } }`,
          {
            input: { machineId: machines[9].id, status: 'DOWN', at },
          },
        );
        assert.deepEqual(r.body.data.recordMachineState, { __typename: 'RecordMachineStateSuccess', current: true, machine: { status: 'DOWN' } });
        await sub.waitFor(1);
        assert.deepEqual(sub.events[0].data.machineStatus, {
          machine: { name: machines[9].name, status: 'DOWN' },
          status: 'DOWN',
          previous: null,
          at,
          current: true,
        });
        await sub.dispose();

        const created = await app.gql(
          `mutation { createApiKey(input: { name: "scoped-viewer", role: VIEWER, plantIds: ["${plantId}"] }) { ... on CreateApiKeySuccess { key } } }`,
        );
        const scoped = created.body.data.createApiKey.key;
        const otherPlant = (await app.gql('{ plants { edges { node { id name } } } }')).body.data.plants.edges.find((e: any) => e.node.name === 'Other').node
          .id;
        for (const [query, id] of [
          ['subscription($id: ID!) { machineStatus(plantId: $id) { status } }', otherPlant],
          ['subscription($id: ID!) { telemetry(machineId: $id) { value } }', otherPlantMachine],
          ['subscription($id: ID!) { telemetry(machineId: $id) { value } }', 'TWFjaGluZTo5OTk5'],
        ]) {
          const s = await subscribe(server.url, scoped, query, { id });
          await waitFor(() => s.errors.length > 0 || s.events.length > 0);
          const err = s.errors[0]?.[0] ?? s.events[0]?.errors?.[0];
          assert.equal(err?.extensions?.code, 'NOT_FOUND', JSON.stringify(s.errors.concat(s.events)));
          await s.dispose();
        }
      });
    });
  });
}
