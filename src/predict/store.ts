import { canSeePlant, type PlantScope } from '../core/scope.ts';
import type { Queryable } from '../db/client.ts';
import type { ColumnSummary, DatasetSource } from '../db/schema/index.ts';
import { type Chunk, encodeChunk } from './chunks.ts';

/** Writing a dataset: its row first (so chunks can refer to it), the chunks as they fill, the summary at the end. */

export async function insertDatasetRow(
  q: Queryable,
  row: { name: string; plantId: number | null; source: DatasetSource; createdBy: string | null; definition?: unknown },
): Promise<number> {
  const [r] = await q.query<{ id: number }>(
    `insert into datasets (name, plant_id, source, columns, row_count, definition, created_by)
     values ($1, $2, $3, '[]'::jsonb, 0, $4::jsonb, $5) returning id`,
    [row.name, row.plantId, row.source, row.definition === undefined ? null : JSON.stringify(row.definition), row.createdBy],
  );
  return r.id;
}

export async function insertChunk(q: Queryable, datasetId: number, seq: number, chunk: Chunk): Promise<void> {
  await q.query('insert into dataset_chunks (dataset_id, seq, rows, bytes) values ($1, $2, $3, $4)', [datasetId, seq, chunk.rows, encodeChunk(chunk)]);
}

export async function finishDatasetRow(q: Queryable, datasetId: number, columns: ColumnSummary[], rowCount: number, definition?: unknown): Promise<void> {
  await q.query(
    `update datasets set columns = $2::jsonb, row_count = $3${definition === undefined ? '' : ', definition = $4::jsonb'} where id = $1`,
    definition === undefined ? [datasetId, JSON.stringify(columns), rowCount] : [datasetId, JSON.stringify(columns), rowCount, JSON.stringify(definition)],
  );
}

/** The one visibility rule of datasets: a plant's datasets follow the plant scope; plant-less ones need an unscoped key. */
export function datasetVisible(scope: PlantScope, plantId: number | null): boolean {
  return plantId === null ? scope.plantIds === null : canSeePlant(scope, plantId);
}
