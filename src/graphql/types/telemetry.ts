import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import { type OpenAlertSummary, openAlertSummarySql } from '../../alerts/read.ts';
import type { machines } from '../../db/schema/index.ts';
import { ValidationError } from '../../core/errors.ts';
import type { MachineStatus } from '../../db/schema/index.ts';
import { type MachineStatusEvent, machineStatusTopic, type TelemetryBatchEvent, telemetryTopic } from '../../telemetry/events.ts';
import { ingestTelemetry, INGEST_LIMITS, metricProblem } from '../../telemetry/ingest.ts';
import { checkWindow, type Kpis, type MachineKpis, machineKpiTotalsSql, machineKpisFrom, type PlantKpis, plantKpis } from '../../telemetry/kpis.ts';
import {
  type Bucket,
  BUCKET_LIMITS,
  bucketsSql,
  checkBucketQuery,
  fillBuckets,
  latestValueSql,
  machineMetricsSql,
  METRIC_LIST_LIMITS,
  type MetricSummary,
  plantMetricsSql,
  type CheckedBucketQuery,
  type TelemetryPointOut,
} from '../../telemetry/read.ts';
import { recordMachineState, recordProduction } from '../../telemetry/states.ts';
import { rowExtra } from '../row-extras-plugin.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { decodeId } from '../../core/ids.ts';
import { loader } from '../loaders.ts';
import { requireVisible } from '../access.ts';
import { listSize } from '../cost.ts';
import { IMPORT_LIMITS } from '../../twin/import.ts';
import { mapIterator } from '../iterators.ts';
import { subscribeTopic } from '../subscriptions.ts';
import { AlertSeverityEnum } from './alerts.ts';
import { Machine, MachineStatusEnum, Plant } from './twin.ts';

type MachineRow = typeof machines.$inferSelect;
/** A Machine as the parent field loaded it (the columns its selection planned), handed on to child objects. */
type MachineRef = Pick<MachineRow, 'id' | 'plantId'>;

/* ---------- per-request batching: one statement per field and argument set, never one per machine ---------- */

const windowKey = (from: Date, to: Date) => `${from.getTime()}:${to.getTime()}`;

function machineById(ctx: Context, id: number): Promise<MachineRow> {
  return loader<number, MachineRow>(ctx, 'machine', async (ids) => {
    const rows = await ctx.db.query.machines.findMany({ where: { id: { in: [...ids] } } });
    return new Map(rows.map((r) => [r.id, r]));
  })
    .load(id)
    .then((m) => m!);
}

/**
 * Values computed in SQL with the machine rows (extras of the planned query): the resolvers are synchronous and a
 * dashboard of any size costs no extra statement. Keys are derived from the metric (hashed: SQL aliases are short).
 */
const extraKeys = new Map<string, string>();
/** The name of an extra computed from `text` (field arguments), hashed: SQL aliases are short. */
function extraKey(prefix: string, text: string): string {
  const id = `${prefix}\u0000${text}`;
  let k = extraKeys.get(id);
  if (k === undefined) {
    if (extraKeys.size > 10_000) extraKeys.clear();
    extraKeys.set(id, (k = `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`));
  }
  return k;
}
const latestKey = (metric: string) => extraKey('latest', metric);
const oeeKey = (a: { from: Date; to: Date }) => extraKey('oee', `${a.from.getTime()}:${a.to.getTime()}`);

type BucketArgs = { metric: string; from: Date; to: Date; bucketSeconds?: number | null };
const bucketsKey = (a: BucketArgs) => extraKey('buckets', `${a.metric}\u0000${a.from.getTime()}\u0000${a.to.getTime()}\u0000${a.bucketSeconds ?? ''}`);
function bucketQueryOrNull(a: BucketArgs): CheckedBucketQuery | null {
  try {
    return checkBucketQuery(a);
  } catch {
    return null;
  }
}

