import { alertEventsWithCatchUp } from '../../alerts/subscription.ts';
import type { AlertEvent } from '../../alerts/lifecycle.ts';
import { SEVERITY_RANK } from '../../alerts/rules.ts';
import { alertTopic } from '../../alerts/service.ts';
import { and, eq, inArray } from 'drizzle-orm';
import { RULE_KINDS } from '../../alerts/kinds/index.ts';
import { type AlertStatus, alertRuleKind, alertRules, alertSeverity, alertStatus, alerts, comparator, type Severity } from '../../db/schema/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { requirePlant, requireRow, requireVisible, visiblePlantId } from '../access.ts';
import { builder, registerNodeVisibility } from '../builder.ts';
import { decodeId } from '../../core/ids.ts';
import { mapIterator } from '../iterators.ts';
import { subscribeTopic } from '../subscriptions.ts';
import { MachineStatusEnum } from './twin.ts';

export const AlertRuleKindEnum = builder.enumType('AlertRuleKind', { values: alertRuleKind.enumValues });
export const ComparatorEnum = builder.enumType('Comparator', { values: comparator.enumValues });
export const AlertSeverityEnum = builder.enumType('AlertSeverity', { values: alertSeverity.enumValues });
export const AlertStatusEnum = builder.enumType('AlertStatus', { values: alertStatus.enumValues });
export const AlertEventKindEnum = builder.enumType('AlertEventKind', { values: ['OPENED', 'UPDATED', 'ACKNOWLEDGED', 'RESOLVED'] as const });

/** Whether a kind of rule is evaluated (has a trigger), and why not. */
function ruleEvaluation(kind: keyof typeof RULE_KINDS): { evaluated: boolean; note: string | null } {
  const k = RULE_KINDS[kind];
  return k.trigger || k.evaluatedOnCall
    ? { evaluated: true, note: null }
    : { evaluated: false, note: k.notEvaluated ?? `${kind} rules are stored but not evaluated yet` };
}

builder.drizzleNode('alertRules', {
  name: 'AlertRule',
  id: { column: (r) => r.id },
  authScopes: (r) => ({ plant: r.plantId }),
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: AlertRuleKindEnum }),
    severity: t.expose('severity', { type: AlertSeverityEnum }),
    plant: t.relation('plant'),
    machine: t.relation('machine', { nullable: true, description: 'null: every machine of the plant.' }),
    metric: t.exposeString('metric', { nullable: true }),
    comparator: t.expose('comparator', { type: ComparatorEnum, nullable: true }),
    threshold: t.exposeFloat('threshold', { nullable: true }),
    forSeconds: t.exposeInt('forSeconds', { description: 'How long the condition must hold before an alert is raised.' }),
    status: t.expose('status', { type: MachineStatusEnum, nullable: true, description: 'MACHINE_STATE rules: the status that raises the alert.' }),
    model: t.exposeString('model', { nullable: true }),
    autoResolve: t.exposeBoolean('autoResolve', { description: 'Resolve the alert by itself when the condition clears.' }),
    replan: t.exposeBoolean('replan', {
      description:
        'MACHINE_STATE rules on DOWN: when a machine goes DOWN, open a scenario with it out for its MTTR (or 120 minutes), run it and publish the impact on scenarioUpdates.',
    }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether the rule is switched on; see `evaluated` for whether its kind is evaluated at all.' }),
    evaluated: t.boolean({
      description: 'Whether rules of this kind raise alerts today (every kind does; ORDER_LATE when the current schedule changes).',
      select: { columns: { kind: true } },
      resolve: (r) => ruleEvaluation(r.kind).evaluated,
    }),
    evaluationNote: t.string({
      nullable: true,
      description: 'Why the rule is not evaluated (null when it is).',
      select: { columns: { kind: true } },
      resolve: (r) => ruleEvaluation(r.kind).note,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

// Alert scalars are read straight off the row (the type's default selection loads every column) rather than through
// column selections: subscription events carry whole rows, and a column selection on a row that did not come from a
// planned query would cost a fallback query per subscriber per event.
builder.drizzleNode('alerts', {
  name: 'Alert',
  id: { column: (a) => a.id },
  authScopes: (a) => ({ plant: a.plantId }),
  fields: (t) => ({
    status: t.field({ type: AlertStatusEnum, resolve: (a) => a.status }),
    severity: t.field({ type: AlertSeverityEnum, resolve: (a) => a.severity }),
    message: t.string({ resolve: (a) => a.message }),
    value: t.float({ nullable: true, description: 'The value that breached (THRESHOLD and PREDICTION rules).', resolve: (a) => a.value }),
    occurrences: t.int({ description: 'Breaches folded into this alert.', resolve: (a) => a.occurrences }),
    machine: t.relation('machine', { nullable: true }),
    order: t.relation('order', { nullable: true }),
    rule: t.relation('rule'),
    plant: t.relation('plant'),
    openedAt: t.field({ type: 'DateTime', resolve: (a) => a.openedAt }),
    lastSeenAt: t.field({ type: 'DateTime', resolve: (a) => a.lastSeenAt }),
    acknowledgedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.acknowledgedAt }),
    acknowledgedBy: t.string({ nullable: true, resolve: (a) => a.acknowledgedBy }),
    acknowledgeNote: t.string({ nullable: true, resolve: (a) => a.acknowledgeNote }),
    resolvedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.resolvedAt }),
    resolvedBy: t.string({ nullable: true, description: 'Key name, or "auto" when the condition cleared.', resolve: (a) => a.resolvedBy }),
    resolveNote: t.string({ nullable: true, resolve: (a) => a.resolveNote }),
  }),
});

