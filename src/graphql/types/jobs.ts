import { sql } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import { ConflictError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import { decodeId } from '../../core/ids.ts';
import { type JobStatus, jobStatus, jobs } from '../../db/schema/index.ts';
import { followJob } from '../../jobs/follow.ts';
import { canSeeJob, type Job } from '../../jobs/job.ts';
import { type JobFilter, jobListSql } from '../../jobs/queue.ts';
import { jobUpdateTopic } from '../../jobs/topics.ts';
import { visiblePlantId } from '../access.ts';
import { builder, registerNodeVisibility } from '../builder.ts';
import type { Context } from '../context.ts';
import { subscribeTopic } from '../subscriptions.ts';

export const JobStatusEnum = builder.enumType('JobStatus', { values: jobStatus.enumValues });

// Fields read straight off the row rather than through column selections: jobUpdates events carry job states that
// did not come from a planned query (see the Alert type).
export const JobNode = builder.drizzleNode('jobs', {
  name: 'Job',
  description: 'Work done in the background (training, optimization, scenarios), with progress, cancellation and a result.',
  id: { column: (j) => j.id },
  authScopes: (j, ctx) => canSeeJob(ctx.auth, j),
  fields: (t) => ({
    kind: t.string({ resolve: (j) => j.kind }),
    status: t.field({ type: JobStatusEnum, resolve: (j) => j.status }),
    progress: t.float({ description: 'From 0 to 1.', resolve: (j) => j.progress }),
    message: t.string({ nullable: true, description: 'What the job is doing, as it last said.', resolve: (j) => j.message }),
    error: t.string({ nullable: true, description: 'Why it FAILED.', resolve: (j) => j.error }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What a SUCCEEDED job produced; its shape depends on the kind.',
      resolve: (j) => (j as Partial<Job>).result ?? null,
    }),
    plant: t.relation('plant', { nullable: true, description: 'null: a job of no plant (only unscoped credentials see those).' }),
    createdBy: t.string({ description: 'The name of the credentials that queued it.', resolve: (j) => j.createdBy }),
    attempts: t.int({
      description: 'Runs started; a run whose server process died counts, one handed back at a shutdown does not.',
      resolve: (j) => j.attempts,
    }),
    maxAttempts: t.int({ description: 'Runs tried before it FAILS when server processes die under it.', resolve: (j) => j.maxAttempts }),
    cancelRequested: t.boolean({ description: 'cancelJob was called; a RUNNING job ends CANCELLED shortly.', resolve: (j) => j.cancelRequested }),
    createdAt: t.field({ type: 'DateTime', resolve: (j) => j.createdAt }),
    startedAt: t.field({ type: 'DateTime', nullable: true, description: 'When its current or last run started.', resolve: (j) => j.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.finishedAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (j) => j.updatedAt }),
  }),
});

registerNodeVisibility('Job', (r) => r.plantId as number | null);

const notFound = (id: string) => new GraphQLError(new NotFoundError('Job', id).message, { extensions: { code: 'NOT_FOUND' } });

/** Query.jobs' filter: null when the plant asked for is malformed or not visible (an empty list). */
function jobFilter(ctx: Context, args: { plantId?: string | number | null; status?: readonly JobStatus[] | null; kind?: string | null }): JobFilter | null {
  const plantId = args.plantId === undefined || args.plantId === null ? undefined : visiblePlantId(ctx, String(args.plantId));
  if (plantId === null) return null;
  return { plantId, statuses: args.status ?? undefined, kind: args.kind ?? undefined };
}

builder.queryFields((t) => ({
  job: t.drizzleField({
    type: 'jobs',
    nullable: true,
    description: 'A job whose plant the caller may see; null for unknown, malformed or invisible IDs.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _r, { id }, ctx) => {
      const jobId = decodeId('Job', String(id));
      if (jobId === null) return null;
      const row = await ctx.db.query.jobs.findFirst(query({ where: { id: jobId } }));
      // The type selects every column (it has no `select`), so the row carries its plant.
      return row && canSeeJob(ctx.auth, row as unknown as Job) ? row : null;
    },
  }),
  jobs: t.drizzleConnection(
    {
      type: 'jobs',
      description: 'Jobs the caller may see, newest first; filtered by plant, status and kind.',
      args: { plantId: t.arg.id(), status: t.arg({ type: [JobStatusEnum] }), kind: t.arg.string() },
      totalCount: async (_r, args, ctx) => {
        const f = jobFilter(ctx, args);
        return f === null ? 0 : ctx.db.$count(jobs, jobListSql(ctx.auth, f));
      },
      resolve: async (query, _r, args, ctx) => {
        const f = jobFilter(ctx, args);
        if (f === null) return [];
        return ctx.db.query.jobs.findMany(query({ where: { RAW: (table) => jobListSql(ctx.auth, f, table) ?? sql`true` }, orderBy: { id: 'desc' } }));
      },
    },
    { name: 'JobConnection' },
    { name: 'JobEdge' },
  ),
}));

const CancelJobSuccess = builder.objectRef<{ id: number }>('CancelJobSuccess').implement({
  fields: (t) => ({
    job: t.drizzleField({
      type: 'jobs',
      description: 'CANCELLED at once when it was QUEUED; a RUNNING job shows cancelRequested and ends CANCELLED shortly.',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.jobs.findFirst(query({ where: { id: parent.id } })))!,
    }),
  }),
});

builder.mutationFields((t) => ({
  cancelJob: t.field({
    description:
      'Cancels a QUEUED or RUNNING job; the worker running it stops within about a second. Needs the role its kind declares (ENGINEER unless it says otherwise). A ConflictError when it has already finished.',
    type: CancelJobSuccess,
    skipTypeScopes: true,
    authScopes: { viewer: true },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ForbiddenError, ConflictError], directResult: true, union: { name: 'CancelJobResult' } },
    resolve: async (_r, { id }, ctx) => {
      const jobId = decodeId('Job', String(id));
      if (jobId === null) throw new NotFoundError('Job', String(id));
      const state = await ctx.services.jobs.cancel(ctx.auth, jobId, String(id));
      return { id: state.id };
    },
  }),
}));

builder.subscriptionFields((t) => ({
  jobUpdates: t.field({
    type: JobNode,
    description:
      'A job as it changes: its current state first, then its progress, then its final state (with its result), and then the subscription completes. A job that has already finished yields its final state at once.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_r, { id }, ctx) => {
      const jobId = decodeId('Job', String(id));
      const job = jobId === null ? undefined : await ctx.services.jobs.get(ctx.auth, jobId);
      if (!job) throw notFound(String(id));
      return followJob(ctx.services.database, job.id, subscribeTopic(ctx, jobUpdateTopic, job.id));
    },
    resolve: (state) => state as Job,
  }),
}));
