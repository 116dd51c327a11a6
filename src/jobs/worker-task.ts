import type { MessagePort } from 'node:worker_threads';

/** What WorkerPool.runInWorker posts to the worker. */
export interface WorkerTaskInput {
  payload: unknown;
  progress: MessagePort;
}

/** One progress report from a worker to its job. */
export interface WorkerProgress {
  fraction: number;
  message?: string;
}

/**
 * The default export of a worker module: `export default workerTask((payload, progress) => ...)`. `progress`
 * reaches the job's `ctx.progress` (throttled there). No abort signal is needed inside: aborting terminates the thread.
 */
export function workerTask<P, R>(fn: (payload: P, progress: (fraction: number, message?: string) => void) => R | Promise<R>) {
  return async ({ payload, progress: port }: WorkerTaskInput): Promise<R> => {
    try {
      return await fn(payload as P, (fraction, message) => port.postMessage({ fraction, message } satisfies WorkerProgress));
    } finally {
      port.close();
    }
  };
}
