import type { Queryable } from '../db/client.ts';
import type { MachineStatus } from '../db/schema/index.ts';

/**
 * Makes the newest of the given states each machine's current status, unless the machine already has a newer one
 * (so a late, older state never overwrites a newer). Arrays are the text array literals of the states (machine IDs,
 * statuses, ISO timestamps). The row lock taken by the update makes concurrent writers agree. Returns the machines
 * whose status changed and their new `status_since`.
 */
export async function applyCurrentStatus(q: Queryable, ids: string, statuses: string, ats: string): Promise<Map<number, number>> {
  const rows = await q.query<{ id: number; status_since: Date }>(
    `update machines m set status = x.status, status_since = x.at
     from (select distinct on (machine_id) machine_id, status, at
           from unnest($1::text::int[], $2::text::machine_status[], $3::text::timestamptz[]) as u(machine_id, status, at)
           order by machine_id, at desc) x
     where m.id = x.machine_id and (m.status_since is null or m.status_since <= x.at)
     returning m.id, m.status_since`,
    [ids, statuses, ats],
  );
  return new Map(rows.map((r) => [r.id, new Date(r.status_since).getTime()]));
}

export type { MachineStatus };
