// Worker thread: solves one optimization model (the solvers are synchronous and CPU-heavy) off the event loop.
// Cancelling terminates the thread. The payload is a SolveTask (plain data), the result a SolveOutcome.
import { workerTask } from '../../jobs/worker-task.ts';
import { loadHighsOnce } from './highs.ts';
import { chooseSolver, type SolveTask, solveModel } from './solve.ts';

export default workerTask(async ({ model, options }: SolveTask, progress) => {
  if (chooseSolver(model, options.solver) === 'HIGHS') await loadHighsOnce();
  progress(0, 'solving');
  return solveModel(model, options);
});
