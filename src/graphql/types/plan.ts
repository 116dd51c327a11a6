/**
 * Capacity planning over the API: `planProduction` builds the multi-period LP of src/optimize/plan from the live
 * twin, solves it in a worker thread and returns the plan with the exact LP text it solved. It writes nothing.
 */
import { InfeasibleError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { decodeId } from '../../core/ids.ts';
import { PLAN_LIMITS, type ProductionPlan, planProduction } from '../../optimize/plan/index.ts';
import type { TwinSnapshot } from '../../twin/snapshot.ts';
import { builder } from '../builder.ts';
import { listSize } from '../cost.ts';
import { NamedValueRef, SolverChoiceEnum, SolveStatusEnum } from './optimize.ts';

/** List lengths at most (the model has at most this many columns). */
const MAX_PLAN_ITEMS = 200_000;

type Allocation = ProductionPlan['allocations'][number];
type Quantity = ProductionPlan['production'][number];
type Bottleneck = ProductionPlan['bottlenecks'][number];
type Outside = ProductionPlan['outsideHorizon'][number];

const AllocationRef = builder.objectRef<Allocation>('PlanAllocation').implement({
  description: 'Units of one routing step of a product made on one machine in one period, and the machine hours they take.',
  fields: (t) => ({
    product: t.exposeString('product'),
    machine: t.exposeString('machine'),
    period: t.exposeInt('period'),
    periodStart: t.field({ type: 'DateTime', resolve: (a) => a.periodStart }),
    quantity: t.exposeFloat('quantity'),
    hours: t.exposeFloat('hours'),
  }),
});
const QuantityRef = builder.objectRef<Quantity>('PlanQuantity').implement({
  fields: (t) => ({ product: t.exposeString('product'), period: t.exposeInt('period'), quantity: t.exposeFloat('quantity') }),
});
const BottleneckRef = builder.objectRef<Bottleneck>('PlanBottleneck').implement({
  description: 'A machine and period whose capacity row has a nonzero shadow price.',
  fields: (t) => ({
    machine: t.exposeString('machine'),
    period: t.exposeInt('period'),
    periodStart: t.field({ type: 'DateTime', resolve: (b) => b.periodStart }),
    availableHours: t.exposeFloat('availableHours'),
    shadowPrice: t.exposeFloat('shadowPrice', {
      description: "HiGHS's dual of the capacity row: the objective's change per extra hour (negative: an hour saves cost).",
    }),
  }),
});
const OutsideRef = builder.objectRef<Outside>('PlanOutsideHorizon').implement({
  description: 'An open order due after the last period: not planned.',
  fields: (t) => ({ product: t.exposeString('product'), quantity: t.exposeFloat('quantity'), dueAt: t.field({ type: 'DateTime', resolve: (o) => o.dueAt }) }),
});

const list = { extensions: listSize({ max: MAX_PLAN_ITEMS, inParent: true }) } as const;

const ProductionPlanRef = builder.objectRef<ProductionPlan>('ProductionPlan').implement({
  fields: (t) => ({
    status: t.field({ type: SolveStatusEnum, resolve: (p) => p.status }),
    objective: t.float({ nullable: true, description: 'Holding plus backlog cost (null without a solution).', resolve: (p) => p.objective }),
    solver: t.string({ description: 'HIGHS or JSLP.', resolve: (p) => p.solver }),
    solveSeconds: t.float({ resolve: (p) => p.solveSeconds }),
    message: t.string({ nullable: true, resolve: (p) => p.message }),
    allocations: t.field({ type: [AllocationRef], ...list, description: 'Nonzero allocations only.', resolve: (p) => p.allocations }),
    production: t.field({ type: [QuantityRef], ...list, description: 'Finished units per product and period (nonzero only).', resolve: (p) => p.production }),
    backlog: t.field({
      type: [QuantityRef],
      ...list,
      description: 'Units due but not yet made at the end of each period (nonzero only).',
      resolve: (p) => p.backlog,
    }),
    shadowPrices: t.field({
      type: [NamedValueRef],
      ...list,
      description: 'Dual of each capacity row cap_<machine>_<period> (HiGHS only; empty with JSLP): the objective change per extra machine hour.',
      resolve: (p) => p.shadowPrices,
    }),
    bottlenecks: t.field({ type: [BottleneckRef], ...list, resolve: (p) => p.bottlenecks }),
    outsideHorizon: t.field({ type: [OutsideRef], ...list, resolve: (p) => p.outsideHorizon }),
    modelLp: t.string({ description: 'The exact LP text that was solved.', resolve: (p) => p.modelLp }),
  }),
});

const PlanProductionSuccess = builder.objectRef<{ plan: ProductionPlan }>('PlanProductionSuccess').implement({
  fields: (t) => ({ plan: t.field({ type: ProductionPlanRef, resolve: (r) => r.plan }) }),
});

const PlanProductionInput = builder.inputType('PlanProductionInput', {
  fields: (t) => ({
    plantId: t.id({ required: true }),
    scenarioId: t.id({ description: "Plan the scenario's twin (its changes over the live one) instead of the live twin." }),
    start: t.field({ type: 'DateTime', description: 'Start of the first period (default now).' }),
    periods: t.int({ description: `Number of periods (default 4, 1 to ${PLAN_LIMITS.maxPeriods}).` }),
    periodHours: t.float({ description: `Hours per period (default 24, at most ${PLAN_LIMITS.maxPeriodHours}).` }),
    holdingCost: t.float({ description: 'Cost per unit in stock at the end of a period (default 1).' }),
    backlogCost: t.float({ description: 'Cost per unit late at the end of a period (default 10).' }),
    downtimeHours: t.float({ description: 'Machines DOWN, in MAINTENANCE or OFFLINE now are unavailable this long from start (default 4).' }),
    solver: t.field({ type: SolverChoiceEnum, description: 'Default HIGHS: it gives the shadow prices (javascript-lp-solver gives no duals).' }),
    timeLimitSeconds: t.float({ description: `Default ${PLAN_LIMITS.defaultSeconds}, at most ${PLAN_LIMITS.maxSeconds}.` }),
  }),
});

builder.mutationFields((t) => ({
  planProduction: t.field({
    skipTypeScopes: true,
    authScopes: { planner: true },
    type: PlanProductionSuccess,
    description:
      'PLANNER. Capacity plan of a plant over `periods` periods: units per product, step, machine and period that minimise holding plus backlog cost within machine hours (less maintenance windows and current downtime). Writes nothing.',
    args: { input: t.arg({ type: PlanProductionInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, InfeasibleError], directResult: true, union: { name: 'PlanProductionResult' } },
    resolve: async (_r, { input }, ctx) => {
      const plantId = decodeId('Plant', String(input.plantId));
      if (plantId === null) throw new NotFoundError('Plant', String(input.plantId));
      let twin: TwinSnapshot | undefined;
      if (input.scenarioId != null) {
        const scenarioId = decodeId('Scenario', String(input.scenarioId));
        if (scenarioId === null) throw new NotFoundError('Scenario', String(input.scenarioId));
        twin = await ctx.services.scenarios.twin(ctx.auth, scenarioId, plantId);
      }
      const plan = await planProduction({ database: ctx.services.database, pool: ctx.services.jobs.pool, twin }, ctx.auth, {
        plantId,
        start: (input.start as Date | null | undefined) ?? null,
        periods: input.periods,
        periodHours: input.periodHours,
        holdingCost: input.holdingCost,
        backlogCost: input.backlogCost,
        downtimeHours: input.downtimeHours,
        solver: input.solver,
        timeLimitSeconds: input.timeLimitSeconds,
      });
      return { plan };
    },
  }),
}));
