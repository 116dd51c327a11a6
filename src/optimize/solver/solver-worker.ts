// Worker thread: solves one optimization model (the solvers are synchronous and CPU-heavy) off the event loop.
// Cancelling terminates the thread. The payload is a SolveTask (a model as plain data) or a TextSolveTask (LP or MPS
// text, parsed here too: parsing 10 MB takes over a second); the result a SolveOutcome, or for text the outcome or
// the parse error as data (errors lose their class between threads).
import { workerTask } from '../../jobs/worker-task.ts';
import { loadHighsOnce } from './highs.ts';
import { type TextSolveResult, type TextSolveTask, textProblem } from './text-task.ts';
import { chooseSolver, type SolveTask, solveModel } from './solve.ts';
import { parseLp } from './lp-format.ts';
import { parseMps } from './mps-format.ts';
import { validateModel } from './model.ts';

export default workerTask(async (task: SolveTask | TextSolveTask, progress): Promise<unknown> => {
  if ('text' in task) {
    let model: ReturnType<typeof parseLp>;
    try {
      model = task.format === 'LP' ? parseLp(task.text, { maxBytes: task.maxBytes }) : parseMps(task.text, { maxBytes: task.maxBytes });
      validateModel(model);
    } catch (err) {
      const problem = textProblem(err);
      if (problem) return { ok: false, problem } satisfies TextSolveResult;
      throw err;
    }
    const max = task.maxItems ?? Number.POSITIVE_INFINITY;
    if (model.variables.length > max || model.constraints.length > max) {
      const problems = [
        ...(model.variables.length > max ? [{ path: 'variables', message: `${model.variables.length} variables: at most ${max}` }] : []),
        ...(model.constraints.length > max ? [{ path: 'constraints', message: `${model.constraints.length} rows: at most ${max}` }] : []),
      ];
      return { ok: false, problem: { kind: 'invalid', problems } } satisfies TextSolveResult;
    }
    if (chooseSolver(model, task.options.solver) === 'HIGHS') await loadHighsOnce();
    progress(0, 'solving');
    return {
      ok: true,
      outcome: await solveModel(model, task.options),
      variables: model.variables.length,
      constraints: model.constraints.length,
    } satisfies TextSolveResult;
  }
  const { model, options } = task;
  if (chooseSolver(model, options.solver) === 'HIGHS') await loadHighsOnce();
  progress(0, 'solving');
  return solveModel(model, options);
});