/** A json value of an extra: parsed by the driver at the top level, nested JSON inside relations; both objects. */
function jsonExtra<T>(v: unknown): T | null {
  if (v === null || v === undefined) return null;
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

/** Query arguments that fail validation: a GraphQL error naming every bad argument (queries have no error unions). */
function asUserError(err: unknown): never {
  if (err instanceof ValidationError) {
    throw new GraphQLError(err.message, { extensions: { code: 'VALIDATION_FAILED', fieldErrors: err.listed, problemCount: err.problemCount } });
  }
  throw err;
}

/* ---------- object types ---------- */

type SampleShape = { metric: string; ts: Date | string; value: number };
/** A point; in the `telemetry` subscription the newest of the points of one batch (`batch`, oldest first). */
type PointShape = Omit<TelemetryPointOut, 'ts'> & { ts: Date | string; machine?: MachineRef; batch?: readonly SampleShape[] };

const TelemetrySample = builder.objectRef<SampleShape>('TelemetrySample').implement({
  description: 'One telemetry value of the machine of the enclosing TelemetryPoint.',
  fields: (t) => ({
    metric: t.exposeString('metric'),
    ts: t.expose('ts', { type: 'DateTime' }),
    value: t.exposeFloat('value'),
  }),
});

const TelemetryPoint = builder.objectRef<PointShape>('TelemetryPoint').implement({
  description:
    'One stored telemetry value. In the `telemetry` subscription, one event stands for all new points of the machine from one ingest call: `metric`, `ts` and `value` are the newest of them, `count` says how many there are and `points` lists them all.',
  fields: (t) => ({
    machine: t.field({
      type: Machine,
      resolve: async (p, _a, ctx) => p.machine ?? machineById(ctx, p.machineId),
    }),
    metric: t.exposeString('metric'),
    ts: t.expose('ts', { type: 'DateTime' }),
    value: t.exposeFloat('value'),
    count: t.int({
      description: 'How many points this value stands for: in the `telemetry` subscription the points of the batch (of the chosen metrics), otherwise 1.',
      resolve: (p) => p.batch?.length ?? 1,
    }),
    points: t.field({
      type: [TelemetrySample],
      description:
        'In the `telemetry` subscription: every new point of the batch (of the chosen metrics), oldest first (by ts), the last one being this point. Otherwise just this point.',
      extensions: listSize({ max: INGEST_LIMITS.points, inParent: true }),
      resolve: (p) => p.batch ?? [p],
    }),
  }),
});

const TelemetryBucket = builder.objectRef<Bucket>('TelemetryBucket').implement({
  description: 'Aggregates of one time bucket [start, start + bucketSeconds); count 0 and null aggregates when empty.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime' }),
    count: t.exposeInt('count'),
    avg: t.exposeFloat('avg', { nullable: true }),
    min: t.exposeFloat('min', { nullable: true }),
    max: t.exposeFloat('max', { nullable: true }),
  }),
});

const KpisInterface = builder.interfaceRef<Kpis>('Kpis').implement({
  description:
    'KPIs over [from, to) from machine states and production counts (see README, "Telemetry and KPIs"). Ratios are 0..1 and null when their denominator is zero.',
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    availability: t.exposeFloat('availability', { nullable: true, description: 'runningSeconds / plannedSeconds.' }),
    performance: t.exposeFloat('performance', {
      nullable: true,
      description: 'idealCycleSeconds x totalCount / runningSeconds; null when the ideal cycle is unknown.',
    }),
    quality: t.exposeFloat('quality', { nullable: true, description: 'goodCount / totalCount.' }),
    oee: t.exposeFloat('oee', { nullable: true, description: 'availability x performance x quality.' }),
    mtbfSeconds: t.exposeFloat('mtbfSeconds', { nullable: true, description: 'Mean time between failures: runningSeconds / failures.' }),
    mttrSeconds: t.exposeFloat('mttrSeconds', { nullable: true, description: 'Mean time to repair: downSeconds / repairs.' }),
    plannedSeconds: t.exposeFloat('plannedSeconds', {
      description: 'RUNNING + IDLE + DOWN time: the window minus planned downtime (MAINTENANCE, OFFLINE) and unknown time.',
    }),
    runningSeconds: t.exposeFloat('runningSeconds'),
    idleSeconds: t.exposeFloat('idleSeconds'),
    downSeconds: t.exposeFloat('downSeconds'),
    maintenanceSeconds: t.exposeFloat('maintenanceSeconds'),
    offlineSeconds: t.exposeFloat('offlineSeconds'),
    unknownSeconds: t.exposeFloat('unknownSeconds', { description: 'Time before the first known state, within the window.' }),
    failures: t.exposeInt('failures', { description: 'Transitions into DOWN within the window.' }),
    repairs: t.exposeInt('repairs', { description: 'Transitions out of DOWN within the window.' }),
    goodCount: t.exposeFloat('goodCount', { description: 'Good units recorded in the window.' }),
    scrapCount: t.exposeFloat('scrapCount', { description: 'Scrap units recorded in the window.' }),
    totalCount: t.exposeFloat('totalCount', { description: 'goodCount + scrapCount.' }),
  }),
});