registerNodeVisibility('Alert', (r) => r.plantId as number);
registerNodeVisibility('AlertRule', (r) => r.plantId as number);

function alertCursor(seq: number): string {
  return Buffer.from(`DC:N:${seq}`).toString('base64');
}

const AlertEventRef = builder.objectRef<AlertEvent>('AlertEvent').implement({
  fields: (t) => ({
    kind: t.expose('kind', { type: AlertEventKindEnum }),
    alert: t.field({ type: 'Alert' as never, resolve: (e) => e.alert as never }),
    cursor: t.string({
      description: "The alert's position in Query.alerts after this change: pass it as `after` to resume.",
      resolve: (e) => alertCursor(Number(e.alert.seq)),
    }),
  }),
});

type AlertFilterArgs = { plantId: string | number; status?: readonly Severity[] | readonly string[] | null; minSeverity?: Severity | null };

/** Query.alerts' filter, decoded once for the page and its totalCount: null when the plant is not visible. */
function alertFilter(ctx: Parameters<typeof visiblePlantId>[0], args: AlertFilterArgs) {
  const plantId = visiblePlantId(ctx, String(args.plantId));
  if (plantId === null) return null;
  const severities = args.minSeverity
    ? (['INFO', 'WARNING', 'CRITICAL'] as const).filter((s) => SEVERITY_RANK[s] >= SEVERITY_RANK[args.minSeverity!])
    : undefined;
  // A filter is a set: each status once, however often a client repeats it (one SQL parameter each).
  const statuses = args.status?.length ? ([...new Set(args.status)] as AlertStatus[]) : undefined;
  return { plantId, statuses, severities };
}

builder.queryFields((t) => ({
  alerts: t.drizzleConnection(
    {
      type: 'alerts',
      description:
        'Alerts of a plant in the order they last changed (oldest first). Every change moves an alert to the end, so a client that reads `after: <last cursor>` after a reconnect sees every alert that changed since, and misses nothing.',
      args: {
        plantId: t.arg.id({ required: true }),
        status: t.arg({ type: [AlertStatusEnum] }),
        minSeverity: t.arg({ type: AlertSeverityEnum }),
      },
      totalCount: async (_r, args, ctx) => {
        const f = alertFilter(ctx, args);
        if (f === null) return 0;
        return ctx.db.$count(
          alerts,
          and(
            eq(alerts.plantId, f.plantId),
            f.statuses ? inArray(alerts.status, f.statuses) : undefined,
            f.severities ? inArray(alerts.severity, [...f.severities]) : undefined,
          ),
        );
      },
      resolve: async (query, _r, args, ctx) => {
        const f = alertFilter(ctx, args);
        if (f === null) return [];
        return ctx.db.query.alerts.findMany(
          query({
            where: {
              plantId: f.plantId,
              ...(f.statuses ? { status: { in: f.statuses } } : {}),
              ...(f.severities ? { severity: { in: [...f.severities] } } : {}),
            },
            orderBy: { seq: 'asc' },
          }),
        );
      },
    },
    { name: 'AlertConnection' },
    { name: 'AlertEdge' },
  ),
  alertRules: t.drizzleConnection(
    {
      type: 'alertRules',
      args: { plantId: t.arg.id({ required: true }) },
      resolve: async (query, _r, args, ctx) => {
        const plantId = visiblePlantId(ctx, String(args.plantId));
        if (plantId === null) return [];
        return ctx.db.query.alertRules.findMany(query({ where: { plantId }, orderBy: { id: 'asc' } }));
      },
    },
    { name: 'AlertRuleConnection' },
    { name: 'AlertRuleEdge' },
  ),
}));

