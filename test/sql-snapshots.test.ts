// Committed snapshots of the hand-written SQL each operation sends, in order (as PostGraphile's tests do): a change
// to a statement, an extra statement or a statement per point shows up as a diff in review.
//
// Snapshots live in test/snapshots/<name>.<backend>.sql, one statement per block (whitespace collapsed), blocks
// separated by a blank line. To create or update them: UPDATE_SNAPSHOTS=1 npm test -- test/sql-snapshots.test.ts,
// then review the diff and commit it. CI never rewrites them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingestTelemetry, type TelemetryPointIn } from '../src/telemetry/ingest.ts';
import { machineKpis, plantKpis } from '../src/telemetry/kpis.ts';
import { ensurePartitions } from '../src/telemetry/partitions.ts';
import { dayOf } from '../src/telemetry/timestamps.ts';
import { ManualClock } from '../src/core/clock.ts';
import { telemetryBuckets } from '../src/telemetry/read.ts';
import { recordMachineStates, recordProduction } from '../src/telemetry/states.ts';
import { after, type Backend, before, beforeEach, createTestApp, describe, it, type TestApp, testBackends, statementsDuring } from './helpers.ts';

const SNAPSHOT_DIR = fileURLToPath(new URL('./snapshots/', import.meta.url));
const UPDATE = process.env.UPDATE_SNAPSHOTS === '1';
const IN_CI = !!process.env.CI && process.env.CI !== 'false';

/** One line per statement: line comments dropped (the code has no `--` inside string literals), whitespace collapsed. */
function normaliseSql(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function matchSnapshot(name: string, backend: Backend, statements: string[]): void {
  if (IN_CI && process.env.UPDATE_SNAPSHOTS) {
    assert.fail('UPDATE_SNAPSHOTS is set in CI: snapshots are never rewritten in CI. Update them locally, review the diff and commit it.');
  }
  const file = path.join(SNAPSHOT_DIR, `${name}.${backend}.sql`);
  const rel = path.relative(process.cwd(), file);
  const actual = statements.map(normaliseSql).join('\n\n') + '\n';
  if (UPDATE) {
    fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file)) {
    assert.fail(`SQL snapshot ${rel} is missing. Create it with UPDATE_SNAPSHOTS=1 npm test -- test/sql-snapshots.test.ts, review it and commit it.`);
  }
  assert.equal(
    actual,
    fs.readFileSync(file, 'utf8'),
    `the SQL sent differs from ${rel}; if the change is intended, run UPDATE_SNAPSHOTS=1 npm test -- test/sql-snapshots.test.ts, review the diff and commit it`,
  );
}

// Fixed inputs and a fixed clock, so the sequence of statements is the same on every run.
const NOW = new Date('2026-03-02T12:00:00Z');
const at = (minutesBeforeNow: number, seconds = 0) => new Date(NOW.getTime() - minutesBeforeNow * 60_000 + seconds * 1000);
const EVERY_PLANT = { plantIds: null };

