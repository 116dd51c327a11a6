import { bigint, index, integer, jsonb, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { plants } from './twin.ts';

const at = (name: string) => timestamp(name, { withTimezone: true });

/**
 * A what-if scenario: a named branch of a plant's twin that stores only its changes (scenario_changes), laid over
 * the live twin when read (src/twin/overlay.ts). Its schedules are `schedules` rows with its scenario_id; they never
 * become the live plan until promoteScenario copies one over. OPEN until PROMOTED or DISCARDED.
 */
export const scenarios = pgTable(
  'scenarios',
  {
    id: serial('id').primaryKey(),
    plantId: integer('plant_id')
      .notNull()
      .references(() => plants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** OPEN, PROMOTED or DISCARDED. */
    status: text('status').notNull().default('OPEN'),
    /** Bumped by every change added or removed: a schedule planned at an older revision is stale (promote refuses it). */
    revision: integer('revision').notNull().default(0),
    /** plants.plan_version when the scenario was created, or when it last ran (what its plan was built on). */
    baseVersion: bigint('base_version', { mode: 'number' }).notNull(),
    /**
     * A digest of every live row the scenario's changes and its last plan were built on ("order:12" → digest):
     * promote compares them with the live rows when the plant's version moved.
     */
    basis: jsonb('basis').notNull().default({}),
    /** Why it exists when the server opened it (alarm-triggered re-planning: the rule, machine and alert). */
    origin: jsonb('origin'),
    createdBy: text('created_by').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    /** When it was promoted or discarded. */
    closedAt: at('closed_at'),
    closedBy: text('closed_by'),
  },
  (t) => [index('scenarios_plant_idx').on(t.plantId, t.id)],
);

/**
 * One change of a scenario: `kind` names it (MACHINE_DOWN, MACHINE_RATE, ADD_ORDER, CANCEL_ORDER, CHANGE_DUE_DATE,
 * CHANGE_QUANTITY, CHANGE_PRIORITY, ADD_MAINTENANCE, REMOVE_MAINTENANCE, ROUTING_MACHINES) and `payload` holds its
 * validated fields (row IDs, ISO times). An ADD_ORDER change is the added order: it is -id in the overlaid twin.
 */
export const scenarioChanges = pgTable(
  'scenario_changes',
  {
    id: serial('id').primaryKey(),
    scenarioId: integer('scenario_id')
      .notNull()
      .references(() => scenarios.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    payload: jsonb('payload').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [index('scenario_changes_scenario_idx').on(t.scenarioId, t.id)],
);
