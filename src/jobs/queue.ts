import { and, desc, eq, getColumns, inArray, lt, type SQL, sql } from 'drizzle-orm';
import { Problems } from '../core/errors.ts';
import type { PlantScope } from '../core/scope.ts';
import { checkName } from '../core/validate.ts';
import type { Queryable } from '../db/client.ts';
import { type JobStatus, jobs } from '../db/schema/index.ts';
import { type Job, type JobState, toJson } from './job.ts';

const { params: _params, result: _result, ...stateColumnsOnly } = getColumns(jobs);
/** The columns of a JobState (all but params and result), for `returning`. */
export const stateColumns = stateColumnsOnly;

/** Every change of a row: a new revision at the database's time. */
export const touched = () => ({ updatedAt: sql`now()`, revision: sql`${jobs.revision} + 1` });

export interface EnqueueInput {
  kind: string;
  /** JSON for the job's code (at most 1 MiB). */
  params?: unknown;
  plantId?: number | null;
  /** Who queued it: `{ name, keyId }` of the caller (a Principal fits). */
  createdBy: { name: string; keyId?: number | null };
  /** Runs to try when server processes die under it (default 3, 1 to 100). */
  maxAttempts?: number;
}

export const MAX_ATTEMPTS_LIMIT = 100;

/** The row to insert, or a ValidationError naming every bad field. */
function jobRow(input: EnqueueInput) {
  const problems = new Problems();
  const kind = checkName(problems, 'kind', input.kind);
  const createdBy = checkName(problems, 'createdBy.name', input.createdBy?.name);
  let params: unknown = {};
  try {
    params = toJson(input.params ?? {});
  } catch (err) {
    problems.add('params', `must be JSON: ${(err as Error).message}`);
  }
  const maxAttempts = input.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT)
    problems.add('maxAttempts', `must be an integer from 1 to ${MAX_ATTEMPTS_LIMIT}`);
  problems.throwIfAny();
  return { kind, createdBy, createdByKeyId: input.createdBy.keyId ?? null, params, maxAttempts, plantId: input.plantId ?? null };
}

/** Inserts a QUEUED job through `q` (the database, or the caller's open transaction). Runners are not woken here. */
export async function insertJob(q: Queryable, input: EnqueueInput): Promise<Job> {
  const [row] = await q.db.insert(jobs).values(jobRow(input)).returning();
  return row;
}

export async function getJob(q: Queryable, id: number): Promise<Job | undefined> {
  const [row] = await q.db.select().from(jobs).where(eq(jobs.id, id)).limit(1);
  return row;
}

export interface JobFilter {
  plantId?: number | null;
  statuses?: readonly JobStatus[];
  kind?: string;
}

/**
 * The condition of a job list: the caller's plants (plant-less jobs only for unscoped callers), then the filter. `t`:
 * the jobs table as the query names it (a relational query's `RAW` passes its alias).
 */
export function jobListSql(scope: PlantScope, f: JobFilter, t: typeof jobs = jobs): SQL | undefined {
  const plantIds = f.plantId !== undefined && f.plantId !== null ? [f.plantId].filter((id) => scope.plantIds?.includes(id) ?? true) : scope.plantIds;
  return and(
    plantIds === null ? undefined : plantIds.length === 0 ? sql`false` : inArray(t.plantId, [...plantIds]),
    f.statuses?.length ? inArray(t.status, [...new Set(f.statuses)]) : undefined,
    f.kind !== undefined ? eq(t.kind, f.kind) : undefined,
  );
}

/** A page of jobs the scope may see, newest first; `after`: the `nextAfter` of the previous page. */
export async function listJobs(
  q: Queryable,
  scope: PlantScope,
  f: JobFilter & { first?: number; after?: number },
): Promise<{ jobs: Job[]; nextAfter: number | null }> {
  const first = Math.min(Math.max(f.first ?? 20, 0), 500);
  const rows = await q.db
    .select()
    .from(jobs)
    .where(and(jobListSql(scope, f), f.after !== undefined ? lt(jobs.id, f.after) : undefined))
    .orderBy(desc(jobs.id))
    .limit(first + 1);
  const more = rows.length > first;
  const page = more ? rows.slice(0, first) : rows;
  return { jobs: page, nextAfter: more ? page[page.length - 1].id : null };
}

/**
 * Asks a job to stop. A QUEUED job is CANCELLED at once; a RUNNING one gets `cancelRequested`, and the runner that
 * holds it aborts the run and ends it CANCELLED. Returns the new state, or null when the job has already finished
 * (or does not exist).
 */
export async function requestCancel(q: Queryable, id: number): Promise<JobState | null> {
  const queued = sql`${jobs.status} = 'QUEUED'`;
  const [row] = await q.db
    .update(jobs)
    .set({
      status: sql`case when ${queued} then 'CANCELLED'::job_status else ${jobs.status} end`,
      cancelRequested: true,
      finishedAt: sql`case when ${queued} then now() else ${jobs.finishedAt} end`,
      message: sql`case when ${queued} then 'cancelled before it started' else ${jobs.message} end`,
      ...touched(),
    })
    .where(and(eq(jobs.id, id), inArray(jobs.status, ['QUEUED', 'RUNNING'])))
    .returning(stateColumns);
  return row ?? null;
}
