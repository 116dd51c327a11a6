import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';

/** The IDs of a plant's machines as a subquery, correlated on `plantId`, for capabilities that read per plant. */
export function machineIdsOfPlantSql(plantId: SQLWrapper): SQL {
  return sql`select m.id from machines m where m.plant_id = ${plantId}`;
}
