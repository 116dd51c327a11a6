import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  pgEnum,
  pgSequence,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { machineStatus, machines, orders, plants } from './twin.ts';

export const alertRuleKind = pgEnum('alert_rule_kind', ['THRESHOLD', 'PREDICTION', 'MACHINE_STATE', 'ORDER_LATE']);
export const alertSeverity = pgEnum('alert_severity', ['INFO', 'WARNING', 'CRITICAL']);
export const comparator = pgEnum('comparator', ['GT', 'GTE', 'LT', 'LTE']);
export const alertStatus = pgEnum('alert_status', ['OPEN', 'ACKNOWLEDGED', 'RESOLVED']);
export type AlertRuleKind = (typeof alertRuleKind.enumValues)[number];
export type Severity = (typeof alertSeverity.enumValues)[number];
export type Comparator = (typeof comparator.enumValues)[number];
export type AlertStatus = (typeof alertStatus.enumValues)[number];

/** Every change to an alert takes the next value: the alerts connection is ordered by it, so clients resume by cursor. */
export const alertSeq = pgSequence('alert_seq');

export const alertRules = pgTable(
  'alert_rules',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    /** null: every machine of the plant. */
    machineId: integer('machine_id').references(() => machines.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: alertRuleKind('kind').notNull(),
    severity: alertSeverity('severity').notNull(),
    metric: text('metric'),
    comparator: comparator('comparator'),
    threshold: doublePrecision('threshold'),
    forSeconds: integer('for_seconds').notNull().default(0),
    /** MACHINE_STATE rules: the status that raises the alert. */
    status: machineStatus('status'),
    model: text('model'),
    /** MACHINE_STATE rules on DOWN: open and run a scenario with the machine out when it goes DOWN. */
    replan: boolean('replan').notNull().default(false),
    autoResolve: boolean('auto_resolve').notNull().default(true),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('alert_rules_plant_name_uq').on(t.plantId, t.name), index('alert_rules_plant_idx').on(t.plantId, t.enabled)],
);

export const alerts = pgTable(
  'alerts',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    ruleId: integer('rule_id')
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    /** What the alert is about: "machine:<id>", "order:<id>" or "plant". */
    subject: text('subject').notNull(),
    machineId: integer('machine_id').references(() => machines.id, { onDelete: 'cascade' }),
    orderId: integer('order_id').references(() => orders.id, { onDelete: 'cascade' }),
    status: alertStatus('status').notNull().default('OPEN'),
    severity: alertSeverity('severity').notNull(),
    message: text('message').notNull(),
    value: doublePrecision('value'),
    /** Number of breaches folded into this alert. */
    occurrences: integer('occurrences').notNull().default(1),
    seq: bigint('seq', { mode: 'number' }).notNull().default(sql`nextval('alert_seq')`),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    acknowledgedBy: text('acknowledged_by'),
    acknowledgeNote: text('acknowledge_note'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    resolvedBy: text('resolved_by'),
    resolveNote: text('resolve_note'),
  },
  (t) => [
    // At most one OPEN or ACKNOWLEDGED alert per rule and subject, enforced by the database.
    uniqueIndex('alerts_one_active_uq').on(t.ruleId, t.subject).where(sql`status <> 'RESOLVED'`),
    uniqueIndex('alerts_seq_uq').on(t.seq),
    index('alerts_plant_seq_idx').on(t.plantId, t.seq),
  ],
);

/** A breach that has started but has not yet lasted the rule's forSeconds (or a state being watched). */
export const alertPending = pgTable(
  'alert_pending',
  {
    ruleId: integer('rule_id')
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    plantId: integer('plant_id').notNull(),
    machineId: integer('machine_id'),
    since: timestamp('since', { withTimezone: true }).notNull(),
    value: doublePrecision('value'),
    /** Set once the breach has lasted forSeconds and the alert was raised, so the sweep does not raise it again. */
    fired: boolean('fired').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.ruleId, t.subject] }), index('alert_pending_since_idx').on(t.since)],
);
