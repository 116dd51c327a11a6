/**
 * Production schedules over the API (src/optimize/schedules.ts): optimizeSchedule queues the job, Schedule nodes
 * with their operations, KPIs, bottlenecks and explanation, Plant.currentSchedule, Query.schedules, activateSchedule,
 * Machine.operations and Order.plannedEnd (both from the current schedule, loaded with their rows).
 */
import { ConflictError, InfeasibleError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { decodeId, encodeId } from '../../core/ids.ts';
import { canSeePlant } from '../../core/scope.ts';
import { SCHEDULE_JOB, SCHEDULE_LIMITS, type ScheduleJobParams, checkScheduleParams, machineRisks, prepareSchedule } from '../../optimize/schedules.ts';
import { pinOperation, unpinOperation } from '../../optimize/pins.ts';
import { builder, registerNodeVisibility } from '../builder.ts';
import { listSize } from '../cost.ts';
import { JobNode } from './jobs.ts';
import { SolveStatusEnum } from './optimize.ts';
import { Machine, Order, Plant } from './twin.ts';

export const ScheduleObjectiveEnum = builder.enumType('ScheduleObjective', {
  description: 'MAKESPAN: finish everything as early as possible. WEIGHTED_TARDINESS: minimise the sum over orders of (1 + priority) × minutes late.',
  values: ['MAKESPAN', 'WEIGHTED_TARDINESS'] as const,
});
const ExportFormatEnum = builder.enumType('ScheduleExportFormat', { values: ['CSV', 'JSON'] as const });
const BottleneckKindEnum = builder.enumType('BottleneckKind', {
  description: 'MACHINE: the critical path runs back to back on it. WINDOW: the critical path waits for its maintenance window or downtime.',
  values: ['MACHINE', 'WINDOW'] as const,
});

type Kpis = {
  makespanMinutes: number;
  totalTardinessMinutes: number;
  weightedTardinessMinutes: number;
  onTimeRate: number;
  lateOrders: number;
  utilization: Record<string, number>;
};
type BottleneckRow = { machine: string; kind: 'MACHINE' | 'WINDOW'; minutes: number; share: number; from: number; to: number };
const MAX_OPS = SCHEDULE_LIMITS.maxOperations;
const DEFAULT_OPS = 1_000;
/** A page of operations: `first` clamped to 0..MAX_OPS (default DEFAULT_OPS). */
const pageSize = (first: number | null | undefined) => Math.min(MAX_OPS, Math.max(0, first ?? DEFAULT_OPS));
const minutesAfter = (start: Date, m: number) => new Date(new Date(start).getTime() + m * 60_000);

const MachineUtilization = builder.objectRef<{ machine: string; value: number }>('MachineUtilization').implement({
  fields: (t) => ({
    machineId: t.id({ resolve: (u) => encodeId('Machine', Number(u.machine)) }),
    utilization: t.float({ description: 'Busy minutes over available minutes within the makespan.', resolve: (u) => u.value }),
  }),
});
const ScheduleKpis = builder.objectRef<Kpis>('ScheduleKpis').implement({
  fields: (t) => ({
    makespanMinutes: t.exposeFloat('makespanMinutes'),
    totalTardinessMinutes: t.exposeFloat('totalTardinessMinutes'),
    weightedTardinessMinutes: t.exposeFloat('weightedTardinessMinutes', { description: 'Sum of (1 + priority) × minutes late.' }),
    onTimeRate: t.exposeFloat('onTimeRate', { description: 'Share of planned orders that end by their due date.' }),
    lateOrders: t.exposeInt('lateOrders'),
    utilization: t.field({
      type: [MachineUtilization],
      extensions: listSize({ max: 5_000, inParent: true }),
      resolve: (k) => Object.entries(k.utilization).map(([machine, value]) => ({ machine, value })),
    }),
  }),
});
const BottleneckRef = builder.objectRef<BottleneckRow & { start: Date }>('Bottleneck').implement({
  description: "A machine or window on the makespan's critical path.",
  fields: (t) => ({
    machineId: t.id({ resolve: (b) => encodeId('Machine', Number(b.machine)) }),
    kind: t.field({ type: BottleneckKindEnum, resolve: (b) => b.kind }),
    minutes: t.float({ description: 'Critical-path minutes on this machine, or waiting for this window.', resolve: (b) => b.minutes }),
    share: t.float({ description: 'minutes over the makespan.', resolve: (b) => b.share }),
    from: t.field({ type: 'DateTime', resolve: (b) => minutesAfter(b.start, b.from) }),
    to: t.field({ type: 'DateTime', resolve: (b) => minutesAfter(b.start, b.to) }),
  }),
});

export const ScheduledOperationRef = builder.drizzleObject('scheduledOperations', {
  name: 'ScheduledOperation',
  fields: (t) => ({
    order: t.relation('order', {
      nullable: true,
      description: 'The live order; null for an order a scenario adds (its code is in orderCode).',
    }),
    orderCode: t.string({
      description: "The order's code (also for an order a scenario adds).",
      select: { with: { order: { columns: { code: true } }, scenarioOrder: { columns: { payload: true } } } },
      resolve: (o) => operationOrderCode(o),
    }),
    step: t.exposeInt('stepIndex', { description: "The routing step's number (1 = the first step)." }),
    machine: t.relation('machine'),
    start: t.field({ type: 'DateTime', resolve: (o) => o.startsAt }),
    end: t.field({ type: 'DateTime', resolve: (o) => o.endsAt }),
    setupMinutes: t.exposeFloat('setupMinutes', { description: 'Setup at the start of the operation (part of start..end).' }),
    origin: t.string({
      nullable: true,
      description: 'FIXED: had started when planned; PINNED: a planner pinned it; null: placed by the solver.',
      resolve: (o) => o.origin,
    }),
  }),
});

/** An operation's order code: the live order's, or the one a scenario's ADD_ORDER change gives. */
function operationOrderCode(o: { order: { code: string } | null; scenarioOrder: { payload: unknown } | null }): string {
  return o.order?.code ?? (o.scenarioOrder?.payload as { code?: string } | undefined)?.code ?? '';
}

export const ScheduleNode = builder.drizzleNode('schedules', {
  name: 'Schedule',
  description: 'A stored production schedule, checked by the independent checker before it was stored. Immutable.',
  select: { columns: { plantId: true, startsAt: true } },
  id: { column: (s) => s.id },
  authScopes: (s) => ({ plant: s.plantId }),
  fields: (t) => ({
    plant: t.relation('plant'),
    status: t.field({
      type: SolveStatusEnum,
      description: 'OPTIMAL: proved optimal (objective equals the lower bound); FEASIBLE otherwise.',
      select: { columns: { status: true } },
      resolve: (s) => s.status as 'OPTIMAL',
    }),
    objective: t.field({ type: ScheduleObjectiveEnum, select: { columns: { objective: true } }, resolve: (s) => s.objective as 'MAKESPAN' }),
    objectiveValue: t.exposeFloat('objectiveValue', { description: 'Minutes (makespan, or weighted minutes late).' }),
    start: t.field({ type: 'DateTime', description: 'Time zero of the plan.', resolve: (s) => s.startsAt }),
    horizonEnd: t.field({ type: 'DateTime', select: { columns: { horizonEndsAt: true } }, resolve: (s) => s.horizonEndsAt }),
    makespanMinutes: t.exposeFloat('makespanMinutes'),
    lowerBoundMinutes: t.exposeFloat('lowerBound', { nullable: true, description: 'A proved lower bound on the objective.' }),
    gap: t.exposeFloat('gap', { nullable: true, description: '(objective − lower bound) / objective.' }),
    solveSeconds: t.exposeFloat('solveSeconds'),
    solver: t.exposeString('solver'),
    seed: t.exposeInt('seed'),
    timeLimitSeconds: t.exposeFloat('timeLimitSeconds'),
    iterations: t.exposeInt('iterations'),
    isCurrent: t.exposeBoolean('isCurrent', { description: "The plant's current schedule (Machine.operations and Order.plannedEnd read it)." }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.field({ type: 'DateTime', select: { columns: { createdAt: true } }, resolve: (s) => s.createdAt }),
    activatedAt: t.field({ type: 'DateTime', nullable: true, select: { columns: { activatedAt: true } }, resolve: (s) => s.activatedAt }),
    operations: t.relation('operations', {
      description: `The operations by start (then order and step): the first \`first\` (default ${DEFAULT_OPS}, at most ${MAX_OPS.toLocaleString('en-US')}) after skipping \`offset\`.`,
      args: { first: t.arg.int(), offset: t.arg.int() },
      query: (args) => ({ orderBy: { startsAt: 'asc', orderId: 'asc', stepIndex: 'asc' }, limit: pageSize(args.first), offset: Math.max(0, args.offset ?? 0) }),
      extensions: listSize({ max: MAX_OPS, fromArgs: (a) => pageSize(a.first as number | null) }),
    }),
    kpis: t.field({ type: ScheduleKpis, select: { columns: { kpis: true } }, resolve: (s) => s.kpis as Kpis }),
    bottlenecks: t.field({
      type: [BottleneckRef],
      description: "The machines and windows on the makespan's critical path, most minutes first.",
      select: { columns: { bottlenecks: true } },
      extensions: listSize({ max: 5_000, inParent: true }),
      resolve: (s) => (s.bottlenecks as BottleneckRow[]).map((b) => ({ ...b, start: s.startsAt })),
    }),
    explanation: t.field({
      type: 'JSON',
      description:
        "The objective by order (objectiveByOrder: tardiness and weighted tardiness), each late order with what made it late (lateOrders: its critical-path machines, the windows it waited for, minutesBy processing / machineQueue / windows / release), and byConstraint: the machines and windows on late orders' critical paths. Jobs and machines are row IDs; times are minutes from start.",
      select: { columns: { explanation: true } },
      resolve: (s) => s.explanation,
    }),
    export: t.string({
      description: "The operations as CSV (order,product-step,machine,start,end,setup_minutes,origin; ISO-8601 UTC) or JSON, for planners' other tools.",
      args: { format: t.arg({ type: ExportFormatEnum, required: true }) },
      select: {
        with: {
          operations: {
            with: { order: { columns: { code: true } }, scenarioOrder: { columns: { payload: true } }, machine: { columns: { name: true } } },
            orderBy: { startsAt: 'asc', orderId: 'asc', stepIndex: 'asc' },
          },
        },
      },
      resolve: (s, { format }) => {
        const rows = s.operations.map((o) => ({
          order: operationOrderCode(o),
          step: o.stepIndex,
          machine: o.machine.name,
          start: new Date(o.startsAt).toISOString(),
          end: new Date(o.endsAt).toISOString(),
          setupMinutes: o.setupMinutes,
          origin: o.origin,
        }));
        if (format === 'JSON') return JSON.stringify(rows);
        const cell = (v: unknown) => {
          const text = v === null || v === undefined ? '' : String(v);
          return /[",\n\r]/.test(text) || /^[=+\-@]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
        };
        return [
          'order,step,machine,start,end,setup_minutes,origin',
          ...rows.map((r) => [r.order, r.step, r.machine, r.start, r.end, r.setupMinutes, r.origin].map(cell).join(',')),
        ].join('\n');
      },
    }),
  }),
});
registerNodeVisibility('Schedule', (r) => r.plantId as number);

builder.drizzleObjectFields(Plant, (t) => ({
  currentSchedule: t.field({
    type: ScheduleNode,
    nullable: true,
    description: "The plant's current schedule (null before the first optimizeSchedule).",
    select: (_args, _ctx, nested) => ({ with: { schedules: nested({ where: { isCurrent: true }, limit: 1 }) } }),
    resolve: (p) => p.schedules[0] ?? null,
  }),
}));

builder.drizzleObjectFields(Machine, (t) => ({
  operations: t.relation('scheduledOperations', {
    description: "The machine's operations in the plant's current schedule that end after `from` and start before `to` (both optional), by start.",
    args: { from: t.arg({ type: 'DateTime' }), to: t.arg({ type: 'DateTime' }), first: t.arg.int({ description: `Default ${DEFAULT_OPS}.` }) },
    query: (args) => ({
      where: {
        schedule: { isCurrent: true },
        ...(args.from ? { endsAt: { gt: args.from as Date } } : {}),
        ...(args.to ? { startsAt: { lt: args.to as Date } } : {}),
      },
      orderBy: { startsAt: 'asc' },
      limit: pageSize(args.first),
    }),
    extensions: listSize({ max: MAX_OPS, fromArgs: (a) => pageSize(a.first as number | null) }),
  }),
}));

builder.drizzleObjectFields(Order, (t) => ({
  plannedEnd: t.field({
    type: 'DateTime',
    nullable: true,
    description: "When the plant's current schedule finishes the order (null: not in it).",
    select: { with: { scheduledOperations: { columns: { endsAt: true }, where: { schedule: { isCurrent: true } }, orderBy: { endsAt: 'desc' }, limit: 1 } } },
    resolve: (o) => o.scheduledOperations[0]?.endsAt ?? null,
  }),
}));

builder.drizzleObjectFields(JobNode, (t) => ({
  schedule: t.field({
    type: ScheduleNode,
    nullable: true,
    description: 'optimizeSchedule jobs: the schedule it stored (null until it SUCCEEDED).',
    select: (_args, _ctx, nested) => ({ with: { schedules: nested({ orderBy: { id: 'desc' }, limit: 1 }) } }),
    resolve: (j) => j.schedules[0] ?? null,
  }),
}));

builder.queryFields((t) => ({
  schedule: t.drizzleField({
    type: 'schedules',
    nullable: true,
    description: 'A schedule whose plant the caller may see; null for unknown, malformed or invisible IDs.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _r, { id }, ctx) => {
      const scheduleId = decodeId('Schedule', String(id));
      if (scheduleId === null) return null;
      const row = await ctx.db.query.schedules.findFirst(query({ where: { id: scheduleId } }));
      return row && canSeePlant(ctx.auth, (row as unknown as { plantId: number }).plantId) ? row : null;
    },
  }),
  schedules: t.drizzleConnection(
    {
      type: 'schedules',
      description: "A plant's schedules of its live twin, newest first (empty for an unknown or invisible plant); a scenario's are on Scenario.schedules.",
      args: { plantId: t.arg.id({ required: true }) },
      resolve: async (query, _r, args, ctx) => {
        const plantId = decodeId('Plant', String(args.plantId));
        if (plantId === null || !canSeePlant(ctx.auth, plantId)) return [];
        return ctx.db.query.schedules.findMany(query({ where: { plantId, scenarioId: { isNull: true } }, orderBy: { id: 'desc' } }));
      },
    },
    { name: 'ScheduleConnection' },
    { name: 'ScheduleEdge' },
  ),
}));

const RiskInput = builder.inputType('ScheduleRiskInput', {
  description: 'Risk-aware planning: machines whose failure risk is over the threshold are avoided (AVOID) or slowed by (1 − risk) (DERATE).',
  fields: (t) => ({
    model: t.string({ required: true, description: 'The registered model whose prediction per machine is the failure risk (0..1).' }),
    threshold: t.float({ required: true }),
    mode: t.field({ type: builder.enumType('ScheduleRiskMode', { values: ['AVOID', 'DERATE'] as const }), required: true }),
  }),
});

const OptimizeScheduleInput = builder.inputType('OptimizeScheduleInput', {
  fields: (t) => ({
    plantId: t.id({ required: true }),
    scenarioId: t.id({ description: 'Reserved for what-if scenarios; not accepted yet.' }),
    objective: t.field({ type: ScheduleObjectiveEnum, description: 'Default MAKESPAN.' }),
    timeLimitSeconds: t.float({
      description: `Default ${SCHEDULE_LIMITS.defaultSeconds}, 0 (the constructive schedule only) to ${SCHEDULE_LIMITS.maxSeconds}.`,
    }),
    start: t.field({ type: 'DateTime', description: 'Time zero of the plan; default: when the job runs.' }),
    seed: t.int({ description: 'Default 1. The same input, seed and maxIterations give the same schedule.' }),
    maxIterations: t.int({ description: 'A deterministic stop for the local search (default: the time limit only).' }),
    repairMinutes: t.float({ description: 'How long a machine that is DOWN, in MAINTENANCE or OFFLINE now stays out (default 120).' }),
    activate: t.boolean({ description: 'Make the new schedule current (default: only when the plant has none).' }),
    risk: t.field({ type: RiskInput }),
  }),
});

const OptimizeScheduleSuccess = builder.objectRef<{ id: number }>('OptimizeScheduleSuccess').implement({
  fields: (t) => ({
    job: t.drizzleField({
      type: 'jobs',
      description: 'Follow it with jobUpdates; its progress message carries the best objective so far, Job.schedule the result.',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.jobs.findFirst(query({ where: { id: parent.id } })))!,
    }),
  }),
});
const ActivateScheduleSuccess = builder.objectRef<{ id: number }>('ActivateScheduleSuccess').implement({
  fields: (t) => ({
    schedule: t.drizzleField({
      type: 'schedules',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.schedules.findFirst(query({ where: { id: parent.id } })))!,
    }),
  }),
});

