/**
 * Scheduling core: `solveSchedule` validates and compiles a problem, builds a schedule with the dispatching rules,
 * improves it with tabu search until the iteration budget, the time limit, the AbortSignal or the lower bound stops
 * it, and runs the independent checker on the result before returning it (a violation is a solver bug: it throws a
 * ScheduleCheckError naming the rule, never returns the schedule).
 *
 * Determinism: with the same problem, seed and `maxIterations`, and a run ended by `maxIterations` (or by reaching
 * the lower bound), the schedule is the same every time; the time limit and the signal are cut-offs only (see
 * search.ts).
 *
 * Plan stability (`reference`, stability.ts): the constructive phase and the search minimise the objective plus
 * `penalty` per operation changed against a previous plan, and also try a start built from that plan; the result's
 * objectiveValue, gap and status stay about the objective alone, `penalisedValue` and `changes` describe the rest.
 */
import { lowerBound, gap as relativeGap } from './bounds.ts';
import { checkSchedule, type ScheduleKpis, type Violation } from './checker.ts';
import { construct } from './construct.ts';
import { Decoder, type Solution } from './decode.ts';
import { type CompiledProblem, compileProblem, type ScheduledOperation, type ScheduleObjective, type ScheduleProblem } from './problem.ts';
import { proofApplicable, proveMakespan } from './mip.ts';
import { improve, type SearchProgress, type StopReason } from './search.ts';
import { compileReference, countChanges, type PlanChanges, type PlanReference } from './stability.ts';

export * from './problem.ts';
export { checkSchedule, type CheckResult, type CheckRule, type ScheduleKpis, type Violation } from './checker.ts';
export { parseFlexibleJobShop, parseJobShop } from './jsplib.ts';
export { makespanLowerBound, lowerBound } from './bounds.ts';
export type { SearchProgress, StopReason } from './search.ts';
export { countChanges, type PlanChanges, type PlanReference } from './stability.ts';

export interface SolveOptions {
  objective?: ScheduleObjective;
  /** Wall-clock limit of the improvement phase (default 10 s; 0: the constructive schedule only). */
  timeLimitSeconds?: number;
  seed?: number;
  /** Tabu iteration budget (default unlimited): the deterministic stop. */
  maxIterations?: number;
  signal?: AbortSignal;
  /** Progress: `best` is the objective of the best schedule so far, `penalised` its penalised value (with `reference`). */
  onProgress?: (progress: SearchProgress) => void;
  /**
   * Stop as soon as the objective is at most this ("good enough"; with `reference`, the penalised value); the lower
   * bound always stops the search.
   */
  target?: number;
  /**
   * MAKESPAN on a small classic job shop (one machine per operation, no windows, no fixed or start-pinned
   * operations): when the search ends above the combinatorial lower bound, spend up to this many seconds on a HiGHS
   * disjunctive MIP proving the schedule optimal (mip.ts; blocks the thread meanwhile). The proof's time is part of
   * timeLimitSeconds: the search leaves it min(this, a quarter of the limit). Default 0: off.
   */
  mipProofSeconds?: number;
  /**
   * Plan stability: minimise objective + penalty × operations changed (moved or reassigned, counted once) against this
   * previous plan instead of the objective alone; operations it does not list (new orders) are never penalised, entries
   * for jobs or operations the problem no longer has are ignored. Plain data (goes to the worker as it is).
   */
  reference?: PlanReference;
}

export interface SolveResult {
  operations: ScheduledOperation[];
  objective: ScheduleObjective;
  /** The objective's value of the returned schedule. */
  objectiveValue: number;
  makespan: number;
  /** A lower bound on the objective (bounds.ts; the value itself when the MIP proof succeeded). */
  lowerBound: number;
  /** (objectiveValue − lowerBound) / objectiveValue (0 when the value is 0). */
  gap: number;
  /** OPTIMAL when the value equals the lower bound (proved optimal), else FEASIBLE. */
  status: 'OPTIMAL' | 'FEASIBLE';
  kpis: ScheduleKpis;
  iterations: number;
  seconds: number;
  stoppedBy: StopReason | 'CONSTRUCTIVE';
  /** With `reference`: the operations of this schedule changed against it (changed = moved or reassigned, once each). */
  changes?: PlanChanges;
  /** With `reference`: objectiveValue + penalty × changes.changed, the value the solver minimised. */
  penalisedValue?: number;
}

