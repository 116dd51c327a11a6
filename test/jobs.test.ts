import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { encodeId } from '../src/core/ids.ts';
import { startServer, type RunningServer } from '../src/graphql/server.ts';
import type { Job, JobState } from '../src/jobs/job.ts';
import { claimJobs } from '../src/jobs/lease.ts';
import { followJob } from '../src/jobs/follow.ts';
import { requestCancel } from '../src/jobs/queue.ts';
import { JobAbort } from '../src/jobs/definition.ts';
import { JobService } from '../src/jobs/service.ts';
import { jobUpdateTopic, updateEvent } from '../src/jobs/topics.ts';
import { createLogger } from '../src/logger.ts';
import {
  AUDITED,
  as,
  createTestApp,
  describe,
  it,
  makeKey,
  statementsDuring,
  subscribe,
  TEST_ADMIN_KEY,
  type TestApp,
  testBackends,
  unchanged,
  waitFor,
} from './helpers.ts';
import { gate, newProbe, spinningJob, tickingJob } from './fixtures/jobs/kinds.ts';

const JOB = `query($id: ID!) { job(id: $id) { id kind status progress message error result attempts cancelRequested createdBy startedAt finishedAt plant { name } } }`;
const CANCEL = `mutation($id: ID!) { cancelJob(id: $id) { __typename ... on CancelJobSuccess { job { status cancelRequested finishedAt } } ... on Error { code message } ... on NotFoundError { id } } }`;
const UPDATES = `subscription($id: ID!) { jobUpdates(id: $id) { status progress message result attempts plant { name } } }`;

const ADMIN = { name: 'test-admin', keyId: null };
const UNSCOPED_ADMIN = { plantIds: null, role: 'ADMIN' as const, name: 'test', keyId: null };
let kindNo = 0;
/** A kind name of its own for each test (a kind is registered once per service). */
const kind = (what: string) => `test.${what}.${++kindNo}`;

