import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import mqtt from 'mqtt';
import { createLogger } from '../src/logger.ts';
import { type MqttBridge, startMqttBridge } from '../src/telemetry/mqtt.ts';
import { createTestApp, describe, it, type TestApp, testBackends, waitFor } from './helpers.ts';

const BROKER = process.env.TEST_MQTT_URL || 'mqtt://127.0.0.1:1883';

for (const backend of testBackends()) {
  describe(`MQTT bridge [${backend}]`, () => {
    let app: TestApp;
    let bridge: MqttBridge;
    let client: mqtt.MqttClient;
    // A topic prefix of our own, so parallel runs on the same broker do not see each other's messages.
    const prefix = `plantgraph-test-${randomBytes(4).toString('hex')}`;
    let plant: string;
    let machines: { id: number; name: string }[];

    before(async () => {
      app = await createTestApp(backend);
      plant = (await app.database.query<{ name: string }>('select name from plants limit 1'))[0].name;
      machines = await app.database.query<{ id: number; name: string }>('select id, name from machines order by id');
      bridge = startMqttBridge({ ...app.services, logger: createLogger('silent') }, { url: BROKER, prefix, flushMs: 100 });
      await bridge.ready();
      client = await mqtt.connectAsync(BROKER, { clientId: `plantgraph-test-pub-${randomBytes(4).toString('hex')}` });
    });
    after(async () => {
      await client?.endAsync();
      await bridge?.close();
      await app.close();
    });

    const count = async (metric: string) =>
      Number((await app.database.query<{ n: number }>('select count(*)::int as n from telemetry where metric = $1', [metric]))[0].n);

    it('stores messages published by a real MQTT client, and counts bad ones without stopping', async () => {
      const base = Math.floor(Date.now() / 1000) * 1000 - 600_000;
      const topic = (machine: string, metric: string) => `${prefix}/${encodeURIComponent(plant)}/${encodeURIComponent(machine)}/${metric}`;
      const sent: { machine: number; ts: number; value: number }[] = [];
      for (let i = 0; i < 40; i++) {
        const m = machines[i % 4];
        const ts = base + i * 1000;
        sent.push({ machine: m.id, ts, value: i * 1.5 });
        // Half with ISO timestamps, half with epoch milliseconds.
        await client.publishAsync(topic(m.name, 'spindle/temp'), JSON.stringify({ ts: i % 2 ? new Date(ts).toISOString() : ts, value: i * 1.5 }), { qos: 1 });
      }
      const bad = [
        [topic(machines[0].name, 'spindle/temp'), 'not json'],
        [topic(machines[0].name, 'spindle/temp'), JSON.stringify({ ts: base, value: 'hot' })],
        [topic('No-Such-Machine', 'spindle/temp'), JSON.stringify({ ts: base, value: 1 })],
        [topic(machines[0].name, 'spindle/temp'), JSON.stringify({ ts: Date.now() + 3 * 86_400_000, value: 1 })],
        [topic(machines[0].name, 'spindle/temp'), JSON.stringify({ ts: '2026-01-01 10:00', value: 1 })],
        [`${prefix}/${encodeURIComponent(plant)}`, JSON.stringify({ ts: base, value: 1 })],
      ] as const;
      for (const [t, payload] of bad) await client.publishAsync(t, payload, { qos: 1 });

      await waitFor(async () => (await count('spindle/temp')) === 40 && bridge.stats.rejected === bad.length, {
        message: () => `40 stored points and ${bad.length} rejected messages (${JSON.stringify(bridge.stats)})`,
      });
      const rows = await app.database.query<{ machine_id: number; ts: Date; value: number }>(
        `select machine_id, ts, value from telemetry where metric = 'spindle/temp' order by ts`,
      );
      assert.deepEqual(
        rows.map((r) => ({ machine: r.machine_id, ts: new Date(r.ts).getTime(), value: r.value })),
        sent,
      );
      assert.equal(bridge.stats.received, 40 + bad.length);
      assert.equal(bridge.stats.accepted, 40);
      assert.equal(bridge.stats.failed, 0);
      assert.ok(bridge.stats.flushes >= 1);

      // Still running: a message after the bad ones arrives too, and a redelivered one is a duplicate.
      await client.publishAsync(topic(machines[5].name, 'after'), JSON.stringify({ ts: base, value: 7 }), { qos: 1 });
      await client.publishAsync(topic(machines[5].name, 'after'), JSON.stringify({ ts: base, value: 7 }), { qos: 1 });
      await waitFor(async () => (await count('after')) === 1 && bridge.stats.duplicates + bridge.stats.accepted === 42, {
        message: () => `the redelivered message (${JSON.stringify(bridge.stats)})`,
      });
      const latest = await app.gql(`{ plants { edges { node { machines { name latest(metric: "after") { value } } } } } }`);
      const m5 = latest.body.data.plants.edges[0].node.machines.find((x: any) => x.name === machines[5].name);
      assert.equal(m5.latest.value, 7);
    });

    it('fuzz: 200 payloads of random bytes (and random topics) are counted as rejected, store nothing, and the bridge keeps working', async () => {
      // A bridge of its own (its own topic prefix), so the other tests' counts are not touched.
      const own = `${prefix}-fuzz`;
      const fuzzBridge = startMqttBridge({ ...app.services, logger: createLogger('silent') }, { url: BROKER, prefix: own, flushMs: 100 });
      try {
        await fuzzBridge.ready();
        const total = Number((await app.database.query<{ n: number }>('select count(*)::int as n from telemetry'))[0].n);
        const machine = encodeURIComponent(machines[1].name);
        for (let i = 0; i < 200; i++) {
          const junk = randomBytes(1 + (i % 97) * 13);
          const t = i % 4 === 0 ? `${own}/${junk.toString('hex').slice(0, 20)}/${machine}/m` : `${own}/${encodeURIComponent(plant)}/${machine}/fuzz`;
          await client.publishAsync(t, junk, { qos: 1 });
        }
        await waitFor(() => fuzzBridge.stats.received === 200 && fuzzBridge.stats.rejected === 200, {
          message: () => `200 rejected (${JSON.stringify(fuzzBridge.stats)})`,
        });
        assert.equal(Number((await app.database.query<{ n: number }>('select count(*)::int as n from telemetry'))[0].n), total);
        await client.publishAsync(`${own}/${encodeURIComponent(plant)}/${machine}/fuzz-after`, JSON.stringify({ ts: Date.now() - 1000, value: 3 }), { qos: 1 });
        await waitFor(async () => (await count('fuzz-after')) === 1);
      } finally {
        await fuzzBridge.close();
      }
    });

    it('stores a message without ts at the time of receipt, and flushes what is buffered on close', async () => {
      // A bridge of its own (own topic prefix, no timed flush before close), so only close() can store the point.
      const ownPrefix = `${prefix}-close`;
      const own = startMqttBridge({ ...app.services, logger: createLogger('silent') }, { url: BROKER, prefix: ownPrefix, flushMs: 3_600_000 });
      try {
        await own.ready();
        const t0 = Date.now();
        await client.publishAsync(`${ownPrefix}/${encodeURIComponent(plant)}/${encodeURIComponent(machines[6].name)}/now`, JSON.stringify({ value: 3 }), {
          qos: 1,
        });
        await waitFor(() => own.stats.received === 1, { message: 'the bridge to receive the message' });
        assert.equal(await count('now'), 0, 'buffered, not stored yet');
        await own.close();
        assert.deepEqual(own.stats, { received: 1, accepted: 1, duplicates: 0, rejected: 0, failed: 0, flushes: 1 }, 'close() flushed once');
        const rows = await app.database.query<{ ts: Date; value: number }>(`select ts, value from telemetry where metric = 'now'`);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].value, 3);
        const ts = new Date(rows[0].ts).getTime();
        assert.ok(ts >= t0 - 1000 && ts <= Date.now() + 1000);
      } finally {
        await own.close();
      }
    });
  });
}
