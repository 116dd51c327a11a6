import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { PlantScope } from '../core/scope.ts';
import type { Database, Tx } from '../db/client.ts';
import { type Role, role } from '../db/schema/index.ts';
import type { AfterCommit } from '../events/hub.ts';
import type { JobsConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { PubSub } from '../pubsub/index.ts';
import { canSeeJob, isFinished, type Job, type JobCaller, type JobState } from './job.ts';
import { WorkerPool } from './pool.ts';
import { type EnqueueInput, getJob, insertJob, type JobFilter, listJobs, requestCancel } from './queue.ts';
import type { JobDefinition } from './definition.ts';
import { JobRunner, type JobRunnerOptions } from './runner.ts';
import { JOB_QUEUED_KEY, jobQueuedTopic } from './topics.ts';

export interface JobServiceDeps {
  database: Database;
  pubsub: PubSub;
  logger: Logger;
  config: JobsConfig;
}

/** The role a kind needs for cancelling when it declares none. */
export const DEFAULT_CANCEL_ROLE: Role = 'ENGINEER';

const roleAtLeast = (have: Role, need: Role) => role.enumValues.indexOf(have) >= role.enumValues.indexOf(need);

/**
 * Jobs as a service: kinds are registered here (`register`), queued (`enqueue`, or `enqueueIn` the caller's
 * transaction), read, listed and cancelled with the caller's plant scope and role; this process's JobRunner runs
 * them once `start()` is called, and its worker pool (`pool`) carries their CPU-heavy parts.
 */
export class JobService {
  readonly pool: WorkerPool;
  readonly runner: JobRunner;

  constructor(
    private readonly deps: JobServiceDeps,
    runnerOptions: Partial<Omit<JobRunnerOptions, 'database' | 'pubsub' | 'logger' | 'pool'>> = {},
  ) {
    this.pool = new WorkerPool(deps.config.workerThreads);
    this.runner = new JobRunner({
      database: deps.database,
      pubsub: deps.pubsub,
      logger: deps.logger,
      pool: this.pool,
      concurrency: deps.config.concurrency,
      leaseSeconds: deps.config.leaseSeconds,
      ...runnerOptions,
    });
  }

  /** Registers a kind of job: its code, and the role needed to cancel it. Register every kind in every process. */
  register<P, R>(kind: string, definition: JobDefinition<P, R>): void {
    this.runner.register(kind, definition);
  }

  /** The role needed to cancel jobs of `kind`. */
  cancelRole(kind: string): Role {
    return this.runner.definition(kind)?.role ?? DEFAULT_CANCEL_ROLE;
  }

  private checkKind(input: EnqueueInput): void {
    if (typeof input.kind === 'string' && !this.runner.definition(input.kind))
      throw ValidationError.single('kind', `unknown job kind ${JSON.stringify(input.kind.slice(0, 100))}`);
  }

  /** Queues a job (its own statement) and wakes the runners of every process. Throws ValidationError for bad input. */
  async enqueue(input: EnqueueInput): Promise<Job> {
    this.checkKind(input);
    const job = await insertJob(this.deps.database, input);
    await this.notifyQueued(job);
    return job;
  }

  /**
   * Queues a job inside the caller's transaction: it exists only if that commits. Call `afterCommit()` once it has
   * committed to wake the runners (without it they find the job at their next poll, within 2 s).
   */
  async enqueueIn(tx: Tx, input: EnqueueInput): Promise<{ job: Job; afterCommit: AfterCommit }> {
    this.checkKind(input);
    const job = await insertJob(tx, input);
    return { job, afterCommit: () => this.notifyQueued(job) };
  }

  private async notifyQueued(job: Job): Promise<void> {
    try {
      await this.deps.pubsub.publish(jobQueuedTopic, JOB_QUEUED_KEY, { id: job.id, kind: job.kind });
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, job: job.id }, 'jobs: could not announce a queued job; runners find it at their next poll');
    }
  }

  /** A job the scope may see (undefined when unknown or not visible). */
  async get(scope: PlantScope, id: number): Promise<Job | undefined> {
    const job = await getJob(this.deps.database, id);
    return job && canSeeJob(scope, job) ? job : undefined;
  }

  list(scope: PlantScope, filter: JobFilter & { first?: number; after?: number } = {}) {
    return listJobs(this.deps.database, scope, filter);
  }

  /**
   * Cancels a job: a QUEUED one at once, a RUNNING one by asking its runner to abort it (it ends CANCELLED within
   * about a second). NotFoundError when the caller may not see it, ForbiddenError without the kind's role,
   * ConflictError when it has already finished. `shownId` names the job in errors (e.g. its global ID).
   */
  async cancel(caller: JobCaller, id: number, shownId = String(id)): Promise<JobState> {
    const job = await this.get(caller, id);
    if (!job) throw new NotFoundError('Job', shownId);
    const needed = this.cancelRole(job.kind);
    if (!roleAtLeast(caller.role, needed))
      throw new ForbiddenError(`Cancelling a ${job.kind} job needs the ${needed} role or higher; these credentials have ${caller.role}.`);
    const state = isFinished(job.status) ? null : await requestCancel(this.deps.database, id);
    if (!state) {
      const now = (await getJob(this.deps.database, id)) ?? job;
      throw new ConflictError(`Job ${shownId} has already finished (${now.status}); only QUEUED and RUNNING jobs can be cancelled.`);
    }
    await this.runner.publish(state);
    return state;
  }

  /** Starts running jobs in this process (and sweeping expired leases). */
  start(): void {
    this.runner.start();
  }

  /** Stops the runner (its jobs go back to the queue) and the worker threads. */
  async stop(): Promise<void> {
    await this.runner.stop();
    await this.pool.close();
  }
}
