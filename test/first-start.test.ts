import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { bootstrapAdminKey } from '../src/auth/service.ts';
import { RateLimiter } from '../src/auth/rate-limit.ts';
import { loadConfig } from '../src/config.ts';
import { migrateDatabase, openDatabase } from '../src/db/client.ts';
import { LOCK_FILE } from '../src/db/dir-lock.ts';
import { startServer } from '../src/graphql/server.ts';
import { type Backend, createTestApp, emptyPostgresDatabase, describe, it, testBackends, unchanged, waitFor } from './helpers.ts';
import { sklearnLogisticRegression } from './onnx-models.ts';
import { runServerProcess, type ServerProcess, startServerProcess } from './process.ts';

const KEY_LINE = /^\s+(pgk_\S+)$/m;
/** A stack frame of a Node stack trace. */
const STACK_FRAME = /^\s+at \S/m;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-first-'));
}

/** A fresh database for a server process: a new directory (PGlite) or an empty PostgreSQL database. */
async function freshStore(backend: Backend): Promise<{ env: Record<string, string>; dataDir: string; keyRows(): Promise<number>; drop(): Promise<void> }> {
  const dataDir = path.join(tempDir(), 'data');
  if (backend === 'pglite') {
    return {
      env: { PLANTGRAPH_DATA_DIR: dataDir, DATABASE_URL: '' },
      dataDir,
      async keyRows() {
        if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return 0;
        const db = await openDatabase({ dataDir });
        try {
          return (await db.query<{ n: number }>('select count(*)::int as n from api_keys'))[0].n;
        } finally {
          await db.close();
        }
      },
      async drop() {
        fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
      },
    };
  }
  const t = await emptyPostgresDatabase();
  return {
    env: { PLANTGRAPH_DATA_DIR: dataDir, DATABASE_URL: t.url },
    dataDir,
    async keyRows() {
      const c = new pg.Client({ connectionString: t.url });
      await c.connect();
      try {
        const exists = await c.query(`select to_regclass('public.api_keys') as t`);
        if (!exists.rows[0].t) return 0;
        return (await c.query('select count(*)::int as n from api_keys')).rows[0].n;
      } finally {
        await c.end();
      }
    },
    async drop() {
      await t.drop();
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

async function post(url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: await res.json() };
}

async function occupiedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '0.0.0.0', () => resolve()));
  return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise((resolve) => srv.close(() => resolve())) };
}