const planner = { skipTypeScopes: true, authScopes: { planner: true } } as const;

builder.mutationFields((t) => ({
  optimizeSchedule: t.field({
    ...planner,
    type: OptimizeScheduleSuccess,
    description:
      "PLANNER. Queues a job that schedules the plant's open orders (flexible job shop: eligible machines with their own times and setups, rate factors, releases, due dates, priorities, maintenance windows, machines down now, pins; operations that had started stay fixed) and stores the checked schedule. An order that cannot be planned at all (a step with no machine, a release after the planning horizon) is an InfeasibleError naming it, before anything is queued.",
    args: { input: t.arg({ type: OptimizeScheduleInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, InfeasibleError, ConflictError], directResult: true, union: { name: 'OptimizeScheduleResult' } },
    resolve: async (_r, { input }, ctx) => {
      const plantId = decodeId('Plant', String(input.plantId));
      if (plantId === null || !canSeePlant(ctx.auth, plantId)) throw new NotFoundError('Plant', String(input.plantId));
      const exists = await ctx.services.database.query('select 1 from plants where id = $1', [plantId]);
      if (exists.length === 0) throw new NotFoundError('Plant', String(input.plantId));
      let risk: ScheduleJobParams['risk'] = null;
      if (input.risk) {
        const scores = await machineRisks(ctx.services.predictions, ctx.services.database, ctx.auth, plantId, input.risk.model).catch((err: Error) => {
          throw ValidationError.single('input.risk.model', err.message);
        });
        risk = { threshold: input.risk.threshold, mode: input.risk.mode, byMachine: scores };
      }
      if (input.scenarioId != null) {
        // The scenario's twin instead of the live one: the same job as runScenario.
        const scenarioId = decodeId('Scenario', String(input.scenarioId));
        if (scenarioId === null) throw new NotFoundError('Scenario', String(input.scenarioId));
        if (input.activate) throw ValidationError.single('input.activate', "a scenario's schedule never becomes current; promoteScenario makes it live");
        const r = await ctx.services.scenarios.run(ctx.auth, {
          scenarioId,
          plantId,
          objective: input.objective,
          timeLimitSeconds: input.timeLimitSeconds,
          seed: input.seed,
          start: (input.start as Date | null) ?? null,
          maxIterations: input.maxIterations,
          repairMinutes: input.repairMinutes,
          risk,
        });
        return { id: r.jobId };
      }
      const params: ScheduleJobParams = {
        plantId,
        objective: input.objective ?? 'MAKESPAN',
        timeLimitSeconds: input.timeLimitSeconds ?? SCHEDULE_LIMITS.defaultSeconds,
        seed: input.seed ?? 1,
        start: input.start ? (input.start as Date).toISOString() : null,
        repairMinutes: input.repairMinutes ?? null,
        activate: input.activate ?? false,
        maxIterations: input.maxIterations ?? null,
        risk,
      };
      checkScheduleParams(params);
      // Refuse what cannot be planned now, with the typed error, rather than as a failed job later.
      await prepareSchedule(ctx.services.database, params, params.start ? new Date(params.start) : new Date());
      const job = await ctx.services.jobs.enqueue({ kind: SCHEDULE_JOB, plantId, params, createdBy: ctx.auth, maxAttempts: 1 });
      return { id: job.id };
    },
  }),
  activateSchedule: t.field({
    ...planner,
    type: ActivateScheduleSuccess,
    description: "PLANNER. Makes a stored schedule its plant's current one (ORDER_LATE rules are evaluated against it). ConflictError when it already is.",
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true, union: { name: 'ActivateScheduleResult' } },
    resolve: async (_r, { id }, ctx) => {
      const scheduleId = decodeId('Schedule', String(id));
      if (scheduleId === null) throw new NotFoundError('Schedule', String(id));
      return ctx.services.schedules.activate(ctx.auth, scheduleId, String(id));
    },
  }),
}));

