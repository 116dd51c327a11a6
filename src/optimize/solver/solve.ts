/**
 * The solver layer's entry points: solveModel picks a solver, runs it and verifies its answer; solveText parses LP or
 * MPS text first; solveModelInWorker runs solveModel in the worker pool (aborting terminates the worker).
 */
import type { WorkerPool } from '../../jobs/pool.ts';
import { workerFile } from '../../jobs/pool.ts';
import { verifyOutcome } from './check.ts';
import { solveWithHighs } from './highs.ts';
import { solveWithJslp } from './jslp.ts';
import { parseLp, type ParseOptions } from './lp-format.ts';
import { isMip, type OptimizationModel, validateModel } from './model.ts';
import { parseMps } from './mps-format.ts';
import { emptyOutcome, type SolveOptions, type SolveOutcome, type SolverName } from './outcome.ts';

/**
 * AUTO uses javascript-lp-solver only for pure LPs with fewer variables than this, HiGHS otherwise. Measured with
 * bench/solvers.ts (production-planning LPs, solveModel wall time, 5 rounds interleaved, medians, 2 shared cores):
 * javascript-lp-solver took 1.0 / 9.5 / 8.3 / 19 / 24 / 40 ms at 36 / 108 / 144 / 216 / 288 / 396 variables against
 * HiGHS's 6.7 / 20 / 9.6 / 20 / 36 / 25 ms, then 47 s against 60 ms at 1,008 (its dense tableau), and over 4 minutes
 * at 4,000. The crossover is near 300-400 variables; below 200 it saves a few milliseconds, above it risks its
 * blow-up, so the threshold sits well below the crossover.
 */
export const JSLP_AUTO_MAX_VARIABLES = 200;

export type SolverChoice = 'AUTO' | SolverName;

export interface SolveModelOptions extends SolveOptions {
  solver?: SolverChoice;
}

export type SolverFunction = (model: OptimizationModel, opts: SolveOptions) => Promise<SolveOutcome>;

/** Solver functions by name; tests replace one to inject a bad answer. */
export const SOLVERS: Record<SolverName, SolverFunction> = { HIGHS: solveWithHighs, JSLP: solveWithJslp };

/** The solver AUTO picks for `model`: JSLP for pure LPs under JSLP_AUTO_MAX_VARIABLES variables, else HIGHS. */
export function chooseSolver(model: OptimizationModel, choice: SolverChoice = 'AUTO'): SolverName {
  if (choice !== 'AUTO') return choice;
  return !isMip(model) && model.variables.length < JSLP_AUTO_MAX_VARIABLES ? 'JSLP' : 'HIGHS';
}

/** INFEASIBLE before any solver runs: a variable or row whose lower bound exceeds its upper one. */
function trivialInfeasibility(model: OptimizationModel): string | null {
  for (const v of model.variables) if (v.lower > v.upper) return `variable ${v.name} has lower bound ${v.lower} above its upper bound ${v.upper}`;
  for (const c of model.constraints) if (c.lower > c.upper) return `row ${c.name} has lower bound ${c.lower} above its upper bound ${c.upper}`;
  return null;
}

/**
 * Solves `model` (validated first: throws ModelValidationError) with the chosen solver ('AUTO' by default, see
 * chooseSolver) and returns its outcome after verifyOutcome: an answer that fails the independent check is never
 * OPTIMAL or FEASIBLE. When AUTO chose javascript-lp-solver and it ends in ERROR, HiGHS solves the model instead
 * (`message` says so). `solvers` replaces the solver functions (tests).
 */
