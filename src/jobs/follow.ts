import type { Queryable } from '../db/client.ts';
import { isFinished, type Job, type JobState } from './job.ts';
import { getJob } from './queue.ts';

/**
 * A job's states as they change: its current state (read after `updates` was subscribed, so nothing in between is
 * missed), then each newer update event (older revisions dropped), and last the final state read again with its result;
 * then it is done. A job already finished yields its final state at once and ends; an unknown one yields nothing.
 * Ending it (`return`) ends `updates` at once, also while a `next()` is waiting for an event.
 */
export function followJob(q: Queryable, id: number, updates: AsyncIterator<JobState>): AsyncIterableIterator<Job | JobState> {
  let phase: 'first' | 'updates' | 'done' = 'first';
  let revision = -1;
  const end = async (): Promise<IteratorReturnResult<undefined>> => {
    if (phase !== 'done') {
      phase = 'done';
      await updates.return?.();
    }
    return { value: undefined, done: true };
  };
  const it: AsyncIterableIterator<Job | JobState> = {
    async next() {
      if (phase === 'first') {
        phase = 'updates';
        const job = await getJob(q, id);
        if (!job) return end();
        if (isFinished(job.status)) await end();
        revision = job.revision;
        return { value: job, done: false };
      }
      while (phase === 'updates') {
        const r = await updates.next();
        if (r.done) return end();
        if (phase !== 'updates' || r.value.revision <= revision) continue;
        revision = r.value.revision;
        if (!isFinished(r.value.status)) return { value: r.value, done: false };
        await end();
        return { value: (await getJob(q, id)) ?? r.value, done: false };
      }
      return { value: undefined, done: true };
    },
    return: end,
    async throw(err?: unknown) {
      await end();
      throw err;
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}
