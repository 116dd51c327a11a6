/**
 * Which plant a twin row belongs to, for many concurrent requests at once: `node(id)` needs a row's existence and
 * plant before anything else (access is by plant), and 200 dashboards asking one machine each would otherwise send
 * 200 statements. Lookups of the same table that arrive in the same turn of the event loop become one statement;
 * each caller gets its own rows. Nothing is cached: every answer comes from a statement sent after the call.
 */
import { runInBackground } from '../core/background.ts';
import type { Queryable } from '../db/client.ts';

/** The twin tables whose rows `node(id)` reaches, with the column naming their plant. */
const TABLES = {
  Plant: { table: 'plants', plant: 'id' },
  Line: { table: 'lines', plant: 'plant_id' },
  Machine: { table: 'machines', plant: 'plant_id' },
  Product: { table: 'products', plant: 'plant_id' },
  Order: { table: 'orders', plant: 'plant_id' },
} as const;

export type IdentityType = keyof typeof TABLES;

export interface RowIdentity {
  id: number;
  plantId: number;
}

export function isIdentityType(typename: string): typename is IdentityType {
  return Object.hasOwn(TABLES, typename);
}

export class RowIdentityBatcher {
  private open = new Map<
    IdentityType,
    { ids: Set<number>; waiters: { id: number; resolve: (r: RowIdentity | null) => void; reject: (e: unknown) => void }[] }
  >();
  /** Statements sent, for tests. */
  statements = 0;

  constructor(private db: Queryable) {}

  /** The row's id and plant, or null when there is no such row. */
  load(type: IdentityType, id: number): Promise<RowIdentity | null> {
    return new Promise((resolve, reject) => {
      let batch = this.open.get(type);
      if (!batch) {
        batch = { ids: new Set(), waiters: [] };
        this.open.set(type, batch);
        setImmediate(() => this.flush(type));
      }
      batch.ids.add(id);
      batch.waiters.push({ id, resolve, reject });
    });
  }

  private flush(type: IdentityType): void {
    const batch = this.open.get(type);
    if (!batch) return;
    this.open.delete(type);
    const { table, plant } = TABLES[type];
    this.statements++;
    runInBackground(() =>
      this.db.query<{ id: number; plant_id: number }>(`select id, ${plant} as plant_id from ${table} where id = any($1::int[])`, [[...batch.ids]]).then(
        (rows) => {
          const byId = new Map(rows.map((r) => [Number(r.id), { id: Number(r.id), plantId: Number(r.plant_id) }]));
          for (const w of batch.waiters) w.resolve(byId.get(w.id) ?? null);
        },
        (err) => {
          for (const w of batch.waiters) w.reject(err);
        },
      ),
    );
  }
}
