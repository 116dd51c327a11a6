/** Runs solveSchedule in a worker thread (see ../../jobs/pool.ts); progress carries the best objective so far. */
import { workerTask } from '../../jobs/worker-task.ts';
import { solveSchedule } from './index.ts';
import type { ScheduleTask } from './task.ts';

export default workerTask(async (task: ScheduleTask, progress) => {
  const limit = task.options.timeLimitSeconds ?? 10;
  let lastSent = 0;
  return solveSchedule(task.problem, {
    ...task.options,
    onProgress: (p) => {
      const now = performance.now();
      if (now - lastSent < 200) return;
      lastSent = now;
      progress(
        limit > 0 ? Math.min(0.95, p.elapsedSeconds / limit) : 0.5,
        JSON.stringify({ best: p.best, iterations: p.iterations, seconds: p.elapsedSeconds }),
      );
    },
  });
});
