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
 * The sizes of every plant not in `known` or whose structure version differs from the one in `known` (an edit bumps
 * it): one statement that finds those plants and, when there are any, one more that measures them all at once (each
 * table read once, grouped by plant). Returns each measured plant's sizes and the version they were measured at.
 */
export async function plantSizes(q: Queryable, known: ReadonlyMap<number, number>): Promise<Map<number, { sizes: PlantSizes; version: number }>> {
  const fresh = await q.query<{ id: number; structure_version: number }>(
    `select p.id, p.structure_version from plants p
     where not exists (select 1 from unnest($1::text::int[], $2::text::int[]) k(id, v) where k.id = p.id and k.v = p.structure_version)`,
    [intArray([...known.keys()]), intArray([...known.values()])],
  );
  if (fresh.length === 0) return new Map();
  const versions = new Map(fresh.map((r) => [Number(r.id), Number(r.structure_version)]));
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
        version: versions.get(Number(r.id)) ?? 0,
        sizes: {
          lines: Number(r.lines),
          machines: Number(r.machines),
          products: Number(r.products),
          steps: Number(r.steps),
          stepMachines: Number(r.step_machines),
          machinesPerLine: Number(r.machines_per_line),
          stepsPerProduct: Number(r.steps_per_product),
          machinesPerStep: Number(r.machines_per_step),
        },
      },
    ]),
  );
}

/**
 * The sizes of every plant, kept per process. Every writer of a plant's lines, machines, products or routings (the
 * import that creates it, and the twin edits) bumps `plants.structure_version` in its transaction, so each call
 * re-measures exactly the plants that appeared or changed since (here or in another process): one small statement,
 * and one more to measure those.
 */
export class PlantSizeCache {
  private readonly byPlant = new Map<number, { sizes: PlantSizes; version: number }>();

  constructor(private readonly q: Queryable) {}

  /** The largest of each size over the plants that `visible` accepts. */
  async maxima(visible: (plantId: number) => boolean): Promise<PlantSizes> {
    const known = new Map([...this.byPlant].map(([id, e]) => [id, e.version]));
    for (const [id, entry] of await plantSizes(this.q, known)) this.byPlant.set(id, entry);
    const out = { ...NO_PLANT_SIZES };
    for (const [id, { sizes }] of this.byPlant) {
      if (!visible(id)) continue;
      for (const k of Object.keys(out) as SizeKey[]) out[k] = Math.max(out[k], sizes[k]);
    }
    return out;
  }
}
