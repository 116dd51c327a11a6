import { cutText } from '../core/errors.ts';
import type { PlantScope } from '../core/scope.ts';
import { storableText } from '../core/validate.ts';
import type { JobStatus, Role, jobs } from '../db/schema/index.ts';

export type { JobStatus };

/** A job row. */
export type Job = typeof jobs.$inferSelect;

/** A job as its update events carry it: everything but its params and result (which may be large). */
export type JobState = Omit<Job, 'params' | 'result'>;

export const FINISHED: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export const isFinished = (status: JobStatus) => FINISHED.includes(status);

/** Who asks: the credential's name and key (as the audit log records them), role and plants. Principal fits. */
export interface JobCaller extends PlantScope {
  name: string;
  keyId: number | null;
  role: Role;
}

/** The one visibility rule of jobs: a plant's job to those who may see the plant, a plant-less job to unscoped callers. */
export function canSeeJob(scope: PlantScope, job: Pick<Job, 'plantId'>): boolean {
  if (job.plantId === null) return scope.plantIds === null;
  return scope.plantIds === null || scope.plantIds.includes(job.plantId);
}

/** Characters kept of a job's message and error. */
export const TEXT_MAX = 2_000;
/** The largest params or result, as JSON. */
export const JSON_MAX_BYTES = 1024 * 1024;

/** A message or error as stored: storable text, cut to TEXT_MAX characters. */
export const jobText = (text: string) => storableText(cutText(text, TEXT_MAX));

/**
 * A value as a jsonb column stores it: through JSON (throws for cycles and BigInts), with strings made storable
 * (jsonb refuses NUL and unpaired surrogates) and undefined as null. Throws a RangeError over JSON_MAX_BYTES.
 */
export function toJson(value: unknown): unknown {
  const text = JSON.stringify(value ?? null, (_k, v) => (typeof v === 'string' ? storableText(v) : v));
  const bytes = Buffer.byteLength(text);
  if (bytes > JSON_MAX_BYTES) throw new RangeError(`${bytes.toLocaleString('en-US')} bytes as JSON; at most ${JSON_MAX_BYTES.toLocaleString('en-US')}`);
  return JSON.parse(text);
}
