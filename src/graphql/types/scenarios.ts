/**
 * What-if scenarios over the API (src/scenario/): Scenario nodes with their changes, overlaid machines and orders and
 * schedule; createScenario, addScenarioChange, removeScenarioChange, runScenario, promoteScenario, discardScenario
 * (PLANNER); compareScenarios; the scenarioUpdates subscription.
 */
import { GraphQLError } from 'graphql';
import { ConflictError, InfeasibleError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { decodeId, encodeId } from '../../core/ids.ts';
import { canSeePlant } from '../../core/scope.ts';
import { SCENARIO_LIMITS, type ScenarioChangeInput } from '../../scenario/changes.ts';
import { IMPORT_LIMITS } from '../../twin/import.ts';
import type { KpiDelta, OrderDelta, PlanComparison } from '../../scenario/compare.ts';
import { type ScenarioView, scenarioViews } from '../../scenario/read.ts';
import { CHANGE_FIELD } from '../../scenario/service.ts';
import { type ScenarioEvent, scenarioUpdatesTopic } from '../../scenario/topics.ts';
import { SCHEDULE_LIMITS } from '../../optimize/schedules.ts';
import type { ScenarioChangeKind } from '../../twin/overlay.ts';
import { requireVisible } from '../access.ts';
import { builder, registerNodeVisibility } from '../builder.ts';
import { listSize } from '../cost.ts';
import { loader } from '../loaders.ts';
import { subscribeTopic } from '../subscriptions.ts';
import type { Context } from '../context.ts';
import { JobNode } from './jobs.ts';
import { ScheduleNode, ScheduleObjectiveEnum } from './schedules.ts';
import { MachineStatusEnum, Plant } from './twin.ts';

const MAX_SCENARIOS_LISTED = 100;
const DEFAULT_SCENARIOS = 20;
const scenarioPage = (first: unknown) => Math.min(MAX_SCENARIOS_LISTED, Math.max(0, typeof first === 'number' ? first : DEFAULT_SCENARIOS));
const MAX_ROWS = 100_000;

const ScenarioStatusEnum = builder.enumType('ScenarioStatus', { values: ['OPEN', 'PROMOTED', 'DISCARDED'] as const });
const ScenarioChangeKindEnum = builder.enumType('ScenarioChangeKind', {
  values: [
    'MACHINE_DOWN',
    'MACHINE_RATE',
    'ADD_ORDER',
    'CANCEL_ORDER',
    'CHANGE_DUE_DATE',
    'CHANGE_QUANTITY',
    'CHANGE_PRIORITY',
    'ADD_MAINTENANCE',
    'REMOVE_MAINTENANCE',
    'ROUTING_MACHINES',
  ] as const,
});

/** The overlaid machines and orders of the scenarios a request reads, in one batch. */
const views = (ctx: Context, s: { id: number; plantId: number }) =>
  loader<{ id: number; plantId: number }, ScenarioView, number>(
    ctx,
    'scenario-views',
    (keys) => scenarioViews(ctx.services.database, keys, ctx.services.clock.now()),
    (k) => k.id,
  ).load({ id: s.id, plantId: s.plantId });

const TimeWindow = builder.objectRef<{ from: Date; to: Date }>('ScenarioTimeWindow').implement({
  fields: (t) => ({
    from: t.field({ type: 'DateTime', resolve: (w) => w.from }),
    to: t.field({ type: 'DateTime', resolve: (w) => w.to }),
  }),
});

const ScenarioMachine = builder.objectRef<ScenarioView['machines'][number]>('ScenarioMachine').implement({
  description: 'A machine as the scenario sees it.',
  fields: (t) => ({
    machineId: t.id({ description: 'The live Machine.', resolve: (m) => encodeId('Machine', m.id) }),
    name: t.string({ resolve: (m) => m.name }),
    status: t.field({ type: MachineStatusEnum, description: 'DOWN while one of its scenario machine-down windows covers now.', resolve: (m) => m.status }),
    rateFactor: t.float({ description: "The scenario's rate factor (1 = as routed; 0.5 = half speed).", resolve: (m) => m.rateFactor }),
    liveRateFactor: t.float({ resolve: (m) => m.liveRateFactor }),
    downtime: t.field({
      type: [TimeWindow],
      description: "The scenario's machine-down windows of this machine.",
      extensions: listSize({ max: SCENARIO_LIMITS.changes, inParent: true }),
      resolve: (m) => m.downtime,
    }),
  }),
});

const ScenarioOrder = builder.objectRef<ScenarioView['orders'][number]>('ScenarioOrder').implement({
  description: 'An order as the scenario sees it (with its changes), or one the scenario adds.',
  fields: (t) => ({
    orderId: t.id({
      nullable: true,
      description: 'The live Order (null for an order the scenario adds).',
      resolve: (o) => (o.liveId === null ? null : encodeId('Order', o.liveId)),
    }),
    code: t.string({ resolve: (o) => o.code }),
    quantity: t.int({ resolve: (o) => o.quantity }),
    priority: t.int({ resolve: (o) => o.priority }),
    releaseAt: t.field({ type: 'DateTime', nullable: true, resolve: (o) => o.releaseAt }),
    dueAt: t.field({ type: 'DateTime', resolve: (o) => o.dueAt }),
    status: t.string({ description: 'The order status in the scenario (CANCELLED when the scenario cancels it).', resolve: (o) => o.status }),
    added: t.boolean({ resolve: (o) => o.added }),
    changed: t.boolean({ description: 'The scenario changes this live order.', resolve: (o) => o.changed }),
  }),
});

export const ScenarioChangeNode = builder.drizzleNode('scenarioChanges', {
  name: 'ScenarioChange',
  description: 'One change of a scenario: `kind` and its fields (`details`, row IDs as global IDs).',
  select: { columns: { scenarioId: true }, with: { scenario: { columns: { plantId: true } } } },
  id: { column: (c) => c.id },
  authScopes: (c) => ({ plant: (c as unknown as { scenario: { plantId: number } }).scenario.plantId }),
  fields: (t) => ({
    kind: t.field({ type: ScenarioChangeKindEnum, select: { columns: { kind: true } }, resolve: (c) => c.kind as ScenarioChangeKind }),
    field: t.string({
      description: 'The ScenarioChangeInput field that makes such a change.',
      select: { columns: { kind: true } },
      resolve: (c) => CHANGE_FIELD[c.kind as ScenarioChangeKind],
    }),
    details: t.field({
      type: 'JSON',
      description:
        'The change as stored: machineId/orderId/productId/windowId as global IDs (an order the scenario adds is referred to by its change), times in ISO-8601.',
      select: { columns: { payload: true } },
      resolve: (c) => shownPayload(c.payload as Record<string, unknown>),
    }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.field({ type: 'DateTime', select: { columns: { createdAt: true } }, resolve: (c) => c.createdAt }),
  }),
});
registerNodeVisibility('ScenarioChange', (r) => (r as { scenario: { plantId: number } }).scenario.plantId);

function shownPayload(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...p };
  const idOf = (t: string, v: unknown) => (typeof v === 'number' ? (v > 0 ? encodeId(t, v) : encodeId('ScenarioChange', -v)) : v);
  if ('machineId' in p) out.machineId = idOf('Machine', p.machineId);
  if ('orderId' in p) out.orderId = idOf('Order', p.orderId);
  if ('productId' in p) out.productId = idOf('Product', p.productId);
  if ('windowId' in p) out.windowId = idOf('MaintenanceWindow', p.windowId);
  if (Array.isArray(p.machineIds)) out.machineIds = (p.machineIds as number[]).map((id) => encodeId('Machine', id));
  return out;
}

export const ScenarioNode = builder.drizzleNode('scenarios', {
  name: 'Scenario',
  description:
    'A what-if branch of a plant: only its changes are stored, laid over the live twin when read. Nothing it does touches the live plant until promoteScenario.',
  select: { columns: { id: true, plantId: true } },
  id: { column: (s) => s.id },
  authScopes: (s) => ({ plant: s.plantId }),
  fields: (t) => ({
    name: t.exposeString('name'),
    status: t.field({ type: ScenarioStatusEnum, select: { columns: { status: true } }, resolve: (s) => s.status as 'OPEN' }),
    plant: t.relation('plant'),
    revision: t.exposeInt('revision', { description: 'Bumped by every change added or removed.' }),
    automatic: t.boolean({
      description: 'Opened by the server (alarm-triggered re-planning); `origin` says why.',
      select: { columns: { origin: true } },
      resolve: (s) => s.origin !== null,
    }),
    origin: t.field({ type: 'JSON', nullable: true, select: { columns: { origin: true } }, resolve: (s) => s.origin }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.field({ type: 'DateTime', select: { columns: { createdAt: true } }, resolve: (s) => s.createdAt }),
    closedAt: t.field({ type: 'DateTime', nullable: true, select: { columns: { closedAt: true } }, resolve: (s) => s.closedAt }),
    changes: t.relation('changes', {
      description: `The changes in the order they were made (at most ${SCENARIO_LIMITS.changes}).`,
      query: { orderBy: { id: 'asc' } },
      extensions: listSize({ max: SCENARIO_LIMITS.changes }),
    }),
    schedule: t.field({
      type: ScheduleNode,
      nullable: true,
      description: "The scenario's newest schedule (null before its first run).",
      select: (_args, _ctx, nested) => ({ with: { schedules: nested({ orderBy: { id: 'desc' }, limit: 1 }) } }),
      resolve: (s) => s.schedules[0] ?? null,
    }),
    stale: t.boolean({
      description: 'The scenario changed after its newest schedule was planned (run it again before promoting).',
      select: { columns: { revision: true }, with: { schedules: { columns: { options: true }, orderBy: { id: 'desc' }, limit: 1 } } },
      resolve: (s) => {
        const sch = s.schedules[0];
        return sch !== undefined && Number((sch.options as { scenarioRevision?: number }).scenarioRevision) !== s.revision;
      },
    }),
    machines: t.field({
      type: [ScenarioMachine],
      description: "The plant's machines with the scenario's status, rate and machine-down windows.",
      extensions: listSize({ max: IMPORT_LIMITS.machines, known: 'machines' }),
      resolve: async (s, _a, ctx) => (await views(ctx, s))?.machines ?? [],
    }),
    orders: t.field({
      type: [ScenarioOrder],
      description: "The plant's orders with the scenario's changes, and the orders it adds, by due date.",
      extensions: listSize({ max: MAX_ROWS, inParent: true }),
      resolve: async (s, _a, ctx) => (await views(ctx, s))?.orders ?? [],
    }),
  }),
});
registerNodeVisibility('Scenario', (r) => r.plantId as number);

builder.drizzleObjectFields(ScheduleNode, (t) => ({
  scenario: t.relation('scenario', { nullable: true, description: 'The scenario it plans (null: a plan of the live twin).' }),
}));

builder.drizzleObjectFields(Plant, (t) => ({
  scenarios: t.relation('scenarios', {
    description: `The plant's scenarios, newest first: the first \`first\` (default ${DEFAULT_SCENARIOS}, at most ${MAX_SCENARIOS_LISTED}), optionally only those of one status.`,
    args: { status: t.arg({ type: ScenarioStatusEnum }), first: t.arg.int() },
    query: (args) => ({ where: args.status ? { status: args.status } : {}, orderBy: { id: 'desc' }, limit: scenarioPage(args.first) }),
    extensions: listSize({ max: MAX_SCENARIOS_LISTED, fromArgs: (a) => scenarioPage(a.first) }),
  }),
}));

const KpiDeltaRef = builder.objectRef<KpiDelta>('KpiDelta').implement({
  description:
    'A KPI in the base plan and in the scenario: makespanMinutes, totalTardinessMinutes, weightedTardinessMinutes, onTimeRate, lateOrders, meanUtilization.',
  fields: (t) => ({
    name: t.string({ resolve: (k) => k.name }),
    base: t.float({ nullable: true, resolve: (k) => k.base }),
    scenario: t.float({ nullable: true, resolve: (k) => k.scenario }),
    delta: t.float({ nullable: true, description: 'scenario − base.', resolve: (k) => k.delta }),
  }),
});

const OrderChangeEnum = builder.enumType('ScenarioOrderChange', {
  values: ['BECAME_LATE', 'BECAME_ON_TIME', 'LATER', 'EARLIER', 'ADDED', 'REMOVED'] as const,
});

const OrderDeltaRef = builder.objectRef<OrderDelta>('OrderDelta').implement({
  description: 'An order whose planned end differs between the two plans (by more than a minute), that became late or on time, or that is in one plan only.',
  fields: (t) => ({
    code: t.string({ resolve: (o) => o.code }),
    orderId: t.id({
      nullable: true,
      description: 'The live Order (null for an order a scenario adds).',
      resolve: (o) => (o.orderId === null ? null : encodeId('Order', o.orderId)),
    }),
    change: t.field({ type: OrderChangeEnum, resolve: (o) => o.change }),
    baseEnd: t.field({ type: 'DateTime', nullable: true, resolve: (o) => o.baseEnd }),
    scenarioEnd: t.field({ type: 'DateTime', nullable: true, resolve: (o) => o.scenarioEnd }),
    deltaMinutes: t.float({ nullable: true, description: 'scenarioEnd − baseEnd.', resolve: (o) => o.deltaMinutes }),
    baseLateMinutes: t.float({ nullable: true, resolve: (o) => o.baseLateMinutes }),
    scenarioLateMinutes: t.float({ nullable: true, resolve: (o) => o.scenarioLateMinutes }),
  }),
});

const ScenarioComparison = builder.objectRef<PlanComparison & { plantId: number }>('ScenarioComparison').implement({
  fields: (t) => ({
    base: t.field({
      type: ScheduleNode,
      nullable: true,
      description: "The base plan: the live current schedule, or the base scenario's newest (null: none yet).",
      resolve: async (c, _a, ctx) =>
        c.baseScheduleId === null ? null : ((await ctx.db.query.schedules.findFirst({ where: { id: c.baseScheduleId } })) ?? null),
    }),
    scenario: t.field({
      type: ScheduleNode,
      nullable: true,
      description: "The scenario's newest schedule (null before its first run).",
      resolve: async (c, _a, ctx) =>
        c.scenarioScheduleId === null ? null : ((await ctx.db.query.schedules.findFirst({ where: { id: c.scenarioScheduleId } })) ?? null),
    }),
    kpis: t.field({ type: [KpiDeltaRef], extensions: listSize({ max: 10, inParent: true }), resolve: (c) => c.kpis }),
    movedOperations: t.int({
      description: 'Operations in both plans that start more than a minute apart or run on another machine.',
      resolve: (c) => c.movedOperations,
    }),
    reassignedOperations: t.int({ description: 'Of the moved operations, those on another machine.', resolve: (c) => c.reassignedOperations }),
    comparedOperations: t.int({ description: 'Operations in both plans.', resolve: (c) => c.comparedOperations }),
    orders: t.field({ type: [OrderDeltaRef], extensions: listSize({ max: MAX_ROWS, inParent: true }), resolve: (c) => c.orders }),
    becameLate: t.field({
      type: [OrderDeltaRef],
      description: 'Orders on time in the base plan and late in the scenario (and added orders that are late).',
      extensions: listSize({ max: MAX_ROWS, inParent: true }),
      resolve: (c) => c.orders.filter((o) => o.change === 'BECAME_LATE' || (o.change === 'ADDED' && (o.scenarioLateMinutes ?? 0) > 0)),
    }),
  }),
});

builder.queryFields((t) => ({
  scenario: t.drizzleField({
    type: 'scenarios',
    nullable: true,
    description: 'A scenario whose plant the caller may see; null for unknown, malformed or invisible IDs.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _r, { id }, ctx) => {
      const scenarioId = decodeId('Scenario', String(id));
      if (scenarioId === null) return null;
      const row = await ctx.db.query.scenarios.findFirst(query({ where: { id: scenarioId } }));
      return row && canSeePlant(ctx.auth, (row as unknown as { plantId: number }).plantId) ? row : null;
    },
  }),
  scenarios: t.drizzleField({
    type: ['scenarios'],
    description: `A plant's scenarios, newest first: the first \`first\` (default ${DEFAULT_SCENARIOS}, at most ${MAX_SCENARIOS_LISTED}); empty for an unknown or invisible plant.`,
    args: { plantId: t.arg.id({ required: true }), status: t.arg({ type: ScenarioStatusEnum }), first: t.arg.int() },
    extensions: listSize({ max: MAX_SCENARIOS_LISTED, fromArgs: (a) => scenarioPage(a.first) }),
    resolve: async (query, _r, args, ctx) => {
      const plantId = decodeId('Plant', String(args.plantId));
      if (plantId === null || !canSeePlant(ctx.auth, plantId)) return [];
      return ctx.db.query.scenarios.findMany(
        query({ where: { plantId, ...(args.status ? { status: args.status } : {}) }, orderBy: { id: 'desc' }, limit: scenarioPage(args.first) }),
      );
    },
  }),
  compareScenarios: t.field({
    type: ScenarioComparison,
    description:
      "The scenario's newest schedule against the base: another scenario's newest schedule, or (baseScenarioId omitted) the plant's current schedule. Alias it to compare several scenarios side by side in one query. NOT_FOUND for an unknown or invisible scenario.",
    args: { baseScenarioId: t.arg.id(), scenarioId: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const scenarioId = decodeId('Scenario', String(args.scenarioId));
      const baseId = args.baseScenarioId == null ? null : decodeId('Scenario', String(args.baseScenarioId));
      try {
        if (scenarioId === null) throw new NotFoundError('Scenario', String(args.scenarioId));
        if (args.baseScenarioId != null && baseId === null) throw new NotFoundError('Scenario', String(args.baseScenarioId));
        return await ctx.services.scenarios.compare(ctx.auth, baseId, scenarioId);
      } catch (err) {
        if (err instanceof NotFoundError || err instanceof ValidationError)
          throw new GraphQLError(err.message, { extensions: { code: err instanceof NotFoundError ? 'NOT_FOUND' : 'VALIDATION' } });
        throw err;
      }
    },
  }),
}));

// ---- mutations ----

const planner = { skipTypeScopes: true, authScopes: { planner: true } } as const;

const ScenarioSuccess = (name: string) =>
  builder.objectRef<{ id: number }>(name).implement({
    fields: (t) => ({
      scenario: t.drizzleField({
        type: 'scenarios',
        resolve: async (query, parent, _a, ctx) => (await ctx.db.query.scenarios.findFirst(query({ where: { id: parent.id } })))!,
      }),
    }),
  });
const CreateScenarioSuccess = ScenarioSuccess('CreateScenarioSuccess');
const DiscardScenarioSuccess = ScenarioSuccess('DiscardScenarioSuccess');
const RemoveScenarioChangeSuccess = ScenarioSuccess('RemoveScenarioChangeSuccess');
const AddScenarioChangeSuccess = builder.objectRef<{ id: number; changeId: number }>('AddScenarioChangeSuccess').implement({
  fields: (t) => ({
    scenario: t.drizzleField({
      type: 'scenarios',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.scenarios.findFirst(query({ where: { id: parent.id } })))!,
    }),
    change: t.drizzleField({
      type: 'scenarioChanges',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.scenarioChanges.findFirst(query({ where: { id: parent.changeId } })))!,
    }),
  }),
});
const RunScenarioSuccess = builder.objectRef<{ id: number }>('RunScenarioSuccess').implement({
  fields: (t) => ({
    job: t.drizzleField({
      type: 'jobs',
      description: 'Follow it with jobUpdates; Job.schedule is the scenario schedule it stored, scenarioUpdates announces the impact.',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.jobs.findFirst(query({ where: { id: parent.id } })))!,
    }),
  }),
});
const PromoteScenarioSuccess = builder.objectRef<{ plantId: number; scheduleId: number | null }>('PromoteScenarioSuccess').implement({
  fields: (t) => ({
    plant: t.drizzleField({
      type: 'plants',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.plants.findFirst(query({ where: { id: parent.plantId } })))!,
    }),
    schedule: t.field({
      type: ScheduleNode,
      nullable: true,
      description: "The live plan promoted from the scenario's schedule (now the plant's current one; null when the scenario never ran).",
      resolve: async (p, _a, ctx) => (p.scheduleId === null ? null : ((await ctx.db.query.schedules.findFirst({ where: { id: p.scheduleId } })) ?? null)),
    }),
  }),
});

