/**
 * Independent verification of a solver's answer against the model: no solver result reaches a caller as OPTIMAL or
 * FEASIBLE unless its values satisfy every bound, row and integrality requirement here.
 */
import type { OptimizationModel } from './model.ts';
import type { SolveOutcome, Violation } from './outcome.ts';

/** Default feasibility tolerance: a bound or row may be missed by CHECK_TOLERANCE * (1 + |bound|). */
export const CHECK_TOLERANCE = 1e-6;
/** Default integrality tolerance: an integer variable may be this far from the nearest integer. */
export const INTEGRALITY_TOLERANCE = 1e-6;

export interface SolutionCheck {
  ok: boolean;
  violations: Violation[];
  /** The objective of `values` (constant included). */
  objective: number;
  /** The largest violation amount (0 when ok). */
  maxViolation: number;
}

function outside(x: number, lower: number, upper: number, tol: number): number {
  if (x < lower - tol * (1 + Math.abs(lower))) return lower - x;
  if (x > upper + tol * (1 + Math.abs(upper))) return x - upper;
  return 0;
}

/**
 * Checks `values` (by variable name; a missing variable counts as 0) against `model`: each variable within its bounds
 * and, if integer or binary, within `intTol` of an integer; each row's activity within its bounds; every value finite.
 * `tol` is relative: a bound b may be missed by tol * (1 + |b|). Returns every violation with its amount and the
 * objective recomputed from the values.
 */
export function checkSolution(model: OptimizationModel, values: Record<string, number>, tol = CHECK_TOLERANCE, intTol = INTEGRALITY_TOLERANCE): SolutionCheck {
  const violations: Violation[] = [];
  const value = (name: string) => values[name] ?? 0;
  for (const v of model.variables) {
    const x = value(v.name);
    if (!Number.isFinite(x)) {
      violations.push({ kind: 'value', name: v.name, amount: Infinity, message: `${v.name} = ${x} is not a finite number` });
      continue;
    }
    const out = outside(x, v.lower, v.upper, tol);
    if (out > 0)
      violations.push({ kind: 'bound', name: v.name, amount: out, message: `${v.name} = ${x} is outside its bounds [${v.lower}, ${v.upper}] by ${out}` });
    if (v.type !== 'continuous') {
      const frac = Math.abs(x - Math.round(x));
      if (frac > intTol) violations.push({ kind: 'integrality', name: v.name, amount: frac, message: `${v.name} = ${x} is not integral (off by ${frac})` });
    }
  }
  for (const c of model.constraints) {
    let activity = 0;
    for (const t of c.terms) activity += t.coef * value(t.name);
    if (!Number.isFinite(activity)) continue; // a non-finite value was reported above
    const out = outside(activity, c.lower, c.upper, tol);
    if (out > 0) {
      violations.push({ kind: 'row', name: c.name, amount: out, message: `row ${c.name}: activity ${activity} is outside [${c.lower}, ${c.upper}] by ${out}` });
    }
  }
  let objective = model.objective.constant;
  for (const t of model.objective.terms) objective += t.coef * value(t.name);
  const maxViolation = violations.reduce((m, v) => Math.max(m, v.amount), 0);
  return { ok: violations.length === 0, violations, objective, maxViolation };
}

function summary(violations: Violation[]): string {
  const shown = violations
    .slice(0, 3)
    .map((v) => v.message)
    .join('; ');
  return violations.length > 3 ? `${shown} (and ${violations.length - 3} more)` : shown;
}

/**
 * The post-check every solve result goes through. An outcome claiming a solution (OPTIMAL or FEASIBLE) is checked with
 * checkSolution; its objective is replaced by the recomputed one (a solver objective that differs by more than the
 * tolerance is itself a violation). A failing solution becomes ERROR with the violations in `message`, except for a
 * MIP stopped by a limit (FEASIBLE), which becomes TIME_LIMIT with no solution (the solver had no usable incumbent).
 */
export function verifyOutcome(model: OptimizationModel, outcome: SolveOutcome, tol = CHECK_TOLERANCE): SolveOutcome {
  if (outcome.status !== 'OPTIMAL' && outcome.status !== 'FEASIBLE') return outcome;
  if (!outcome.values) {
    return { ...outcome, status: 'ERROR', objective: null, message: `${outcome.solver} reported ${outcome.status} but gave no values` };
  }
  const check = checkSolution(model, outcome.values, tol);
  const violations = [...check.violations];
  const reported = outcome.objective;
  if (reported !== null && Number.isFinite(check.objective) && Math.abs(reported - check.objective) > tol * 10 * (1 + Math.abs(check.objective))) {
    const amount = Math.abs(reported - check.objective);
    violations.push({
      kind: 'objective',
      name: 'objective',
      amount,
      message: `the solver's objective ${reported} differs from the recomputed ${check.objective} by ${amount}`,
    });
  }
  if (violations.length === 0) return { ...outcome, objective: check.objective, violations: [] };
  const text = summary(violations);
  if (outcome.status === 'FEASIBLE' && outcome.isMip) {
    return {
      ...outcome,
      status: 'TIME_LIMIT',
      objective: null,
      values: null,
      duals: null,
      reducedCosts: null,
      violations,
      message: `${outcome.message ? `${outcome.message}; ` : ''}the solution at the limit failed the check, so there is none: ${text}`,
    };
  }
  return {
    ...outcome,
    status: 'ERROR',
    objective: null,
    values: null,
    duals: null,
    reducedCosts: null,
    violations,
    message: `${outcome.solver} reported ${outcome.status} but the solution failed the check: ${text}`,
  };
}
