// Ingest benchmark: points per second through the GraphQL API (ingestTelemetry, columnar form, in-process through
// yoga.fetch) next to raw COPY (text and binary format) of the same points into the same table, in the same run, on a
// fresh PostgreSQL database. Request bodies and COPY data are prepared before timing; each batch goes in by each
// method in turn, into the emptied table. `npm run bench:ingest` runs it as the server runs in production
// (NODE_ENV=production): graphql-js is markedly slower at coercing large variable lists in development mode.
// Usage: npm run bench:ingest [-- --rounds 10 --batch 50000 --machines 100 --trials 2]
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts; the spread is over the batches (per-batch ratios).
// Needs PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), like the tests.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { from as copyFrom } from 'pg-copy-streams';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { encodeId } from '../src/core/ids.ts';
import { createLogger } from '../src/logger.ts';
import { importPlant } from '../src/twin/import.ts';
import { createTestDatabase } from '../test/helpers.ts';
import { emitResult, withSpread } from './result.ts';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '50000' },
    machines: { type: 'string', default: '100' },
    trials: { type: 'string', default: '2' },
  },
});
const rounds = Number(opts.rounds);
const batch = Number(opts.batch);
const machineCount = Number(opts.machines);
const trials = Number(opts.trials);
const METRICS = ['temperature', 'vibration', 'spindle_speed', 'power', 'pressure'];
const KEY = 'bench-admin-key-0123456789abcdef';

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** COPY binary format (what a raw loader would send at best): int4, text, timestamptz (int8 us since 2000), float8. */
function binaryCopy(pts: { machine: number; metric: string; ts: number; value: number }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
  for (const p of pts) {
    const m = Buffer.from(p.metric);
    const row = Buffer.alloc(2 + 8 + 4 + m.length + 12 + 12);
    let o = row.writeInt16BE(4, 0);
    o = row.writeInt32BE(4, o);
    o = row.writeInt32BE(p.machine, o);
    o = row.writeInt32BE(m.length, o);
    o += m.copy(row, o);
    o = row.writeInt32BE(8, o);
    o = row.writeBigInt64BE(BigInt(p.ts - PG_EPOCH_MS) * 1000n, o);
    o = row.writeInt32BE(8, o);
    row.writeDoubleBE(p.value, o);
    parts.push(row);
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const t = await createTestDatabase('postgres');
try {
  const { database } = t;
  await importPlant(database.db, {
    name: 'Bench Plant',
    lines: Array.from({ length: Math.ceil(machineCount / 50) }, (_, l) => ({
      name: `L${l}`,
      machines: Array.from({ length: Math.min(50, machineCount - l * 50) }, (_, m) => ({ name: `M${l}-${m}` })),
    })),
  });
  const ids = (await database.query<{ id: number }>('select id from machines order by id')).map((r) => r.id);
  const config = { ...loadConfig({ PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '0' }), databaseUrl: t.url, logLevel: 'silent' };
  const services = wireServices(config, database, createLogger('silent'));
  const yoga = createYogaApp(services);

  // Points: every machine reports every metric once a second; batches follow each other in time, ending an hour ago.
  const perSecond = ids.length * METRICS.length;
  const total = rounds * batch;
  const start = Math.floor((Date.now() - 3_600_000 - Math.ceil(total / perSecond) * 1000) / 1000) * 1000;
  const point = (i: number) => ({
    machine: ids[i % ids.length],
    metric: METRICS[Math.floor(i / ids.length) % METRICS.length],
    ts: start + Math.floor(i / perSecond) * 1000,
    value: Math.round(Math.sin(i) * 10_000) / 100,
  });

  // Request bodies and COPY text are prepared up front: both timings cover server and database work only.
  const ingestQuery =
    'mutation Ingest($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on IngestTelemetrySuccess { accepted duplicates } ... on ValidationError { message } } }';
  const bodies: string[] = [];
  const copyTexts: string[] = [];
  const copyBinaries: Buffer[] = [];
  const gid = new Map(ids.map((id) => [id, encodeId('Machine', id)]));
  for (let r = 0; r < rounds; r++) {
    const pts = Array.from({ length: batch }, (_, k) => point(r * batch + k));
    bodies.push(
      JSON.stringify({
        query: ingestQuery,
        variables: {
          input: {
            columns: {
              machineIds: pts.map((p) => gid.get(p.machine)),
              metrics: pts.map((p) => p.metric),
              ts: pts.map((p) => new Date(p.ts).toISOString()),
              values: pts.map((p) => p.value),
            },
          },
        },
      }),
    );
    copyTexts.push(pts.map((p) => `${p.machine}\t${p.metric}\t${new Date(p.ts).toISOString()}\t${p.value}\n`).join(''));
    copyBinaries.push(binaryCopy(pts));
  }

  const reset = async () => {
    await database.query('truncate telemetry, telemetry_1m, telemetry_latest, telemetry_batches');
    await database.query('checkpoint');
  };

  async function apiBatch(r: number): Promise<number> {
    const t0 = performance.now();
    const res = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: bodies[r],
    });
    const json = (await res.json()) as { data?: { ingestTelemetry?: { __typename: string; accepted?: number; message?: string } }; errors?: unknown };
    const ms = performance.now() - t0;
    const out = json.data?.ingestTelemetry;
    if (out?.__typename !== 'IngestTelemetrySuccess' || out.accepted !== batch) throw new Error(`ingest failed: ${JSON.stringify(json).slice(0, 500)}`);
    return ms;
  }

  async function copyBatch(r: number, format: 'text' | 'binary'): Promise<number> {
    const client = await database.pool!.connect();
    try {
      const t0 = performance.now();
      if (format === 'text') await pipeline(Readable.from([copyTexts[r]]), client.query(copyFrom('copy telemetry (machine_id, metric, ts, value) from stdin')));
      else
        await pipeline(Readable.from([copyBinaries[r]]), client.query(copyFrom('copy telemetry (machine_id, metric, ts, value) from stdin (format binary)')));
      return performance.now() - t0;
    } finally {
      client.release();
    }
  }

  const count = async () => Number((await database.query<{ n: number }>('select count(*)::int as n from telemetry'))[0].n);
  console.log(`PostgreSQL ${database.location}; NODE_ENV=${process.env.NODE_ENV ?? '(unset)'}`);
  console.log(`${rounds} batches x ${batch.toLocaleString('en-US')} points (${ids.length} machines x ${METRICS.length} metrics), ${trials} trial(s)`);
  console.log('Each batch is stored by each method in turn (order alternating), each time into the emptied table, so that load');
  console.log('from elsewhere on the machine hits all methods alike.');
  // Warm-up: one batch each way, not counted (JIT, plans, partitions created).
  await reset();
  await apiBatch(0);
  await reset();
  await copyBatch(0, 'binary');
  const times: Record<'api' | 'text' | 'binary', number> = { api: 0, text: 0, binary: 0 };
  const perBatchRatios: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    for (let r = 0; r < rounds; r++) {
      const order = (r + trial) % 2 === 0 ? (['api', 'text', 'binary'] as const) : (['binary', 'text', 'api'] as const);
      const batchMs: Record<string, number> = {};
      for (const which of order) {
        await reset();
        const ms = which === 'api' ? await apiBatch(r) : await copyBatch(r, which);
        times[which] += ms;
        batchMs[which] = ms;
        const n = await count();
        if (n !== batch) throw new Error(`${which}: ${n} rows stored, expected ${batch}`);
      }
      perBatchRatios.push(Math.min(batchMs.text, batchMs.binary) / batchMs.api);
    }
  }
  const points = rounds * batch * trials;
  const rate = (ms: number) => (points / ms) * 1000;
  const api = rate(times.api);
  const text = rate(times.text);
  const binary = rate(times.binary);
  const copy = Math.max(text, binary);
  const fmt = (x: number) => `${Math.round(x).toLocaleString('en-US')} points/s`;
  console.log('');
  console.log(`GraphQL API (ingestTelemetry, columnar, in-process): ${fmt(api)}`);
  console.log(`raw COPY into telemetry, text format:              ${fmt(text)}`);
  console.log(`raw COPY into telemetry, binary format:            ${fmt(binary)}`);
  console.log(`API / fastest raw COPY: ${((api / copy) * 100).toFixed(1)}% (goal: at least 40%); API / text COPY: ${((api / text) * 100).toFixed(1)}%`);
  const spread = withSpread('ingest_vs_copy_ratio', perBatchRatios);
  emitResult({
    ...spread,
    ingest_vs_copy_ratio: api / copy,
    ingest_vs_text_copy_ratio: api / text,
    ingest_api_points_per_second: api,
    ingest_copy_text_points_per_second: text,
    ingest_copy_binary_points_per_second: binary,
    ingest_points: points,
    // The server runs in this process: its RSS after the API ingested `points` (request bodies prepared beforehand included).
    rss_mb_after_ingest: process.memoryUsage().rss / 2 ** 20,
    ...(rounds * batch * trials >= 1_000_000 ? { rss_mb_after_1m_points: process.memoryUsage().rss / 2 ** 20 } : {}),
  });
  await yoga.dispose();
} finally {
  await t.drop();
}