const CreateScenarioInput = builder.inputType('CreateScenarioInput', {
  fields: (t) => ({ plantId: t.id({ required: true }), name: t.string({ required: true }) }),
});
const WindowChange = builder.inputType('ScenarioMachineDownInput', {
  fields: (t) => ({
    machineId: t.id({ required: true }),
    from: t.field({ type: 'DateTime', required: true }),
    to: t.field({ type: 'DateTime', required: true, description: 'After from, in the future, at most 366 days later.' }),
  }),
});
const MaintenanceChange = builder.inputType('ScenarioMaintenanceWindowInput', {
  fields: (t) => ({
    machineId: t.id({ required: true }),
    from: t.field({ type: 'DateTime', required: true }),
    to: t.field({ type: 'DateTime', required: true }),
    reason: t.string(),
  }),
});
const OrderRef = builder.inputType('ScenarioOrderRefInput', { fields: (t) => ({ orderId: t.id({ required: true }) }) });
const ScenarioChangeInputRef = builder.inputType('ScenarioChangeInput', {
  description: 'Exactly one of the change fields, validated against the scenario’s twin (ValidationError paths name the field).',
  fields: (t) => ({
    scenarioId: t.id({ required: true }),
    machineDown: t.field({ type: WindowChange, description: 'The machine is out from `from` to `to` (a breakdown, a planned stop).' }),
    machineRate: t.field({
      type: builder.inputType('ScenarioMachineRateInput', {
        fields: (f) => ({
          machineId: f.id({ required: true }),
          factor: f.float({ required: true, description: '0.5 = runs at half speed; greater than 0, at most 10.' }),
        }),
      }),
    }),
    addOrder: t.field({
      type: builder.inputType('ScenarioOrderInput', {
        description: 'An order the scenario adds (a rush order): product by name, a code not used in the plant or scenario.',
        fields: (f) => ({
          code: f.string({ required: true }),
          product: f.string({ required: true }),
          quantity: f.int({ required: true }),
          releaseAt: f.field({ type: 'DateTime' }),
          dueAt: f.field({ type: 'DateTime', required: true }),
          priority: f.int({ description: '0 (default) to 1000.' }),
        }),
      }),
    }),
    cancelOrder: t.field({ type: OrderRef }),
    changeDueDate: t.field({
      type: builder.inputType('ScenarioDueDateInput', {
        fields: (f) => ({ orderId: f.id({ required: true }), dueAt: f.field({ type: 'DateTime', required: true }) }),
      }),
    }),
    changeQuantity: t.field({
      type: builder.inputType('ScenarioQuantityInput', { fields: (f) => ({ orderId: f.id({ required: true }), quantity: f.int({ required: true }) }) }),
    }),
    changePriority: t.field({
      type: builder.inputType('ScenarioPriorityInput', { fields: (f) => ({ orderId: f.id({ required: true }), priority: f.int({ required: true }) }) }),
    }),
    addMaintenanceWindow: t.field({ type: MaintenanceChange }),
    removeMaintenanceWindow: t.field({
      type: builder.inputType('ScenarioRemoveWindowInput', { fields: (f) => ({ windowId: f.id({ required: true }) }) }),
    }),
    changeRoutingMachines: t.field({
      type: builder.inputType('ScenarioRoutingMachinesInput', {
        description: "A routing step's eligible machines in the scenario (machines keep their own times where they had them).",
        fields: (f) => ({
          productId: f.id({ required: true }),
          step: f.int({ required: true, description: 'The routing step number (1 = the first).' }),
          machineIds: f.idList({ required: true }),
        }),
      }),
    }),
  }),
});