for (const backend of testBackends()) {
  describe(`jobs [${backend}]`, () => {
    let app: TestApp;
    /** The app's service, never started: it queues, cancels and knows the kinds' roles, like a process serving the API. */
    let api: JobService;
    /** A runner on the same database and pub/sub, like another process; runs only the kinds registered on it. */
    let worker: JobService;
    let plantId: number;
    let otherPlantId: number;
    const gid = (id: number) => encodeId('Job', id);
    const row = async (id: number) => (await api.get({ plantIds: null }, id))!;
    const service = (opts: ConstructorParameters<typeof JobService>[1] = {}, concurrency = 4) =>
      new JobService(
        { database: app.database, pubsub: app.services.pubsub, logger: createLogger('silent'), config: { ...app.services.config.jobs, concurrency } },
        opts,
      );
    /** Registers a kind with the API and with the worker. */
    const both = (k: string, definition: Parameters<JobService['register']>[1]) => {
      api.register(k, definition);
      worker.register(k, definition);
    };
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_JOB_LEASE_SECONDS: '1' } });
      api = app.services.jobs;
      worker = service();
      worker.start();
      const [a] = await app.database.query<{ id: number }>(`insert into plants (name) values ('Jobs Plant') returning id`);
      plantId = a.id;
      const [b] = await app.database.query<{ id: number }>(`insert into plants (name) values ('Jobs Other Plant') returning id`);
      otherPlantId = b.id;
    });
    after(async () => {
      await worker.stop();
      await app.close();
    });

    it('lifecycle over the real server: queued, claimed, progress events on jobUpdates, the final state with its result, then complete', async () => {
      const stopped = service();
      const k = kind('lifecycle');
      const go = gate();
      const definition = {
        async run(ctx: { params: unknown; progress(f: number, m?: string): void }) {
          ctx.progress(0.5, 'half way');
          await go.wait;
          return { answer: 42, echoed: ctx.params };
        },
      };
      api.register(k, definition);
      stopped.register(k, definition);
      const job = await api.enqueue({ kind: k, params: { n: 7 }, plantId, createdBy: ADMIN });
      assert.equal(job.status, 'QUEUED');
      const server: RunningServer = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      try {
        const sub = await subscribe(
          server.url,
          TEST_ADMIN_KEY,
          UPDATES,
          { id: gid(job.id) },
          {
            live: { pubsub: app.services.pubsub, topic: `jobUpdates:${job.id}` },
          },
        );
        await sub.waitFor(1);
        stopped.start();
        await sub.waitFor(3);
        go.open();
        await waitFor(() => sub.completed, { message: 'the subscription to complete' });
        const seen = sub.events.map((e) => e.data.jobUpdates);
        const plant = { name: 'Jobs Plant' };
        assert.deepEqual(sub.errors, []);
        assert.deepEqual(seen, [
          { status: 'QUEUED', progress: 0, message: null, result: null, attempts: 0, plant },
          { status: 'RUNNING', progress: 0, message: null, result: null, attempts: 1, plant },
          { status: 'RUNNING', progress: 0.5, message: 'half way', result: null, attempts: 1, plant },
          { status: 'SUCCEEDED', progress: 1, message: 'half way', result: { answer: 42, echoed: { n: 7 } }, attempts: 1, plant },
        ]);
        await sub.dispose();
        assert.equal(app.services.pubsub.subscriberCount(`jobUpdates:${job.id}`), 0, 'no subscriber is left on the topic');

        // A finished job yields its final state at once, then completes.
        const late = await subscribe(server.url, TEST_ADMIN_KEY, UPDATES, { id: gid(job.id) });
        await waitFor(() => late.completed, { message: 'the late subscription to complete' });
        assert.deepEqual(
          late.events.map((e) => e.data.jobUpdates.status),
          ['SUCCEEDED'],
        );
        await late.dispose();
      } finally {
        await server.close();
        await stopped.stop();
      }
      const r = await app.gql(JOB, { id: gid(job.id) });
      const j = r.body.data.job;
      assert.equal(j.status, 'SUCCEEDED');
      assert.equal(j.createdBy, 'test-admin');
      assert.equal(j.plant.name, 'Jobs Plant');
      assert.ok(new Date(j.finishedAt) >= new Date(j.startedAt));
    });

    it('progress is written at most every 250 ms, and the last report always reaches the final state', async () => {
      const k = kind('throttle');
      both(k, {
        async run(ctx) {
          const end = performance.now() + 1_200;
          let i = 0;
          while (performance.now() < end) {
            ctx.progress(Math.min(0.9, i / 100), `report ${++i}`);
            await new Promise((r) => setTimeout(r, 5));
          }
          ctx.progress(0.9, 'last report');
          return 'done';
        },
      });
      const updates: JobState[] = [];
      const job = await api.enqueue({ kind: k, createdBy: ADMIN });
      const events = app.services.pubsub.subscribe(jobUpdateTopic, job.id);
      const reading = (async () => {
        for await (const s of events) {
          updates.push(s);
          if (s.status === 'SUCCEEDED' || s.status === 'FAILED') break;
        }
      })();
      await reading;
      const progress = updates.filter((u) => u.status === 'RUNNING' && u.message !== null);
      assert.ok(progress.length >= 2 && progress.length <= 7, `${progress.length} progress writes in 1.2 s`);
      // The database's time of each write (its statement's start): about the interval apart (250 ms), less some queueing.
      for (let i = 1; i < progress.length; i++) {
        const gap = progress[i].updatedAt.getTime() - progress[i - 1].updatedAt.getTime();
        assert.ok(gap >= 200, `writes ${i - 1} and ${i} ${gap} ms apart`);
      }
      const last = updates[updates.length - 1];
      assert.equal(last.status, 'SUCCEEDED');
      assert.equal(last.message, 'last report');
      assert.equal((await row(job.id)).result, 'done');
    });

    it('a QUEUED job is cancelled at once; cancelling it again is a ConflictError; both are audited', async () => {
      const k = kind('queued');
      api.register(k, tickingJob(newProbe()));
      const job = await api.enqueue({ kind: k, plantId, createdBy: ADMIN });
      const first = await unchanged(app.database, () => app.gql(CANCEL, { id: gid(job.id) }), AUDITED);
      assert.equal(first.body.data.cancelJob.__typename, 'CancelJobSuccess');
      assert.equal(first.body.data.cancelJob.job.status, 'CANCELLED');
      assert.ok(first.body.data.cancelJob.job.finishedAt);
      const again = await unchanged(app.database, () => app.gql(CANCEL, { id: gid(job.id) }), AUDITED);
      assert.deepEqual(again.body.data.cancelJob, {
        __typename: 'ConflictError',
        code: 'CONFLICT',
        message: `Job ${gid(job.id)} has already finished (CANCELLED); only QUEUED and RUNNING jobs can be cancelled.`,
      });
      const audit = await app.database.query<{ fields: string[]; outcome: string; variables: unknown }>(
        `select fields, outcome, variables from audit_log where 'cancelJob' = any(fields) order by id desc limit 2`,
      );
      assert.deepEqual(
        audit.map((a) => [a.fields, a.outcome, a.variables]),
        [
          [['cancelJob'], 'CONFLICT', { id: gid(job.id) }],
          [['cancelJob'], 'OK', { id: gid(job.id) }],
        ],
      );
      const r = await row(job.id);
      assert.deepEqual([r.status, r.attempts, r.message], ['CANCELLED', 0, 'cancelled before it started']);
    });

    it('a RUNNING job is cancelled within a second: its AbortSignal fires, nothing of it runs after, it ends CANCELLED', async () => {
      const k = kind('running');
      const probe = newProbe();
      both(k, tickingJob(probe));
      const engineer = (await makeKey(app, `jobs-engineer-${backend}`, 'ENGINEER', [encodeId('Plant', plantId)])).key;
      const job = await api.enqueue({ kind: k, plantId, createdBy: ADMIN });
      await waitFor(() => probe.ticks >= 3, { message: 'the job to tick' });
      const askedAt = performance.now();
      const r = await as(app, engineer)(CANCEL, { id: gid(job.id) });
      assert.equal(r.body.data.cancelJob.__typename, 'CancelJobSuccess', JSON.stringify(r.body));
      assert.equal(r.body.data.cancelJob.job.cancelRequested, true);
      await waitFor(async () => (await row(job.id)).status === 'CANCELLED', { message: 'CANCELLED' });
      assert.ok(probe.abortedAt !== null && probe.abortedAt - askedAt < 1_000, `aborted ${probe.abortedAt! - askedAt} ms after the cancel`);
      assert.ok(probe.reason instanceof JobAbort && probe.reason.why === 'cancelled');
      assert.ok(probe.settledAt !== null && probe.settledAt >= probe.abortedAt!, 'run settled after the abort');
      assert.ok(probe.lastTickAt! <= probe.abortedAt!, 'no tick after the abort');
      const final = await row(job.id);
      assert.deepEqual([final.status, final.cancelRequested, final.error, final.leaseOwner], ['CANCELLED', true, null, null]);
      assert.ok(!worker.runner.running.includes(job.id));
    });

    it('a CPU loop in a worker thread reports progress and is cancelled mid-way: the thread is terminated, the pool goes on', async () => {
      const k = kind('spin');
      let settledAt = 0;
      both(k, {
        async run(ctx) {
          try {
            return await spinningJob.run(ctx);
          } finally {
            settledAt = performance.now();
          }
        },
      });
      const job = await api.enqueue({ kind: k, params: { iterations: 0, reportEvery: 5_000_000, forever: true }, createdBy: ADMIN });
      await waitFor(async () => (await row(job.id)).message?.startsWith('step '), { message: 'progress from the worker thread' });
      assert.equal(worker.pool.activeThreads, 1);
      const events = app.services.pubsub.subscribe(jobUpdateTopic, job.id);
      const askedAt = performance.now();
      await api.cancel(UNSCOPED_ADMIN, job.id);
      let cancelledAt = 0;
      for await (const s of events) {
        if (s.status !== 'CANCELLED') continue;
        cancelledAt = performance.now();
        break;
      }
      assert.ok(settledAt - askedAt < 1_000, `the worker stopped ${settledAt - askedAt} ms after the cancel`);
      assert.ok(cancelledAt >= settledAt, 'CANCELLED once the worker had stopped');
      await waitFor(() => worker.pool.activeThreads === 0, { message: 'the spinning thread to be terminated' });

      const done = await api.enqueue({ kind: k, params: { iterations: 2_000_000, reportEvery: 500_000 }, createdBy: ADMIN });
      await waitFor(async () => (await row(done.id)).status === 'SUCCEEDED', { message: 'the second worker job' });
      const result = (await row(done.id)).result as { threadId: number; module: string };
      assert.ok(result.threadId > 0, 'it ran in a worker thread');
      assert.match(result.module, /\/test\/fixtures\/jobs\/spin-worker\.ts$/, 'the worker thread loaded the .ts file');
    });

    it('a job that throws FAILS with its message; a result that is not JSON FAILS with the reason', async () => {
      const thrower = kind('throws');
      const bigint = kind('bigint');
      both(thrower, {
        run() {
          throw new Error('the dataset has no rows');
        },
      });
      both(bigint, { run: async () => ({ n: 10n }) });
      const a = await api.enqueue({ kind: thrower, createdBy: ADMIN });
      const b = await api.enqueue({ kind: bigint, createdBy: ADMIN });
      await waitFor(async () => (await row(a.id)).status === 'FAILED' && (await row(b.id)).status === 'FAILED', { message: 'both FAILED' });
      assert.equal((await row(a.id)).error, 'the dataset has no rows');
      assert.equal((await row(b.id)).error, 'the result could not be stored: Do not know how to serialize a BigInt');
    });

    it('a job whose process died (its lease expired) is queued again and finished, or FAILED with the reason when its attempts are used up', async () => {
      const k = kind('orphan');
      const finish = { run: async () => 'finished by the live runner' };
      api.register(k, finish);
      const retried = await api.enqueue({ kind: k, createdBy: ADMIN, maxAttempts: 2 });
      const failed = await api.enqueue({ kind: k, createdBy: ADMIN, maxAttempts: 1 });
      // A process that claimed both and died: nobody renews its leases (1 s).
      const claimed = await claimJobs(app.database, 'dead-host:1:deadbeef', [k], 2, 1);
      assert.deepEqual(
        claimed.map((j) => j.id),
        [retried.id, failed.id],
      );
      worker.register(k, finish);
      await waitFor(async () => (await row(retried.id)).status === 'SUCCEEDED' && (await row(failed.id)).status === 'FAILED', {
        message: 'the sweep to recover both',
      });
      const r = await row(retried.id);
      assert.deepEqual([r.attempts, r.result, r.error], [2, 'finished by the live runner', null]);
      assert.notEqual(r.leaseOwner, 'dead-host:1:deadbeef');
      const f = await row(failed.id);
      assert.equal(f.attempts, 1);
      assert.match(f.error!, /^the server process running it stopped \(lease expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\); 1 of 1 attempts used$/);
    });

    it('a runner that stalled past its lease loses the job: its run is aborted and what the sweep wrote stands', async () => {
      const k = kind('stalled');
      const probe = newProbe();
      const stalled = service({ heartbeatMs: 60_000 }, 1); // renews no lease: like a process whose event loop is stuck
      stalled.register(k, tickingJob(probe));
      api.register(k, tickingJob(newProbe()));
      const job = await api.enqueue({ kind: k, createdBy: ADMIN, maxAttempts: 1 });
      stalled.start();
      try {
        await waitFor(async () => (await row(job.id)).status === 'FAILED', { message: "the worker's sweep to fail the job" });
        await waitFor(() => probe.settledAt !== null, { message: 'the stalled run to stop' });
        assert.ok(probe.reason instanceof JobAbort && probe.reason.why === 'lost');
        const r = await row(job.id);
        assert.match(r.error!, /^the server process running it stopped \(lease expired at .*\); 1 of 1 attempts used$/);
        assert.deepEqual([r.status, r.leaseOwner], ['FAILED', null]);
      } finally {
        await stalled.stop();
      }
    });

    it('on shutdown running jobs are aborted and handed back to the queue (attempt not counted), within the bound even if they ignore the abort', async () => {
      const polite = kind('polite');
      const stubborn = kind('stubborn');
      const probes = [newProbe(), newProbe()];
      const runner = service({ abortGraceMs: 300 }, 2);
      runner.register(polite, tickingJob(probes[0]));
      runner.register(stubborn, tickingJob(probes[1], { ignoreAbort: true }));
      const a = await runner.enqueue({ kind: polite, createdBy: ADMIN });
      const b = await runner.enqueue({ kind: stubborn, createdBy: ADMIN });
      runner.start();
      await waitFor(() => probes[0].ticks > 0 && probes[1].ticks > 0, { message: 'both running' });
      const t0 = performance.now();
      await runner.stop();
      const took = performance.now() - t0;
      assert.ok(took < 2_000, `stop took ${took} ms`);
      for (const id of [a.id, b.id]) {
        const r = await row(id);
        assert.deepEqual(
          [r.status, r.attempts, r.leaseOwner, r.startedAt, r.message],
          ['QUEUED', 0, null, null, 'queued again: its server process shut down while it ran'],
        );
      }
      assert.ok(probes[0].reason instanceof JobAbort && probes[0].reason.why === 'shutdown');
      assert.ok(probes[1].ticks > 0 && probes[1].settledAt === null, 'the stubborn run still goes on: its job was handed back without it');
      probes[1].halt = true;
      await runner.cancel(UNSCOPED_ADMIN, a.id);
      await runner.cancel(UNSCOPED_ADMIN, b.id);
    });

    it('enqueueIn: a job queued in a transaction exists only if it commits; afterCommit wakes the runners', async () => {
      const k = kind('tx');
      both(k, { run: async () => 'ran' });
      await assert.rejects(
        app.database.transaction(async (tx) => {
          await api.enqueueIn(tx, { kind: k, createdBy: ADMIN });
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.equal((await api.list({ plantIds: null }, { kind: k })).jobs.length, 0);
      const { job, afterCommit } = await app.database.transaction((tx) => api.enqueueIn(tx, { kind: k, createdBy: ADMIN }));
      await afterCommit();
      await waitFor(async () => (await row(job.id)).status === 'SUCCEEDED', { message: 'SUCCEEDED', timeoutMs: 1_500 });
    });

    it('bad input to enqueue is a ValidationError naming each field, and nothing is stored', async () => {
      const k = kind('valid');
      api.register(k, { run: async () => null });
      const err = await unchanged(app.database, () =>
        api.enqueue({ kind: k, params: { n: 1n }, maxAttempts: 0, createdBy: { name: '  ', keyId: null } }).then(
          () => assert.fail('accepted'),
          (e) => e,
        ),
      );
      assert.deepEqual(err.fieldErrors, [
        { path: 'createdBy.name', message: 'must not be empty' },
        { path: 'params', message: 'must be JSON: Do not know how to serialize a BigInt' },
        { path: 'maxAttempts', message: 'must be an integer from 1 to 100' },
      ]);
      const unknown = await api.enqueue({ kind: 'no.such.kind', createdBy: ADMIN }).catch((e) => e);
      assert.deepEqual(unknown.fieldErrors, [{ path: 'kind', message: 'unknown job kind "no.such.kind"' }]);
    });

    it('unknown, malformed and mistyped job IDs read as null or NotFoundError, and change nothing', async () => {
      const machineId = encodeId('Machine', 1);
      for (const id of ['garbage', '', machineId, Buffer.from('Job:01').toString('base64'), gid(2_000_000_000)]) {
        const q = await app.gql(JOB, { id });
        assert.equal(q.body.data.job, null, id);
        if (id !== machineId) {
          const n = await app.gql(`query($id: ID!) { node(id: $id) { id } }`, { id });
          assert.equal(n.body.data?.node ?? null, null, id);
        }
        const c = await unchanged(app.database, () => app.gql(CANCEL, { id }), AUDITED);
        assert.deepEqual(c.body.data.cancelJob, { __typename: 'NotFoundError', code: 'NOT_FOUND', message: `Job ${JSON.stringify(id)} not found`, id });
      }
    });

    it("access: a plant-scoped key neither sees nor cancels another plant's job; cancelling needs the kind's role", async () => {
      const k = kind('access');
      const planned = kind('planned');
      api.register(k, tickingJob(newProbe()));
      api.register(planned, { ...tickingJob(newProbe()), role: 'PLANNER' });
      const mine = await api.enqueue({ kind: k, plantId, createdBy: ADMIN });
      const theirs = await api.enqueue({ kind: k, plantId: otherPlantId, createdBy: ADMIN });
      const global = await api.enqueue({ kind: k, createdBy: ADMIN });
      const plannedJob = await api.enqueue({ kind: planned, plantId, createdBy: ADMIN });
      try {
        const scope = [encodeId('Plant', plantId)];
        const engineer = as(app, (await makeKey(app, `jobs-scoped-engineer-${backend}`, 'ENGINEER', scope)).key);
        const viewer = as(app, (await makeKey(app, `jobs-scoped-viewer-${backend}`, 'VIEWER', scope)).key);
        const planner = as(app, (await makeKey(app, `jobs-scoped-planner-${backend}`, 'PLANNER', scope)).key);
        for (const id of [theirs.id, global.id]) {
          assert.equal((await engineer(JOB, { id: gid(id) })).body.data.job, null);
          assert.equal((await engineer(`query($id: ID!) { node(id: $id) { id } }`, { id: gid(id) })).body.data.node, null);
          const c = await unchanged(app.database, () => engineer(CANCEL, { id: gid(id) }), AUDITED);
          assert.deepEqual(c.body.data.cancelJob, {
            __typename: 'NotFoundError',
            code: 'NOT_FOUND',
            message: `Job ${JSON.stringify(gid(id))} not found`,
            id: gid(id),
          });
        }
        const listed = await engineer(`query($k: String) { jobs(kind: $k) { totalCount edges { node { id } } } }`, { k });
        assert.deepEqual(listed.body.data.jobs, { totalCount: 1, edges: [{ node: { id: gid(mine.id) } }] });
        const foreign = await engineer(`query($p: ID, $k: String) { jobs(plantId: $p, kind: $k) { totalCount edges { node { id } } } }`, {
          p: encodeId('Plant', otherPlantId),
          k,
        });
        assert.deepEqual(foreign.body.data.jobs, { totalCount: 0, edges: [] });
        assert.equal((await app.gql(JOB, { id: gid(global.id) })).body.data.job.status, 'QUEUED', 'unscoped credentials see plant-less jobs');

        const refused = await unchanged(app.database, () => viewer(CANCEL, { id: gid(mine.id) }), AUDITED);
        assert.deepEqual(refused.body.data.cancelJob, {
          __typename: 'ForbiddenError',
          code: 'FORBIDDEN',
          message: `Cancelling a ${k} job needs the ENGINEER role or higher; these credentials have VIEWER.`,
        });
        const plannerRefused = await planner(CANCEL, { id: gid(mine.id) });
        assert.equal(plannerRefused.body.data.cancelJob.__typename, 'ForbiddenError');
        const plannerOk = await planner(CANCEL, { id: gid(plannedJob.id) });
        assert.equal(plannerOk.body.data.cancelJob.job.status, 'CANCELLED', 'a kind that declares PLANNER is cancelled by a PLANNER');
        assert.equal((await engineer(CANCEL, { id: gid(mine.id) })).body.data.cancelJob.job.status, 'CANCELLED');
        assert.equal((await row(theirs.id)).status, 'QUEUED');
      } finally {
        for (const j of [theirs, global]) await api.cancel(UNSCOPED_ADMIN, j.id);
      }
    });

    it('jobUpdates refuses a job the caller may not see, with NOT_FOUND, like an unknown ID', async () => {
      const k = kind('sub-access');
      api.register(k, tickingJob(newProbe()));
      const theirs = await api.enqueue({ kind: k, plantId: otherPlantId, createdBy: ADMIN });
      const viewer = (await makeKey(app, `jobs-sub-viewer-${backend}`, 'VIEWER', [encodeId('Plant', plantId)])).key;
      const server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      try {
        for (const id of [gid(theirs.id), 'garbage']) {
          const sub = await subscribe(server.url, viewer, UPDATES, { id });
          await waitFor(() => sub.completed, { message: 'the refusal' });
          await sub.dispose();
          const result: any = sub.errors[0] ?? sub.events[sub.events.length - 1];
          const errors = Array.isArray(result) ? result : result?.errors;
          assert.equal(errors[0].extensions.code, 'NOT_FOUND', JSON.stringify(result));
          assert.equal(errors[0].message, `Job ${JSON.stringify(id)} not found`);
        }
      } finally {
        await server.close();
        await api.cancel(UNSCOPED_ADMIN, theirs.id);
      }
    });

    it('jobUpdates never hangs on a lost notification: after a quiet spell it reads the row again', async () => {
      const k = kind('lost-event');
      api.register(k, tickingJob(newProbe()));
      const job = await api.enqueue({ kind: k, createdBy: ADMIN });
      let ended = false;
      const silent: AsyncIterator<JobState> = {
        next: () => new Promise(() => {}), // a LISTEN connection that was down: no event ever arrives
        return: async () => {
          ended = true;
          return { value: undefined, done: true };
        },
      };
      const stream = followJob(app.database, job.id, silent, 100);
      assert.equal((await stream.next()).value?.status, 'QUEUED');
      await requestCancel(app.database, job.id); // written, but its event is lost
      const t0 = performance.now();
      const r = await stream.next();
      assert.deepEqual([r.value?.status, r.value?.message], ['CANCELLED', 'cancelled before it started']);
      assert.ok(performance.now() - t0 < 5_000);
      assert.deepEqual(await stream.next(), { value: undefined, done: true });
      assert.equal(ended, true, 'the source was ended');
    });

    it('update events stay small enough for NOTIFY: a long message or error is cut there, not in the row', () => {
      const state = {
        id: 1,
        kind: 'k',
        status: 'FAILED',
        plantId: null,
        createdBy: 'x',
        createdByKeyId: null,
        error: '\u0001'.repeat(2_000),
        progress: 0.5,
        message: '\u00e9'.repeat(2_000),
        attempts: 1,
        maxAttempts: 3,
        cancelRequested: false,
        leaseOwner: null,
        leaseUntil: null,
        revision: 3,
        createdAt: new Date(),
        startedAt: null,
        finishedAt: null,
        updatedAt: new Date(),
      } satisfies JobState;
      const event = updateEvent({ ...state, params: { big: 'x'.repeat(10_000) }, result: null } as JobState);
      assert.ok(Buffer.byteLength(JSON.stringify(event)) < 7_900);
      assert.deepEqual([event.message, event.error], ['\u00e9'.repeat(200), '\u0001'.repeat(200)]);
      assert.equal('params' in event, false);
      assert.deepEqual(updateEvent({ ...state, message: 'short', error: null }), { ...state, message: 'short', error: null });
    });

    it('jobs(): newest first, filtered by status, paged by cursor; listJobs pages the same way', async () => {
      const k = kind('list');
      api.register(k, tickingJob(newProbe()));
      const made: Job[] = [];
      for (let i = 0; i < 5; i++) made.push(await api.enqueue({ kind: k, plantId, createdBy: ADMIN, params: { i } }));
      const admin = UNSCOPED_ADMIN;
      await api.cancel(admin, made[1].id);
      const Q = `query($p: ID, $k: String, $s: [JobStatus!], $after: String) { jobs(plantId: $p, kind: $k, status: $s, first: 2, after: $after) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } } }`;
      const p = encodeId('Plant', plantId);
      const page1 = (await app.gql(Q, { p, k, s: ['QUEUED'] })).body.data.jobs;
      assert.equal(page1.totalCount, 4);
      assert.deepEqual(
        page1.edges.map((e: any) => e.node.id),
        [gid(made[4].id), gid(made[3].id)],
      );
      const page2 = (await app.gql(Q, { p, k, s: ['QUEUED'], after: page1.pageInfo.endCursor })).body.data.jobs;
      assert.deepEqual(
        page2.edges.map((e: any) => e.node.id),
        [gid(made[2].id), gid(made[0].id)],
      );
      const cancelled = (await app.gql(Q, { p, k, s: ['CANCELLED', 'CANCELLED'] })).body.data.jobs;
      assert.deepEqual(cancelled.edges, [{ node: { id: gid(made[1].id), status: 'CANCELLED' } }]);
      const statements = await statementsDuring(app.database, () =>
        app.gql(`query($k: String) { jobs(kind: $k, first: 5) { edges { node { id status plant { name } } } } }`, { k }),
      );
      assert.equal(statements.length, 1, `one statement for a page of jobs and their plants: ${statements.join('\n')}`);
      const first = await api.list(admin, { kind: k, first: 3 });
      const rest = await api.list(admin, { kind: k, first: 3, after: first.nextAfter! });
      assert.deepEqual(
        [...first.jobs, ...rest.jobs].map((j) => j.id),
        made.map((j) => j.id).reverse(),
      );
      assert.equal(rest.nextAfter, null);
      for (const j of made) if (j.id !== made[1].id) await api.cancel(admin, j.id);
    });
  });
}
