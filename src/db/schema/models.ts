import { bytea, doublePrecision, index, integer, jsonb, pgEnum, pgTable, primaryKey, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { plants } from './twin.ts';

export const modelTask = pgEnum('model_task', ['REGRESSION', 'CLASSIFICATION', 'FORECAST']);
export type ModelTask = (typeof modelTask.enumValues)[number];

/**
 * A registered model version: an immutable ONNX graph (as served: a ZipMap already rewritten) with what was learned
 * about it at registration. Versions count from 1 per name. Stored in the database, so every server process serves
 * the same versions.
 */
export const models = pgTable(
  'models',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    task: modelTask('task').notNull(),
    /** `upload` or `trained:<ALGORITHM>`. */
    source: text('source').notNull(),
    /** The plant whose data trained it (its scope applies); null for uploads and models of no plant. */
    plantId: integer('plant_id').references(() => plants.id, { onDelete: 'set null' }),
    sha256: text('sha256').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    /** ModelInfo inputs and outputs as onnxruntime sees them (after the ZipMap rewrite). */
    inputs: jsonb('inputs').notNull(),
    outputs: jsonb('outputs').notNull(),
    /** Which outputs serve the task: { value?, probabilities?, label?, classes? }. */
    serving: jsonb('serving').notNull(),
    /** Feature names, in input column order, when known. */
    features: jsonb('features').$type<string[] | null>(),
    /** Feature definitions over the twin (metric, aggregate, window), for Machine.predict. */
    featureDefinitions: jsonb('feature_definitions'),
    /** The ModelSpec of a model trained here (explanations read it). */
    spec: jsonb('spec'),
    /** Training distribution per feature (bin edges and proportions), for drift. */
    profile: jsonb('profile'),
    metrics: jsonb('metrics').$type<Record<string, number>>().notNull().default({}),
    params: jsonb('params'),
    datasetId: integer('dataset_id'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('models_name_version').on(t.name, t.version)],
);

/** The ONNX bytes of a version, apart so that listing models never reads them. */
export const modelBlobs = pgTable('model_blobs', {
  modelId: integer('model_id')
    .primaryKey()
    .references(() => models.id, { onDelete: 'cascade' }),
  bytes: bytea('bytes').notNull(),
});

/** Which version of a name holds an alias now (`production` is the active version). */
export const modelAliases = pgTable(
  'model_aliases',
  {
    name: text('name').notNull(),
    alias: text('alias').notNull(),
    modelId: integer('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    setAt: timestamp('set_at', { withTimezone: true }).notNull(),
    setBy: text('set_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.alias] })],
);

/** Every period a version held an alias: what was live when a prediction was made. `until` null: still holds it. */
export const modelAliasHistory = pgTable(
  'model_alias_history',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    alias: text('alias').notNull(),
    modelId: integer('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    since: timestamp('since', { withTimezone: true }).notNull(),
    until: timestamp('until', { withTimezone: true }),
    setBy: text('set_by').notNull(),
  },
  (t) => [index('model_alias_history_name').on(t.name, t.alias, t.since)],
);

/**
 * Served feature values per model version and hour, binned on the training profile's edges: drift compares these
 * proportions with the training ones (population stability index).
 */
export const modelServedBins = pgTable(
  'model_served_bins',
  {
    modelId: integer('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    feature: text('feature').notNull(),
    counts: doublePrecision('counts').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.hour, t.feature] })],
);

/** Shadow scoring: a candidate version's output for the same request as production's, never returned to callers. */
export const modelShadowOutputs = pgTable(
  'model_shadow_outputs',
  {
    id: serial('id').primaryKey(),
    productionId: integer('production_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    candidateId: integer('candidate_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true }).notNull(),
    machineId: integer('machine_id'),
    production: doublePrecision('production'),
    candidate: doublePrecision('candidate'),
    productionLabel: text('production_label'),
    candidateLabel: text('candidate_label'),
  },
  (t) => [index('model_shadow_outputs_pair').on(t.candidateId, t.at)],
);
