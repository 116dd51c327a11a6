/**
 * Solving with javascript-lp-solver (pure JavaScript simplex with branch and cut). The model is translated to its
 * JSON format with generated names (variables `v0..`, negative parts `n0..`, rows `c0..`, bound rows `b0..`, objective
 * `o`), so that no model name can clash with its reserved result keys (feasible, result, bounded, isIntegral) or with
 * each other.
 *
 * Bounds: its variables are >= 0, so a variable with a finite lower bound l is shifted (x = l + x', x' >= 0), one with
 * only an upper bound u is mirrored (x = u - x'), a finite upper bound of a shifted variable becomes a bound row, a
 * free continuous variable is split (x = x+ - x-), a fixed variable becomes a constant, and integer bounds are rounded
 * inwards. Its own `unrestricted` option is not used: on seeded random LPs its answers with it were wrong (INFEASIBLE
 * or suboptimal) in 19 of 150 cases, with splitting in none (the 5 remaining bad answers were infeasible points, which
 * the check turns into ERROR). A free integer variable is refused (ERROR): its branch and cut leaves unrestricted
 * integers fractional, and split ones made it branch without end until the heap ran out. It gives no duals or
 * reduced costs (null).
 *
 * `timeLimitSeconds` becomes `options.timeout`, which it only honours between branch-and-cut nodes; a guard on its
 * pivots (installGuard) enforces the limit inside LPs too and stops LPs it cycles on.
 * Its answer after a MIP timeout is known to be unreliable: such a result is FEASIBLE at most, and only if the
 * independent check (verifyOutcome, run by solveModel) accepts it; otherwise TIME_LIMIT without solution.
 */
import * as jslpModule from 'javascript-lp-solver';
import { isMip, type OptimizationModel } from './model.ts';
import { emptyOutcome, type SolveOptions, type SolveOutcome } from './outcome.ts';

// The package's types describe its CommonJS entry while Node loads its ES module: take the solver from either shape.
const solver: { Solve(model: unknown): unknown } = (jslpModule as any).default?.default ?? (jslpModule as any).default;

/** The JSON model of javascript-lp-solver. */
export interface JslpModel {
  optimize: string;
  opType: 'min' | 'max';
  constraints: Record<string, { min?: number; max?: number; equal?: number }>;
  variables: Record<string, Record<string, number>>;
  ints?: Record<string, 1>;
  binaries?: Record<string, 1>;
  options?: { timeout?: number; tolerance?: number };
}

/**
 * How to map its answer back: x_i = shift[i] + sign[i] * value(keys[i]) - value(negKeys[i]); keys[i] null: the
 * variable is the constant shift[i]; negKeys[i] null: not split.
 */
export interface JslpTranslation {
  json: JslpModel;
  keys: (string | null)[];
  negKeys: (string | null)[];
  sign: (1 | -1)[];
  shift: number[];
  /** Objective constant after shifting (model constant + sum of cost * shift). */
  constant: number;
  /** Set when the translation itself shows infeasibility (empty integer range, violated constant row). */
  infeasible: string | null;
}

const ROW_TOL = 1e-9;

