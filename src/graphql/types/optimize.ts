/**
 * Optimization over the API: `solveModel` for engineers and planners who bring their own LP or MPS model. The text is
 * parsed, checked and solved in a worker thread (src/optimize/solver/text-task.ts); the answer is checked against
 * the model before it is returned.
 */
import { ValidationError } from '../../core/errors.ts';
import { ModelParseError, ModelTooLargeError as SolverModelTooLargeError } from '../../optimize/solver/lp-format.ts';
import { ModelValidationError } from '../../optimize/solver/model.ts';
import type { SolveOutcome } from '../../optimize/solver/outcome.ts';
import { IIS_MAX_ROWS } from '../../optimize/solver/solve.ts';
import { solveTextInWorker } from '../../optimize/solver/text-task.ts';
import { builder } from '../builder.ts';
import { listSize } from '../cost.ts';
import { ErrorInterface } from './errors.ts';

/** The largest model text solveModel accepts. */
export const MAX_SOLVE_MODEL_BYTES = 10 * 1024 * 1024;
/** Variables and rows at most (the lists of the answer are bounded by it). */
export const MAX_SOLVE_ITEMS = 200_000;
/** Time limit when none is given, and the largest one allowed (a query holds its connection while it solves). */
export const DEFAULT_SOLVE_SECONDS = 10;
export const MAX_SOLVE_SECONDS = 120;

export const SolveStatusEnum = builder.enumType('SolveStatus', {
  description:
    'OPTIMAL: proved optimal. FEASIBLE: a checked feasible solution, not proved optimal (a limit stopped the solver). INFEASIBLE / UNBOUNDED: proved by the solver. TIME_LIMIT: a limit stopped the solver without a usable solution. ERROR: the solver failed, or its answer failed the independent check.',
  values: ['OPTIMAL', 'FEASIBLE', 'INFEASIBLE', 'UNBOUNDED', 'TIME_LIMIT', 'ERROR'] as const,
});
const ModelFormatEnum = builder.enumType('ModelFormat', {
  description: 'LP: CPLEX LP text. MPS: fixed or free MPS (MARKER INTORG/INTEND for integer columns).',
  values: ['LP', 'MPS'] as const,
});
export const SolverChoiceEnum = builder.enumType('SolverChoice', {
  description: 'AUTO: javascript-lp-solver for pure LPs of at most 200 variables (measured in bench/solvers.ts), HiGHS otherwise.',
  values: ['AUTO', 'HIGHS', 'JSLP'] as const,
});

export const NamedValueRef = builder.objectRef<{ name: string; value: number }>('NamedValue').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeFloat('value') }),
});

const named = (values: Record<string, number> | null) => (values ? Object.entries(values).map(([name, value]) => ({ name, value })) : null);

const SolveResultRef = builder.objectRef<SolveOutcome & { rows: number }>('SolveResult').implement({
  fields: (t) => ({
    status: t.field({ type: SolveStatusEnum, resolve: (o) => o.status }),
    objective: t.float({
      nullable: true,
      description: 'The objective of the returned values, recomputed from the model (null without a solution).',
      resolve: (o) => o.objective,
    }),
    solver: t.string({ description: 'HIGHS or JSLP.', resolve: (o) => o.solver }),
    solveSeconds: t.float({ resolve: (o) => o.seconds }),
    solverStatus: t.string({ description: "The solver's own status words.", resolve: (o) => o.solverStatus }),
    message: t.string({ nullable: true, description: 'Why ERROR, which limit stopped the solver, what the check found.', resolve: (o) => o.message }),
    infeasibleRows: t.stringList({
      nullable: true,
      description:
        'INFEASIBLE models of at most 300 rows: an irreducible infeasible subset of the rows (bounds kept), so removing any one of them makes the rest feasible. Null when not infeasible or not computed within 5 s.',
      extensions: listSize({ max: IIS_MAX_ROWS }),
      resolve: (o) => o.infeasibleRows ?? null,
    }),
    bestBound: t.float({ nullable: true, description: 'MIPs (HiGHS): the best proved bound on the objective.', resolve: (o) => o.bestBound }),
    gap: t.float({ nullable: true, description: 'MIPs (HiGHS): the relative gap between the objective and the bound.', resolve: (o) => o.gap }),
    variables: t.field({
      type: [NamedValueRef],
      description: 'Every variable with its value (empty without a solution).',
      extensions: listSize({ max: MAX_SOLVE_ITEMS, inParent: true }),
      resolve: (o) => named(o.values) ?? [],
    }),
    duals: t.field({
      type: [NamedValueRef],
      nullable: true,
      description: "Each row's shadow price: the objective's change per unit increase of the row's active bound (HiGHS, LPs only; null otherwise).",
      extensions: listSize({ max: MAX_SOLVE_ITEMS, inParent: true }),
      resolve: (o) => named(o.duals),
    }),
    reducedCosts: t.field({
      type: [NamedValueRef],
      nullable: true,
      description: "Each variable's reduced cost (HiGHS, LPs only; null otherwise).",
      extensions: listSize({ max: MAX_SOLVE_ITEMS, inParent: true }),
      resolve: (o) => named(o.reducedCosts),
    }),
  }),
});

