import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { runInBackground } from '../core/background.ts';
import { type PeriodicTask, startPeriodic } from '../core/periodic.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { PubSub } from '../pubsub/index.ts';
import { JobAbort, type JobContext, type JobDefinition, type StopReason } from './definition.ts';
import { type Job, type JobState, jobText, toJson } from './job.ts';
import { claimJobs, finishJob, handBack, type Outcome, renewLeases, sweepExpiredLeases, writeProgress } from './lease.ts';
import type { WorkerPool } from './pool.ts';
import { ProgressWriter } from './progress.ts';
import { JOB_QUEUED_KEY, jobQueuedTopic, jobUpdateTopic, updateEvent } from './topics.ts';

export interface JobRunnerOptions {
  database: Database;
  pubsub: PubSub;
  logger: Logger;
  pool: WorkerPool;
  /** Jobs run at once by this runner (0: none; it still sweeps). */
  concurrency: number;
  leaseSeconds: number;
  /** Claims also on this interval, in case a wake-up was missed. Default 2 s. */
  pollIntervalMs?: number;
  /** Lease renewal and cancel check. Default a third of the lease, at most 1 s. */
  heartbeatMs?: number;
  /** The sweep of expired leases. Default half the lease, at least 0.5 s. */
  sweepIntervalMs?: number;
  /** Minimum time between two progress writes of a run. Default 250 ms. */
  progressIntervalMs?: number;
  /** How long an aborted run may take to settle before its job is ended without it. Default 5 s. */
  abortGraceMs?: number;
}

interface Run {
  job: Job;
  controller: AbortController;
  reason: StopReason | null;
  /** Set once the run's code settled (or was given up on): later aborts change nothing. */
  settled: boolean;
  done: Promise<void>;
}

const GAVE_UP = Symbol('gave up');
type Settled = { ok: true; value: unknown } | { ok: false; error: unknown } | typeof GAVE_UP;

const errorText = (err: unknown) => jobText(err instanceof Error ? err.message || err.name : String(err));

/**
 * Runs the jobs of the kinds registered here, one runner per process. It claims QUEUED jobs (FOR UPDATE SKIP LOCKED,
 * the same SQL on PGlite and PostgreSQL) when woken by a jobQueued event or by its poll, up to `concurrency` at once;
 * renews their leases and checks their cancel flags every heartbeat; publishes every change on jobUpdates; aborts a
 * run when its job is cancelled (the event arrives within milliseconds, the heartbeat within a second otherwise).
 * The sweep queues again (or fails) RUNNING jobs whose lease expired, whichever process held them. `stop()` aborts
 * the runs and hands their jobs back to the queue.
 */
export class JobRunner {
  /** This runner's lease owner name: host, PID and a random part. */
  readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly kinds = new Map<string, JobDefinition>();
  private readonly runs = new Map<number, Run>();
  private started = false;
  private stopping = false;
  private claiming: Promise<void> | null = null;
  private claimAgain = false;
  private readonly listening = new AbortController();
  private tasks: PeriodicTask[] = [];
  private poll: NodeJS.Timeout | null = null;
  private renewedAt = performance.now();
  private readonly o: Required<JobRunnerOptions>;

  constructor(options: JobRunnerOptions) {
    const leaseMs = options.leaseSeconds * 1000;
    this.o = {
      pollIntervalMs: 2_000,
      heartbeatMs: Math.min(1_000, leaseMs / 3),
      sweepIntervalMs: Math.max(500, leaseMs / 2),
      progressIntervalMs: 250,
      abortGraceMs: 5_000,
      ...options,
    };
  }

  register<P, R>(kind: string, definition: JobDefinition<P, R>): void {
    if (this.kinds.has(kind)) throw new Error(`job kind ${kind} is registered twice`);
    this.kinds.set(kind, definition as JobDefinition);
    this.wake();
  }

  definition(kind: string): JobDefinition | undefined {
    return this.kinds.get(kind);
  }