const PinOperationInput = builder.inputType('PinOperationInput', {
  description: 'An operation kept by every later optimizeSchedule: on a machine, at a start (no earlier than its release), or both.',
  fields: (t) => ({
    orderId: t.id({ required: true }),
    step: t.int({ required: true, description: 'The routing step number (1 = the first).' }),
    machineId: t.id({ description: 'One of the eligible machines of the step.' }),
    start: t.field({ type: 'DateTime' }),
  }),
});
const PinOperationSuccess = builder.objectRef<{ id: number }>('PinOperationSuccess').implement({
  fields: (t) => ({ pinned: t.boolean({ resolve: () => true }) }),
});
const UnpinOperationSuccess = builder.objectRef<{ plantId: number }>('UnpinOperationSuccess').implement({
  fields: (t) => ({ unpinned: t.boolean({ resolve: () => true }) }),
});

builder.mutationFields((t) => ({
  pinOperation: t.field({
    ...planner,
    type: PinOperationSuccess,
    description: 'PLANNER. Pins an operation (its machine, its start, or both); optimizeSchedule plans the rest around it. Pinning again replaces the pin.',
    args: { input: t.arg({ type: PinOperationInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'PinOperationResult' } },
    resolve: async (_r, { input }, ctx) => {
      const orderId = decodeId('Order', String(input.orderId));
      if (orderId === null) throw new NotFoundError('Order', String(input.orderId));
      let machineId: number | null = null;
      if (input.machineId != null) {
        machineId = decodeId('Machine', String(input.machineId));
        if (machineId === null) throw ValidationError.single('input.machineId', 'not a Machine ID');
      }
      return pinOperation(
        ctx.services,
        ctx.auth,
        { orderId, step: input.step, machineId, start: (input.start as Date | null) ?? null },
        ctx.auth.name,
        String(input.orderId),
      );
    },
  }),
  unpinOperation: t.field({
    ...planner,
    type: UnpinOperationSuccess,
    description: "PLANNER. Removes an operation's pin.",
    args: { orderId: t.arg.id({ required: true }), step: t.arg.int({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'UnpinOperationResult' } },
    resolve: async (_r, args, ctx) => {
      const orderId = decodeId('Order', String(args.orderId));
      if (orderId === null) throw new NotFoundError('Order', String(args.orderId));
      return unpinOperation(ctx.services, ctx.auth, orderId, args.step, String(args.orderId));
    },
  }),
}));
