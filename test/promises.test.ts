// Promises of the code that had no test: the NOTIFY size fallback of PgPubSub, the 2 s alert-rule cache, and the
// retention of telemetry batch IDs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ManualClock } from '../src/core/clock.ts';
import { defineTopic, PgPubSub } from '../src/pubsub/index.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { ensurePartitions, maintainTelemetry, partitionName } from '../src/telemetry/partitions.ts';
import { DAY_MS, dayOf } from '../src/telemetry/timestamps.ts';
import { after, before, createTestApp, createTestDatabase, describe, it, type TestApp, testBackends } from './helpers.ts';

/** The next value of an iterator, or null when none arrives within ms. */
async function nextWithin<T>(it: AsyncIterableIterator<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([it.next(), new Promise<null>((res) => (timer = setTimeout(() => res(null), ms)))]);
  clearTimeout(timer);
  return r === null || r.done ? null : r.value;
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 15_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const count = async (app: TestApp, sql: string, params: unknown[] = []) =>
  Number((await app.database.query<{ n: number }>(`select count(*)::int as n from ${sql}`, params))[0].n);

if (testBackends().includes('postgres')) {
  describe('PgPubSub: events too large for NOTIFY [postgres]', () => {
    let drop: () => Promise<void>;
    let pools: pg.Pool[];
    let A: PgPubSub;
    let B: PgPubSub;
    const errorsOfA: string[] = [];
    const shared = defineTopic<{ s: string }>('test_notify_shared', { shared: true });
    const local = defineTopic<{ s: string }>('test_notify_local', { shared: false });
    const TOPIC = shared.channel(1);
    before(async () => {
      const t = await createTestDatabase('postgres');
      drop = t.drop;
      pools = [new pg.Pool({ connectionString: t.url, max: 2 }), new pg.Pool({ connectionString: t.url, max: 2 })];
      A = await PgPubSub.connect({ url: t.url!, pool: pools[0], onError: (m) => errorsOfA.push(m) });
      B = await PgPubSub.connect({ url: t.url!, pool: pools[1] });
    });
    after(async () => {
      await A.close();
      await B.close();
      for (const p of pools) await p.end();
      await drop();
    });

    /** A payload whose NOTIFY text ({ origin, topic, payload } as JSON) is exactly `bytes` long, using `char`. */
    function payloadOf(bytes: number, char: string) {
      const envelope = (s: string) => Buffer.byteLength(JSON.stringify({ o: randomUUID(), t: TOPIC, p: { s } }));
      const n = Math.floor((bytes - envelope('')) / Buffer.byteLength(char));
      const p = { s: char.repeat(n) };
      assert.equal(envelope(p.s), bytes - ((bytes - envelope('')) % Buffer.byteLength(char)));
      return p;
    }

    it('delivers an oversized event to local subscribers only, reports it, and keeps sending small ones', async () => {
      const localA = A.subscribe(shared, 1);
      const remoteB = B.subscribe(shared, 1);
      errorsOfA.length = 0;
      const fits = payloadOf(7_900, 'x');
      // 4,000 characters but 8,000 bytes: the limit is on bytes.
      const tooLarge = { s: 'é'.repeat(4_000) };
      const small = { s: 'small' };

      await A.publish(shared, 1, tooLarge);
      await A.publish(shared, 1, fits);
      await A.publish(shared, 1, small);

      for (const expected of [tooLarge, fits, small])
        assert.deepEqual(await nextWithin(localA, 5_000), expected, 'A delivers every event to its own subscribers');
      // NOTIFYs arrive in commit order, so if the oversized event had been sent B would see it first.
      assert.deepEqual(await nextWithin(remoteB, 5_000), fits, 'the 7,900-byte event is the first to reach B');
      assert.deepEqual(await nextWithin(remoteB, 5_000), small);
      assert.equal(errorsOfA.length, 1, JSON.stringify(errorsOfA));
      assert.match(errorsOfA[0], /event on test_notify_shared:1 is too large for NOTIFY \(\d{4} bytes\); delivered in this process only/);
      assert.equal(await nextWithin(localA, 200), null, 'nothing delivered twice');
      await localA.return!();
      await remoteB.return!();
    });

    it('does not report a large event on a topic that is not shared', async () => {
      errorsOfA.length = 0;
      const onLocal = A.subscribe(local, 1);
      const big = { s: 'x'.repeat(20_000) };
      await A.publish(local, 1, big);
      assert.deepEqual(await nextWithin(onLocal, 5_000), big);
      assert.deepEqual(errorsOfA, []);
      await onLocal.return!();
    });
  });
}

for (const backend of testBackends()) {
  describe(`alert rule cache [${backend}]`, () => {
    let app: TestApp;
    let plantId: number;
    let plantGid: string;
    let machineId: number;
    before(async () => {
      app = await createTestApp(backend);
      plantId = (await app.database.query<{ id: number }>('select id from plants order by id limit 1'))[0].id;
      machineId = (await app.database.query<{ id: number }>('select id from machines where plant_id = $1 order by id limit 1', [plantId]))[0].id;
      plantGid = Buffer.from(`Plant:${plantId}`).toString('base64');
    });
    after(() => app.close());

    const TTL_MS = 2_000;
    const breach = (metric: string) => ingestTelemetry(app.services, { plantIds: null }, { points: [{ machineId, metric, ts: new Date(), value: 150 }] });
    const alertsOn = (metric: string) => count(app, `alerts a join alert_rules r on r.id = a.rule_id where r.metric = $1`, [metric]);
    /** Inserts a rule the way another process would: straight into the database, so this process's cache is not told. */
    const insertRule = async (metric: string) =>
      app.database.query(
        `insert into alert_rules (plant_id, name, kind, severity, metric, comparator, threshold) values ($1, $2, 'THRESHOLD', 'WARNING', $2, 'GT', 100)`,
        [plantId, metric],
      );

    it('a rule written by another process is used only once the 2 s cache has expired', async (t) => {
      app.services.alerts.rules.invalidate();
      const filledFrom = Date.now();
      await breach('cache_warm'); // the evaluator caches the plant's rules: none
      await insertRule('ttl_probe');
      await breach('ttl_probe');
      const checkedBy = Date.now();
      if (checkedBy - filledFrom <= TTL_MS) assert.equal(await alertsOn('ttl_probe'), 0, 'the cached (empty) rule list was used');
      else t.diagnostic(`the machine took ${checkedBy - filledFrom} ms; the "not yet" half could not be checked`);
      let seenBy = 0;
      await waitFor(
        'the new rule to raise an alert',
        async () => {
          await breach('ttl_probe');
          seenBy = Date.now();
          return (await alertsOn('ttl_probe')) > 0;
        },
        15_000,
        100,
      );
      assert.ok(seenBy - filledFrom > TTL_MS, `seen after ${seenBy - filledFrom} ms`);
      assert.equal(await alertsOn('ttl_probe'), 1);
    });

    it('invalidate() makes a rule visible at once', async (t) => {
      app.services.alerts.rules.invalidate();
      const filledFrom = Date.now();
      await breach('cache_warm');
      await insertRule('invalidate_probe');
      app.services.alerts.rules.invalidate();
      await breach('invalidate_probe');
      if (Date.now() - filledFrom > TTL_MS) t.diagnostic('slower than the TTL: this run does not tell invalidate() from expiry');
      assert.equal(await alertsOn('invalidate_probe'), 1);
    });

    it('a rule created through the API in this process is used at once', async (t) => {
      app.services.alerts.rules.invalidate();
      const filledFrom = Date.now();
      await breach('cache_warm');
      const r = await app.gql(`mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename } }`, {
        input: { plantId: plantGid, name: 'api_probe', kind: 'THRESHOLD', severity: 'WARNING', metric: 'api_probe', comparator: 'GT', threshold: 100 },
      });
      assert.equal(r.body.data?.createAlertRule.__typename, 'CreateAlertRuleSuccess', JSON.stringify(r.body));
      await breach('api_probe');
      if (Date.now() - filledFrom > TTL_MS) t.diagnostic('slower than the TTL: this run does not tell invalidation from expiry');
      assert.equal(await alertsOn('api_probe'), 1);
    });
  });

  describe(`telemetry batch ID retention [${backend}]`, () => {
    let app: TestApp;
    let machineId: number;
    before(async () => {
      app = await createTestApp(backend);
      machineId = (await app.database.query<{ id: number }>('select id from machines order by id limit 1'))[0].id;
    });
    after(() => app.close());

    it('maintenance forgets batch IDs older than the raw retention with the old partitions and rollups, and keeps the rest', async () => {
      const { retentionDays, rollupRetentionDays } = app.services.config.telemetry;
      assert.deepEqual([retentionDays, rollupRetentionDays], [90, 400]);
      const now = new Date();
      const daysAgo = (d: number) => new Date(now.getTime() - d * DAY_MS);
      const points = (metric: string, n = 3) =>
        Array.from({ length: n }, (_, i) => ({ machineId, metric, ts: new Date(now.getTime() - 60_000 + i * 1000), value: i }));
      const ingest = (batchId: string, metric: string) =>
        ingestTelemetry({ ...app.services, clock: new ManualClock(now) }, { plantIds: null }, { batchId, points: points(metric) });

      assert.deepEqual(await ingest('fresh', 'retention_a'), { accepted: 3, duplicates: 0 });
      await app.database.query(`insert into telemetry_batches (batch_id, points, received_at) values ('expired', 3, $1), ('kept-89d', 3, $2)`, [
        daysAgo(91).toISOString(),
        daysAgo(89).toISOString(),
      ]);
      await app.database.query(
        `insert into telemetry_1m (machine_id, metric, minute, count, sum, min, max) values ($1, 'old_rollup', $2, 1, 1, 1, 1), ($1, 'kept_rollup', $3, 1, 1, 1, 1)`,
        [
          machineId,
          new Date(Math.floor(daysAgo(401).getTime() / 60_000) * 60_000).toISOString(),
          new Date(Math.floor(daysAgo(200).getTime() / 60_000) * 60_000).toISOString(),
        ],
      );
      const oldDay = dayOf(daysAgo(100).getTime());
      await ensurePartitions(app.database, [oldDay]);

      const result = await maintainTelemetry(app.database, app.services.config.telemetry, now);

      assert.ok(result.dropped.includes(partitionName(oldDay)), JSON.stringify(result));
      assert.equal(await count(app, `pg_class where relname = $1`, [partitionName(oldDay)]), 0);
      const batches = (await app.database.query<{ batch_id: string }>('select batch_id from telemetry_batches order by batch_id')).map((r) => r.batch_id);
      assert.deepEqual(batches, ['fresh', 'kept-89d']);
      const rollups = (await app.database.query<{ metric: string }>(`select metric from telemetry_1m where metric like '%_rollup' order by metric`)).map(
        (r) => r.metric,
      );
      assert.deepEqual(rollups, ['kept_rollup']);

      // A retried batch is still recognised by its ID, even with other points; the expired ID is new again.
      assert.deepEqual(await ingest('fresh', 'retention_b'), { accepted: 0, duplicates: 3 });
      assert.deepEqual(await ingest('kept-89d', 'retention_c'), { accepted: 0, duplicates: 3 });
      assert.deepEqual(await ingest('expired', 'retention_d'), { accepted: 3, duplicates: 0 });
      assert.equal(await count(app, `telemetry where metric in ('retention_b', 'retention_c')`), 0);
    });
  });
}