type OeeShape = MachineKpis & { machine?: MachineRef };

const Oee = builder.objectRef<OeeShape>('Oee').implement({
  description: 'OEE and reliability KPIs of one machine over a window.',
  interfaces: [KpisInterface],
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'machineId' in v && !('plantId' in v),
  fields: (t) => ({
    machine: t.field({
      type: Machine,
      resolve: async (k, _a, ctx) => k.machine ?? machineById(ctx, k.machineId),
    }),
    idealCycleSeconds: t.exposeFloat('idealCycleSeconds', { nullable: true }),
  }),
});

const PlantKpisType = builder.objectRef<PlantKpis>('PlantKpis').implement({
  description: "A plant's KPIs: times and counts summed over its machines, then the ratios computed from the sums.",
  interfaces: [KpisInterface],
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'plantId' in v,
  fields: (t) => ({
    machines: t.field({
      type: [Oee],
      description: 'Each machine of the plant.',
      extensions: listSize({ max: IMPORT_LIMITS.machines, known: 'machines' }),
      resolve: (k) => k.machines.slice(0, IMPORT_LIMITS.machines),
    }),
  }),
});

const OpenAlertSummaryType = builder.objectRef<OpenAlertSummary>('OpenAlertSummary').implement({
  description: 'The active (OPEN or ACKNOWLEDGED) alerts of a machine.',
  fields: (t) => ({
    count: t.exposeInt('count'),
    highestSeverity: t.field({ type: AlertSeverityEnum, nullable: true, description: 'null when count is 0.', resolve: (s) => s.highestSeverity }),
  }),
});

const MachineMetric = builder.objectRef<MetricSummary>('MachineMetric').implement({
  description: 'A metric a machine has reported: when first and last, and how many points were stored (retention does not lower it).',
  fields: (t) => ({
    metric: t.exposeString('metric', { description: 'The name to pass to latest(metric:) and telemetry(metric:).' }),
    firstAt: t.expose('firstAt', { type: 'DateTime', description: 'Time of the oldest point.' }),
    lastAt: t.expose('lastAt', { type: 'DateTime', description: 'Time of the newest point.' }),
    count: t.exposeFloat('count', { description: 'Points stored (a Float: it can pass 2^31).' }),
  }),
});

const PlantMetric = builder.objectRef<MetricSummary>('PlantMetric').implement({
  description: 'A metric some machines of a plant have reported, summed over them.',
  fields: (t) => ({
    metric: t.exposeString('metric'),
    firstAt: t.expose('firstAt', { type: 'DateTime', description: 'The oldest point of any machine.' }),
    lastAt: t.expose('lastAt', { type: 'DateTime', description: 'The newest point of any machine.' }),
    count: t.exposeFloat('count', { description: 'Points stored, all machines together.' }),
    machineCount: t.int({ description: 'Machines that reported it.', resolve: (m) => m.machines ?? 0 }),
  }),
});

