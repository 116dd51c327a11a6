import type { Database } from '../db/client.ts';
import { Problems } from '../errors.ts';
import type { MachineStateChange, MachineStatus } from '../events.ts';
import { INGEST_LIMITS, type PlantScope, type TelemetryDeps, visibleMachines } from './ingest.ts';
import { intArray, textArray, withTransaction } from './sql.ts';

export const MACHINE_STATUSES: readonly MachineStatus[] = ['RUNNING', 'IDLE', 'DOWN', 'MAINTENANCE', 'OFFLINE'];

export function machineStatusTopic(plantId: number): string {
  return `machineStatus:${plantId}`;
}

export interface MachineStateIn {
  /** Decoded machine ID; null for an ID that could not be decoded (reported as an unknown machine). */
  machineId: number | null;
  status: MachineStatus;
  at: Date;
}

/** What `machineStatus:<plantId>` subscribers receive. */
export interface MachineStatusEvent extends MachineStateChange {
  /** True when this state is now the machine's current status (it is the newest by `at`). */
  current: boolean;
}

type PathOf = (i: number, field: string) => string;

function checkAt(p: Problems, path: string, at: Date, now: Date): number {
  const ms = at instanceof Date ? at.getTime() : NaN;
  if (!Number.isFinite(ms)) p.add(path, 'not a valid timestamp');
  else if (ms > now.getTime() + INGEST_LIMITS.futureMs) p.add(path, 'is more than a day in the future');
  return ms;
}

/**
 * Records machine states (history rows keyed by machine and `at`; a repeated `at` replaces the earlier status) and
 * keeps `machines.status` / `status_since` at the newest state by `at`, so a late, older state never overwrites a
 * newer one. All or nothing; after commit runs the machine-state hooks and publishes on `machineStatus:<plantId>`.
 */
export async function recordMachineStates(
  deps: TelemetryDeps,
  scope: PlantScope,
  states: readonly MachineStateIn[],
  opts: { now?: Date; pathOf?: PathOf } = {},
): Promise<MachineStatusEvent[]> {
  const { database } = deps;
  const now = opts.now ?? new Date();
  const pathOf: PathOf = opts.pathOf ?? ((i, f) => `states[${i}].${f}`);
  const p = new Problems();
  if (states.length > INGEST_LIMITS.points) {
    p.add('states', `at most ${INGEST_LIMITS.points} states per call`);
    p.throwIfAny();
  }
  const plantOf = await visibleMachines(database, states.flatMap((s) => (s.machineId === null ? [] : [s.machineId])), scope);
  const seen = new Set<string>();
  states.forEach((s, i) => {
    if (s.machineId === null || !plantOf.has(s.machineId)) p.add(pathOf(i, 'machineId'), 'unknown machine');
    if (!MACHINE_STATUSES.includes(s.status)) p.add(pathOf(i, 'status'), `must be one of ${MACHINE_STATUSES.join(', ')}`);
    const ms = checkAt(p, pathOf(i, 'at'), s.at, now);
    const key = `${s.machineId}@${ms}`;
    if (seen.has(key)) p.add(pathOf(i, 'at'), 'two states of the same machine at the same instant');
    seen.add(key);
  });
  p.throwIfAny();
  if (states.length === 0) return [];

  const ids = intArray(states.map((s) => s.machineId!));
  const statuses = textArray(states.map((s) => s.status));
  const ats = textArray(states.map((s) => s.at.toISOString()));
  const result = await withTransaction(database, async (tx) => {
    await tx.query(
      `insert into machine_states (machine_id, status, at)
       select machine_id, status, at from unnest($1::text::int[], $2::text::machine_status[], $3::text::timestamptz[]) as u(machine_id, status, at)
       on conflict (machine_id, at) do update set status = excluded.status, recorded_at = now()`,
      [ids, statuses, ats],
    );
    // Newest input state per machine becomes current unless the machine already has a newer one. The row lock taken
    // by the update makes concurrent writers agree.
    const current = await tx.query<{ id: number; status_since: Date }>(
      `update machines m set status = x.status, status_since = x.at
       from (select distinct on (machine_id) machine_id, status, at
             from unnest($1::text::int[], $2::text::machine_status[], $3::text::timestamptz[]) as u(machine_id, status, at)
             order by machine_id, at desc) x
       where m.id = x.machine_id and (m.status_since is null or m.status_since <= x.at)
       returning m.id, m.status_since`,
      [ids, statuses, ats],
    );
    const currentAt = new Map(current.map((r) => [r.id, new Date(r.status_since).getTime()]));
    // The state in force just before each recorded one.
    const previous = await tx.query<{ i: number; status: MachineStatus | null }>(
      `select u.i::int as i, (select s.status from machine_states s where s.machine_id = u.machine_id and s.at < u.at order by s.at desc limit 1) as status
       from unnest($1::text::int[], $2::text::timestamptz[]) with ordinality as u(machine_id, at, i)`,
      [ids, ats],
    );
    const prev = new Map(previous.map((r) => [Number(r.i) - 1, r.status]));
    const changes = states.map<MachineStatusEvent>((s, i) => ({
      machineId: s.machineId!,
      plantId: plantOf.get(s.machineId!)!,
      status: s.status,
      previous: prev.get(i) ?? null,
      at: new Date(s.at.getTime()),
      current: currentAt.get(s.machineId!) === s.at.getTime(),
    }));
    // Alert rules on machine states write in this transaction: the state and the alert commit together.
    return { changes, after: await deps.events.runMachineStatesInTransaction(changes, tx) };
  });
  const events = result.changes;
  await deps.events.afterCommit(result.after);
  await Promise.all(events.map((e) => deps.pubsub.publish(machineStatusTopic(e.plantId), e)));
  return events;
}