const RunScenarioInput = builder.inputType('RunScenarioInput', {
  fields: (t) => ({
    scenarioId: t.id({ required: true }),
    timeLimitSeconds: t.float({ description: `Default ${SCHEDULE_LIMITS.defaultSeconds}, at most ${SCHEDULE_LIMITS.maxSeconds}.` }),
    objective: t.field({ type: ScheduleObjectiveEnum, description: 'Default MAKESPAN.' }),
    start: t.field({ type: 'DateTime', description: 'Time zero of the plan; default: when the job runs.' }),
    seed: t.int({ description: 'Default 1.' }),
    maxIterations: t.int({ description: 'A deterministic stop for the local search.' }),
    repairMinutes: t.float({ description: 'How long machines DOWN now stay out (default 120).' }),
    minimizeChanges: t.boolean({
      description:
        'Plan stability: charge changePenaltyMinutes per operation that moves (start more than a minute off) or changes machine against the live current schedule, so the new plan keeps what it can. Default false.',
    }),
    changePenaltyMinutes: t.float({ description: 'Objective minutes per changed operation (default: the mean operation length); implies minimizeChanges.' }),
  }),
});

/** Decodes an ID of `typename` for a change field: null when it is not one (the change's check names the path). */
const idOf = (typename: string, raw: unknown) => (raw == null ? null : decodeId(typename, String(raw)));

