/**
 * Solving with HiGHS (the `highs` WebAssembly build): the model is written as LP text (writeLp), read by a fresh
 * HiGHS instance, run synchronously (it blocks the thread: call it in a worker, see solver-worker.ts), and the result
 * mapped to a SolveOutcome. The Wasm module is loaded once per thread (loadHighsOnce).
 */
import * as highsModule from 'highs';
import type { Highs } from 'highs';
import { buildLp, type LpText } from './lp-format.ts';
import { isMip, type OptimizationModel } from './model.ts';
import { emptyOutcome, type SolveOptions, type SolveOutcome, type SolveStatus } from './outcome.ts';

// The package's types describe its CommonJS entry while Node loads its ES module: take the loader from either shape.
const loadHighs: () => Promise<Highs> = (highsModule as any).default?.default ?? (highsModule as any).default;

let loading: Promise<Highs> | null = null;

/** The HiGHS runtime of this thread, loaded (compiled) on first use; a failed load is retried on the next call. */
export function loadHighsOnce(): Promise<Highs> {
  const p =
    loading ??
    loadHighs().catch((e: unknown) => {
      loading = null;
      throw e;
    });
  loading = p;
  return p;
}

/** HiGHS model status codes (highs.constants.modelStatus) with the status words of its one-shot API. */
export const HIGHS_STATUS_WORDS: Record<number, string> = {
  0: 'Not Set',
  1: 'Load error',
  2: 'Model error',
  3: 'Presolve error',
  4: 'Solve error',
  5: 'Postsolve error',
  6: 'Empty',
  7: 'Optimal',
  8: 'Infeasible',
  9: 'Primal infeasible or unbounded',
  10: 'Unbounded',
  11: 'Bound on objective reached',
  12: 'Target for objective reached',
  13: 'Time limit reached',
  14: 'Iteration limit reached',
  15: 'Unknown',
  16: 'Solution limit reached',
  17: 'Interrupted',
};

/**
 * Our status for a HiGHS status word (any HighsModelStatus string of its types, plus the codes' words above) and
 * whether HiGHS has a feasible primal solution. 'Primal infeasible or unbounded' maps to INFEASIBLE here only as a
 * placeholder: solveWithHighs decides it with a second solve without objective. 'Empty' (no columns) is OPTIMAL.
 * A limit (time, iterations, solutions, objective bound/target, interruption) gives FEASIBLE with a solution and
 * TIME_LIMIT without one; errors, 'Not Set' and 'Unknown' give ERROR.
 */
export function mapHighsStatus(words: string, hasSolution: boolean): SolveStatus {
  switch (words) {
    case 'Optimal':
    case 'Empty':
      return 'OPTIMAL';
    case 'Infeasible':
    case 'Primal infeasible or unbounded':
      return 'INFEASIBLE';
    case 'Unbounded':
      return 'UNBOUNDED';
    case 'Time limit reached':
    case 'Iteration limit reached':
    case 'Solution limit reached':
    case 'Interrupted':
      return hasSolution ? 'FEASIBLE' : 'TIME_LIMIT';
    case 'Bound on objective reached':
    case 'Target for objective reached':
      return hasSolution ? 'FEASIBLE' : 'ERROR';
    default:
      return 'ERROR';
  }
}

/** HiGHS option values for our options (`output_flag` off, `time_limit`, `mip_rel_gap`). */
export function highsOptions(opts: SolveOptions, remainingSeconds?: number): Record<string, number | boolean | string> {
  const o: Record<string, number | boolean | string> = { output_flag: false };
  const limit = remainingSeconds ?? opts.timeLimitSeconds;
  if (limit !== undefined && Number.isFinite(limit)) o.time_limit = Math.max(0.001, limit);
  if (opts.mipGap !== undefined) o.mip_rel_gap = opts.mipGap;
  return o;
}

interface RawRun {
  code: number;
  words: string;
  hasPrimal: boolean;
  hasDual: boolean;
  objective: number;
  colValue?: Float64Array;
  colDual?: Float64Array;
  rowDual?: Float64Array;
  colNames: string[];
  rowNames: string[];
  bestBound: number | null;
  gap: number | null;
}

function runHighs(highs: Highs, lp: LpText, options: Record<string, number | boolean | string>, mip: boolean): RawRun {
  const m = highs.createModel({ format: 'lp', data: lp.text });
  try {
    m.options.set(options);
    m.run();
    const code = m.getModelStatus();
    const words = HIGHS_STATUS_WORDS[code] ?? `status ${code}`;
    const info = (name: string): number | null => {
      try {
        const x = Number(m.info.get(name));
        return Number.isFinite(x) ? x : null;
      } catch {
        return null;
      }
    };
    const dims = m.getDimensions();
    const run: RawRun = {
      code,
      words,
      hasPrimal: info('primal_solution_status') === 2,
      hasDual: info('dual_solution_status') === 2,
      objective: Number.NaN,
      colNames: [],
      rowNames: [],
      bestBound: mip ? info('mip_dual_bound') : null,
      gap: mip ? info('mip_gap') : null,
    };
    if (code === 6 || dims.numCols === 0) return run;
    for (let i = 0; i < dims.numCols; i++) run.colNames.push(m.getColName(i));
    for (let i = 0; i < dims.numRows; i++) run.rowNames.push(m.getRowName(i));
    if (run.hasPrimal) {
      const s = m.getSolution();
      run.objective = m.getObjectiveValue();
      run.colValue = s.colValue;
      run.colDual = s.colDual;
      run.rowDual = s.rowDual;
    }
    return run;
  } finally {
    m.dispose();
  }
}

