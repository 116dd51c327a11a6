import { intArray } from '../db/arrays.ts';
import type { Queryable } from '../db/client.ts';

/** How large one plant's twin is: its lists, and the longest list of each kind of parent in it. */
export interface PlantSizes {
  lines: number;
  machines: number;
  products: number;
  /** Routing steps of all its products. */
  steps: number;
  /** (step, eligible machine) pairs of all its routings. */
  stepMachines: number;
  /** The most machines of one of its lines. */
  machinesPerLine: number;
  /** The longest routing of one of its products. */
  stepsPerProduct: number;
  /** The most eligible machines of one of its routing steps. */
  machinesPerStep: number;
}

export type SizeKey = keyof PlantSizes;

export const NO_PLANT_SIZES: PlantSizes = {
  lines: 0,
  machines: 0,
  products: 0,
  steps: 0,
  stepMachines: 0,
  machinesPerLine: 0,
  stepsPerProduct: 0,
  machinesPerStep: 0,
};

/**
 * The sizes of every plant except `known`: one statement that finds the plants not measured yet and, when there are
 * any, one more that measures them all at once (each table read once, grouped by plant).
 */
export async function plantSizes(q: Queryable, known: readonly number[]): Promise<Map<number, PlantSizes>> {
  const fresh = await q.query<{ id: number }>('select id from plants where not (id = any($1::text::int[]))', [intArray(known)]);
  if (fresh.length === 0) return new Map();
  const rows = await q.query<Record<string, number>>(
    `with fresh as (select unnest($1::text::int[]) as id),
       per_line as (select m.plant_id, count(*) as n from machines m where m.plant_id in (select id from fresh) group by m.plant_id, m.line_id),
       per_product as (
         select pr.plant_id, count(*) as n from routing_steps rs join products pr on pr.id = rs.product_id
         where pr.plant_id in (select id from fresh) group by pr.plant_id, rs.product_id),
       per_step as (
         select pr.plant_id, count(*) as n
         from routing_step_machines rsm join routing_steps rs on rs.id = rsm.step_id join products pr on pr.id = rs.product_id
         where pr.plant_id in (select id from fresh) group by pr.plant_id, rsm.step_id)
     select f.id, coalesce(l.n, 0)::int as lines, coalesce(p.n, 0)::int as products,
       coalesce(m.total, 0)::int as machines, coalesce(m.most, 0)::int as machines_per_line,
       coalesce(s.total, 0)::int as steps, coalesce(s.most, 0)::int as steps_per_product,
       coalesce(sm.total, 0)::int as step_machines, coalesce(sm.most, 0)::int as machines_per_step
     from fresh f
     left join (select plant_id, count(*) as n from lines where plant_id in (select id from fresh) group by plant_id) l on l.plant_id = f.id
     left join (select plant_id, count(*) as n from products where plant_id in (select id from fresh) group by plant_id) p on p.plant_id = f.id
     left join (select plant_id, sum(n) as total, max(n) as most from per_line group by plant_id) m on m.plant_id = f.id
     left join (select plant_id, sum(n) as total, max(n) as most from per_product group by plant_id) s on s.plant_id = f.id
     left join (select plant_id, sum(n) as total, max(n) as most from per_step group by plant_id) sm on sm.plant_id = f.id`,
    [intArray(fresh.map((r) => Number(r.id)))],
  );
  return new Map(
    rows.map((r) => [
      Number(r.id),
      {
        lines: Number(r.lines),
        machines: Number(r.machines),
        products: Number(r.products),
        steps: Number(r.steps),
        stepMachines: Number(r.step_machines),
        machinesPerLine: Number(r.machines_per_line),
        stepsPerProduct: Number(r.steps_per_product),
        machinesPerStep: Number(r.machines_per_step),
      },
    ]),
  );
}

/**
 * The sizes of every plant, kept per process. A plant's lines, machines, products and routings are written once, by
 * the import that creates it, in one transaction (nothing adds to or removes from them afterwards), so a plant's
 * sizes never change once it is visible: each plant is measured once, and a later call only looks for plants that
 * appeared since (imported here or in another process): one small statement, and one more to measure new ones.
 */
export class PlantSizeCache {
  private readonly byPlant = new Map<number, PlantSizes>();

  constructor(private readonly q: Queryable) {}

  /** The largest of each size over the plants that `visible` accepts. */
  async maxima(visible: (plantId: number) => boolean): Promise<PlantSizes> {
    for (const [id, sizes] of await plantSizes(this.q, [...this.byPlant.keys()])) this.byPlant.set(id, sizes);
    const out = { ...NO_PLANT_SIZES };
    for (const [id, sizes] of this.byPlant) {
      if (!visible(id)) continue;
      for (const k of Object.keys(out) as SizeKey[]) out[k] = Math.max(out[k], sizes[k]);
    }
    return out;
  }
}