const AlertRuleInput = builder.inputType('AlertRuleInput', {
  fields: (t) => ({
    plantId: t.id({ required: true }),
    name: t.string({ required: true }),
    kind: t.field({ type: AlertRuleKindEnum, required: true }),
    severity: t.field({ type: AlertSeverityEnum, required: true }),
    machineId: t.id({ description: 'Limit the rule to one machine; omit for every machine of the plant.' }),
    metric: t.string(),
    comparator: t.field({ type: ComparatorEnum }),
    threshold: t.float(),
    forSeconds: t.int({ description: 'The condition must hold this long (0 to 604800; default 0).' }),
    status: t.field({ type: MachineStatusEnum, description: 'MACHINE_STATE rules: the status that raises the alert (default DOWN).' }),
    model: t.string(),
    autoResolve: t.boolean({ description: 'Default true.' }),
    replan: t.boolean({ description: 'MACHINE_STATE rules on DOWN only: re-plan in a scenario when a machine goes DOWN (default false).' }),
    enabled: t.boolean({ description: 'Default true.' }),
  }),
});

const AlertRuleUpdateInput = builder.inputType('AlertRuleUpdateInput', {
  description: 'Fields left out keep their value.',
  fields: (t) => ({
    name: t.string(),
    severity: t.field({ type: AlertSeverityEnum }),
    machineId: t.id(),
    metric: t.string(),
    comparator: t.field({ type: ComparatorEnum }),
    threshold: t.float(),
    forSeconds: t.int(),
    status: t.field({ type: MachineStatusEnum }),
    model: t.string(),
    autoResolve: t.boolean(),
    replan: t.boolean(),
    enabled: t.boolean(),
  }),
});

const ruleSuccess = (name: string) =>
  builder.objectRef<{ id: number }>(name).implement({
    fields: (t) => ({
      rule: t.drizzleField({
        type: 'alertRules',
        resolve: async (query, parent, _a, ctx) => (await ctx.db.query.alertRules.findFirst(query({ where: { id: parent.id } })))!,
      }),
    }),
  });
const CreateAlertRuleSuccess = ruleSuccess('CreateAlertRuleSuccess');
const UpdateAlertRuleSuccess = ruleSuccess('UpdateAlertRuleSuccess');

const AlertSuccess = builder.objectRef<{ id: number }>('AlertSuccess').implement({
  fields: (t) => ({
    alert: t.drizzleField({
      type: 'alerts',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.alerts.findFirst(query({ where: { id: parent.id } })))!,
    }),
  }),
});

/** Machine IDs in rule inputs must belong to the rule's plant; anything else reads as unknown. */
function machineArg(raw: string | number | null | undefined, path: string): number | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === null) return null;
  const id = decodeId('Machine', String(raw));
  if (id === null) throw ValidationError.single(path, 'unknown machine in this plant');
  return id;
}

