import { sql } from 'drizzle-orm';
import { boolean, check, doublePrecision, index, integer, jsonb, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { jobs } from './jobs.ts';
import { scenarioChanges, scenarios } from './scenarios.ts';
import { machines, orders, plants } from './twin.ts';

const at = (name: string) => timestamp(name, { withTimezone: true });

/**
 * A stored production schedule of a plant: every operation of the orders it planned, checked by the independent
 * checker before it was written. At most one schedule per plant is current (is_current); Machine.operations and
 * Order.plannedEnd read that one. Schedules are immutable once stored.
 */
export const schedules = pgTable(
  'schedules',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    /** The scenario it plans (null: a plan of the live twin). A scenario's schedules are never current. */
    scenarioId: integer('scenario_id').references(() => scenarios.id, { onDelete: 'cascade' }),
    /** The optimizeSchedule job that produced it (null when that job is gone). */
    jobId: integer('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    /** SolveStatus: OPTIMAL (proved) or FEASIBLE. */
    status: text('status').notNull(),
    objective: text('objective').notNull(),
    /** Time zero of the plan: operations are minutes after it. */
    startsAt: at('starts_at').notNull(),
    horizonEndsAt: at('horizon_ends_at').notNull(),
    makespanMinutes: doublePrecision('makespan_minutes').notNull(),
    objectiveValue: doublePrecision('objective_value').notNull(),
    lowerBound: doublePrecision('lower_bound'),
    gap: doublePrecision('gap'),
    solveSeconds: doublePrecision('solve_seconds').notNull(),
    solver: text('solver').notNull(),
    seed: integer('seed').notNull(),
    timeLimitSeconds: doublePrecision('time_limit_seconds').notNull(),
    iterations: integer('iterations').notNull().default(0),
    /** The options it was planned with (risk-aware settings, pins honoured, downtime assumed). */
    options: jsonb('options').notNull().default({}),
    /** ScheduleKpis plus utilization per machine ID. */
    kpis: jsonb('kpis').notNull(),
    bottlenecks: jsonb('bottlenecks').notNull(),
    /** Per late order: its lateness and what on its critical path made it late; per constraint: what binds. */
    explanation: jsonb('explanation').notNull(),
    isCurrent: boolean('is_current').notNull().default(false),
    createdBy: text('created_by').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    activatedAt: at('activated_at'),
  },
  (t) => [
    index('schedules_plant_idx').on(t.plantId, t.id),
    index('schedules_scenario_idx').on(t.scenarioId, t.id),
    uniqueIndex('schedules_one_current_uq').on(t.plantId).where(sql`is_current`),
  ],
);

/** One operation of a stored schedule: an order's routing step on a machine. */
export const scheduledOperations = pgTable(
  'scheduled_operations',
  {
    id: serial('id').primaryKey(),
    scheduleId: integer('schedule_id')
      .notNull()
      .references(() => schedules.id, { onDelete: 'cascade' }),
    /** The live order (null for an order a scenario adds: scenarioOrderId). */
    orderId: integer('order_id').references(() => orders.id, { onDelete: 'cascade' }),
    /** In a scenario's schedule, the ADD_ORDER change that added the order. */
    scenarioOrderId: integer('scenario_order_id').references(() => scenarioChanges.id, { onDelete: 'cascade' }),
    stepIndex: integer('step_index').notNull(),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    startsAt: at('starts_at').notNull(),
    endsAt: at('ends_at').notNull(),
    setupMinutes: doublePrecision('setup_minutes').notNull().default(0),
    /** FIXED: already started when planned; PINNED: a planner's pin; null: placed by the solver. */
    origin: text('origin'),
  },
  (t) => [
    index('scheduled_operations_schedule_idx').on(t.scheduleId, t.orderId, t.stepIndex),
    index('scheduled_operations_machine_idx').on(t.scheduleId, t.machineId, t.startsAt),
    check('scheduled_operations_one_order', sql`(order_id is null) <> (scenario_order_id is null)`),
  ],
);

/** A planner's pin: the operation keeps this machine and/or this start in every later optimizeSchedule. */
export const operationPins = pgTable(
  'operation_pins',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    orderId: integer('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    stepIndex: integer('step_index').notNull(),
    machineId: integer('machine_id').references(() => machines.id, { onDelete: 'cascade' }),
    startsAt: at('starts_at'),
    createdBy: text('created_by').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('operation_pins_op_uq').on(t.orderId, t.stepIndex), index('operation_pins_plant_idx').on(t.plantId)],
);