builder.mutationFields((t) => ({
  createScenario: t.field({
    ...planner,
    type: CreateScenarioSuccess,
    description: 'PLANNER. Opens a scenario on a plant: one row, no copy of the twin.',
    args: { input: t.arg({ type: CreateScenarioInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'CreateScenarioResult' } },
    resolve: async (_r, { input }, ctx) => {
      const plantId = decodeId('Plant', String(input.plantId));
      if (plantId === null) throw new NotFoundError('Plant', String(input.plantId));
      return ctx.services.scenarios.create(ctx.auth, { plantId, name: input.name }, String(input.plantId));
    },
  }),
  addScenarioChange: t.field({
    ...planner,
    type: AddScenarioChangeSuccess,
    description: 'PLANNER. Adds one change to an OPEN scenario (ConflictError otherwise); the live plant is untouched.',
    args: { input: t.arg({ type: ScenarioChangeInputRef, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ConflictError], directResult: true, union: { name: 'AddScenarioChangeResult' } },
    resolve: async (_r, { input }, ctx) => {
      const scenarioId = decodeId('Scenario', String(input.scenarioId));
      if (scenarioId === null) throw new NotFoundError('Scenario', String(input.scenarioId));
      const change: ScenarioChangeInput = {
        machineDown: input.machineDown && {
          machineId: idOf('Machine', input.machineDown.machineId),
          from: input.machineDown.from as Date,
          to: input.machineDown.to as Date,
        },
        machineRate: input.machineRate && { machineId: idOf('Machine', input.machineRate.machineId), factor: input.machineRate.factor },
        addOrder: input.addOrder && {
          code: input.addOrder.code,
          product: input.addOrder.product,
          quantity: input.addOrder.quantity,
          releaseAt: (input.addOrder.releaseAt as Date | null) ?? null,
          dueAt: input.addOrder.dueAt as Date,
          priority: input.addOrder.priority,
        },
        cancelOrder: input.cancelOrder && { orderId: idOf('Order', input.cancelOrder.orderId) },
        changeDueDate: input.changeDueDate && { orderId: idOf('Order', input.changeDueDate.orderId), dueAt: input.changeDueDate.dueAt as Date },
        changeQuantity: input.changeQuantity && { orderId: idOf('Order', input.changeQuantity.orderId), quantity: input.changeQuantity.quantity },
        changePriority: input.changePriority && { orderId: idOf('Order', input.changePriority.orderId), priority: input.changePriority.priority },
        addMaintenanceWindow: input.addMaintenanceWindow && {
          machineId: idOf('Machine', input.addMaintenanceWindow.machineId),
          from: input.addMaintenanceWindow.from as Date,
          to: input.addMaintenanceWindow.to as Date,
          reason: input.addMaintenanceWindow.reason,
        },
        removeMaintenanceWindow: input.removeMaintenanceWindow && { windowId: idOf('MaintenanceWindow', input.removeMaintenanceWindow.windowId) },
        changeRoutingMachines: input.changeRoutingMachines && {
          productId: idOf('Product', input.changeRoutingMachines.productId),
          step: input.changeRoutingMachines.step,
          machineIds: input.changeRoutingMachines.machineIds.map((m) => idOf('Machine', m)),
        },
      };
      const r = await ctx.services.scenarios.addChange(ctx.auth, scenarioId, change);
      return { id: r.scenarioId, changeId: r.changeId };
    },
  }),
  removeScenarioChange: t.field({
    ...planner,
    type: RemoveScenarioChangeSuccess,
    description:
      "PLANNER. Removes one change of an OPEN scenario (removing an added order removes the changes of that order, and the scenario's schedules that planned it).",
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true, union: { name: 'RemoveScenarioChangeResult' } },
    resolve: async (_r, { id }, ctx) => {
      const changeId = decodeId('ScenarioChange', String(id));
      if (changeId === null) throw new NotFoundError('ScenarioChange', String(id));
      const r = await ctx.services.scenarios.removeChange(ctx.auth, changeId, String(id));
      return { id: r.scenarioId };
    },
  }),
  runScenario: t.field({
    ...planner,
    type: RunScenarioSuccess,
    description:
      "PLANNER. Queues a job that re-plans the scenario's twin with the scheduler (optionally minimising changes against the live plan) and stores the checked schedule as the scenario's. An impossible plan is an InfeasibleError before anything is queued.",
    args: { input: t.arg({ type: RunScenarioInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ConflictError, InfeasibleError], directResult: true, union: { name: 'RunScenarioResult' } },
    resolve: async (_r, { input }, ctx) => {
      const scenarioId = decodeId('Scenario', String(input.scenarioId));
      if (scenarioId === null) throw new NotFoundError('Scenario', String(input.scenarioId));
      const r = await ctx.services.scenarios.run(ctx.auth, {
        scenarioId,
        objective: input.objective,
        timeLimitSeconds: input.timeLimitSeconds,
        seed: input.seed,
        start: (input.start as Date | null) ?? null,
        maxIterations: input.maxIterations,
        repairMinutes: input.repairMinutes,
        minimizeChanges: input.minimizeChanges,
        changePenaltyMinutes: input.changePenaltyMinutes,
      });
      return { id: r.jobId };
    },
  }),
  promoteScenario: t.field({
    ...planner,
    type: PromoteScenarioSuccess,
    description:
      "PLANNER. Applies the scenario's changes and its newest schedule (as the plant's current one) to the live plant in one transaction. ConflictError, changing nothing, when the live twin changed since the scenario's base in what it changed or planned (it names what), or when the scenario changed after its last run.",
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true, union: { name: 'PromoteScenarioResult' } },
    resolve: async (_r, { id }, ctx) => {
      const scenarioId = decodeId('Scenario', String(id));
      if (scenarioId === null) throw new NotFoundError('Scenario', String(id));
      return ctx.services.scenarios.promote(ctx.auth, scenarioId);
    },
  }),
  discardScenario: t.field({
    ...planner,
    type: DiscardScenarioSuccess,
    description: 'PLANNER. Closes an OPEN scenario without applying it (kept for the record, status DISCARDED).',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true, union: { name: 'DiscardScenarioResult' } },
    resolve: async (_r, { id }, ctx) => {
      const scenarioId = decodeId('Scenario', String(id));
      if (scenarioId === null) throw new NotFoundError('Scenario', String(id));
      return ctx.services.scenarios.discard(ctx.auth, scenarioId);
    },
  }),
}));

