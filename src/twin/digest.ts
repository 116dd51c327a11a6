import { createHash } from 'node:crypto';
import type { Queryable } from '../db/client.ts';
import { intArray } from '../db/arrays.ts';
import type { TwinSnapshot } from './snapshot.ts';

/**
 * Digests of the rows a plan of a plant is built on, by key: `machine:<id>` (line, rate factor), `product:<id>` (its
 * routing: steps, eligible machines and their times), `order:<id>` (product, quantity, release, due date, priority,
 * status), `windows:<machineId>` (the machine's maintenance windows from `from`) and `orders:open` (which orders are
 * open). Two digests of the same key differ exactly when what a plan reads of that row differs, so a scenario can
 * tell whether a live change touched what it changed or planned (promoteScenario).
 */
export type TwinBasis = Record<string, string>;

const hash = (value: unknown) => createHash('sha1').update(JSON.stringify(value)).digest('base64url').slice(0, 16);
const OPEN = ['PLANNED', 'RELEASED', 'IN_PROGRESS'];

/** Windows far past the horizon still bind a plan that runs late: ten horizons, as the scheduler reads them. */
export const BASIS_WINDOW_HORIZONS = 10;

const orderIds = (keys: ReadonlySet<string>) => [...keys].filter((k) => k.startsWith('order:')).map((k) => Number(k.slice(6)));

export async function twinBasis(twin: TwinSnapshot, plantId: number, from: Date, keys?: ReadonlySet<string>): Promise<TwinBasis> {
  // Only the reads the asked keys need (a change touches one or two rows).
  const wants = (prefix: string) => !keys || [...keys].some((k) => k.startsWith(prefix));
  const none = <T>() => Promise.resolve([] as T[]);
  const [[plant], machines, products, orders] = await Promise.all([
    twin.plants([plantId]),
    wants('machine:') || wants('windows:') ? twin.machines({ plantIds: [plantId] }) : none<Awaited<ReturnType<TwinSnapshot['machines']>>[number]>(),
    wants('product:') ? twin.products(plantId) : none<Awaited<ReturnType<TwinSnapshot['products']>>[number]>(),
    wants('orders:')
      ? twin.orders(plantId)
      : wants('order:')
        ? twin.orders(plantId, undefined, orderIds(keys!))
        : none<Awaited<ReturnType<TwinSnapshot['orders']>>[number]>(),
  ]);
  const horizonHours = plant?.planningHorizonHours ?? 336;
  const windows = wants('windows:')
    ? await twin.maintenanceWindows(plantId, from, new Date(from.getTime() + BASIS_WINDOW_HORIZONS * horizonHours * 3_600_000))
    : [];
  const out: TwinBasis = {};
  const put = (key: string, value: unknown) => {
    if (!keys || keys.has(key)) out[key] = hash(value);
  };
  const byMachine = new Map<number, unknown[]>();
  for (const w of windows) {
    let list = byMachine.get(w.machineId);
    if (!list) byMachine.set(w.machineId, (list = []));
    list.push([w.id, w.startsAt.getTime(), w.endsAt.getTime()]);
  }
  for (const m of machines) {
    put(`machine:${m.id}`, [m.lineId, m.rateFactor]);
    put(`windows:${m.id}`, byMachine.get(m.id) ?? []);
  }
  for (const p of products) put(`product:${p.id}`, p.routing);
  for (const o of orders) put(`order:${o.id}`, [o.productId, o.quantity, o.releaseAt?.getTime() ?? null, o.dueAt.getTime(), o.priority, o.status]);
  if (wants('orders:'))
    put(
      'orders:open',
      orders
        .filter((o) => OPEN.includes(o.status))
        .map((o) => o.id)
        .sort((a, b) => a - b),
    );
  return out;
}

/** What a basis key names, for a person: "order O-12", "machine M3", ... (`names` maps keys to row names). */
export function describeBasisKey(key: string, names: ReadonlyMap<string, string>): string {
  const name = names.get(key);
  const [kind, id] = key.split(':');
  if (kind === 'orders') return 'the set of open orders';
  if (kind === 'windows') return `the maintenance windows of machine ${names.get(`machine:${id}`) ?? id}`;
  return `${kind} ${name ?? id}`;
}

/** The names of the rows basis keys refer to (order codes, machine and product names), by key. */
export async function basisNames(q: Queryable, keys: readonly string[]): Promise<Map<string, string>> {
  const ids = (kind: string) => intArray([...new Set(keys.filter((k) => k.startsWith(`${kind}:`)).map((k) => Number(k.split(':')[1])))]);
  const rows = await q.query<{ key: string; name: string }>(
    `select 'order:' || id as key, code as name from orders where id = any($1::text::int[])
     union all select 'machine:' || id, name from machines where id = any($2::text::int[]) or id = any($3::text::int[])
     union all select 'product:' || id, name from products where id = any($4::text::int[])`,
    [ids('order'), ids('machine'), ids('windows'), ids('product')],
  );
  return new Map(rows.map((r) => [r.key, r.name]));
}

/**
 * The plant's plan version (bumped by every write to what plans are built on; null for an unknown plant). With
 * `lock`, the plant's row stays locked until the transaction ends: no plan input of the plant changes meanwhile.
 */
export async function planVersion(q: Queryable, plantId: number, lock = false): Promise<number | null> {
  const [row] = await q.query<{ plan_version: number }>(`select plan_version from plants where id = $1${lock ? ' for update' : ''}`, [plantId]);
  return row ? Number(row.plan_version) : null;
}
