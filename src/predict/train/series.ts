import { column, type DataTable } from '../table.ts';

/**
 * The rows of each series in time order: a series is every row with the same value of the `group` column (null is
 * a series of its own; the whole table without a group column), ordered by the numeric `time` column (NaN last),
 * ties and a missing time column keeping table order. Series come in order of their first row.
 */
export function seriesRows(table: DataTable, group?: string, time?: string): Uint32Array[] {
  const groupColumn = group === undefined ? undefined : column(table, group);
  const timeColumn = time === undefined ? undefined : column(table, time);
  if (group !== undefined && !groupColumn) throw new Error(`no column ${group}`);
  if (timeColumn && timeColumn.kind !== 'numeric') throw new Error(`time column ${time} is not numeric`);
  if (time !== undefined && !timeColumn) throw new Error(`no column ${time}`);
  const lists = new Map<string | number | null, number[]>();
  for (let i = 0; i < table.rowCount; i++) {
    const key = groupColumn ? groupColumn.values[i] : 0;
    let list = lists.get(key);
    if (!list) lists.set(key, (list = []));
    list.push(i);
  }
  return [...lists.values()].map((rows) => {
    const out = Uint32Array.from(rows);
    if (!timeColumn) return out;
    const t = timeColumn.values as Float64Array;
    const sortKey = (i: number) => (Number.isNaN(t[i]) ? Number.POSITIVE_INFINITY : t[i]);
    // Uint32Array.prototype.sort is not guaranteed stable for equal keys; break ties by row index.
    return out.sort((a, b) => sortKey(a) - sortKey(b) || a - b);
  });
}
