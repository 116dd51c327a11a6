import type { Queryable } from '../db/client.ts';
import { isFinished, type Job, type JobState } from './job.ts';
import { getJob } from './queue.ts';

const QUIET = Symbol('quiet');

/**
 * A job's states as they change: its current state (read after `updates` was subscribed, so nothing in between is
 * missed), then each newer update event (older revisions dropped), and last the final state read again with its
 * result; then it is done. A job already finished yields its final state at once and ends; an unknown one yields
 * nothing. After `recheckMs` without an event the row is read again, so a lost notification (a LISTEN connection
 * that was down) delays an update but never leaves the stream hanging. Ending it (`return`) ends `updates` at once,
 * also while a `next()` is waiting for an event.
 */
export function followJob(q: Queryable, id: number, updates: AsyncIterator<JobState>, recheckMs = 5_000): AsyncIterableIterator<Job | JobState> {
  let phase: 'first' | 'updates' | 'done' = 'first';
  let revision = -1;
  let pending: Promise<IteratorResult<JobState>> | null = null;
  const end = async (): Promise<IteratorReturnResult<undefined>> => {
    if (phase !== 'done') {
      phase = 'done';
      await updates.return?.();
    }
    return { value: undefined, done: true };
  };
  const nextEvent = async (): Promise<IteratorResult<JobState> | typeof QUIET> => {
    pending ??= updates.next();
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<typeof QUIET>((resolve) => {
      timer = setTimeout(() => resolve(QUIET), recheckMs);
      timer.unref();
    });
    try {
      const r = await Promise.race([pending, quiet]);
      if (r !== QUIET) pending = null;
      return r;
    } finally {
      clearTimeout(timer);
    }
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
        const r = await nextEvent();
        if (r !== QUIET && r.done) return end();
        const state = r === QUIET ? await getJob(q, id) : r.value;
        if (!state) return end(); // deleted with its plant
        if (phase !== 'updates' || state.revision <= revision) continue;
        revision = state.revision;
        if (!isFinished(state.status)) return { value: state, done: false };
        await end();
        return { value: r === QUIET ? state : ((await getJob(q, id)) ?? state), done: false };
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
