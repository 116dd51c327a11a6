import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Database, openDatabase } from '../src/db/client.ts';
import type { JobState } from '../src/jobs/job.ts';
import { workerExecArgv, workerFile } from '../src/jobs/pool.ts';
import { JobService } from '../src/jobs/service.ts';
import { jobUpdateTopic } from '../src/jobs/topics.ts';
import { createLogger } from '../src/logger.ts';
import { PgPubSub } from '../src/pubsub/index.ts';
import { newProbe, tickingJob } from './fixtures/jobs/kinds.ts';
import { createTestDatabase, describe, it, testBackends, waitFor } from './helpers.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = { name: 'test-admin', keyId: null };
const UNSCOPED_ADMIN = { plantIds: null, role: 'ADMIN' as const, name: 'test', keyId: null };

describe('worker files and worker threads under tsx', () => {
  it('a worker file is resolved beside its module with that module’s extension (.ts under tsx, .js compiled)', () => {
    assert.equal(workerFile('file:///app/src/predict/train.ts', './train-worker').href, 'file:///app/src/predict/train-worker.ts');
    assert.equal(workerFile('file:///app/dist/predict/train.js', './train-worker').href, 'file:///app/dist/predict/train-worker.js');
  });

  it('worker threads inherit tsx from the command line, and get its loader added when tsx was registered from code', () => {
    assert.equal(workerExecArgv(['--import', 'tsx'], '.ts'), undefined);
    assert.equal(
      workerExecArgv(['--require', '/x/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///x/node_modules/tsx/dist/loader.mjs'], '.ts'),
      undefined,
    );
    assert.equal(workerExecArgv([], '.js'), undefined, 'compiled JavaScript needs nothing');
    const added = workerExecArgv(['--max-old-space-size=512'], '.ts')!;
    assert.deepEqual(added.slice(0, 2), ['--max-old-space-size=512', '--import']);
    assert.equal(added[2], pathToFileURL(fs.realpathSync(path.join(root, 'node_modules/tsx/dist/loader.mjs'))).href);
  });

  it('a process started without --import tsx runs a .ts worker file in a worker thread', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['test/fixtures/jobs/pool-without-tsx-flag.mjs'], { cwd: root, timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.deepEqual(out.execArgv, []);
    assert.ok(out.result.threadId > 0);
    assert.match(out.result.module, /\/test\/fixtures\/jobs\/spin-worker\.ts$/);
  });
});

/** A service on its own connections and LISTEN/NOTIFY pub/sub: what another server process on the database has. */
async function processLike(url: string, concurrency: number) {
  const database = await openDatabase({ databaseUrl: url, poolSize: 3 });
  const pubsub = await PgPubSub.connect({ url, pool: database.pool! });
  const jobs = new JobService({ database, pubsub, logger: createLogger('silent'), config: { concurrency, workerThreads: 1, leaseSeconds: 1 } });
  return {
    database,
    pubsub,
    jobs,
    async close() {
      await jobs.stop();
      await pubsub.close();
      await database.close();
    },
  };
}

