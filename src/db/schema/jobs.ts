import { sql } from 'drizzle-orm';
import { boolean, doublePrecision, index, integer, jsonb, pgEnum, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { plants } from './twin.ts';

export const jobStatus = pgEnum('job_status', ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']);
export type JobStatus = (typeof jobStatus.enumValues)[number];

const at = (name: string) => timestamp(name, { withTimezone: true });

/**
 * The job queue. Any server process on the database claims QUEUED jobs (FOR UPDATE SKIP LOCKED) and holds a lease
 * (lease_owner, lease_until) that it renews while the job runs; a job whose lease expired belonged to a process that
 * died and is queued again or failed by the sweep. Times are the database's clock, shared by every process.
 * A plant's jobs are deleted with it (cascade): a job is about its plant, and a runner whose job row vanished sees its
 * lease gone and aborts the run.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: serial('id').primaryKey(),
    kind: text('kind').notNull(),
    status: jobStatus('status').notNull().default('QUEUED'),
    /** null: a job of no plant, visible to unscoped callers only. */
    plantId: integer('plant_id').references(() => plants.id, { onDelete: 'cascade' }),
    /** Who queued it: the credential's name, as the audit log records it (key_name). */
    createdBy: text('created_by').notNull(),
    /** The API key's row when queued with an API key (the audit log's key_id); null for JWTs and internal callers. */
    createdByKeyId: integer('created_by_key_id'),
    params: jsonb('params').notNull().default({}),
    result: jsonb('result'),
    error: text('error'),
    /** 0 to 1. */
    progress: doublePrecision('progress').notNull().default(0),
    message: text('message'),
    /** Runs started (claims); a run handed back at a graceful shutdown is not counted. */
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    leaseOwner: text('lease_owner'),
    leaseUntil: at('lease_until'),
    /** Bumped by every change, so a subscriber can drop events older than the state it has already seen. */
    revision: integer('revision').notNull().default(0),
    createdAt: at('created_at').notNull().defaultNow(),
    startedAt: at('started_at'),
    finishedAt: at('finished_at'),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // Claiming: the oldest QUEUED job of the kinds a runner knows.
    index('jobs_queued_idx').on(t.kind, t.id).where(sql`status = 'QUEUED'`),
    // The sweep: RUNNING jobs by lease expiry.
    index('jobs_running_lease_idx').on(t.leaseUntil).where(sql`status = 'RUNNING'`),
    // Listing, newest first, by plant and status.
    index('jobs_plant_status_idx').on(t.plantId, t.status, t.id),
    index('jobs_status_idx').on(t.status, t.id),
  ],
);