/** One state, with error paths named after the single input's fields (machineId, status, at). */
export async function recordMachineState(deps: TelemetryDeps, scope: PlantScope, state: MachineStateIn, opts: { now?: Date } = {}): Promise<MachineStatusEvent> {
  const [event] = await recordMachineStates(deps, scope, [state], { ...opts, pathOf: (_i, f) => f });
  return event;
}

export interface MachineStateRow {
  machineId: number;
  status: MachineStatus;
  at: Date;
}

/** States of one machine in [from, to), oldest first, preceded by the state in force at `from` (if any). */
export async function machineStateHistory(database: Database, machineId: number, from: Date, to: Date): Promise<MachineStateRow[]> {
  const rows = await database.query<{ status: MachineStatus; at: Date }>(
    `(select status, at from machine_states where machine_id = $1 and at <= $2::timestamptz order by at desc limit 1)
     union all
     (select status, at from machine_states where machine_id = $1 and at > $2::timestamptz and at < $3::timestamptz)
     order by at`,
    [machineId, from.toISOString(), to.toISOString()],
  );
  return rows.map((r) => ({ machineId, status: r.status, at: new Date(r.at) }));
}

/** The machine's current status and since when (null since: never recorded). */
export async function currentStatus(database: Database, machineId: number): Promise<{ status: MachineStatus; since: Date | null } | null> {
  const rows = await database.query<{ status: MachineStatus; status_since: Date | null }>('select status, status_since from machines where id = $1', [machineId]);
  if (rows.length === 0) return null;
  return { status: rows[0].status, since: rows[0].status_since ? new Date(rows[0].status_since) : null };
}

export interface ProductionCountIn {
  machineId: number | null;
  at: Date;
  good: number;
  scrap: number;
}

export const PRODUCTION_LIMITS = { maxCount: 1_000_000_000 } as const;

/**
 * Records good and scrap units per machine and instant. Both must be whole numbers from 0 to 1e9; both zero is
 * accepted (a report that nothing was produced). A repeated (machine, at) replaces the earlier counts, so a retried
 * report is not counted twice. Returns how many records were stored.
 */
export async function recordProduction(
  deps: Pick<TelemetryDeps, 'database'>,
  scope: PlantScope,
  counts: readonly ProductionCountIn[],
  opts: { now?: Date; pathOf?: PathOf } = {},
): Promise<number> {
  const { database } = deps;
  const now = opts.now ?? new Date();
  const pathOf: PathOf = opts.pathOf ?? ((i, f) => `counts[${i}].${f}`);
  const p = new Problems();
  if (counts.length > INGEST_LIMITS.points) {
    p.add('counts', `at most ${INGEST_LIMITS.points} counts per call`);
    p.throwIfAny();
  }
  const plantOf = await visibleMachines(database, counts.flatMap((c) => (c.machineId === null ? [] : [c.machineId])), scope);
  const seen = new Set<string>();
  counts.forEach((c, i) => {
    if (c.machineId === null || !plantOf.has(c.machineId)) p.add(pathOf(i, 'machineId'), 'unknown machine');
    const ms = checkAt(p, pathOf(i, 'at'), c.at, now);
    for (const f of ['good', 'scrap'] as const) {
      const v = c[f];
      if (!Number.isInteger(v) || v < 0 || v > PRODUCTION_LIMITS.maxCount) p.add(pathOf(i, f), `must be a whole number from 0 to ${PRODUCTION_LIMITS.maxCount}`);
    }
    const key = `${c.machineId}@${ms}`;
    if (seen.has(key)) p.add(pathOf(i, 'at'), 'two counts of the same machine at the same instant');
    seen.add(key);
  });
  p.throwIfAny();
  if (counts.length === 0) return 0;
  await database.query(
    `insert into production_counts (machine_id, at, good, scrap)
     select * from unnest($1::text::int[], $2::text::timestamptz[], $3::text::int[], $4::text::int[])
     on conflict (machine_id, at) do update set good = excluded.good, scrap = excluded.scrap, recorded_at = now()`,
    [intArray(counts.map((c) => c.machineId!)), textArray(counts.map((c) => c.at.toISOString())), intArray(counts.map((c) => c.good)), intArray(counts.map((c) => c.scrap))],
  );
  return counts.length;
}