/**
 * Solves `model` with HiGHS. Values of every variable come back by name; for LPs with a dual solution, row duals
 * (summed over the two LP rows of a range) and reduced costs too; for MIPs, HiGHS's best bound and gap. When HiGHS
 * reports 'Infeasible', the model is solved again without presolve to confirm it (see below); when it reports
 * 'Primal infeasible or unbounded', the model is solved again without objective: infeasible then means INFEASIBLE,
 * feasible means UNBOUNDED. The outcome is not checked here (solveModel runs verifyOutcome).
 */
export async function solveWithHighs(model: OptimizationModel, opts: SolveOptions = {}): Promise<SolveOutcome> {
  const started = performance.now();
  const mip = isMip(model);
  const finish = (o: SolveOutcome): SolveOutcome => ({ ...o, seconds: (performance.now() - started) / 1000 });
  let highs: Highs;
  try {
    highs = await loadHighsOnce();
  } catch (e) {
    return finish(emptyOutcome('HIGHS', 'ERROR', mip, 'Load error', `HiGHS failed to load: ${(e as Error).message}`));
  }
  const lp = buildLp(model);
  let run: RawRun;
  try {
    run = runHighs(highs, lp, highsOptions(opts), mip);
  } catch (e) {
    // an abort inside the Wasm module can leave it unusable: load a fresh one next time
    loading = null;
    return finish(emptyOutcome('HIGHS', 'ERROR', mip, 'Solve error', `HiGHS failed: ${(e as Error).message}`));
  }
  const remainingSeconds = () => {
    const elapsed = (performance.now() - started) / 1000;
    return opts.timeLimitSeconds !== undefined ? Math.max(0.001, opts.timeLimitSeconds - elapsed) : undefined;
  };
  let confirmNote: string | null = null;
  if (run.code === 8) {
    // HiGHS 1.15.1's presolve has called a feasible, unbounded LP infeasible (test/solver.test.ts has one): an
    // infeasible verdict is confirmed without presolve, and the run without presolve is the answer when it differs
    try {
      const confirm = runHighs(highs, lp, { ...highsOptions(opts, remainingSeconds()), presolve: 'off' }, mip);
      if (confirm.code === 7 || confirm.code === 9 || confirm.code === 10) run = confirm;
      else if (confirm.code !== 8) confirmNote = `infeasible with presolve; not confirmed without it (${confirm.words})`;
    } catch (e) {
      loading = null;
      confirmNote = `infeasible with presolve; the confirmation without it failed: ${(e as Error).message}`;
    }
  }
  let status = mapHighsStatus(run.words, run.hasPrimal);
  let message: string | null = confirmNote;
  if (run.code === 9) {
    const remaining = remainingSeconds();
    const feasibility = buildLp({ ...model, objective: { ...model.objective, terms: [], constant: 0 } });
    try {
      const second = runHighs(highs, feasibility, highsOptions(opts, remaining), mip);
      if (second.code === 8) status = 'INFEASIBLE';
      else if (second.hasPrimal) status = 'UNBOUNDED';
      else {
        status = second.code === 13 ? 'TIME_LIMIT' : 'ERROR';
        message = `HiGHS found the model infeasible or unbounded and could not tell which (feasibility solve: ${second.words})`;
      }
    } catch (e) {
      loading = null;
      status = 'ERROR';
      message = `HiGHS found the model infeasible or unbounded; the feasibility solve failed: ${(e as Error).message}`;
    }
  } else if (run.code === 13) message = run.hasPrimal ? 'time limit reached; best solution found so far' : 'time limit reached before any solution was found';
  else if (status === 'ERROR') message = `HiGHS ended with status ${run.words}`;
  else if (status === 'FEASIBLE' || status === 'TIME_LIMIT') message = `HiGHS stopped: ${run.words}`;

  const out = emptyOutcome('HIGHS', status, mip, run.words, message);
  out.bestBound = run.bestBound;
  out.gap = run.gap;
  if (status === 'OPTIMAL' || status === 'FEASIBLE') {
    const index = new Map<string, number>();
    lp.columns.forEach((name, i) => {
      index.set(name, i);
    });
    const values: Record<string, number> = {};
    for (const v of model.variables) values[v.name] = 0;
    if (run.code === 6 || run.colNames.length === 0) {
      // no columns: nothing to optimize, the objective is the constant
      out.objective = model.objective.constant;
    } else {
      run.colNames.forEach((name, i) => {
        const k = index.get(name);
        if (k !== undefined) values[model.variables[k].name] = run.colValue![i];
      });
      out.objective = run.objective;
      if (!mip && run.hasDual && status === 'OPTIMAL') {
        const duals: Record<string, number> = {};
        for (const c of model.constraints) duals[c.name] = 0;
        run.rowNames.forEach((name, i) => {
          const origin = lp.rows.get(name);
          if (origin) duals[model.constraints[origin.row].name] += run.rowDual![i];
        });
        const reduced: Record<string, number> = {};
        for (const v of model.variables) reduced[v.name] = 0;
        run.colNames.forEach((name, i) => {
          const k = index.get(name);
          if (k !== undefined) reduced[model.variables[k].name] = run.colDual![i];
        });
        out.duals = duals;
        out.reducedCosts = reduced;
      }
    }
    out.values = values;
  }
  return finish(out);
}
