import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { encodeId } from '../src/core/ids.ts';
import { openDatabase } from '../src/db/client.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { createLogger } from '../src/logger.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { importPlant } from '../src/twin/import.ts';
import { createTestDatabase } from '../test/helpers.ts';
import { sklearnLogisticRegression } from '../test/onnx-models.ts';
const KEY = 'bench-predict-admin-key-0123456789';
const t = await createTestDatabase('postgres');
await t.database.close();
const database = await openDatabase({ databaseUrl: t.url, poolSize: 20 });
const env = { PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_RATE_LIMIT_BURST: '0', NODE_ENV: 'production' };
const config = { ...loadConfig(env), databaseUrl: t.url, logLevel: 'silent' };
const services = wireServices(config, database, createLogger('silent'));
const yoga = createYogaApp(services);
const { id: plantId } = await importPlant(database.db, {
  name: 'B',
  lines: Array.from({ length: 10 }, (_, l) => ({ name: `L${l}`, machines: Array.from({ length: 100 }, (_, m) => ({ name: `M${l}-${m}` })) })),
});
const ids = (await database.query<{ id: number }>('select id from machines where plant_id = $1 order by id', [plantId])).map((r) => r.id);
await ingestTelemetry(
  services,
  { plantIds: null },
  { points: ids.flatMap((machineId) => [1, 2, 3].map((k) => ({ machineId, metric: 'temperature', ts: new Date(Date.now() - k * 60000), value: 70 }))) },
);
await services.predictions.register({
  name: 'risk',
  task: 'CLASSIFICATION',
  bytes: sklearnLogisticRegression([[0.5]], [-36], { ints: [0, 1] }, 'binary'),
  features: ['t'],
  featureDefinitions: [{ name: 't', metric: 'temperature', aggregate: 'mean', windowSeconds: 600 }],
  createdBy: 'b',
});
const RISK = `query($plant: ID!) { plant(id: $plant) { lines { machines { id failureRisk(model: "risk") } } } }`;
const gql = async () =>
  (
    await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query: RISK, variables: { plant: encodeId('Plant', plantId) } }),
    })
  ).text();
await gql();
await gql();
let t0 = 0;
const seen: string[] = [];
database.sql.onStatement((sql, bg) => seen.push(`${(performance.now() - t0).toFixed(1)}ms ${bg ? 'BG ' : ''}${sql.slice(0, 100)}`));
for (let i = 0; i < 3; i++) {
  seen.length = 0;
  t0 = performance.now();
  const s = await gql();
  seen.push(`${(performance.now() - t0).toFixed(1)}ms done ${s.length}`);
  console.log(seen.join('\n'));
}
import { computeFeatures } from '../src/predict/features.ts';
for (let i = 0; i < 5; i++) {
  const a = performance.now();
  await computeFeatures(database, { machineIds: ids, definitions: [{ name: 't', metric: 'temperature', aggregate: 'mean', windowSeconds: 600 }] });
  console.log('features', (performance.now() - a).toFixed(1));
}
process.exit(0);