  /** IDs of the jobs running here now. */
  get running(): number[] {
    return [...this.runs.keys()];
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const log = (what: string) => (err: unknown) => this.o.logger.error({ err: (err as Error).message }, `jobs: ${what} failed`);
    this.tasks.push(startPeriodic(() => this.sweep(), this.o.sweepIntervalMs, log('the sweep of expired leases'), { runNow: true }));
    if (this.o.concurrency === 0) return;
    this.tasks.push(startPeriodic(() => this.heartbeat(), this.o.heartbeatMs, log('lease renewal')));
    this.poll = setInterval(() => this.wake(), this.o.pollIntervalMs);
    this.poll.unref();
    void runInBackground(() => this.listen());
    this.wake();
  }

  /** Claims jobs now (also what a jobQueued event does). */
  wake(): void {
    if (!this.started || this.stopping || this.o.concurrency === 0) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claimAgain = false;
    this.claiming = runInBackground(() => this.claim())
      .catch((err) => this.o.logger.error({ err: (err as Error).message }, 'jobs: claiming failed'))
      .finally(() => {
        this.claiming = null;
        if (this.claimAgain) this.wake();
      });
  }

  private async claim(): Promise<void> {
    for (;;) {
      const free = this.o.concurrency - this.runs.size;
      if (free <= 0 || this.stopping || this.kinds.size === 0) return;
      const claimed = await claimJobs(this.o.database, this.owner, [...this.kinds.keys()], free, this.o.leaseSeconds);
      for (const job of claimed) this.begin(job);
      if (claimed.length < free) return;
    }
  }

