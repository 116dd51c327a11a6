/**
 * A dataset in memory, column by column: what CSV import and twin datasets load for training and evaluation, and
 * what the trainers read. Missing numeric values are NaN; missing categorical values are null.
 */
export type DataColumn = { name: string; kind: 'numeric'; values: Float64Array } | { name: string; kind: 'categorical'; values: (string | null)[] };

export interface DataTable {
  rowCount: number;
  columns: DataColumn[];
}

/** The column named `name`, or undefined. */
export function column(table: DataTable, name: string): DataColumn | undefined {
  return table.columns.find((c) => c.name === name);
}