/** The PID of a process that has exited (for a stale lock). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

for (const backend of testBackends()) {
  describe(`first start [${backend}]`, () => {
    it('attack: a port in use on a fresh database fails fast with one line, creates nothing; the next start prints a usable key', async (t) => {
      const store = await freshStore(backend);
      const busy = await occupiedPort();
      try {
        const failed = await runServerProcess({ ...store.env, PORT: String(busy.port), HOST: '0.0.0.0', PLANTGRAPH_ADMIN_KEY: '' }, { timeoutMs: 60_000 });
        t.diagnostic(`port clash: exit ${failed.code} after ${failed.ms} ms: ${JSON.stringify(failed.output)}`);
        assert.notEqual(failed.code, 0);
        assert.equal(failed.output.trim(), `plantgraph: port ${busy.port} is in use; set PORT`);
        assert.doesNotMatch(failed.output, STACK_FRAME);
        assert.doesNotMatch(failed.output, /pgk_/);
        // Nothing was opened: no database files, no key (the time is mostly node + tsx; before, it seeded first).
        assert.equal(await store.keyRows(), 0);
        if (backend === 'pglite') assert.equal(fs.existsSync(store.dataDir), false, 'the data directory was not even created');
        assert.ok(failed.ms < 30_000, `${failed.ms} ms`);
        // The same for the separate metrics port: bound before anything is created.
        const metrics = await runServerProcess({ ...store.env, PLANTGRAPH_METRICS_PORT: String(busy.port), PLANTGRAPH_ADMIN_KEY: '' }, { timeoutMs: 60_000 });
        t.diagnostic(`metrics port clash: exit ${metrics.code} after ${metrics.ms} ms: ${JSON.stringify(metrics.output)}`);
        assert.notEqual(metrics.code, 0);
        assert.equal(metrics.output.trim(), `plantgraph: port ${busy.port} is in use; set PLANTGRAPH_METRICS_PORT`);
        assert.equal(await store.keyRows(), 0);
      } finally {
        await busy.close();
      }
      let server: ServerProcess | undefined;
      try {
        server = await startServerProcess({ ...store.env, PLANTGRAPH_ADMIN_KEY: '', PLANTGRAPH_SEED: 'none' });
        const key = KEY_LINE.exec(server.output())?.[1];
        assert.ok(key, server.output());
        assert.doesNotMatch(server.output(), /stopped before showing it/);
        const r = await post(server.url, key!, '{ me { role } }');
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.data.me.role, 'ADMIN');
      } finally {
        await server?.stop('SIGKILL');
        await store.drop();
      }
    });

    it('attack: a bootstrap key created but never shown is replaced at the next start, which says why', async (t) => {
      const store = await freshStore(backend);
      let server: ServerProcess | undefined;
      try {
        // What a start that died between creating the key and printing it leaves behind.
        const db = await openDatabase(backend === 'pglite' ? { dataDir: store.dataDir } : { databaseUrl: store.env.DATABASE_URL });
        await migrateDatabase(db);
        const lost = await bootstrapAdminKey(db.db, false);
        await db.close();
        assert.ok(lost);
        server = await startServerProcess({ ...store.env, PLANTGRAPH_ADMIN_KEY: '', PLANTGRAPH_SEED: 'none' });
        const out = server.output();
        t.diagnostic(out);
        assert.match(out, /An earlier start created an ADMIN key but stopped before showing it; that key \(one key\) is revoked/);
        const key = KEY_LINE.exec(out)?.[1];
        assert.ok(key, out);
        assert.notEqual(key, lost!.key);
        assert.equal((await post(server.url, key!, '{ me { role } }')).body.data.me.role, 'ADMIN');
        const old = await post(server.url, lost!.key, '{ me { role } }');
        assert.equal(old.status, 401);
        assert.equal(old.body.errors[0].extensions.code, 'UNAUTHENTICATED');
        await server.stop('SIGTERM');
        // Shown once: the next start creates nothing and prints no key.
        server = await startServerProcess({ ...store.env, PLANTGRAPH_ADMIN_KEY: '', PLANTGRAPH_SEED: 'none' });
        assert.doesNotMatch(server.output(), /pgk_/);
        await server.stop('SIGTERM');
        assert.equal(await store.keyRows(), 2);
      } finally {
        await server?.stop('SIGKILL');
        await store.drop();
      }
    });

    it('WebSocket connection_init failures close 4403 saying whether the key was missing, malformed or refused', async () => {
      const app = await createTestApp(backend, { seed: false });
      const server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      try {
        const url = `${server.url.replace('http', 'ws')}/graphql`;
        const close = (params: Record<string, unknown> | undefined) =>
          new Promise<{ code: number; reason: string }>((resolve) => {
            const client = createClient({
              url,
              webSocketImpl: WebSocket,
              retryAttempts: 0,
              lazy: false,
              onNonLazyError: () => {},
              connectionParams: params,
              on: { closed: (e: any) => resolve({ code: e.code, reason: String(e.reason) }) },
            });
            client.on('error', () => {});
          });
        const cases = await unchanged(app.database, async () => [
          await close(undefined),
          await close({ authorization: 'Basic abc' }),
          await close({ authorization: 'Bearer pgk_000000000000000000000000000000' }),
          await close({ authorization: 'Bearer not-a-key-at-all' }),
        ]);
        assert.deepEqual(cases, [
          { code: 4403, reason: 'Forbidden: missing credentials: send {"authorization": "Bearer <api key>"} in connection_init' },
          { code: 4403, reason: 'Forbidden: malformed authorization in connection_init: expected "Bearer <api key>"' },
          // An unknown key and garbage read the same: nothing tells which keys exist.
          { code: 4403, reason: 'Forbidden: invalid, expired or revoked credentials' },
          { code: 4403, reason: 'Forbidden: invalid, expired or revoked credentials' },
        ]);
      } finally {
        await server.close();
        await app.close();
      }
    });
  });
}

describe('first start: the PGlite data directory', () => {
  it('attack: two processes on one data directory: the second refuses naming the directory and PID, the first keeps its writes', async (t) => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const KEY = 'first-start-admin-key-0123456789';
    const env = { PLANTGRAPH_DATA_DIR: dataDir, DATABASE_URL: '', PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_SEED: 'none' };
    const create = (name: string) => `mutation { createApiKey(input: { name: "${name}", role: VIEWER }) { ... on CreateApiKeySuccess { apiKey { name } } } }`;
    const names = async (url: string) =>
      ((await post(url, KEY, '{ apiKeys(first: 100) { edges { node { name } } } }')).body.data.apiKeys.edges as any[]).map((e) => e.node.name).sort();
    let first: ServerProcess | undefined;
    try {
      first = await startServerProcess(env);
      assert.equal((await post(first.url, KEY, create('before'))).body.data.createApiKey.apiKey.name, 'before');
      const second = await runServerProcess(env, { timeoutMs: 60_000 });
      t.diagnostic(`second process: exit ${second.code} after ${second.ms} ms: ${JSON.stringify(second.output)}`);
      assert.notEqual(second.code, 0);
      assert.equal(
        second.output.trim(),
        `plantgraph: the data directory ${dataDir} is in use by another PlantGraph process (PID ${first.child.pid}); stop it, or set PLANTGRAPH_DATA_DIR to another directory (if no process ${first.child.pid} is PlantGraph, delete ${path.join(dataDir, LOCK_FILE)})`,
      );
      // The first goes on: it writes, and after a restart everything it wrote is there.
      assert.equal((await post(first.url, KEY, create('after'))).body.data.createApiKey.apiKey.name, 'after');
      assert.deepEqual(await names(first.url), ['after', 'before']);
      assert.equal(await first.stop('SIGTERM'), 0);
      assert.equal(fs.existsSync(path.join(dataDir, LOCK_FILE)), false, 'a clean stop releases the lock');
      first = await startServerProcess(env);
      assert.deepEqual(await names(first.url), ['after', 'before']);
      await first.stop('SIGKILL');
      // A lock left by a dead process is taken over.
      const stale = deadPid();
      fs.writeFileSync(path.join(dataDir, LOCK_FILE), `${stale}\n`);
      first = await startServerProcess(env);
      assert.deepEqual(await names(first.url), ['after', 'before']);
      assert.equal(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8').trim(), String(first.child.pid));
    } finally {
      await first?.stop('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('embedded PGlite opens with PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB as shared_buffers (default 32 MiB, not 128)', async () => {
    const byDefault = await openDatabase({ dataDir: 'memory://' });
    const small = await openDatabase({ dataDir: 'memory://', sharedBuffersMb: loadConfig({ PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB: '8' }).pgliteSharedBuffersMb });
    try {
      assert.deepEqual(await byDefault.query('show shared_buffers'), [{ shared_buffers: '32MB' }]);
      assert.deepEqual(await small.query('show shared_buffers'), [{ shared_buffers: '8MB' }]);
    } finally {
      await byDefault.close();
      await small.close();
    }
  });

  it('attack: an unwritable data directory says so at once, with the path and "permission denied"', async (t) => {
    const dir = tempDir();
    try {
      // Root ignores file permissions through its capabilities: as root the process runs without any (setpriv), so the
      // read-only mode of the directory holds for it. (Running it as another user fails where that user cannot read
      // the checkout, as in a clone under a private temporary directory.)
      const locked = path.join(dir, 'locked');
      fs.mkdirSync(locked, { mode: 0o755 });
      const asRoot = process.getuid?.() === 0;
      fs.chmodSync(locked, 0o555);
      const r = await runServerProcess(
        { PLANTGRAPH_DATA_DIR: locked, DATABASE_URL: '', PLANTGRAPH_ADMIN_KEY: 'unwritable-admin-key-0123456789', PLANTGRAPH_SEED: 'none', HOME: dir },
        { withoutCapabilities: asRoot, timeoutMs: 60_000 },
      );
      t.diagnostic(`unwritable (${asRoot ? 'as root without capabilities' : 'as this user'}): exit ${r.code} after ${r.ms} ms: ${JSON.stringify(r.output)}`);
      assert.notEqual(r.code, 0);
      assert.equal(r.output.trim(), `plantgraph: cannot use the data directory ${locked}: permission denied (set PLANTGRAPH_DATA_DIR or fix its permissions)`);
      assert.deepEqual(fs.readdirSync(locked), []);
      assert.ok(r.ms < 30_000, `${r.ms} ms`);
      // A path under a regular file (ENOTDIR).
      const file = path.join(dir, 'file');
      fs.writeFileSync(file, 'x');
      const r2 = await runServerProcess({
        PLANTGRAPH_DATA_DIR: path.join(file, 'data'),
        DATABASE_URL: '',
        PLANTGRAPH_ADMIN_KEY: 'unwritable-admin-key-0123456789',
      });
      t.diagnostic(`under a file: exit ${r2.code} after ${r2.ms} ms: ${JSON.stringify(r2.output)}`);
      assert.notEqual(r2.code, 0);
      assert.equal(
        r2.output.trim(),
        `plantgraph: cannot use the data directory ${path.join(file, 'data')}: it or one of its parents is not a directory (set PLANTGRAPH_DATA_DIR)`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('first start: PostgreSQL and configuration', () => {
  it('a missing PostgreSQL database suggests createdb', async (t) => {
    if (!testBackends().includes('postgres')) return;
    const name = `plantgraph_missing_${process.pid}`;
    const u = new URL(process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test');
    u.pathname = `/${name}`;
    const r = await runServerProcess({ DATABASE_URL: u.toString(), PLANTGRAPH_ADMIN_KEY: 'missing-db-admin-key-0123456789' });
    t.diagnostic(`missing database: exit ${r.code} after ${r.ms} ms: ${JSON.stringify(r.output)}`);
    assert.notEqual(r.code, 0);
    assert.equal(
      r.output.trim(),
      `plantgraph: the PostgreSQL database "${name}" does not exist at ${u}; create it with \`createdb ${name}\` (or fix DATABASE_URL)`,
    );
  });

  it('PLANTGRAPH_RATE_LIMIT_BURST=0 turns the rate limit off, as the README says', () => {
    const config = loadConfig({ PLANTGRAPH_RATE_LIMIT_BURST: '0' });
    assert.equal(config.limits.rateLimitBurst, 0);
    const limiter = new RateLimiter(config.limits.rateLimitPerMinute, config.limits.rateLimitBurst);
    assert.equal(limiter.enabled, false);
    for (let i = 0; i < 1000; i++) assert.equal(limiter.take('k', 0), 0);
    assert.throws(() => loadConfig({ PLANTGRAPH_RATE_LIMIT_BURST: '-1' }), /PLANTGRAPH_RATE_LIMIT_BURST must be an integer from 0 to 10000000, got "-1"/);
  });
});

describe('first start: npm start runs compiled JavaScript; start-up lines in one format', () => {
  it('npm start (scripts/start.mjs) serves from dist/: a first start and a restart, with their times', async (t) => {
    const store = await freshStore('pglite');
    let server: ServerProcess | undefined;
    try {
      let started = performance.now();
      server = await startServerProcess({ ...store.env, PLANTGRAPH_ADMIN_KEY: '' }, 90_000, 'compiled');
      const first = Math.round(performance.now() - started);
      const key = KEY_LINE.exec(server.output())?.[1];
      assert.ok(key, server.output());
      assert.doesNotMatch(server.output(), /tsx/);
      assert.equal((await post(server.url, key!, '{ plants(first: 1) { edges { node { name } } } }')).body.data.plants.edges[0].node.name, 'Riverside Works');
      await server.stop();
      started = performance.now();
      server = await startServerProcess({ ...store.env, PLANTGRAPH_ADMIN_KEY: '' }, 90_000, 'compiled');
      const restart = Math.round(performance.now() - started);
      assert.equal((await post(server.url, key!, '{ me { role } }')).body.data.me.role, 'ADMIN');
      // The bundle's own-module paths at run time: an ONNX model loads (onnxruntime, onnx-proto) and a training job
      // runs in a worker thread (dist/train-worker.js found from a chunk).
      const registered = await post(
        server.url,
        key!,
        'mutation($b: String!) { registerModel(input: { name: "m", task: CLASSIFICATION, onnxBase64: $b }) { __typename ... on RegisterModelSuccess { model { version inputs { name } } } } }',
        { b: Buffer.from(sklearnLogisticRegression([[1]], [0], { ints: [0, 1] }, 'binary')).toString('base64') },
      );
      assert.deepEqual(registered.body.data.registerModel, { __typename: 'RegisterModelSuccess', model: { version: 1, inputs: [{ name: 'X' }] } });
      const csv = ['x,y', ...Array.from({ length: 40 }, (_, i) => `${i},${i % 2}`)].join('\n');
      const dataset = await post(
        server.url,
        key!,
        'mutation($csv: String!) { importDataset(input: { name: "d", csv: $csv }) { ... on ImportDatasetSuccess { dataset { id } } } }',
        { csv },
      );
      const trained = await post(
        server.url,
        key!,
        'mutation($d: ID!) { trainModel(input: { name: "t", datasetId: $d, target: "y", features: ["x"], algorithm: LOGISTIC_REGRESSION, folds: 2 }) { ... on TrainModelSuccess { job { id } } } }',
        { d: dataset.body.data.importDataset.dataset.id },
      );
      const jobId = trained.body.data.trainModel.job.id;
      const job = await waitFor(
        async () => {
          const j = (await post(server!.url, key!, 'query($id: ID!) { job(id: $id) { status error } }', { id: jobId })).body.data.job;
          return j.status === 'QUEUED' || j.status === 'RUNNING' ? null : j;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      assert.deepEqual(job, { status: 'SUCCEEDED', error: null });
      t.diagnostic(`compiled start: first ${first} ms (initdb, migrations, demo seed), restart ${restart} ms (load ${os.loadavg()[0].toFixed(1)})`);
      assert.ok(first < 90_000 && restart < 60_000);
    } finally {
      await server?.stop('SIGKILL');
      await store.drop();
    }
  });

  it('LOG_FORMAT=json: every line the process writes is one JSON object, the key and the port clash too', async () => {
    const store = await freshStore('pglite');
    const busy = await occupiedPort();
    try {
      const clash = await runServerProcess({ ...store.env, PORT: String(busy.port), HOST: '0.0.0.0', LOG_FORMAT: 'json' });
      assert.notEqual(clash.code, 0);
      const clashLines = clash.output.trim().split('\n');
      assert.equal(clashLines.length, 1, clash.output);
      const clashEntry = JSON.parse(clashLines[0]);
      assert.equal(clashEntry.level, 50);
      assert.equal(clashEntry.msg, `port ${busy.port} is in use; set PORT`);
    } finally {
      await busy.close();
    }
    let server: ServerProcess | undefined;
    try {
      const child = await runJsonServer({ ...store.env, PLANTGRAPH_ADMIN_KEY: '', LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
      server = child;
      const entries = child
        .output()
        .trim()
        .split('\n')
        .map((line) => {
          assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
          return JSON.parse(line);
        });
      const listening = entries.find((e) => e.msg === 'PlantGraph listening');
      assert.match(listening.url, /^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
      assert.equal(listening.database, 'pglite');
      const key = entries.find((e) => typeof e.adminKey === 'string')?.adminKey;
      assert.match(key, /^pgk_/);
      assert.ok(entries.some((e) => /loaded the demo plant/.test(e.msg)));
      assert.equal((await post(child.url, key, '{ me { role } }')).body.data.me.role, 'ADMIN');
    } finally {
      await server?.stop('SIGKILL');
      await store.drop();
    }
  });

  it('the default format is lines for people: log lines too, no JSON; an unknown LOG_FORMAT is a configuration error', async () => {
    const store = await freshStore('pglite');
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess({ ...store.env, PLANTGRAPH_ADMIN_KEY: '', LOG_LEVEL: 'info' });
      const lines = server.output().trim().split('\n');
      assert.deepEqual(
        lines.filter((l) => l.trimStart().startsWith('{')),
        [],
      );
      assert.ok(
        lines.some((l) => /^\d\d:\d\d:\d\d INFO {2}loaded the demo plant/.test(l)),
        server.output(),
      );
      const bad = await runServerProcess({ ...store.env, LOG_FORMAT: 'xml' });
      assert.equal(bad.code, 2);
      assert.equal(bad.output.trim(), 'plantgraph: configuration error: LOG_FORMAT must be pretty or json; got "xml"');
    } finally {
      await server?.stop('SIGKILL');
      await store.drop();
    }
  });
});

/** A server process in LOG_FORMAT=json: waits for the `endpoints` object, the last start-up line. */
function runJsonServer(env: Record<string, string>): Promise<ServerProcess> {
  return startServerProcess(env, 60_000, 'source', /"msg":"endpoints","health":"(http:\/\/[^"]+)\/health"/);
}
