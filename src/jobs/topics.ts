import { defineTopic, reviveDates } from '../pubsub/index.ts';
import type { JobState } from './job.ts';

const STATE_DATES = ['leaseUntil', 'createdAt', 'startedAt', 'finishedAt', 'updatedAt'] as const satisfies readonly (keyof JobState)[];

/** Every change of a job (key: job ID), in the order it was written; reaches every server process. */
export const jobUpdateTopic = defineTopic<JobState>('jobUpdates', {
  shared: true,
  revive: (s: JobState) => reviveDates(s, STATE_DATES),
});

/** A job was queued (one channel, key 0): wakes the runners of every process, which then claim through the database. */
export const jobQueuedTopic = defineTopic<{ id: number; kind: string }>('jobQueued', { shared: true });
export const JOB_QUEUED_KEY = 0;