/** The javascript-lp-solver JSON model for `model` (see the module comment). */
export function toJslpModel(model: OptimizationModel, opts: SolveOptions = {}): JslpTranslation {
  const json: JslpModel = { optimize: 'o', opType: model.objective.sense === 'maximize' ? 'max' : 'min', constraints: {}, variables: {} };
  const keys: (string | null)[] = [];
  const negKeys: (string | null)[] = [];
  const sign: (1 | -1)[] = [];
  const shift: number[] = [];
  const index = new Map<string, number>();
  let infeasible: string | null = null;
  model.variables.forEach((v, i) => {
    index.set(v.name, i);
    let lower = v.lower;
    let upper = v.upper;
    if (v.type !== 'continuous') {
      lower = Math.ceil(lower - 1e-9);
      upper = Math.floor(upper + 1e-9);
    }
    if (lower > upper) {
      infeasible ??= `variable ${v.name} has no feasible value in [${v.lower}, ${v.upper}]`;
    }
    if (lower === upper) {
      keys.push(null);
      negKeys.push(null);
      sign.push(1);
      shift.push(lower);
      return;
    }
    const key = `v${i}`;
    keys.push(key);
    json.variables[key] = {};
    if (lower === -Infinity && upper === Infinity) {
      // free: x = x+ - x- (refused for integers by solveWithJslp)
      const neg = `n${i}`;
      negKeys.push(neg);
      json.variables[neg] = {};
      sign.push(1);
      shift.push(0);
      if (v.type !== 'continuous') {
        (json.ints ??= {})[key] = 1;
        json.ints[neg] = 1;
      }
    } else if (lower === -Infinity) {
      // only an upper bound: x = u - x'
      negKeys.push(null);
      sign.push(-1);
      shift.push(upper);
      if (v.type !== 'continuous') (json.ints ??= {})[key] = 1;
    } else {
      negKeys.push(null);
      sign.push(1);
      shift.push(lower);
      const width = upper - lower;
      if (v.type === 'binary' || (v.type === 'integer' && width === 1)) (json.binaries ??= {})[key] = 1;
      else {
        if (v.type === 'integer') (json.ints ??= {})[key] = 1;
        if (width !== Infinity) {
          json.constraints[`b${i}`] = { max: width };
          json.variables[key][`b${i}`] = 1;
        }
      }
    }
  });
  let constant = model.objective.constant;
  for (const t of model.objective.terms) {
    const i = index.get(t.name)!;
    constant += t.coef * shift[i];
    const key = keys[i];
    const neg = negKeys[i];
    if (key !== null && t.coef !== 0) json.variables[key].o = (json.variables[key].o ?? 0) + sign[i] * t.coef;
    if (neg !== null && t.coef !== 0) json.variables[neg].o = (json.variables[neg].o ?? 0) - t.coef;
  }
  model.constraints.forEach((c, r) => {
    let offset = 0;
    let count = 0;
    const name = `c${r}`;
    for (const t of c.terms) {
      const i = index.get(t.name)!;
      offset += t.coef * shift[i];
      const key = keys[i];
      const neg = negKeys[i];
      if (key !== null && t.coef !== 0) {
        json.variables[key][name] = (json.variables[key][name] ?? 0) + sign[i] * t.coef;
        count++;
      }
      if (neg !== null && t.coef !== 0) json.variables[neg][name] = (json.variables[neg][name] ?? 0) - t.coef;
    }
    const lower = c.lower - offset;
    const upper = c.upper - offset;
    if (count === 0) {
      if (lower > ROW_TOL * (1 + Math.abs(c.lower)) || upper < -ROW_TOL * (1 + Math.abs(c.upper))) {
        infeasible ??= `row ${c.name} has no free variable and its constant ${offset} is outside [${c.lower}, ${c.upper}]`;
      }
      return;
    }
    if (lower === -Infinity && upper === Infinity) return;
    if (lower === upper) json.constraints[name] = { equal: lower };
    else {
      const b: { min?: number; max?: number } = {};
      if (lower !== -Infinity) b.min = lower;
      if (upper !== Infinity) b.max = upper;
      json.constraints[name] = b;
    }
  });
  const options: { timeout?: number; tolerance?: number } = {};
  if (opts.timeLimitSeconds !== undefined && Number.isFinite(opts.timeLimitSeconds)) options.timeout = Math.max(1, Math.round(opts.timeLimitSeconds * 1000));
  if (opts.mipGap !== undefined) options.tolerance = opts.mipGap;
  if (Object.keys(options).length > 0) json.options = options;
  return { json, keys, negKeys, sign, shift, constant, infeasible };
}

/**
 * An LP solve is stopped after this many simplex pivots per row and column of its tableau (plus 10,000): it cycles
 * forever on some small LPs (randomSmallModel(865, false, false, 30) in the tests), and has no limit of its own.
 */
export const JSLP_LP_PIVOTS_PER_ROW_AND_COLUMN = 50;

class JslpBudgetExceeded extends Error {
  constructor(readonly reason: 'time' | 'pivots') {
    super(`javascript-lp-solver budget exceeded (${reason})`);
  }
}

/** The budget of the solve running now (javascript-lp-solver is synchronous, so there is at most one per thread). */
const guard = { pivots: 0, maxPivots: Infinity, deadline: Infinity };
let guardInstalled = false;

/**
 * Wraps its Tableau.prototype.pivot (once per thread) to count pivots and check the clock, so that a cycling LP or
 * a MIP past its time limit stops with an exception instead of blocking the thread forever.
 */
function installGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  const proto = (solver as any).Tableau?.prototype;
  if (typeof proto?.pivot !== 'function') return;
  const pivot = proto.pivot;
  proto.pivot = function guardedPivot(this: unknown, ...args: unknown[]) {
    guard.pivots++;
    if (guard.pivots > guard.maxPivots) throw new JslpBudgetExceeded('pivots');
    if ((guard.pivots & 63) === 0 && Date.now() > guard.deadline) throw new JslpBudgetExceeded('time');
    return pivot.apply(this, args);
  };
}