builder.mutationFields((t) => ({
  createAlertRule: t.field({
    description:
      'ENGINEER. THRESHOLD rules need metric, comparator and threshold; MACHINE_STATE rules take status (default DOWN) and forSeconds; PREDICTION rules need model, comparator and threshold; ORDER_LATE rules need nothing more.',
    type: CreateAlertRuleSuccess,
    skipTypeScopes: true,
    authScopes: { engineer: true },
    args: { input: t.arg({ type: AlertRuleInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ConflictError], directResult: true, union: { name: 'CreateAlertRuleResult' } },
    resolve: async (_r, { input }, ctx) => {
      const plantId = await requirePlant(ctx, String(input.plantId));
      const rule = await ctx.services.alerts.createRule({ ...input, plantId, machineId: machineArg(input.machineId, 'machineId') });
      return { id: rule.id };
    },
  }),
  updateAlertRule: t.field({
    description: 'ENGINEER. Changes take effect for the next batch of telemetry or state changes.',
    type: UpdateAlertRuleSuccess,
    skipTypeScopes: true,
    authScopes: { engineer: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: AlertRuleUpdateInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ConflictError], directResult: true, union: { name: 'UpdateAlertRuleResult' } },
    resolve: async (_r, { id, input }, ctx) => {
      const row = await requireRow(ctx, 'AlertRule', alertRules, String(id));
      const patch = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Record<string, unknown>;
      if ('machineId' in patch) patch.machineId = machineArg(input.machineId, 'input.machineId');
      for (const k of ['name', 'severity', 'forSeconds', 'autoResolve', 'replan', 'enabled']) if (patch[k] === null) delete patch[k];
      await ctx.services.alerts.updateRule(row.id, patch);
      return { id: row.id };
    },
  }),
  disableAlertRule: t.field({
    description: 'ENGINEER. Stops evaluating the rule; its open alerts stay until resolved. Re-enable with updateAlertRule(enabled: true).',
    type: UpdateAlertRuleSuccess,
    skipTypeScopes: true,
    authScopes: { engineer: true },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'DisableAlertRuleResult' } },
    resolve: async (_r, { id }, ctx) => {
      const row = await requireRow(ctx, 'AlertRule', alertRules, String(id));
      await ctx.services.alerts.disableRule(row.id);
      return { id: row.id };
    },
  }),
  acknowledgeAlert: t.field({
    description: 'OPERATOR. OPEN → ACKNOWLEDGED; a ConflictError if it is not OPEN.',
    type: AlertSuccess,
    skipTypeScopes: true,
    authScopes: { operator: true },
    args: { id: t.arg.id({ required: true }), note: t.arg.string() },
    errors: { types: [NotFoundError, ConflictError, ValidationError], directResult: true, union: { name: 'AlertResult' } },
    resolve: async (_r, { id, note }, ctx) => {
      const row = await requireRow(ctx, 'Alert', alerts, String(id));
      await ctx.services.alerts.acknowledge(row.id, ctx.auth.name, note);
      return { id: row.id };
    },
  }),
  resolveAlert: t.field({
    description: 'OPERATOR. OPEN or ACKNOWLEDGED → RESOLVED; a ConflictError if already resolved.',
    type: AlertSuccess,
    skipTypeScopes: true,
    authScopes: { operator: true },
    args: { id: t.arg.id({ required: true }), note: t.arg.string() },
    errors: { types: [NotFoundError, ConflictError, ValidationError], directResult: true, union: { name: 'ResolveAlertResult' } },
    resolve: async (_r, { id, note }, ctx) => {
      const row = await requireRow(ctx, 'Alert', alerts, String(id));
      await ctx.services.alerts.resolve(row.id, ctx.auth.name, note);
      return { id: row.id };
    },
  }),
}));

builder.subscriptionFields((t) => ({
  alerts: t.field({
    description:
      'Alert events of a plant as they happen, at or above minSeverity (default INFO). When the server loses its database notification connection and gets it back, the alerts that changed meanwhile are delivered from the database (their current state). After a client reconnect, read Query.alerts(after: <last cursor>) to catch up. A client that falls behind is disconnected (WebSocket close 4008).',
    type: AlertEventRef,
    args: { plantId: t.arg.id({ required: true }), minSeverity: t.arg({ type: AlertSeverityEnum }) },
    subscribe: async (_r, args, ctx) => {
      const plant = await requireVisible(ctx, 'Plant', String(args.plantId));
      const min = SEVERITY_RANK[(args.minSeverity ?? 'INFO') as Severity];
      // Events other processes published while this one's LISTEN connection was away are re-read on its return.
      const source = await alertEventsWithCatchUp(ctx.services.database, plant.id, (onGap) => subscribeTopic(ctx, alertTopic, plant.id, { onGap }));
      return min === 0 ? source : mapIterator(source, (e) => (SEVERITY_RANK[e.alert.severity] >= min ? e : undefined));
    },
    resolve: (event) => event,
  }),
}));
