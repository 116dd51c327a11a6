import assert from 'node:assert/strict';
import type { ValidationError } from '../src/core/errors.ts';
import { encodeId } from '../src/core/ids.ts';
import { ALL_PLANTS } from '../src/core/scope.ts';
import type { MachineStatus } from '../src/db/schema/index.ts';
import { createTwinDataset, getDataset, loadDataset } from '../src/predict/datasets.ts';
import { checkFeatureDefinitions, computeFeatures, type FeatureDefinitionInput } from '../src/predict/features.ts';
import type { DataColumn } from '../src/predict/table.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { recordMachineStates } from '../src/telemetry/states.ts';
import { importPlant } from '../src/twin/import.ts';
import { liveTwin } from '../src/twin/snapshot.ts';
import { after, AUDITED, as, before, createTestApp, describe, it, makeKey, statementsDuring, type TestApp, testBackends, unchanged } from './helpers.ts';

const MIN = 60_000;
const close = (actual: number | string | null, expected: number, what: string) =>
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);

/** Least-squares slope of (t seconds, v) by hand. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mt = points.reduce((s, p) => s + p[0], 0) / n;
  const mv = points.reduce((s, p) => s + p[1], 0) / n;
  return points.reduce((s, p) => s + (p[0] - mt) * (p[1] - mv), 0) / points.reduce((s, p) => s + (p[0] - mt) ** 2, 0);
}

const col = (columns: DataColumn[], name: string) => columns.find((c) => c.name === name)!;

for (const backend of testBackends()) {
  describe(`features from the twin [${backend}]`, () => {
    let app: TestApp;
    let plantSeq = 0;
    // Whole minutes, two hours ago: inside the telemetry retention and before the clock.
    const base = Math.floor(Date.now() / MIN) * MIN - 2 * 60 * MIN;

    before(async () => {
      app = await createTestApp(backend, { seed: false });
    });
    after(() => app?.close());

    async function plant(machines: number, kinds = ['mill', 'press']) {
      const name = `Features ${++plantSeq}`;
      await importPlant(app.database.db, {
        name,
        lines: [
          {
            name: 'L1',
            machines: Array.from({ length: machines }, (_, i) => ({
              name: `M${i}`,
              kind: kinds[i % kinds.length],
              idealCycleSeconds: i % 2 === 0 ? 30 + i : undefined,
            })),
          },
        ],
      });
      const [p] = (await liveTwin(app.database).plants()).filter((x) => x.name === name);
      return { plantId: p.id, machines: await liveTwin(app.database).machines({ plantIds: [p.id] }) };
    }

    const ingest = (points: { machineId: number; metric: string; ts: number; value: number }[]) =>
      ingestTelemetry(app.services, ALL_PLANTS, { points: points.map((p) => ({ ...p, ts: new Date(p.ts) })) });
    const states = (list: { machineId: number; status: MachineStatus; at: number }[]) =>
      recordMachineStates(
        app.services,
        ALL_PLANTS,
        list.map((s) => ({ ...s, at: new Date(s.at) })),
      );

    it('latest, mean, min, max, std and slope equal the values computed by hand, over (at - window, at]', async () => {
      const { machines } = await plant(1);
      const m = machines[0].id;
      const at = base + 30 * MIN;
      // Points every 30 s from at - 10 min to at; the one exactly at at - 10 min lies outside the window.
      const pts: [number, number][] = [];
      for (let k = 0; k <= 20; k++) pts.push([at - 10 * MIN + k * 30_000, 20 + ((k * 7) % 5) + k * 0.25]);
      await ingest(pts.map(([ts, value]) => ({ machineId: m, metric: 'temp', ts, value })));
      await ingest([{ machineId: m, metric: 'temp', ts: at + 1000, value: 999 }]); // after `at`: not seen
      const inWindow = pts.slice(1);
      const values = inWindow.map((p) => p[1]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
      const [r] = await computeFeatures(app.database, {
        machineIds: [m],
        at: new Date(at),
        definitions: (['latest', 'mean', 'min', 'max', 'std', 'slope'] as const).map((aggregate) => ({ metric: 'temp', aggregate, windowSeconds: 600 })),
      });
      assert.ok(r.ok, JSON.stringify(r));
      const [latest, mn, lo, hi, sd, sl] = r.values;
      assert.equal(latest, values[values.length - 1]);
      close(mn, mean, 'mean');
      assert.equal(lo, Math.min(...values));
      assert.equal(hi, Math.max(...values));
      close(sd, std, 'std');
      close(sl, slope(inWindow.map(([t, v]) => [t / 1000, v])), 'slope');
    });

    it('machine attributes: kind, ideal cycle and line, null where the twin has none', async () => {
      const { machines } = await plant(2);
      const defs = [{ attribute: 'machine.kind' }, { attribute: 'machine.idealCycleSeconds' }, { attribute: 'machine.line' }];
      const rows = await computeFeatures(app.database, { machineIds: machines.map((m) => m.id), definitions: defs });
      assert.deepEqual(rows, [
        { machineId: machines[0].id, ok: true, values: ['mill', 30, 'L1'] },
        { machineId: machines[1].id, ok: true, values: ['press', null, 'L1'] },
      ]);
    });

    it('a machine without the telemetry in a window gets the reason naming metric and window, never a zero', async () => {
      const { machines } = await plant(2);
      const [a, b] = machines.map((m) => m.id);
      const at = base + 60 * MIN;
      await ingest([
        { machineId: a, metric: 'load', ts: at - 30_000, value: 5 },
        { machineId: b, metric: 'load', ts: at - 20 * MIN, value: 7 }, // outside the 300 s window
      ]);
      const iso = new Date(at).toISOString();
      const rows = await computeFeatures(app.database, {
        machineIds: [a, b, 987654],
        at: new Date(at),
        definitions: [
          { metric: 'load', aggregate: 'mean', windowSeconds: 300 },
          { name: 'trend', metric: 'load', aggregate: 'slope', windowSeconds: 300 },
        ],
      });
      assert.deepEqual(rows, [
        {
          machineId: a,
          ok: false,
          reason: `trend: only 1 point of "load" in the 300 s before ${iso}: the slope needs at least 2`,
          problems: [
            {
              feature: 'trend',
              message: `only 1 point of "load" in the 300 s before ${iso}: the slope needs at least 2`,
              cause: 'only 1 point of "load" in the 300 s: the slope needs at least 2',
            },
          ],
        },
        {
          machineId: b,
          ok: false,
          reason: `load_mean_300s: no "load" telemetry in the 300 s before ${iso}; trend: no "load" telemetry in the 300 s before ${iso}`,
          problems: [
            { feature: 'load_mean_300s', message: `no "load" telemetry in the 300 s before ${iso}`, cause: 'no "load" telemetry in the 300 s' },
            { feature: 'trend', message: `no "load" telemetry in the 300 s before ${iso}`, cause: 'no "load" telemetry in the 300 s' },
          ],
        },
        { machineId: 987654, ok: false, reason: 'unknown machine', problems: [{ feature: '*', message: 'unknown machine', cause: 'unknown machine' }] },
      ]);
    });

    it('bad definitions are a ValidationError naming each field', () => {
      const defs: FeatureDefinitionInput[] = [
        { metric: 'temp', aggregate: 'median', windowSeconds: 60 },
        { metric: 'temp', aggregate: 'mean', windowSeconds: 0 },
        { attribute: 'machine.color' },
        { metric: '', aggregate: 'max', windowSeconds: 1.5 },
        { name: 'x', metric: 'a', aggregate: 'min', windowSeconds: 10 },
        { name: 'x', attribute: 'machine.kind', metric: 'a' },
      ];
      assert.throws(
        () => checkFeatureDefinitions(defs),
        (e: ValidationError) => {
          assert.deepEqual(
            e.fieldErrors.map((f) => f.path),
            [
              'definitions[0].aggregate',
              'definitions[1].windowSeconds',
              'definitions[2].attribute',
              'definitions[3].metric',
              'definitions[3].windowSeconds',
              'definitions[5].attribute',
              'definitions[5].name',
            ],
          );
          assert.equal(e.fieldErrors[0].message, 'must be one of latest, mean, min, max, std, slope');
          assert.equal(e.fieldErrors[6].message, 'duplicate feature name "x" (also definitions[4])');
          return true;
        },
      );
      assert.throws(() => checkFeatureDefinitions([]), /definitions: at least one feature definition is needed/);
    });

    it('computes every definition for all machines in one SQL statement, at 5 and at 200 machines', async () => {
      const defs = [
        { metric: 'temp', aggregate: 'mean', windowSeconds: 600 },
        { metric: 'temp', aggregate: 'latest', windowSeconds: 60 },
        { metric: 'load', aggregate: 'slope', windowSeconds: 900 },
        { attribute: 'machine.kind' },
      ];
      const at = base + 90 * MIN;
      for (const size of [5, 200]) {
        const { machines } = await plant(size);
        await ingest(
          machines.flatMap((m, i) => [
            { machineId: m.id, metric: 'temp', ts: at - 30_000, value: i },
            { machineId: m.id, metric: 'load', ts: at - 120_000, value: 1 },
            { machineId: m.id, metric: 'load', ts: at - 60_000, value: 1 + i },
          ]),
        );
        let rows: Awaited<ReturnType<typeof computeFeatures>> = [];
        const statements = await statementsDuring(app.database, async () => {
          rows = await computeFeatures(app.database, { machineIds: machines.map((m) => m.id), definitions: defs, at: new Date(at) });
        });
        assert.equal(statements.length, 1, `${size} machines: ${statements.length} statements`);
        assert.equal(rows.length, size);
        rows.forEach((r, i) => {
          assert.ok(r.ok && r.machineId === machines[i].id, JSON.stringify(r));
          const [mean, latest, trend, kind] = r.values;
          assert.deepEqual([mean, latest, kind], [i, i, i % 2 === 0 ? 'mill' : 'press']);
          close(trend, i / 60, 'slope');
        });
      }
    });

    describe('twin datasets', () => {
      const defs = [
        { metric: 'temp', aggregate: 'mean', windowSeconds: 600 },
        { metric: 'temp', aggregate: 'slope', windowSeconds: 600 },
        { attribute: 'machine.kind' },
      ];

      /** Two machines with a minute of temperature each; A goes DOWN at +70 min and back at +80, B never. */
      async function history() {
        const p = await plant(2);
        const [a, b] = p.machines.map((m) => m.id);
        const pts = [];
        for (let t = base; t < base + 120 * MIN; t += MIN) {
          pts.push({ machineId: a, metric: 'temp', ts: t, value: 40 + (t - base) / MIN });
          pts.push({ machineId: b, metric: 'temp', ts: t, value: 50 - ((t - base) / MIN) * 0.5 });
        }
        await ingest(pts);
        await states([
          { machineId: a, status: 'RUNNING', at: base },
          { machineId: b, status: 'RUNNING', at: base },
          { machineId: a, status: 'DOWN', at: base + 70 * MIN },
          { machineId: a, status: 'RUNNING', at: base + 80 * MIN },
        ]);
        return { ...p, a, b };
      }

      it('labels FAILURE_WITHIN from the state history, leaves out DOWN and unknown rows, and a row equals computeFeatures at its time', async () => {
        const h = await history();
        const from = new Date(base + 30 * MIN);
        const to = new Date(base + 100 * MIN);
        const now = new Date(base + 110 * MIN);
        const id = await createTwinDataset(app.database, {
          plantId: h.plantId,
          name: 'failures',
          definitions: defs,
          stepSeconds: 600,
          from,
          to,
          label: { kind: 'FAILURE_WITHIN', horizonSeconds: 1800 },
          now,
        });
        const info = await getDataset(app.database, ALL_PLANTS, id);
        const table = await loadDataset(app.database, id);
        assert.deepEqual(
          table.columns.map((c) => [c.name, c.kind]),
          [
            ['machine', 'categorical'],
            ['time', 'numeric'],
            ['temp_mean_600s', 'numeric'],
            ['temp_slope_600s', 'numeric'],
            ['machine.kind', 'categorical'],
            ['label', 'numeric'],
          ],
        );
        // Steps +30 .. +90 min every 10: A goes DOWN at +70, within 30 min of +40, +50 and +60 (70 <= 40 + 30); it is
        // DOWN at +70 (left out); the horizon of +90 reaches +120 > now (unknown for both, no DOWN within it).
        const rows = Array.from({ length: table.rowCount }, (_, r) => ({
          machine: col(table.columns, 'machine').values[r],
          minute: ((col(table.columns, 'time').values[r] as number) * 1000 - base) / MIN,
          label: col(table.columns, 'label').values[r],
        }));
        assert.deepEqual(rows, [
          { machine: 'M0', minute: 30, label: 0 },
          { machine: 'M1', minute: 30, label: 0 },
          { machine: 'M0', minute: 40, label: 1 },
          { machine: 'M1', minute: 40, label: 0 },
          { machine: 'M0', minute: 50, label: 1 },
          { machine: 'M1', minute: 50, label: 0 },
          { machine: 'M0', minute: 60, label: 1 },
          { machine: 'M1', minute: 60, label: 0 },
          { machine: 'M1', minute: 70, label: 0 },
          { machine: 'M0', minute: 80, label: 0 },
          { machine: 'M1', minute: 80, label: 0 },
        ]);
        assert.equal(info.rowCount, 11);
        assert.deepEqual(info.definition!.labelBalance, { positive: 3, negative: 8 });
        assert.deepEqual(info.definition!.skipped, [
          { reason: 'unknown label: the horizon reaches past the end of the history', rows: 2 },
          { reason: 'the machine was DOWN at the step', rows: 1 },
        ]);
        assert.equal(info.definition!.groupColumn, 'machine');
        assert.deepEqual(
          info.columns.find((c) => c.name === 'label'),
          { name: 'label', kind: 'numeric', missing: 0, min: 0, max: 1, mean: 3 / 11, categories: [], categoryCount: null },
        );

        // What serving computes at a row's time is exactly the row.
        for (const r of [2, 7]) {
          const at = new Date((col(table.columns, 'time').values[r] as number) * 1000);
          const machineId = col(table.columns, 'machine').values[r] === 'M0' ? h.a : h.b;
          const [served] = await computeFeatures(app.database, { machineIds: [machineId], definitions: info.definition!.features, at });
          assert.ok(served.ok);
          assert.deepEqual(served.values, [
            col(table.columns, 'temp_mean_600s').values[r],
            col(table.columns, 'temp_slope_600s').values[r],
            col(table.columns, 'machine.kind').values[r],
          ]);
        }
        // By hand: the mean of A over (+20, +30] min is the minutes 21..30 of 40 + minute, the slope 1/60 per second.
        close(col(table.columns, 'temp_mean_600s').values[0] as number, 40 + 25.5, 'mean');
        close(col(table.columns, 'temp_slope_600s').values[0] as number, 1 / 60, 'slope');
      });

      it('labels TIME_TO_FAILURE in seconds to the next DOWN, capped', async () => {
        const h = await history();
        const id = await createTwinDataset(app.database, {
          plantId: h.plantId,
          name: 'rul',
          definitions: [{ attribute: 'machine.kind' }],
          stepSeconds: 1200,
          from: new Date(base + 20 * MIN),
          to: new Date(base + 61 * MIN),
          label: { kind: 'TIME_TO_FAILURE', capSeconds: 2400 },
          now: new Date(base + 110 * MIN),
        });
        const table = await loadDataset(app.database, id);
        const labels = Array.from({ length: table.rowCount }, (_, r) => [col(table.columns, 'machine').values[r], col(table.columns, 'label').values[r]]);
        // Steps +20, +40, +60: A fails at +70 (50, 30, 10 min later; 50 min is capped at 40); B never (cap: 40 min).
        assert.deepEqual(labels, [
          ['M0', 2400],
          ['M1', 2400],
          ['M0', 1800],
          ['M1', 2400],
          ['M0', 600],
          ['M1', 2400],
        ]);
        const info = await getDataset(app.database, ALL_PLANTS, id);
        assert.equal(info.definition!.labelBalance, null);
      });

      it('refuses a range without the telemetry or without states, storing nothing', async () => {
        const h = await history();
        const input = {
          plantId: h.plantId,
          name: 'none',
          stepSeconds: 600,
          from: new Date(base + 30 * MIN),
          to: new Date(base + 60 * MIN),
          label: { kind: 'FAILURE_WITHIN' as const, horizonSeconds: 600 },
          now: new Date(base + 110 * MIN),
        };
        await unchanged(
          app.database,
          async () => {
            await assert.rejects(
              createTwinDataset(app.database, { ...input, definitions: [{ metric: 'pressure', aggregate: 'max', windowSeconds: 60 }] }),
              (e: ValidationError) => {
                assert.deepEqual(e.fieldErrors, [
                  {
                    path: 'definitions[0].metric',
                    message: `no machine of the plant reported "pressure" between ${new Date(base + 29 * MIN).toISOString()} and ${new Date(base + 60 * MIN).toISOString()}`,
                  },
                ]);
                return true;
              },
            );
            // Telemetry in range but every window before the first point: no row has its features.
            // Telemetry in range, but no window holds two points for the slope: no row has its features.
            await assert.rejects(
              createTwinDataset(app.database, {
                ...input,
                from: new Date(base - 30 * MIN),
                to: new Date(base + 1000),
                definitions: [{ name: 'trend', metric: 'temp', aggregate: 'slope', windowSeconds: 60 }],
              }),
              (e: ValidationError) => {
                assert.deepEqual(e.fieldErrors, [
                  {
                    path: 'from',
                    message: `no rows between ${new Date(base - 30 * MIN).toISOString()} and ${new Date(base + 1000).toISOString()}: 6 × trend: no "temp" telemetry in the 60 s; 2 × trend: only 1 point of "temp" in the 60 s: the slope needs at least 2`,
                  },
                ]);
                return true;
              },
            );
            const bare = await plant(1);
            await ingest([{ machineId: bare.machines[0].id, metric: 'temp', ts: base + 40 * MIN, value: 1 }]);
            await assert.rejects(
              createTwinDataset(app.database, { ...input, plantId: bare.plantId, definitions: [{ metric: 'temp', aggregate: 'max', windowSeconds: 600 }] }),
              (e: ValidationError) => {
                assert.deepEqual(e.fieldErrors, [
                  {
                    path: 'label',
                    message: `no machine of the plant has a recorded state before ${input.to.toISOString()}: labels come from the state history`,
                  },
                ]);
                return true;
              },
            );
          },
          { telemetry: 1, telemetry_1m: 1, telemetry_latest: 1, telemetry_series: 1, plants: 1, lines: 1, machines: 1 },
        );
      });

      it('reports progress per statement and stops when cancelled, storing nothing', async () => {
        const h = await history();
        const input = {
          plantId: h.plantId,
          name: 'progress',
          definitions: defs,
          stepSeconds: 1,
          from: new Date(base + 30 * MIN),
          to: new Date(base + 60 * MIN),
          label: { kind: 'FAILURE_WITHIN' as const, horizonSeconds: 60 },
          now: new Date(base + 110 * MIN),
        };
        const fractions: number[] = [];
        await createTwinDataset(app.database, input, { onProgress: (f) => fractions.push(f) });
        // 1,800 steps × 2 machines × 1 distinct window = 3,600 evaluations: within one statement's 20,000.
        assert.deepEqual(fractions, [1]);
        const controller = new AbortController();
        await unchanged(app.database, async () => {
          // Two distinct windows: 5,000 steps per statement, so 7,140 steps take two; cancelled after the first.
          const big = {
            ...input,
            name: 'cancelled',
            from: new Date(base),
            to: new Date(base + 119 * MIN),
            now: new Date(base + 125 * MIN),
            definitions: [...defs, { metric: 'temp', aggregate: 'max', windowSeconds: 60 }],
          };
          const seen: number[] = [];
          await assert.rejects(
            createTwinDataset(app.database, big, {
              signal: controller.signal,
              onProgress: (f) => {
                seen.push(f);
                controller.abort();
              },
            }),
            { name: 'AbortError' },
          );
          assert.equal(seen.length, 1);
          assert.ok(seen[0] > 0 && seen[0] < 1, String(seen[0]));
        });
      });

      it('over GraphQL: ENGINEER builds it, VIEWER is refused, another plant reads as unknown', async () => {
        const h = await history();
        const input = {
          plantId: encodeId('Plant', h.plantId),
          name: 'api',
          definitions: [{ metric: 'temp', aggregate: 'MEAN', windowSeconds: 600 }, { attribute: 'machine.kind' }],
          stepSeconds: 600,
          from: new Date(base + 30 * MIN).toISOString(),
          to: new Date(base + 60 * MIN).toISOString(),
          label: { kind: 'FAILURE_WITHIN', horizonSeconds: 1800 },
        };
        const M = `mutation($input: CreateTwinDatasetInput!) { createTwinDataset(input: $input) { __typename
          ... on CreateTwinDatasetSuccess { dataset { name source rowCount labelBalance { positive negative positiveRate } plant { id } columns { name kind missing } definition } }
          ... on Error { code message } ... on ValidationError { fieldErrors { path message } } } }`;
        const engineer = as(app, (await makeKey(app, `twin-eng-${backend}-${plantSeq}`, 'ENGINEER', [input.plantId])).key);
        const r = await engineer(M, { input });
        const res = r.body.data.createTwinDataset;
        assert.equal(res.__typename, 'CreateTwinDatasetSuccess', JSON.stringify(r.body));
        assert.equal(res.dataset.source, 'TWIN');
        assert.equal(res.dataset.rowCount, 6);
        assert.deepEqual(res.dataset.labelBalance, { positive: 2, negative: 4, positiveRate: 2 / 6 });
        assert.deepEqual(
          res.dataset.columns.map((c: { name: string }) => c.name),
          ['machine', 'time', 'temp_mean_600s', 'machine.kind', 'label'],
        );
        assert.equal(res.dataset.definition.features[0].aggregate, 'mean');

        const viewer = as(app, (await makeKey(app, `twin-viewer-${backend}-${plantSeq}`, 'VIEWER')).key);
        const refused = await unchanged(app.database, () => viewer(M, { input }), AUDITED);
        assert.equal(refused.body.errors[0].message, 'Forbidden: role VIEWER may not use Mutation.createTwinDataset');
        assert.equal(refused.body.errors[0].extensions.code, 'FORBIDDEN');

        const other = await plant(1);
        const elsewhere = as(app, (await makeKey(app, `twin-other-${backend}-${plantSeq}`, 'ENGINEER', [encodeId('Plant', other.plantId)])).key);
        const hidden = await unchanged(app.database, () => elsewhere(M, { input }), AUDITED);
        assert.deepEqual(hidden.body.data.createTwinDataset, { __typename: 'NotFoundError', code: 'NOT_FOUND', message: `Plant "${input.plantId}" not found` });
      });
    });
  });
}