/**
 * Solves `model` with javascript-lp-solver (synchronously, wrapped in a promise for a common interface). Statuses:
 * not feasible → INFEASIBLE (TIME_LIMIT after a MIP timeout), not bounded → UNBOUNDED, else OPTIMAL, or FEASIBLE when
 * a MIP hit the timeout. No duals. A pivot budget stops LPs it cycles on (ERROR); with a time limit, the clock is
 * also checked every 64 pivots (TIME_LIMIT), so an LP honours it too. The outcome is not checked here (solveModel runs
 * verifyOutcome).
 */
export async function solveWithJslp(model: OptimizationModel, opts: SolveOptions = {}): Promise<SolveOutcome> {
  const started = performance.now();
  const mip = isMip(model);
  const finish = (o: SolveOutcome): SolveOutcome => ({ ...o, seconds: (performance.now() - started) / 1000 });
  const freeInteger = model.variables.find((v) => v.type !== 'continuous' && v.lower === -Infinity && v.upper === Infinity);
  if (freeInteger) {
    return finish(
      emptyOutcome('JSLP', 'ERROR', mip, 'unsupported', `javascript-lp-solver cannot solve free integer variables (${freeInteger.name}); use HiGHS`),
    );
  }
  const tr = toJslpModel(model, opts);
  if (tr.infeasible) return finish(emptyOutcome('JSLP', 'INFEASIBLE', mip, 'infeasible (found while translating)', tr.infeasible));
  let result: Record<string, unknown>;
  const solveStart = Date.now();
  const rows = Object.keys(tr.json.constraints).length;
  const columns = Object.keys(tr.json.variables).length;
  guard.pivots = 0;
  guard.maxPivots = mip ? Infinity : JSLP_LP_PIVOTS_PER_ROW_AND_COLUMN * (rows + columns) + 10_000;
  guard.deadline = opts.timeLimitSeconds !== undefined && Number.isFinite(opts.timeLimitSeconds) ? solveStart + opts.timeLimitSeconds * 1050 + 50 : Infinity;
  installGuard();
  try {
    result = solver.Solve(tr.json) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof JslpBudgetExceeded) {
      if (e.reason === 'time') return finish(emptyOutcome('JSLP', 'TIME_LIMIT', mip, 'timeout', `time limit reached (stopped after ${guard.pivots} pivots)`));
      return finish(
        emptyOutcome('JSLP', 'ERROR', mip, 'pivot limit', `javascript-lp-solver made ${guard.maxPivots} pivots without finishing (it cycles on some LPs)`),
      );
    }
    return finish(emptyOutcome('JSLP', 'ERROR', mip, 'error', `javascript-lp-solver failed: ${(e as Error).message}`));
  } finally {
    guard.deadline = Infinity;
    guard.maxPivots = Infinity;
  }
  const timeout = tr.json.options?.timeout;
  const timedOut = mip && timeout !== undefined && Date.now() - solveStart >= timeout;
  if (result.feasible !== true) {
    if (timedOut) return finish(emptyOutcome('JSLP', 'TIME_LIMIT', mip, 'timeout', 'time limit reached before a solution was found'));
    return finish(emptyOutcome('JSLP', 'INFEASIBLE', mip, 'infeasible'));
  }
  if (result.bounded === false) return finish(emptyOutcome('JSLP', 'UNBOUNDED', mip, 'unbounded'));
  const values: Record<string, number> = {};
  model.variables.forEach((v, i) => {
    const key = tr.keys[i];
    const neg = tr.negKeys[i];
    const raw = key === null ? 0 : result[key];
    const rawNeg = neg === null ? 0 : result[neg];
    values[v.name] = tr.shift[i] + tr.sign[i] * (typeof raw === 'number' ? raw : 0) - (typeof rawNeg === 'number' ? rawNeg : 0);
  });
  const out = emptyOutcome(
    'JSLP',
    timedOut ? 'FEASIBLE' : 'OPTIMAL',
    mip,
    timedOut ? 'timeout' : 'feasible',
    timedOut ? 'time limit reached; javascript-lp-solver answers after a timeout are unreliable' : null,
  );
  out.values = values;
  out.objective = typeof result.result === 'number' ? result.result + tr.constant : null;
  return finish(out);
}