builder.drizzleObject('machineStates', {
  name: 'MachineState',
  description: 'A recorded machine state; it lasts until the next recorded state of the machine.',
  fields: (t) => ({
    status: t.expose('status', { type: MachineStatusEnum }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

/* ---------- Machine and Plant fields ---------- */

builder.drizzleObjectFields(Machine, (t) => ({
  metrics: t.field({
    type: [MachineMetric],
    description: `The metrics this machine has reported, alphabetical; at most ${METRIC_LIST_LIMITS.perMachine}. Loaded with the machine rows (no statement per machine).`,
    extensions: { ...listSize({ max: METRIC_LIST_LIMITS.perMachine }), ...rowExtra('metrics') },
    select: { extras: { metrics: (m) => machineMetricsSql(m.id) } },
    resolve: (m) => jsonExtra<MetricSummary[]>(m.metrics) ?? [],
  }),
  openAlerts: t.field({
    type: OpenAlertSummaryType,
    description: 'Count and highest severity of the OPEN or ACKNOWLEDGED alerts about this machine.',
    extensions: rowExtra('openAlerts'),
    select: {
      extras: {
        openAlerts: (m) => openAlertSummarySql(m.id),
      },
    },
    resolve: (m) => jsonExtra<OpenAlertSummary>(m.openAlerts) ?? { count: 0, highestSeverity: null },
  }),
  latest: t.field({
    type: TelemetryPoint,
    nullable: true,
    description: 'The newest stored value of a metric (null if none).',
    args: { metric: t.arg.string({ required: true }) },
    extensions: rowExtra((args) => latestKey(args.metric as string)),
    // A malformed metric (control characters, too long) reads nothing and is a VALIDATION_FAILED error of this field.
    select: (args) => ({
      extras: {
        [latestKey(args.metric)]: (m: typeof machines) => (metricProblem(args.metric) ? sql`null` : latestValueSql(m.id, args.metric)),
      },
    }),
    resolve: (m, { metric }) => {
      const problem = metricProblem(metric);
      if (problem) asUserError(new ValidationError([{ path: 'metric', message: problem }]));
      const p = jsonExtra<{ value: number; ts: string }>((m as Record<string, unknown>)[latestKey(metric)]);
      return p ? { machineId: m.id as number, metric, ts: p.ts, value: p.value, machine: m as unknown as MachineRef } : null;
    },
  }),
  telemetry: t.field({
    type: [TelemetryBucket],
    description: `count/avg/min/max of a metric per bucket of bucketSeconds (default 60) over [from, to), buckets aligned to from, empty buckets included; at most ${BUCKET_LIMITS.maxBuckets.toLocaleString('en-US')} buckets. Whole-minute buckets over a whole-minute range are read from the one-minute rollup.`,
    args: {
      metric: t.arg.string({ required: true }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      bucketSeconds: t.arg.int(),
    },
    // Costed as the buckets it returns: every bucket of the window, empty ones included (none when the arguments are bad).
    extensions: {
      ...listSize({ max: BUCKET_LIMITS.maxBuckets, fromArgs: (args) => bucketQueryOrNull(args as BucketArgs)?.buckets ?? 0 }),
      ...rowExtra((args) => bucketsKey(args as BucketArgs)),
    },
    // Computed with the machine rows (a correlated subquery); a bad argument reads nothing and is this field's error.
    select: (args) => {
      const q = bucketQueryOrNull(args);
      return { extras: { [bucketsKey(args)]: (m: typeof machines) => (q ? bucketsSql(m.id, q) : sql`null`) } };
    },
    resolve: (m, args) => {
      let q: CheckedBucketQuery;
      try {
        q = checkBucketQuery(args);
      } catch (err) {
        asUserError(err);
      }
      return fillBuckets(q, jsonExtra<Parameters<typeof fillBuckets>[1]>((m as Record<string, unknown>)[bucketsKey(args)]) ?? []);
    },
  }),
  oee: t.field({
    type: Oee,
    description: 'OEE (availability, performance, quality), MTBF and MTTR over [from, to).',
    args: { from: t.arg({ type: 'DateTime', required: true }), to: t.arg({ type: 'DateTime', required: true }) },
    extensions: rowExtra((args) => oeeKey(args as { from: Date; to: Date })),
    // The KPI totals are computed with the machine rows (a correlated subquery) and the ideal cycle comes with the
    // row, so the OEE of any number of machines costs no statement of its own. A bad window reads nothing and is this
    // field's error.
    select: (args, ctx) => {
      const ok = args.to.getTime() > args.from.getTime();
      return {
        columns: { idealCycleSeconds: true },
        extras: { [oeeKey(args)]: (m: typeof machines) => (ok ? machineKpiTotalsSql(m.id, args.from, args.to, ctx.services.clock.now()) : sql`null`) },
      };
    },
    resolve: (m, { from, to }) => {
      try {
        checkWindow(from, to);
      } catch (err) {
        asUserError(err);
      }
      const row = m as unknown as Pick<MachineRow, 'id' | 'plantId' | 'idealCycleSeconds'>;
      const totals = jsonExtra<Parameters<typeof machineKpisFrom>[1] & { windowSeconds: number }>((m as Record<string, unknown>)[oeeKey({ from, to })]);
      return { ...machineKpisFrom(row, totals, from, to, totals?.windowSeconds ?? 0), machine: row };
    },
  }),
  states: t.relatedConnection('states', {
    description: 'State history, newest first; optionally only states with from <= at < to.',
    args: { from: t.arg({ type: 'DateTime' }), to: t.arg({ type: 'DateTime' }) },
    query: (args) => ({
      where: { at: { ...(args.from ? { gte: args.from } : {}), ...(args.to ? { lt: args.to } : {}) } },
      orderBy: { at: 'desc' },
    }),
    totalCount: true,
  }),
}));

builder.drizzleObjectFields(Plant, (t) => ({
  metrics: t.field({
    type: [PlantMetric],
    description: `The metrics any machine of this plant has reported, alphabetical; at most ${METRIC_LIST_LIMITS.perPlant.toLocaleString('en-US')}.`,
    extensions: { ...listSize({ max: METRIC_LIST_LIMITS.perPlant }), ...rowExtra('metrics') },
    select: { extras: { metrics: (p) => plantMetricsSql(p.id) } },
    resolve: (p) => jsonExtra<MetricSummary[]>(p.metrics) ?? [],
  }),
  kpis: t.field({
    type: PlantKpisType,
    description: 'OEE, MTBF and MTTR of the plant over [from, to), rolled up over its machines.',
    args: { from: t.arg({ type: 'DateTime', required: true }), to: t.arg({ type: 'DateTime', required: true }) },
    resolve: async (p, { from, to }, ctx) => {
      try {
        checkWindow(from, to);
      } catch (err) {
        asUserError(err);
      }
      return (await loader<number, PlantKpis>(ctx, `plantKpis:${windowKey(from, to)}`, (ids) =>
        plantKpis(ctx.services.database, [...ids], from, to, ctx.services.clock.now()),
      ).load(p.id))!;
    },
  }),
}));

/* ---------- mutations ---------- */

const TelemetryPointInput = builder.inputType('TelemetryPointInput', {
  fields: (t) => ({
    machineId: t.id({ required: true }),
    metric: t.string({ required: true }),
    ts: t.field({ type: 'DateTime', required: true }),
    value: t.float({ required: true }),
  }),
});

const TelemetryColumnsInput = builder.inputType('TelemetryColumnsInput', {
  description: 'Columnar form: entry i of every list is point i; all lists must have the same length.',
  fields: (t) => ({
    machineIds: t.idList({ required: true }),
    metrics: t.stringList({ required: true }),
    ts: t.field({ type: ['DateTime'], required: true }),
    values: t.floatList({ required: true }),
  }),
});

const TelemetryBatchInput = builder.inputType('TelemetryBatchInput', {
  description: `Either points (row form) or columns (columnar form), at most ${INGEST_LIMITS.points.toLocaleString('en-US')} points.`,
  fields: (t) => ({
    batchId: t.string({ description: 'Idempotency key: a batch ID that was stored before stores nothing again (all its points count as duplicates).' }),
    points: t.field({ type: [TelemetryPointInput] }),
    columns: t.field({ type: TelemetryColumnsInput }),
  }),
});

const MachineStateInput = builder.inputType('MachineStateInput', {
  fields: (t) => ({
    machineId: t.id({ required: true }),
    status: t.field({ type: MachineStatusEnum, required: true }),
    at: t.field({ type: 'DateTime', required: true }),
  }),
});

const ProductionCountInput = builder.inputType('ProductionCountInput', {
  fields: (t) => ({
    machineId: t.id({ required: true }),
    at: t.field({ type: 'DateTime', required: true }),
    good: t.int({ required: true, description: 'Good units, 0 or more.' }),
    scrap: t.int({ required: true, description: 'Scrap units, 0 or more.' }),
  }),
});

const IngestTelemetrySuccess = builder.objectRef<{ accepted: number; duplicates: number }>('IngestTelemetrySuccess').implement({
  fields: (t) => ({
    accepted: t.exposeInt('accepted', { description: 'Points stored by this call.' }),
    duplicates: t.exposeInt('duplicates', { description: 'Points already stored before (same machine, metric and ts, or a repeated batchId).' }),
  }),
});

const RecordMachineStateSuccess = builder.objectRef<MachineStatusEvent>('RecordMachineStateSuccess').implement({
  fields: (t) => ({
    machine: t.drizzleField({
      type: 'machines',
      resolve: async (query, e, _a, ctx) => (await ctx.db.query.machines.findFirst(query({ where: { id: e.machineId } })))!,
    }),
    current: t.exposeBoolean('current', { description: 'Whether this state is now the machine status (false for a state older than the current one).' }),
  }),
});

const RecordProductionSuccess = builder.objectRef<{ accepted: number }>('RecordProductionSuccess').implement({
  fields: (t) => ({
    accepted: t.exposeInt('accepted', { description: 'Records stored (a repeated machine and at replaces the earlier counts).' }),
  }),
});

/** Decodes Machine IDs, each distinct string once (a columnar batch repeats a few IDs many times). */
function machineIdDecoder(): (raw: string | number) => number | null {
  const cache = new Map<string, number | null>();
  return (raw) => {
    const s = String(raw);
    let id = cache.get(s);
    if (id === undefined) cache.set(s, (id = decodeId('Machine', s)));
    return id;
  };
}

builder.mutationFields((t) => ({
  ingestTelemetry: t.field({
    description:
      'OPERATOR. Stores a batch of telemetry points, all or nothing: a ValidationError names the bad points by index (the first 100; problemCount counts all).',
    type: IngestTelemetrySuccess,
    skipTypeScopes: true,
    authScopes: { operator: true },
    args: { input: t.arg({ type: TelemetryBatchInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'IngestTelemetryResult' } },
    resolve: async (_r, { input }, ctx) => {
      const decode = machineIdDecoder();
      return ingestTelemetry(ctx.services, ctx.auth, {
        batchId: input.batchId,
        points: input.points?.map((p) => ({ machineId: decode(p.machineId), metric: p.metric, ts: p.ts, value: p.value })),
        columns: input.columns && {
          machineIds: input.columns.machineIds.map(decode),
          metrics: input.columns.metrics,
          ts: input.columns.ts,
          values: input.columns.values,
        },
      });
    },
  }),
  recordMachineState: t.field({
    description: "OPERATOR. Records a machine state; the machine's status follows the newest state by `at`.",
    type: RecordMachineStateSuccess,
    skipTypeScopes: true,
    authScopes: { operator: true },
    args: { input: t.arg({ type: MachineStateInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'RecordMachineStateResult' } },
    resolve: (_r, { input }, ctx) =>
      recordMachineState(ctx.services, ctx.auth, {
        machineId: decodeId('Machine', String(input.machineId)),
        status: input.status as MachineStatus,
        at: input.at,
      }),
  }),
  recordProduction: t.field({
    description: 'OPERATOR. Records good and scrap units of a machine at an instant (for OEE performance and quality).',
    type: RecordProductionSuccess,
    skipTypeScopes: true,
    authScopes: { operator: true },
    args: { input: t.arg({ type: ProductionCountInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'RecordProductionResult' } },
    resolve: async (_r, { input }, ctx) => {
      const accepted = await recordProduction(
        ctx.services,
        ctx.auth,
        [{ machineId: decodeId('Machine', String(input.machineId)), at: input.at, good: input.good, scrap: input.scrap }],
        { pathOf: (_i, f) => f },
      );
      return { accepted };
    },
  }),
}));

/* ---------- subscriptions ---------- */

const MachineStatusEventType = builder.objectRef<MachineStatusEvent>('MachineStatusEvent').implement({
  description: 'A recorded machine state. `current` is false for a late state older than the machine status.',
  fields: (t) => ({
    machine: t.field({ type: Machine, resolve: (e, _a, ctx) => machineById(ctx, e.machineId) }),
    status: t.field({ type: MachineStatusEnum, resolve: (e) => e.status }),
    previous: t.field({ type: MachineStatusEnum, nullable: true, description: 'The state in force just before `at`.', resolve: (e) => e.previous }),
    at: t.expose('at', { type: 'DateTime' }),
    current: t.exposeBoolean('current'),
  }),
});

/**
 * What a `telemetry` subscriber with a metrics filter sees of a batch event: its newest matching point carrying all
 * matching points, or null when none match. Built once per event and filter, so that every subscriber with the same
 * filter gets the same object and shares one execution (useSharedSubscriptionExecution keys results by it).
 */
const batchViews = new WeakMap<TelemetryBatchEvent, Map<string, PointShape | null>>();
function batchView(e: TelemetryBatchEvent, metrics: ReadonlySet<string> | null, filterKey: string): PointShape | undefined {
  let views = batchViews.get(e);
  if (!views) batchViews.set(e, (views = new Map()));
  let view = views.get(filterKey);
  if (view === undefined) {
    const points = metrics ? e.points.filter((p) => metrics.has(p.metric)) : e.points;
    const newest = points.at(-1);
    view = newest ? { machineId: e.machineId, metric: newest.metric, ts: newest.ts, value: newest.value, batch: points } : null;
    views.set(filterKey, view);
  }
  return view ?? undefined;
}

builder.subscriptionFields((t) => ({
  telemetry: t.field({
    type: TelemetryPoint,
    description:
      'New points of a machine, optionally only of some metrics: one event per ingest call that stored any, carrying the newest point (metric, ts, value), how many there are (count) and all of them (points).',
    args: { machineId: t.arg.id({ required: true }), metrics: t.arg.stringList() },
    subscribe: async (_root, args, ctx) => {
      const machine = await requireVisible(ctx, 'Machine', String(args.machineId));
      const metrics = args.metrics && args.metrics.length > 0 ? new Set(args.metrics) : null;
      const filterKey = metrics ? [...metrics].sort().join('\u0000') : '*';
      return mapIterator(subscribeTopic(ctx, telemetryTopic, machine.id), (e) => batchView(e, metrics, filterKey));
    },
    resolve: (p) => p,
  }),
  machineStatus: t.field({
    type: MachineStatusEventType,
    description: 'Every machine state recorded in a plant. A client that falls behind is disconnected (WebSocket close 4008).',
    args: { plantId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const plant = await requireVisible(ctx, 'Plant', String(args.plantId));
      return subscribeTopic(ctx, machineStatusTopic, plant.id);
    },
    resolve: (e) => e,
  }),
}));