/** The checker found a violated rule in a schedule the solver built: a solver bug. */
export class ScheduleCheckError extends Error {
  constructor(readonly violations: Violation[]) {
    super(
      `solver bug: the schedule violates ${[...new Set(violations.map((v) => v.rule))].join(', ')}: ${violations
        .slice(0, 3)
        .map((v) => `${v.rule} ${v.operation}: ${v.message}`)
        .join('; ')}`,
    );
  }
}

/** The schedule of a decoded solution, in job and routing order. */
export function toOperations(p: CompiledProblem, solution: Solution, decoder: Decoder, objective: ScheduleObjective): ScheduledOperation[] {
  decoder.run(solution, objective);
  const out: ScheduledOperation[] = [];
  for (let o = 0; o < p.nOps; o++) {
    out.push({
      job: p.jobIds[p.opJob[o]],
      index: p.opIndex[o],
      operation: p.opIds[o],
      machine: p.machineIds[p.optMachine[solution.opt[o]]],
      start: decoder.start[o],
      end: decoder.end[o],
    });
  }
  return out;
}

export async function solveSchedule(problem: ScheduleProblem, options: SolveOptions = {}): Promise<SolveResult> {
  const started = performance.now();
  const objective = options.objective ?? 'MAKESPAN';
  const p = compileProblem(problem);
  const reference: PlanReference | undefined = options.reference;
  const decoder = new Decoder(p, reference ? compileReference(p, reference) : undefined);
  // a lower bound of the objective, so also of the penalised value (see search.ts)
  const lb = lowerBound(p, objective);
  const initial = construct(p, objective, decoder);
  let solution = initial.solution;
  let iterations = 0;
  let stoppedBy: SolveResult['stoppedBy'] = 'CONSTRUCTIVE';
  const limit = options.timeLimitSeconds ?? 10;
  // The proof's time is part of the limit: the search leaves it a quarter of the limit at most.
  const proofBudget = objective === 'MAKESPAN' && (options.mipProofSeconds ?? 0) > 0 && proofApplicable(p) ? Math.min(options.mipProofSeconds!, limit / 4) : 0;
  if (initial.value > Math.max(lb, options.target ?? Number.NEGATIVE_INFINITY) && limit > 0 && (options.maxIterations ?? 1) > 0 && !options.signal?.aborted) {
    const elapsedMs = performance.now() - started;
    const result = await improve(
      p,
      initial.solution,
      {
        objective,
        timeLimitSeconds: Math.max(0, limit - proofBudget - elapsedMs / 1000),
        maxIterations: options.maxIterations,
        seed: options.seed,
        signal: options.signal,
        onProgress: options.onProgress,
        lowerBound: Math.max(lb, options.target ?? Number.NEGATIVE_INFINITY),
      },
      decoder,
    );
    solution = result.solution;
    iterations = result.iterations;
    stoppedBy = result.stoppedBy;
  } else {
    // construct decoded its winner last: the decoder's base value is the winner's objective
    options.onProgress?.({
      best: decoder.baseValue,
      ...(reference ? { penalised: initial.value } : {}),
      iterations: 0,
      elapsedSeconds: (performance.now() - started) / 1000,
    });
  }
  const operations = toOperations(p, solution, decoder, objective);
  const { violations, kpis } = checkSchedule(problem, operations);
  if (violations.length > 0) throw new ScheduleCheckError(violations);
  const value = objective === 'MAKESPAN' ? kpis.makespan : kpis.weightedTardiness;
  let bound = lb;
  const proofSeconds = Math.min(proofBudget, limit - (performance.now() - started) / 1000);
  if (value > lb && proofSeconds > 0.05 && !options.signal?.aborted) {
    const proof = await proveMakespan(problem, value, proofSeconds);
    if (proof.result === 'PROVED') bound = value;
  }
  const tolerance = 1e-9 * Math.max(1, Math.abs(value));
  const changes = reference ? countChanges(reference, operations) : undefined;
  return {
    operations,
    objective,
    objectiveValue: value,
    makespan: kpis.makespan,
    lowerBound: bound,
    gap: relativeGap(value, bound),
    status: value <= bound + tolerance ? 'OPTIMAL' : 'FEASIBLE',
    kpis,
    iterations,
    seconds: (performance.now() - started) / 1000,
    stoppedBy,
    ...(reference && changes ? { changes, penalisedValue: value + reference.penalty * changes.changed } : {}),
  };
}
