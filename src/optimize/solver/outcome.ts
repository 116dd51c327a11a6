/** What every solver adapter returns. */

export type SolveStatus = 'OPTIMAL' | 'FEASIBLE' | 'INFEASIBLE' | 'UNBOUNDED' | 'TIME_LIMIT' | 'ERROR';
export type SolverName = 'HIGHS' | 'JSLP';

export interface SolveOptions {
  /** Wall-clock limit for the solver run (HiGHS `time_limit`; javascript-lp-solver only honours it in branch and cut). */
  timeLimitSeconds?: number;
  /** Relative MIP gap at which to stop (HiGHS `mip_rel_gap`, javascript-lp-solver `tolerance`). */
  mipGap?: number;
  /** Feasibility tolerance of the independent solution check (checkSolution); default CHECK_TOLERANCE. */
  checkTolerance?: number;
}

export interface Violation {
  kind: 'bound' | 'row' | 'integrality' | 'value' | 'objective';
  /** Variable or constraint name ('objective' for the objective). */
  name: string;
  /** How far outside: distance to the bound, to the nearest integer, or the objective difference. */
  amount: number;
  message: string;
}

export interface SolveOutcome {
  /**
   * OPTIMAL: proved optimal. FEASIBLE: a verified feasible solution, not proved optimal (a limit stopped the solver).
   * INFEASIBLE / UNBOUNDED: proved by the solver. TIME_LIMIT: a limit stopped the solver with no usable solution.
   * ERROR: the solver failed, or its solution failed the independent check (see `message`, `violations`).
   */
  status: SolveStatus;
  solver: SolverName;
  /** Objective of `values` recomputed from the model (constant included); null without a solution. */
  objective: number | null;
  /** Value of every variable by name; null without a solution. */
  values: Record<string, number> | null;
  /**
   * Shadow price of every constraint by name: change of the objective per unit increase of the row's active bound
   * (HiGHS, LPs only). Null when the solver gives none (javascript-lp-solver, MIPs).
   */
  duals: Record<string, number> | null;
  /** Reduced cost of every variable by name (HiGHS, LPs only); null otherwise. */
  reducedCosts: Record<string, number> | null;
  /** For MIPs, HiGHS's best proved bound on the objective and relative gap, when it reports them; else null. */
  bestBound: number | null;
  gap: number | null;
  isMip: boolean;
  /** Wall-clock seconds of the solve (translation and solver run). */
  seconds: number;
  /** The solver's own status words ("Optimal", "Time limit reached", ...). */
  solverStatus: string;
  /** A sentence on anything notable: why ERROR, which limit stopped it, what the check found. */
  message: string | null;
  /** Problems the independent check found in the solver's solution (empty when it passed or there was none). */
  violations: Violation[];
  /**
   * INFEASIBLE LPs and MIPs of at most IIS_MAX_ROWS rows: an irreducible infeasible subset of the rows (with every
   * variable bound kept), found by a deletion filter with HiGHS; removing any one of them makes the rest feasible.
   * Absent when not computed (too large, out of time) or not infeasible.
   */
  infeasibleRows?: string[];
}

/** A fresh outcome with no solution. */
export function emptyOutcome(solver: SolverName, status: SolveStatus, isMip: boolean, solverStatus: string, message: string | null = null): SolveOutcome {
  return {
    status,
    solver,
    objective: null,
    values: null,
    duals: null,
    reducedCosts: null,
    bestBound: null,
    gap: null,
    isMip,
    seconds: 0,
    solverStatus,
    message,
    violations: [],
  };
}