const SolveModelSuccess = builder.objectRef<{ result: SolveOutcome & { rows: number } }>('SolveModelSuccess').implement({
  fields: (t) => ({ result: t.field({ type: SolveResultRef, resolve: (r) => r.result }) }),
});

builder.objectType(ModelParseError, {
  name: 'ModelParseError',
  interfaces: [ErrorInterface],
  description: 'The model text is malformed: `line` (1-based) and the message say where and what.',
  isTypeOf: (v) => v instanceof ModelParseError,
  fields: (t) => ({ line: t.exposeInt('line') }),
});

const SolveModelInput = builder.inputType('SolveModelInput', {
  fields: (t) => ({
    format: t.field({ type: ModelFormatEnum, required: true }),
    model: t.string({ required: true, description: `The model text, at most ${MAX_SOLVE_MODEL_BYTES / 1024 / 1024} MiB.` }),
    timeLimitSeconds: t.float({ description: `Default ${DEFAULT_SOLVE_SECONDS}, at most ${MAX_SOLVE_SECONDS}.` }),
    solver: t.field({ type: SolverChoiceEnum, description: 'Default AUTO.' }),
    mipGap: t.float({ description: "Relative MIP gap at which to stop (default HiGHS's 1e-4); 0 to prove optimality." }),
  }),
});

builder.queryFields((t) => ({
  solveModel: t.field({
    type: SolveModelSuccess,
    authScopes: { planner: true },
    description:
      'PLANNER. Solves an LP or MIP given as LP or MPS text (parsed into the same model for both solvers) in a worker thread, and checks the answer against the model (bounds, rows, integrality) before returning it. A malformed text is a ModelParseError with its line.',
    args: { input: t.arg({ type: SolveModelInput, required: true }) },
    errors: { types: [ValidationError, ModelParseError], directResult: true, union: { name: 'SolveModelResult' } },
    resolve: async (_r, { input }, ctx) => {
      const limit = input.timeLimitSeconds ?? DEFAULT_SOLVE_SECONDS;
      if (!(limit > 0 && limit <= MAX_SOLVE_SECONDS))
        throw ValidationError.single('input.timeLimitSeconds', `must be more than 0 and at most ${MAX_SOLVE_SECONDS} seconds`);
      if (input.mipGap != null && !(input.mipGap >= 0 && input.mipGap < 1)) throw ValidationError.single('input.mipGap', 'must be at least 0 and less than 1');
      try {
        const { outcome, constraints } = await solveTextInWorker(
          ctx.services.jobs.pool,
          {
            format: input.format,
            text: input.model,
            maxBytes: MAX_SOLVE_MODEL_BYTES,
            maxItems: MAX_SOLVE_ITEMS,
            options: { solver: input.solver ?? 'AUTO', timeLimitSeconds: limit, ...(input.mipGap != null ? { mipGap: input.mipGap } : {}) },
          },
          { signal: ctx.request?.signal },
        );
        return { result: { ...outcome, rows: constraints } };
      } catch (err) {
        if (err instanceof SolverModelTooLargeError) throw ValidationError.single('input.model', err.message);
        if (err instanceof ModelValidationError)
          throw new ValidationError(err.problems.slice(0, 100).map((p) => ({ path: `input.model.${p.path}`, message: p.message })));
        throw err;
      }
    },
  }),
}));
