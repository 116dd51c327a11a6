import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { jobs } from '../db/schema/index.ts';
import type { Job, JobState } from './job.ts';
import { stateColumns, touched } from './queue.ts';

/**
 * What runners write: claims, lease renewals, progress, the final state, hand-backs and the sweep of expired leases.
 * Every write of a running job is guarded by its lease (`lease_owner` and RUNNING), so a runner that lost its job (the
 * sweep gave it to another process, or its plant was deleted) changes nothing.
 */

const leaseEnd = (seconds: number) => sql`now() + ${seconds}::int * interval '1 second'`;
const held = (owner: string, id: number) => and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, 'RUNNING'));

/** Claims up to `n` of the oldest QUEUED jobs of `kinds` (FOR UPDATE SKIP LOCKED: each job goes to one claimer). */
export async function claimJobs(q: Queryable, owner: string, kinds: readonly string[], n: number, leaseSeconds: number): Promise<Job[]> {
  if (n <= 0 || kinds.length === 0) return [];
  const next = q.db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, 'QUEUED'), inArray(jobs.kind, [...kinds])))
    .orderBy(jobs.id)
    .limit(n)
    .for('update', { skipLocked: true });
  const rows = await q.db
    .update(jobs)
    .set({
      status: 'RUNNING',
      attempts: sql`${jobs.attempts} + 1`,
      leaseOwner: owner,
      leaseUntil: leaseEnd(leaseSeconds),
      startedAt: sql`now()`,
      progress: 0,
      message: null,
      ...touched(),
    })
    .where(inArray(jobs.id, next))
    .returning();
  return rows.sort((a, b) => a.id - b.id);
}

/** Extends the leases `owner` still holds; returns those jobs with their cancel flags (a job missing here is lost). */
export async function renewLeases(
  q: Queryable,
  owner: string,
  ids: readonly number[],
  leaseSeconds: number,
): Promise<{ id: number; cancelRequested: boolean }[]> {
  if (ids.length === 0) return [];
  return q.db
    .update(jobs)
    .set({ leaseUntil: leaseEnd(leaseSeconds) })
    .where(and(inArray(jobs.id, [...ids]), eq(jobs.leaseOwner, owner), eq(jobs.status, 'RUNNING')))
    .returning({ id: jobs.id, cancelRequested: jobs.cancelRequested });
}

/** Records progress (and the message, unless undefined); null when the lease is lost. */
export async function writeProgress(q: Queryable, owner: string, id: number, progress: number, message: string | undefined): Promise<JobState | null> {
  const [row] = await q.db
    .update(jobs)
    .set({ progress, ...(message !== undefined ? { message } : {}), ...touched() })
    .where(held(owner, id))
    .returning(stateColumns);
  return row ?? null;
}

export type Outcome = { status: 'SUCCEEDED'; result: unknown } | { status: 'FAILED'; error: string } | { status: 'CANCELLED' };

/** Writes the final state of a run (with its last progress); null when the lease is lost. */
export async function finishJob(
  q: Queryable,
  owner: string,
  id: number,
  outcome: Outcome,
  last: { progress?: number; message?: string },
): Promise<JobState | null> {
  const [row] = await q.db
    .update(jobs)
    .set({
      status: outcome.status,
      result: outcome.status === 'SUCCEEDED' ? (outcome.result as never) : null,
      error: outcome.status === 'FAILED' ? outcome.error : null,
      ...(outcome.status === 'SUCCEEDED' ? { progress: 1 } : last.progress !== undefined ? { progress: last.progress } : {}),
      ...(last.message !== undefined ? { message: last.message } : {}),
      finishedAt: sql`now()`,
      leaseOwner: null,
      leaseUntil: null,
      ...touched(),
    })
    .where(held(owner, id))
    .returning(stateColumns);
  return row ?? null;
}

/**
 * Gives a job back to the queue when its process shuts down gracefully: QUEUED again with the attempt not counted
 * (or CANCELLED, when a cancel was asked for meanwhile). Null when the lease is lost.
 */
export async function handBack(q: Queryable, owner: string, id: number): Promise<JobState | null> {
  const cancel = sql`${jobs.cancelRequested}`;
  const [row] = await q.db
    .update(jobs)
    .set({
      status: sql`case when ${cancel} then 'CANCELLED'::job_status else 'QUEUED'::job_status end`,
      attempts: sql`case when ${cancel} then ${jobs.attempts} else ${jobs.attempts} - 1 end`,
      progress: sql`case when ${cancel} then ${jobs.progress} else 0 end`,
      message: sql`case when ${cancel} then ${jobs.message} else 'queued again: its server process shut down while it ran' end`,
      startedAt: sql`case when ${cancel} then ${jobs.startedAt} end`,
      finishedAt: sql`case when ${cancel} then now() end`,
      leaseOwner: null,
      leaseUntil: null,
      ...touched(),
    })
    .where(held(owner, id))
    .returning(stateColumns);
  return row ?? null;
}

/**
 * RUNNING jobs whose lease expired: their process died (or stalled past the lease). Each is queued again while it has
 * attempts left, else FAILED with the reason; one that was asked to cancel is CANCELLED. Returns the new states.
 */
export async function sweepExpiredLeases(q: Queryable): Promise<JobState[]> {
  const expired = q.db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, 'RUNNING'), sql`${jobs.leaseUntil} < now()`))
    .for('update', { skipLocked: true });
  const reason = sql`'the server process running it stopped (lease expired at ' || to_char(${jobs.leaseUntil} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || ')'`;
  const cancel = sql`${jobs.cancelRequested}`;
  const retry = sql`(not ${jobs.cancelRequested} and ${jobs.attempts} < ${jobs.maxAttempts})`;
  const rows = await q.db
    .update(jobs)
    .set({
      status: sql`case when ${cancel} then 'CANCELLED'::job_status when ${retry} then 'QUEUED'::job_status else 'FAILED'::job_status end`,
      error: sql`case when ${cancel} or ${retry} then ${jobs.error} else ${reason} || '; ' || ${jobs.attempts} || ' of ' || ${jobs.maxAttempts} || ' attempts used' end`,
      message: sql`case when ${retry} then 'queued again: ' || ${reason} else ${jobs.message} end`,
      progress: sql`case when ${retry} then 0 else ${jobs.progress} end`,
      startedAt: sql`case when ${retry} then null else ${jobs.startedAt} end`,
      finishedAt: sql`case when ${retry} then null else now() end`,
      leaseOwner: null,
      leaseUntil: null,
      ...touched(),
    })
    .where(inArray(jobs.id, expired))
    .returning(stateColumns);
  return rows.sort((a, b) => a.id - b.id);
}