  private async listen(): Promise<void> {
    const signal = this.listening.signal;
    while (!signal.aborted) {
      try {
        for await (const _ of this.o.pubsub.subscribe(jobQueuedTopic, JOB_QUEUED_KEY, { signal, maxQueue: 100_000 })) this.wake();
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'jobs: the jobQueued subscription ended; subscribing again');
      }
      await delay(1_000, undefined, { signal, ref: false }).catch(() => {});
    }
  }

  private begin(job: Job): void {
    const run: Run = { job, controller: new AbortController(), reason: null, settled: false, done: Promise.resolve() };
    this.runs.set(job.id, run);
    const updates = this.o.pubsub.subscribe(jobUpdateTopic, job.id, { maxQueue: 100_000 });
    void (async () => {
      for await (const state of updates) {
        if (state.revision <= job.revision) continue; // written before this claim (NOTIFY may deliver it late)
        if (state.cancelRequested) this.abort(run, 'cancelled');
        // Queued again or ended elsewhere (the sweep took it after this process stalled past its lease).
        else if (state.status !== 'RUNNING' || state.leaseOwner !== this.owner) this.abort(run, 'lost');
      }
    })().catch(() => {});
    run.done = runInBackground(() => this.execute(run))
      .catch((err) => this.o.logger.error({ err: (err as Error).message, job: job.id }, 'jobs: could not record the end of a run'))
      .finally(() => {
        this.runs.delete(job.id);
        void updates.return?.();
        this.wake();
      });
  }

  private abort(run: Run, why: StopReason): void {
    if (run.settled || run.reason !== null) return;
    run.reason = why;
    run.controller.abort(new JobAbort(why));
  }

  private async execute(run: Run): Promise<void> {
    const { job, controller } = run;
    await this.publish(job);
    const progress = new ProgressWriter(
      async (fraction, message) => {
        const state = await writeProgress(this.o.database, this.owner, job.id, fraction, message);
        if (!state) return this.abort(run, 'lost');
        await this.publish(state);
        if (state.cancelRequested) this.abort(run, 'cancelled');
      },
      this.o.progressIntervalMs,
      (err) => this.o.logger.warn({ err: (err as Error).message, job: job.id }, 'jobs: a progress write failed'),
    );
    const ctx: JobContext = { job, params: job.params, signal: controller.signal, progress: (f, m) => progress.report(f, m), pool: this.o.pool };
    const definition = this.kinds.get(job.kind)!;
    const settled: Promise<Settled> = (async () => definition.run(ctx))().then(
      (value) => ({ ok: true, value }),
      (error) => ({ ok: false, error }),
    );
    const gaveUp = new Promise<typeof GAVE_UP>((resolve) =>
      controller.signal.addEventListener('abort', () => setTimeout(() => resolve(GAVE_UP), this.o.abortGraceMs).unref(), { once: true }),
    );
    const end = await Promise.race([settled, gaveUp]);
    run.settled = true;
    const last = await progress.close();
    if (end === GAVE_UP)
      this.o.logger.warn(
        { job: job.id, kind: job.kind, reason: run.reason },
        `jobs: the run did not stop within ${this.o.abortGraceMs} ms of its abort; ended without it`,
      );
    if (run.reason === 'lost') {
      this.o.logger.warn({ job: job.id, kind: job.kind }, 'jobs: lost the lease of a running job; its end is not recorded here');
      return;
    }
    const state =
      run.reason === 'shutdown'
        ? await handBack(this.o.database, this.owner, job.id)
        : await finishJob(this.o.database, this.owner, job.id, outcomeOf(run.reason, end), last);
    if (state) await this.publish(state);
  }

  private async heartbeat(): Promise<void> {
    const ids = this.running;
    if (ids.length === 0) {
      this.renewedAt = performance.now();
      return;
    }
    let held: { id: number; cancelRequested: boolean }[];
    try {
      held = await renewLeases(this.o.database, this.owner, ids, this.o.leaseSeconds);
      this.renewedAt = performance.now();
    } catch (err) {
      // Unrenewed for a whole lease: another process may have taken the jobs over; stop working on them.
      if (performance.now() - this.renewedAt > this.o.leaseSeconds * 1000) for (const run of this.runs.values()) this.abort(run, 'lost');
      throw err;
    }
    const byId = new Map(held.map((h) => [h.id, h]));
    for (const id of ids) {
      const run = this.runs.get(id);
      const h = byId.get(id);
      if (run && !h) this.abort(run, 'lost');
      else if (run && h?.cancelRequested) this.abort(run, 'cancelled');
    }
  }

  /** Queues again (or fails) the RUNNING jobs whose lease expired; returns their new states. */
  async sweep(): Promise<JobState[]> {
    const states = await sweepExpiredLeases(this.o.database);
    for (const s of states) {
      this.o.logger.warn({ job: s.id, kind: s.kind, status: s.status }, 'jobs: a running job lost its server process');
      await this.publish(s);
    }
    return states;
  }

  async publish(state: JobState): Promise<void> {
    try {
      await this.o.pubsub.publish(jobUpdateTopic, state.id, updateEvent(state));
    } catch (err) {
      // The state is stored; a subscriber that misses the event reads it through Query.job.
      this.o.logger.error({ err: (err as Error).message, job: state.id }, 'jobs: could not publish a job update');
    }
  }

  /** Stops claiming, aborts the runs and hands their jobs back to the queue (each bounded by abortGraceMs). */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    this.listening.abort();
    if (this.poll) clearInterval(this.poll);
    await this.claiming;
    const runs = [...this.runs.values()];
    for (const run of runs) this.abort(run, 'shutdown');
    await Promise.all(runs.map((r) => r.done));
    await Promise.all(this.tasks.map((t) => t.stop()));
  }
}

function outcomeOf(reason: StopReason | null, end: Settled): Outcome {
  if (reason === 'cancelled') return { status: 'CANCELLED' };
  if (end === GAVE_UP) return { status: 'FAILED', error: 'the run did not stop after it was aborted' };
  if (!end.ok) return { status: 'FAILED', error: errorText(end.error) };
  try {
    return { status: 'SUCCEEDED', result: toJson(end.value) };
  } catch (err) {
    return { status: 'FAILED', error: jobText(`the result could not be stored: ${(err as Error).message}`) };
  }
}
