// The MQTT bridge's sustained ingest: a publisher sends one-point JSON messages at a stated rate (QoS 1) through the
// local Mosquitto broker to the bridge (in this process, on a fresh PostgreSQL database; `--backend pglite` for the
// embedded one), for a stated time. Reports the rate asked, the rate
// the publisher achieved, the points stored per second from the first publish to the last point stored, and how
// long the bridge took to drain after the publisher stopped. Every message must be stored exactly once.
// Usage: npm run bench:mqtt [-- --rate 2000 --seconds 10]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startMqttBridge } from '../src/telemetry/mqtt.ts';
import { importPlant } from '../src/twin/import.ts';
import { createTestDatabase } from '../test/helpers.ts';
import { emitResult } from './result.ts';

const { values: opts } = parseArgs({
  options: { rate: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '10' }, backend: { type: 'string', default: 'postgres' } },
});
const rate = Number(opts.rate);
const seconds = Number(opts.seconds);
const BROKER = process.env.TEST_MQTT_URL || 'mqtt://127.0.0.1:1883';
const { database, url, drop } = await createTestDatabase(opts.backend === 'pglite' ? 'pglite' : 'postgres');
const services = wireServices({ ...loadConfig({}), databaseUrl: url, logLevel: 'silent' }, database, createLogger('silent'));
await importPlant(database.db, {
  name: 'mqtt-bench',
  lines: [{ name: 'L', machines: Array.from({ length: 20 }, (_, i) => ({ name: `M${i}` })) }],
  products: [],
  orders: [],
});
const prefix = `plantgraph-bench-${randomBytes(4).toString('hex')}`;
const bridge = startMqttBridge({ ...services, logger: createLogger('silent') }, { url: BROKER, prefix });
await bridge.ready();
const client = await mqtt.connectAsync(BROKER, { clientId: `${prefix}-pub` });
const count = async () => Number((await database.query<{ n: number }>('select count(*)::int as n from telemetry'))[0].n);

const total = Math.round(rate * seconds);
const base = Date.now() - 3_600_000;
const started = performance.now();
let sent = 0;
// Publish in 10 ms ticks at the asked rate.
while (sent < total) {
  const due = Math.min(total, Math.round(((performance.now() - started) / 1000) * rate) + 1);
  const pending: Promise<unknown>[] = [];
  for (; sent < due; sent++)
    pending.push(client.publishAsync(`${prefix}/mqtt-bench/M${sent % 20}/temp`, JSON.stringify({ ts: base + sent, value: sent % 100 }), { qos: 1 }));
  await Promise.all(pending);
  await new Promise((r) => setTimeout(r, 10));
}
const published = performance.now();
let stored = 0;
for (;;) {
  stored = await count();
  if (stored >= total || performance.now() - published > 120_000) break;
  await new Promise((r) => setTimeout(r, 20));
}
const done = performance.now();
const result = {
  mqtt_message_rate: rate,
  mqtt_published_per_second: total / ((published - started) / 1000),
  mqtt_points_per_second: stored / ((done - started) / 1000),
  mqtt_drain_seconds: (done - published) / 1000,
  mqtt_points_stored: stored,
  mqtt_points_sent: total,
  mqtt_rejected: bridge.stats.rejected,
};
console.log(JSON.stringify({ backend: database.kind, ...result }, null, 2));
if (stored !== total) console.log(`STORED ${stored} of ${total}`);
emitResult(result);
await client.endAsync();
await bridge.close();
await drop();
process.exit(stored === total ? 0 : 1);