/** Starts test/fixtures/jobs/runner-process.ts and waits for its "ready <owner>" line. */
async function startRunnerProcess(env: Record<string, string>): Promise<{ child: ChildProcess; owner: string; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/jobs/runner-process.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const owner = await waitFor(() => /^ready (\S+)$/m.exec(out)?.[1], { timeoutMs: 60_000, message: () => `the runner process to start:\n${out}` });
    return { child, owner, exited };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

if (testBackends().includes('postgres')) {
  describe('jobs across processes [postgres]', () => {
    let db: { database: Database; url?: string; drop(): Promise<void> };
    let api: Awaited<ReturnType<typeof processLike>>;
    const row = async (id: number) => (await api.jobs.get({ plantIds: null }, id))!;
    before(async () => {
      db = await createTestDatabase('postgres');
      api = await processLike(db.url!, 0);
    });
    after(async () => {
      await api.close();
      await db.drop();
    });

    it('two runners on one database claim each job exactly once', async () => {
      const kind = 'test.count';
      const ran: { owner: string; id: number }[] = [];
      const a = await processLike(db.url!, 2);
      const b = await processLike(db.url!, 2);
      try {
        for (const p of [a, b]) {
          p.jobs.register(kind, {
            async run(ctx) {
              ran.push({ owner: p.jobs.runner.owner, id: ctx.job.id });
              await delay(15);
              return ctx.job.id;
            },
          });
        }
        api.jobs.register(kind, { run: () => null });
        a.jobs.start();
        b.jobs.start();
        const ids: number[] = [];
        for (let i = 0; i < 40; i++) ids.push((await api.jobs.enqueue({ kind, createdBy: ADMIN })).id);
        await waitFor(async () => (await api.jobs.list({ plantIds: null }, { kind, statuses: ['SUCCEEDED'], first: 100 })).jobs.length === 40, {
          message: () => `40 jobs SUCCEEDED (ran ${ran.length})`,
        });
        assert.deepEqual(
          ran.map((r) => r.id).sort((x, y) => x - y),
          ids,
          'each job ran once',
        );
        const byOwner = new Map<string, number>();
        for (const r of ran) byOwner.set(r.owner, (byOwner.get(r.owner) ?? 0) + 1);
        assert.equal(byOwner.size, 2, `both runners claimed jobs: ${JSON.stringify([...byOwner])}`);
        const rows = await api.database.query<{ attempts: number; n: number }>(
          `select attempts, count(*)::int as n from jobs where kind = $1 group by attempts`,
          [kind],
        );
        assert.deepEqual(rows, [{ attempts: 1, n: 40 }]);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a cancel sent through one process stops the job running in another within a second', async () => {
      const kind = 'test.remote-cancel';
      const probe = newProbe();
      const runner = await processLike(db.url!, 1);
      try {
        runner.jobs.register(kind, tickingJob(probe));
        api.jobs.register(kind, tickingJob(newProbe()));
        runner.jobs.start();
        const job = await api.jobs.enqueue({ kind, createdBy: ADMIN });
        await waitFor(() => probe.ticks >= 3, { message: 'the job to tick in the other process' });
        const askedAt = performance.now();
        await api.jobs.cancel(UNSCOPED_ADMIN, job.id);
        await waitFor(async () => (await row(job.id)).status === 'CANCELLED', { message: 'CANCELLED' });
        assert.ok(probe.abortedAt! - askedAt < 1_000, `aborted ${probe.abortedAt! - askedAt} ms after the cancel`);
        assert.ok(probe.lastTickAt! <= probe.abortedAt! && probe.settledAt! >= probe.abortedAt!);
      } finally {
        await runner.close();
      }
    });

    it('a process killed mid-job: its job is queued again and finished by another process, or FAILED with the reason; never left RUNNING', async () => {
      const kind = 'test.killed';
      api.jobs.register(kind, { run: () => null });
      const retried = await api.jobs.enqueue({ kind, createdBy: ADMIN, maxAttempts: 2 });
      const failed = await api.jobs.enqueue({ kind, createdBy: ADMIN, maxAttempts: 1 });
      const events: JobState[] = [];
      const updates = api.pubsub.subscribe(jobUpdateTopic, retried.id);
      const reading = (async () => {
        for await (const s of updates) events.push(s);
      })();
      const child = await startRunnerProcess({ DATABASE_URL: db.url!, HANG_KINDS: kind, PLANTGRAPH_JOB_LEASE_SECONDS: '1' });
      const survivor = await processLike(db.url!, 2);
      try {
        await waitFor(async () => [await row(retried.id), await row(failed.id)].every((j) => j.status === 'RUNNING' && j.message === 'hanging'), {
          message: 'both jobs to run in the child process',
        });
        assert.equal((await row(retried.id)).leaseOwner, child.owner);
        child.child.kill('SIGKILL');
        await child.exited;
        survivor.jobs.register(kind, { run: async (ctx) => ({ finishedBy: 'the survivor', attempt: ctx.job.attempts }) });
        survivor.jobs.start();
        await waitFor(async () => (await row(retried.id)).status === 'SUCCEEDED' && (await row(failed.id)).status === 'FAILED', {
          message: 'the survivor to recover both',
        });
        const r = await row(retried.id);
        assert.deepEqual([r.attempts, r.result, r.leaseOwner], [2, { finishedBy: 'the survivor', attempt: 2 }, null]);
        const f = await row(failed.id);
        assert.equal(f.attempts, 1);
        assert.match(f.error!, /^the server process running it stopped \(lease expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\); 1 of 1 attempts used$/);
        await waitFor(() => events.at(-1)?.status === 'SUCCEEDED', { message: 'the last event' });
        const requeued = events.find((e) => e.status === 'QUEUED');
        assert.match(requeued!.message!, /^queued again: the server process running it stopped \(lease expired at .*Z\)$/);
        assert.deepEqual(
          events.map((e) => e.status).filter((s, i, all) => s !== all[i - 1]),
          ['RUNNING', 'QUEUED', 'RUNNING', 'SUCCEEDED'],
          'what a subscriber in a third process saw',
        );
        const [{ n }] = await api.database.query<{ n: number }>(`select count(*)::int as n from jobs where kind = $1 and status = 'RUNNING'`, [kind]);
        assert.equal(n, 0);
      } finally {
        child.child.kill('SIGKILL');
        await survivor.close();
        await updates.return?.();
        await reading;
      }
    });
  });
}
