import { defineTopic, reviveDates } from '../pubsub/index.ts';
import { type Job, type JobState, jobText } from './job.ts';

const STATE_DATES = ['leaseUntil', 'createdAt', 'startedAt', 'finishedAt', 'updatedAt'] as const satisfies readonly (keyof JobState)[];

/** Every change of a job (key: job ID), in the order it was written; reaches every server process. */
export const jobUpdateTopic = defineTopic<JobState>('jobUpdates', {
  shared: true,
  revive: (s: JobState) => reviveDates(s, STATE_DATES),
});

/** A job was queued (one channel, key 0): wakes the runners of every process, which then claim through the database. */
export const jobQueuedTopic = defineTopic<{ id: number; kind: string }>('jobQueued', { shared: true });
export const JOB_QUEUED_KEY = 0;

/** Events cross processes through NOTIFY (under 8,000 bytes): a long message or error is cut further there. */
const EVENT_MAX_BYTES = 6_000;
const EVENT_TEXT_CUT = 200;

/** The event of a state: without params and result, and small enough for NOTIFY (subscribers read the final row). */
export function updateEvent(state: JobState): JobState {
  const { params: _p, result: _r, ...event } = state as Job;
  if (Buffer.byteLength(JSON.stringify(event)) <= EVENT_MAX_BYTES) return event;
  const cut = (t: string | null) => (t === null ? null : jobText(t.slice(0, EVENT_TEXT_CUT)));
  return { ...event, message: cut(event.message), error: cut(event.error) };
}
