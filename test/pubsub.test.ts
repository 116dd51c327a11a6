import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import pg from 'pg';
import { defineTopic, LocalPubSub, PgPubSub, SlowConsumerError } from '../src/pubsub/index.ts';

const shared = defineTopic<{ n: number }>('test_shared', { shared: true });
const local = defineTopic<{ n: number }>('test_local', { shared: false });
const numbers = defineTopic<number>('test_numbers', { shared: false });
import { createTestDatabase, describe, it, testBackends, waitFor } from './helpers.ts';

async function take<T>(it: AsyncIterableIterator<T>, n: number, ms = 5_000): Promise<T[]> {
  const out: T[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n && Date.now() < deadline) {
    const r = await Promise.race([it.next(), new Promise<null>((res) => setTimeout(() => res(null), Math.max(1, deadline - Date.now())))]);
    if (r === null || r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('LocalPubSub', () => {
  it('delivers in order to every subscriber of a topic and ends a subscriber that falls behind', async () => {
    const ps = new LocalPubSub(3);
    const a = ps.subscribe(numbers, 1);
    const b = ps.subscribe(numbers, 1);
    let overflowed = 0;
    const slow = ps.subscribe(numbers, 1, { onOverflow: () => overflowed++ });
    for (let i = 1; i <= 3; i++) await ps.publish(numbers, 1, i);
    assert.deepEqual(await take(a, 3), [1, 2, 3]);
    assert.deepEqual(await take(b, 3), [1, 2, 3]);
    await ps.publish(numbers, 1, 4);
    assert.equal(overflowed, 1);
    await assert.rejects(slow.next(), SlowConsumerError);
    assert.deepEqual(await slow.next(), { value: undefined, done: true }, 'the failure is reported once, then the subscriber is done');
    assert.deepEqual(await take(a, 1), [4]);
    assert.equal(ps.subscriberCount(numbers.channel(1)), 2);
    await a.return!();
    assert.equal(ps.subscriberCount(numbers.channel(1)), 1);
    await ps.close();
  });
});

if (testBackends().includes('postgres')) {
  describe('PgPubSub [postgres]', () => {
    let url: string;
    let drop: () => Promise<void>;
    let poolA: pg.Pool;
    let poolB: pg.Pool;
    let A: PgPubSub;
    let B: PgPubSub;
    before(async () => {
      const t = await createTestDatabase('postgres');
      url = t.url!;
      drop = t.drop;
      poolA = new pg.Pool({ connectionString: url, max: 2 });
      poolB = new pg.Pool({ connectionString: url, max: 2 });
      A = await PgPubSub.connect({ url, pool: poolA });
      B = await PgPubSub.connect({ url, pool: poolB });
    });
    after(async () => {
      await A.close();
      await B.close();
      await poolA.end();
      await poolB.end();
      await drop();
    });

    it('shares the configured topics across processes exactly once, keeps the others local', async () => {
      const onA = A.subscribe(shared, 1);
      const onB = B.subscribe(shared, 1);
      const localOnB = B.subscribe(local, 1);
      await A.publish(shared, 1, { n: 1 });
      await A.publish(local, 1, { n: 2 });
      assert.deepEqual(await take(onA, 1), [{ n: 1 }]);
      assert.deepEqual(await take(onB, 1), [{ n: 1 }]);
      assert.deepEqual(await take(localOnB, 1, 500), [], 'telemetry stays in its process');
      assert.deepEqual(await take(onA, 1, 300), [], 'A does not get its own event twice');
      for (const it of [onA, onB, localOnB]) await it.return!();
    });

    it('re-establishes LISTEN after the connection is killed and delivers again', async () => {
      const onB = B.subscribe(shared, 2);
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const killed = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'LISTEN%' and pid <> pg_backend_pid()`,
      );
      await admin.end();
      assert.ok(killed.rowCount! >= 1);
      // B reconnects in the background: publish until an event gets through.
      let n = 0;
      const got = await waitFor(
        async () => {
          await A.publish(shared, 2, { n: ++n });
          const r = await take(onB, 1, 300);
          return r.length === 1 ? r : null;
        },
        { message: 'B to receive again after reconnecting' },
      );
      assert.equal(got.length, 1);
      await onB.return!();
    });
  });
}