for (const backend of testBackends()) {
  describe(`SQL snapshots [${backend}]`, () => {
    let app: TestApp;
    let plantId: number;
    let machineIds: number[];

    before(async () => {
      app = await createTestApp(backend);
      plantId = (await app.database.query<{ id: number }>('select id from plants order by id limit 1'))[0].id;
      machineIds = (await app.database.query<{ id: number }>('select id from machines where plant_id = $1 order by id limit 2', [plantId])).map((r) => r.id);
      // The day's partition exists beforehand, so no test's statements depend on whether another one created it.
      await ensurePartitions(app.database, [dayOf(NOW.getTime())]);
    });
    after(() => app.close());
    // The alert rules are cached for 2 s: start every capture with an empty cache so that the rules query is
    // always part of the sequence.
    beforeEach(() => app.services.alerts.rules.invalidate());

    const capture = (fn: () => Promise<unknown>) => statementsDuring(app.database, fn);

    /** n points of two metrics on two machines, one a second from `start` (each test uses its own time range). */
    function points(n: number, start: Date): TelemetryPointIn[] {
      return Array.from({ length: n }, (_, i) => ({
        machineId: machineIds[i % 2],
        metric: i % 4 < 2 ? 'snap_temp' : 'snap_speed',
        ts: new Date(start.getTime() + Math.floor(i / 4) * 1000),
        value: i,
      }));
    }
    const ingest = (batch: Parameters<typeof ingestTelemetry>[2], method?: 'unnest' | 'copy') =>
      ingestTelemetry({ ...app.services, clock: new ManualClock(NOW) }, EVERY_PLANT, batch, { method });

    it('ingest, unnest path, with a batch ID', async () => {
      const stmts = await capture(async () => {
        assert.deepEqual(await ingest({ batchId: `snap-unnest-${backend}`, points: points(8, at(180)) }, 'unnest'), { accepted: 8, duplicates: 0 });
      });
      matchSnapshot('ingest-unnest', backend, stmts);
    });

    it('ingest, a repeated batch ID stores nothing', async () => {
      const batch = { batchId: `snap-repeat-${backend}`, points: points(4, at(170)) };
      await ingest(batch);
      app.services.alerts.rules.invalidate();
      const stmts = await capture(async () => {
        assert.deepEqual(await ingest(batch), { accepted: 0, duplicates: 4 });
      });
      matchSnapshot('ingest-repeated-batch', backend, stmts);
    });

    it('ingest, careful path when a point is already stored', async () => {
      const batch = points(8, at(160));
      await ingest({ points: batch.slice(0, 1) });
      app.services.alerts.rules.invalidate();
      const stmts = await capture(async () => {
        assert.deepEqual(await ingest({ points: batch }), { accepted: 7, duplicates: 1 });
      });
      matchSnapshot('ingest-careful', backend, stmts);
    });

    if (backend === 'postgres') {
      it('ingest, COPY path for 2,000 points or more', async () => {
        const stmts = await capture(async () => {
          assert.deepEqual(await ingest({ points: points(2_000, at(150)) }), { accepted: 2_000, duplicates: 0 });
        });
        matchSnapshot('ingest-copy', backend, stmts);
      });
    }

    it('telemetry buckets from raw points', async () => {
      const stmts = await capture(async () => {
        const buckets = await telemetryBuckets(app.database, machineIds, { metric: 'snap_temp', from: at(240), to: at(0), bucketSeconds: 30 });
        assert.equal(buckets.get(machineIds[0])!.length, 480);
      });
      matchSnapshot('telemetry-buckets-raw', backend, stmts);
    });

    it('telemetry buckets from the one-minute rollup', async () => {
      const stmts = await capture(async () => {
        const buckets = await telemetryBuckets(app.database, machineIds, { metric: 'snap_temp', from: at(240), to: at(0), bucketSeconds: 300 });
        assert.equal(buckets.get(machineIds[0])!.length, 48);
      });
      matchSnapshot('telemetry-buckets-rollup', backend, stmts);
    });

    it('machine KPIs', async () => {
      const stmts = await capture(async () => {
        const kpis = await machineKpis(app.database, machineIds, at(480), at(0), NOW);
        assert.equal(kpis.size, 2);
      });
      matchSnapshot('machine-kpis', backend, stmts);
    });

    it('plant KPIs', async () => {
      const stmts = await capture(async () => {
        const kpis = await plantKpis(app.database, [plantId], at(480), at(0), NOW);
        assert.equal(kpis.size, 1);
      });
      matchSnapshot('plant-kpis', backend, stmts);
    });

    it('recording machine states', async () => {
      const stmts = await capture(async () => {
        const events = await recordMachineStates({ ...app.services, clock: new ManualClock(NOW) }, EVERY_PLANT, [
          { machineId: machineIds[0], status: 'RUNNING', at: at(120) },
          { machineId: machineIds[0], status: 'DOWN', at: at(60) },
          { machineId: machineIds[1], status: 'IDLE', at: at(90) },
        ]);
        assert.equal(events.length, 3);
      });
      matchSnapshot('record-machine-states', backend, stmts);
    });

    it('recording production counts', async () => {
      const stmts = await capture(async () => {
        const n = await recordProduction({ ...app.services, clock: new ManualClock(NOW) }, EVERY_PLANT, [
          { machineId: machineIds[0], at: at(30), good: 10, scrap: 1 },
          { machineId: machineIds[1], at: at(30), good: 0, scrap: 0 },
        ]);
        assert.equal(n, 2);
      });
      matchSnapshot('record-production', backend, stmts);
    });
  });
}