// ---- subscription ----

const ScenarioEventRef = builder.objectRef<ScenarioEvent>('ScenarioEvent').implement({
  description: 'A scenario of the plant was created, finished or failed a run, was promoted or discarded.',
  fields: (t) => ({
    kind: t.string({ description: 'CREATED, RUN_FINISHED, RUN_FAILED, PROMOTED or DISCARDED.', resolve: (e) => e.kind }),
    scenarioId: t.id({ resolve: (e) => encodeId('Scenario', e.scenarioId) }),
    scenario: t.field({
      type: ScenarioNode,
      nullable: true,
      resolve: async (e, _a, ctx) => (await ctx.db.query.scenarios.findFirst({ where: { id: e.scenarioId } })) ?? null,
    }),
    name: t.string({ resolve: (e) => e.name }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    automatic: t.boolean({ description: 'Opened by alarm-triggered re-planning.', resolve: (e) => e.automatic }),
    kpis: t.field({
      type: [KpiDeltaRef],
      nullable: true,
      description: 'RUN_FINISHED: KPI deltas against the live plan.',
      extensions: listSize({ max: 10, inParent: true }),
      resolve: (e) => e.kpis,
    }),
    lateOrders: t.field({
      type: [OrderDeltaRef],
      nullable: true,
      description: 'RUN_FINISHED: orders that become late in the scenario.',
      extensions: listSize({ max: MAX_ROWS, inParent: true }),
      resolve: (e) => e.lateOrders,
    }),
    movedOperations: t.int({ nullable: true, resolve: (e) => e.movedOperations }),
    error: t.string({ nullable: true, description: 'RUN_FAILED: why.', resolve: (e) => e.error }),
  }),
});

builder.subscriptionFields((t) => ({
  scenarioUpdates: t.field({
    type: ScenarioEventRef,
    description: "Scenario events of a plant, including alarm-triggered re-planning's impact (KPI deltas, orders that become late).",
    args: { plantId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const plant = await requireVisible(ctx, 'Plant', String(args.plantId));
      return subscribeTopic(ctx, scenarioUpdatesTopic, plant.id);
    },
    resolve: (e) => e,
  }),
}));

export { JobNode };
