import { NotFoundError } from '../core/errors.ts';
import { encodeId } from '../core/ids.ts';
import type { PlantScope } from '../core/scope.ts';
import { intArray } from '../db/arrays.ts';
import type { Database, Queryable } from '../db/client.ts';
import type { ColumnSummary, DatasetSource } from '../db/schema/index.ts';
import { decodeChunk } from './chunks.ts';
import { datasetVisible } from './store.ts';
import type { DataColumn, DataTable } from './table.ts';
import type { TwinDatasetDefinition } from './twin-dataset.ts';

export { CSV_LIMITS, type ByteSource, type ImportCsvOptions, importCsvDataset, limitedBytes } from './csv.ts';
export { createTwinDataset, type TwinDatasetInput, type TwinDatasetDefinition, type TwinLabel, TWIN_DATASET_LIMITS } from './twin-dataset.ts';

export interface DatasetInfo {
  id: number;
  name: string;
  plantId: number | null;
  source: DatasetSource;
  rowCount: number;
  columns: ColumnSummary[];
  /** TWIN datasets: how they were built (features, step, range, label). */
  definition: TwinDatasetDefinition | null;
  createdBy: string | null;
  createdAt: Date;
}

type Row = {
  id: number;
  name: string;
  plant_id: number | null;
  source: DatasetSource;
  row_count: number;
  columns: ColumnSummary[] | string;
  definition: TwinDatasetDefinition | string | null;
  created_by: string | null;
  created_at: Date | string;
};

const json = <T>(v: T | string): T => (typeof v === 'string' ? JSON.parse(v) : v);

const toInfo = (r: Row): DatasetInfo => ({
  id: r.id,
  name: r.name,
  plantId: r.plant_id,
  source: r.source,
  rowCount: Number(r.row_count),
  columns: json(r.columns),
  definition: r.definition === null ? null : json(r.definition),
  createdBy: r.created_by,
  createdAt: new Date(r.created_at),
});

const COLUMNS = 'id, name, plant_id, source, row_count, columns, definition, created_by, created_at';

const notFound = (id: number) => new NotFoundError('Dataset', encodeId('Dataset', id));

/** A dataset the caller may see (its plant in scope; plant-less ones for unscoped callers), or NotFoundError. */
export async function getDataset(q: Queryable, scope: PlantScope, id: number): Promise<DatasetInfo> {
  const [r] = await q.query<Row>(`select ${COLUMNS} from datasets where id = $1`, [id]);
  if (!r || !datasetVisible(scope, r.plant_id)) throw notFound(id);
  return toInfo(r);
}

/**
 * The datasets the caller may see, newest first: of one plant (`plantId`), or all (plant-less ones only for an
 * unscoped caller). `afterId` continues a list (ids below it), `limit` caps it (default 100).
 */
export async function listDatasets(q: Queryable, scope: PlantScope, opts: { plantId?: number; limit?: number; afterId?: number } = {}): Promise<DatasetInfo[]> {
  const { plantId, limit = 100, afterId } = opts;
  if (plantId !== undefined && !datasetVisible(scope, plantId)) return [];
  const rows = await q.query<Row>(
    `select ${COLUMNS} from datasets
     where ($1::int is null or plant_id = $1) and ($2::text is null or plant_id = any($2::text::int[])) and ($3::int is null or id < $3)
     order by id desc limit $4`,
    [plantId ?? null, scope.plantIds === null ? null : intArray(scope.plantIds), afterId ?? null, limit],
  );
  return rows.map(toInfo);
}

/** Deletes a dataset the caller may see with its rows; NotFoundError otherwise. */
export async function deleteDataset(database: Database, scope: PlantScope, id: number): Promise<{ id: number; plantId: number | null }> {
  return database.transaction(async (tx) => {
    const [r] = await tx.query<{ plant_id: number | null }>('select plant_id from datasets where id = $1 for update', [id]);
    if (!r || !datasetVisible(scope, r.plant_id)) throw notFound(id);
    await tx.query('delete from datasets where id = $1', [id]);
    return { id, plantId: r.plant_id };
  });
}

/** Chunks read per statement while loading. */
const CHUNKS_PER_READ = 16;

/**
 * The dataset's rows in memory, column by column (numeric: Float64Array with NaN for missing; categorical: strings
 * with null for missing). Read a few chunks per statement, so the stored bytes are never all in memory at once.
 */
export async function loadDataset(q: Queryable, id: number): Promise<DataTable> {
  const [d] = await q.query<{ columns: ColumnSummary[] | string; row_count: number }>('select columns, row_count from datasets where id = $1', [id]);
  if (!d) throw notFound(id);
  const summaries = json(d.columns);
  const rowCount = Number(d.row_count);
  const columns: DataColumn[] = summaries.map((s) =>
    s.kind === 'numeric'
      ? { name: s.name, kind: 'numeric', values: new Float64Array(rowCount) }
      : { name: s.name, kind: 'categorical', values: new Array(rowCount) },
  );
  let offset = 0;
  for (let seq = 0; ; seq += CHUNKS_PER_READ) {
    const page = await q.query<{ bytes: Uint8Array }>('select bytes from dataset_chunks where dataset_id = $1 and seq >= $2 and seq < $3 order by seq', [
      id,
      seq,
      seq + CHUNKS_PER_READ,
    ]);
    for (const { bytes } of page) {
      const chunk = decodeChunk(bytes);
      chunk.columns.forEach((stored, c) => {
        fill(columns[c], stored, offset, chunk.rows);
      });
      offset += chunk.rows;
    }
    if (page.length < CHUNKS_PER_READ) break;
  }
  if (offset !== rowCount) throw new Error(`dataset ${id}: ${offset} rows stored, ${rowCount} recorded`);
  return { rowCount, columns };
}

function fill(target: DataColumn, stored: ReturnType<typeof decodeChunk>['columns'][number], offset: number, rows: number): void {
  if (target.kind === 'numeric') {
    if (stored.kind === 'numeric') target.values.set(stored.values.subarray(0, rows), offset);
    else for (let r = 0; r < rows; r++) target.values[offset + r] = stored.values[r] === null ? Number.NaN : Number(stored.values[r]);
    return;
  }
  if (stored.kind === 'text') for (let r = 0; r < rows; r++) target.values[offset + r] = stored.values[r];
  else
    for (let r = 0; r < rows; r++) {
      const v = stored.values[r];
      target.values[offset + r] = Number.isNaN(v) ? null : String(v);
    }
}
