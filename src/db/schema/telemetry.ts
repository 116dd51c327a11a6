import { bigint, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { machines, machineStatus } from './twin.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true });

/**
 * Raw telemetry points. In the database this is a table partitioned by range on `ts` (one partition per UTC day
 * plus a default partition), created by the custom migration `telemetry_partitioning`: drizzle-kit does not model
 * partitioning, so it only knows the columns and the index declared here. There is deliberately no foreign key to
 * machines (it would cost a lookup per inserted row); ingest validates every machine ID first.
 * The unique index serves (machine, metric, time) range reads and makes a repeated point a duplicate.
 */
export const telemetry = pgTable(
  'telemetry',
  {
    machineId: integer('machine_id').notNull(),
    metric: text('metric').notNull(),
    ts: ts('ts').notNull(),
    value: doublePrecision('value').notNull(),
  },
  (t) => [uniqueIndex('telemetry_series_ts_uq').on(t.machineId, t.metric, t.ts)],
);

/** One-minute rollup of `telemetry`, maintained in the same transaction as every insert. */
export const telemetryMinutes = pgTable(
  'telemetry_1m',
  {
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    metric: text('metric').notNull(),
    minute: ts('minute').notNull(),
    count: integer('count').notNull(),
    sum: doublePrecision('sum').notNull(),
    min: doublePrecision('min').notNull(),
    max: doublePrecision('max').notNull(),
  },
  (t) => [primaryKey({ columns: [t.machineId, t.metric, t.minute] }), index('telemetry_1m_minute_idx').on(t.minute)],
);

/** The newest point of every series, maintained on insert, so `Machine.latest` is one index lookup. */
export const telemetryLatest = pgTable(
  'telemetry_latest',
  {
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    metric: text('metric').notNull(),
    ts: ts('ts').notNull(),
    value: doublePrecision('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.machineId, t.metric] })],
);

/**
 * One row per series a machine has reported (its metric names, for `Machine.metrics` / `Plant.metrics`): the oldest
 * and newest point and how many points were stored, maintained on insert in the same statement as the rollup. It
 * counts every point ever stored; retention dropping old raw data does not lower it.
 */
export const telemetrySeries = pgTable(
  'telemetry_series',
  {
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    metric: text('metric').notNull(),
    firstTs: ts('first_ts').notNull(),
    lastTs: ts('last_ts').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.machineId, t.metric] })],
);

/** Batch IDs already stored, so a retried batch is not stored twice. */
export const telemetryBatches = pgTable(
  'telemetry_batches',
  {
    batchId: text('batch_id').primaryKey(),
    points: integer('points').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [index('telemetry_batches_received_idx').on(t.receivedAt)],
);

/** Machine state history; `machines.status` / `status_since` hold the newest state by `at`. */
export const machineStates = pgTable(
  'machine_states',
  {
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    status: machineStatus('status').notNull(),
    at: ts('at').notNull(),
    recordedAt: ts('recorded_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.machineId, t.at] })],
);

/** Good and scrap units a machine reported at an instant. */
export const productionCounts = pgTable(
  'production_counts',
  {
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    at: ts('at').notNull(),
    good: integer('good').notNull(),
    scrap: integer('scrap').notNull(),
    recordedAt: ts('recorded_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.machineId, t.at] })],
);
