import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';

/** The IDs of a plant's machines as a subquery, correlated on `plantId`, for capabilities that read per plant. */
export function machineIdsOfPlantSql(plantId: SQLWrapper): SQL {
  return sql`select m.id from machines m where m.plant_id = ${plantId}`;
}

/**
 * The machine attributes features may use, of the machines whose IDs the SQL expression `ids` (an int[]) lists: id,
 * plant_id, name, kind, ideal_cycle_seconds and line (its line's name). A subquery text for set-based reads.
 */
export function machineAttributesSql(ids: string): string {
  return `select m.id, m.plant_id, m.name, m.kind, m.ideal_cycle_seconds, l.name as line from machines m join lines l on l.id = m.line_id where m.id = any(${ids})`;
}
