import { runInBackground } from './background.ts';

/** A task run every `intervalMs`, never overlapping itself; `stop()` waits for a run in progress. */
export interface PeriodicTask {
  stop(): Promise<void>;
}

/**
 * Runs `task` every `intervalMs` (and once at once with `runNow`). A run still going when the next is due is not
 * doubled; errors go to `onError` and never stop the schedule. The timer does not keep the process alive. Each run is
 * background work (see background.ts): it never inherits the context of the request that happened to start the task.
 */
export function startPeriodic(
  task: () => Promise<unknown>,
  intervalMs: number,
  onError: (err: unknown) => void,
  opts: { runNow?: boolean } = {},
): PeriodicTask {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = runInBackground(task)
      .then(() => undefined, onError)
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  if (opts.runNow) tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
