import { bigint, doublePrecision, index, integer, pgEnum, pgTable, primaryKey, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const machineStatus = pgEnum('machine_status', ['RUNNING', 'IDLE', 'DOWN', 'MAINTENANCE', 'OFFLINE']);
export const orderStatus = pgEnum('order_status', ['PLANNED', 'RELEASED', 'IN_PROGRESS', 'DONE', 'CANCELLED']);
export type MachineStatus = (typeof machineStatus.enumValues)[number];
export type OrderStatus = (typeof orderStatus.enumValues)[number];

export const plants = pgTable(
  'plants',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    timezone: text('timezone').notNull().default('UTC'),
    /** Bumped by every edit of the plant's lines, machines, products or routings (size caches re-measure on change). */
    structureVersion: integer('structure_version').notNull().default(0),
    /**
     * Bumped (by triggers, migration plan_version) by every write to what a plan is built on: orders, machines' line
     * and rate factor, products, routings, maintenance windows. A scenario remembers it to detect live changes.
     */
    planVersion: bigint('plan_version', { mode: 'number' }).notNull().default(0),
    /** How far ahead the scheduler plans (hours from the schedule's start): orders released later cannot be planned. */
    planningHorizonHours: integer('planning_horizon_hours').notNull().default(336),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('plants_name_uq').on(t.name)],
);

export const lines = pgTable(
  'lines',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
  },
  (t) => [uniqueIndex('lines_plant_name_uq').on(t.plantId, t.name)],
);

export const machines = pgTable(
  'machines',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    lineId: integer('line_id')
      .notNull()
      .references(() => lines.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind'),
    idealCycleSeconds: doublePrecision('ideal_cycle_seconds'),
    /** Speed against the routings' times: 0.8 runs at 80% (an operation takes 1/0.8 of its time). */
    rateFactor: doublePrecision('rate_factor').notNull().default(1),
    status: machineStatus('status').notNull().default('IDLE'),
    statusSince: timestamp('status_since', { withTimezone: true }),
  },
  (t) => [uniqueIndex('machines_plant_name_uq').on(t.plantId, t.name), index('machines_line_idx').on(t.lineId)],
);

export const products = pgTable(
  'products',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
  },
  (t) => [uniqueIndex('products_plant_name_uq').on(t.plantId, t.name)],
);

export const routingSteps = pgTable(
  'routing_steps',
  {
    id: serial('id').primaryKey(),
    productId: integer('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    stepIndex: integer('step_index').notNull(),
    minutesPerUnit: doublePrecision('minutes_per_unit').notNull(),
    setupMinutes: doublePrecision('setup_minutes').notNull().default(0),
  },
  (t) => [uniqueIndex('routing_steps_product_index_uq').on(t.productId, t.stepIndex)],
);

export const routingStepMachines = pgTable(
  'routing_step_machines',
  {
    stepId: integer('step_id')
      .notNull()
      .references(() => routingSteps.id, { onDelete: 'cascade' }),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    /** This machine's time per unit for the step, when it differs from the step's (null: the step's). */
    minutesPerUnit: doublePrecision('minutes_per_unit'),
    /** This machine's setup for the step, when it differs from the step's (null: the step's). */
    setupMinutes: doublePrecision('setup_minutes'),
  },
  (t) => [primaryKey({ columns: [t.stepId, t.machineId] }), index('routing_step_machines_machine_idx').on(t.machineId)],
);

export const orders = pgTable(
  'orders',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    productId: integer('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'restrict' }),
    code: text('code').notNull(),
    quantity: integer('quantity').notNull(),
    releaseAt: timestamp('release_at', { withTimezone: true }),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    priority: integer('priority').notNull().default(0),
    status: orderStatus('status').notNull().default('PLANNED'),
    /** When the status last changed (null: PLANNED since creation), and when each lifecycle step happened. */
    statusChangedAt: timestamp('status_changed_at', { withTimezone: true }),
    releasedAt: timestamp('released_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }),
    doneAt: timestamp('done_at', { withTimezone: true }),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('orders_plant_code_uq').on(t.plantId, t.code), index('orders_plant_due_idx').on(t.plantId, t.dueAt, t.id)],
);

/** Planned maintenance of a machine: no operation may be scheduled across it. */
export const maintenanceWindows = pgTable(
  'maintenance_windows',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    reason: text('reason'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('maintenance_windows_machine_idx').on(t.machineId, t.startsAt), index('maintenance_windows_plant_idx').on(t.plantId)],
);