export async function solveModel(
  model: OptimizationModel,
  opts: SolveModelOptions = {},
  solvers: Partial<Record<SolverName, SolverFunction>> = {},
): Promise<SolveOutcome> {
  validateModel(model);
  const name = chooseSolver(model, opts.solver);
  const bad = trivialInfeasibility(model);
  if (bad) return emptyOutcome(name, 'INFEASIBLE', isMip(model), 'infeasible (bounds)', bad);
  const fn = solvers[name] ?? SOLVERS[name];
  const { solver: _choice, ...solveOpts } = opts;
  let outcome: SolveOutcome;
  try {
    outcome = await fn(model, solveOpts);
  } catch (e) {
    outcome = emptyOutcome(name, 'ERROR', isMip(model), 'error', `${name} failed: ${(e as Error).message}`);
  }
  const verified = verifyOutcome(model, outcome, opts.checkTolerance);
  if (verified.status === 'INFEASIBLE' && model.constraints.length <= IIS_MAX_ROWS) {
    const rows = await infeasibleSubset(model, IIS_SECONDS, solvers.HIGHS ?? SOLVERS.HIGHS);
    if (rows) return { ...verified, infeasibleRows: rows };
  }
  if (verified.status === 'ERROR' && name === 'JSLP' && (opts.solver ?? 'AUTO') === 'AUTO') {
    // AUTO's choice failed (its pivot budget, a solution that failed the check): HiGHS decides instead
    const fallback = await solveModel(model, { ...opts, solver: 'HIGHS' }, solvers);
    return {
      ...fallback,
      message: `javascript-lp-solver failed (${verified.message}); solved with HiGHS instead${fallback.message ? `: ${fallback.message}` : ''}`,
    };
  }
  return verified;
}

/** Rows at most for which an infeasible model gets its irreducible infeasible subset, and the time spent on it. */
export const IIS_MAX_ROWS = 300;
export const IIS_SECONDS = 5;

/**
 * An irreducible infeasible subset of an infeasible model's rows (bounds kept), by the deletion filter: drop each row
 * in turn; if the rest stays infeasible it stays dropped, otherwise it belongs to the subset. Null when the budget
 * runs out or a solve does not say INFEASIBLE or feasible (a limit).
 */
export async function infeasibleSubset(model: OptimizationModel, seconds: number, highs: SolverFunction): Promise<string[] | null> {
  const deadline = performance.now() + seconds * 1000;
  let kept = [...model.constraints];
  const infeasible = async (rows: typeof kept): Promise<boolean | null> => {
    const left = (deadline - performance.now()) / 1000;
    if (left <= 0) return null;
    const o = await highs({ ...model, constraints: rows }, { timeLimitSeconds: left });
    if (o.status === 'INFEASIBLE') return true;
    if (o.status === 'OPTIMAL' || o.status === 'FEASIBLE' || o.status === 'UNBOUNDED') return false;
    return null;
  };
  for (let i = 0; i < kept.length; ) {
    const without = kept.filter((_, k) => k !== i);
    const still = await infeasible(without);
    if (still === null) return null;
    if (still) kept = without;
    else i++;
  }
  return kept.map((c) => c.name);
}

/** Parses `text` as LP or MPS (throws ModelParseError with the line, ModelTooLargeError) and solves it (solveModel). */
export async function solveText(format: 'LP' | 'MPS', text: string, opts: SolveModelOptions & ParseOptions = {}): Promise<SolveOutcome> {
  const { maxBytes, ...rest } = opts;
  const model = format === 'LP' ? parseLp(text, { maxBytes }) : parseMps(text, { maxBytes });
  return solveModel(model, rest);
}

/** What solver-worker.ts receives. */
export interface SolveTask {
  model: OptimizationModel;
  options: SolveModelOptions;
}

export const SOLVER_WORKER = workerFile(import.meta.url, './solver-worker');

/**
 * solveModel in a worker thread of `pool` (the solvers block their thread). Aborting `signal` terminates the worker
 * and rejects with an AbortError. `onProgress` gets (0, 'solving') when the solver starts. Throws ModelValidationError
 * (in the calling thread) for a malformed model.
 */
export function solveModelInWorker(
  pool: WorkerPool,
  model: OptimizationModel,
  options: SolveModelOptions = {},
  run: { signal?: AbortSignal; onProgress?: (fraction: number, message?: string) => void } = {},
): Promise<SolveOutcome> {
  validateModel(model); // here, so that the caller gets the typed error (errors lose their class between threads)
  const task: SolveTask = { model, options };
  return pool.runInWorker<SolveOutcome>(SOLVER_WORKER, task, run);
}
