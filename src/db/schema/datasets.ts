import { bytea, index, integer, jsonb, pgEnum, pgTable, primaryKey, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { plants } from './twin.ts';

export const datasetSource = pgEnum('dataset_source', ['CSV', 'TWIN']);
export type DatasetSource = (typeof datasetSource.enumValues)[number];

/** What a dataset records about one column (see src/predict/columns.ts). */
export interface ColumnSummary {
  name: string;
  kind: 'numeric' | 'categorical';
  /** Rows without a value. */
  missing: number;
  /** Numeric columns: over the values present (null when none). */
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Categorical columns: the most frequent values with their counts (at most CATEGORIES_LISTED), most frequent first. */
  categories: { value: string; count: number }[];
  /** Categorical columns: distinct values; null when more than DISTINCT_TRACKED (then `categories` is incomplete too). */
  categoryCount: number | null;
}

/**
 * A dataset: rows for training and evaluation, imported from CSV or built from a plant's own history (TWIN). The rows
 * live in `dataset_chunks`, a few thousand per chunk in a compact columnar encoding (src/predict/chunks.ts), so
 * neither importing nor storing a large file needs it whole in memory. `plant_id` null: a CSV dataset of no plant,
 * visible to unscoped keys only.
 */
export const datasets = pgTable(
  'datasets',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    plantId: integer('plant_id').references(() => plants.id, { onDelete: 'cascade' }),
    source: datasetSource('source').notNull(),
    columns: jsonb('columns').$type<ColumnSummary[]>().notNull(),
    rowCount: integer('row_count').notNull(),
    /** TWIN datasets: feature definitions, step, range, label kind and horizon, group column, skipped rows. */
    definition: jsonb('definition'),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('datasets_plant_idx').on(t.plantId, t.id)],
);

export const datasetChunks = pgTable(
  'dataset_chunks',
  {
    datasetId: integer('dataset_id')
      .notNull()
      .references(() => datasets.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    rows: integer('rows').notNull(),
    bytes: bytea('bytes').notNull(),
  },
  (t) => [primaryKey({ columns: [t.datasetId, t.seq] })],
);
