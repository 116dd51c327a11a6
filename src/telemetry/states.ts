import type { PlantScope } from '../core/scope.ts';
import { intArray, textArray } from '../db/arrays.ts';
import type { Queryable } from '../db/client.ts';
import { type MachineStatus, machineStatus } from '../db/schema/index.ts';
import { Problems } from '../core/errors.ts';
import { applyCurrentStatus } from '../twin/status.ts';
import { liveTwin } from '../twin/snapshot.ts';
import { type MachineStatusEvent, machineStatusTopic } from './events.ts';
import type { TelemetryDeps } from './ingest.ts';
import { INGEST_LIMITS, visibleMachines } from './input.ts';
import { timestampProblem } from './timestamps.ts';

export const MACHINE_STATUSES: readonly MachineStatus[] = machineStatus.enumValues;

export interface MachineStateIn {
  /** Decoded machine ID; null for an ID that could not be decoded (reported as an unknown machine). */
  machineId: number | null;
  status: MachineStatus;
  at: Date;
}

type PathOf = (i: number, field: string) => string;

function checkAt(p: Problems, path: string, at: Date, now: Date): number {
  const ms = at instanceof Date ? at.getTime() : NaN;
  const problem = timestampProblem(ms, now);
  if (problem) p.add(path, problem);
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
  opts: { pathOf?: PathOf } = {},
): Promise<MachineStatusEvent[]> {
  const { database } = deps;
  const now = deps.clock.now();
  const pathOf: PathOf = opts.pathOf ?? ((i, f) => `states[${i}].${f}`);
  const p = new Problems();
  if (states.length > INGEST_LIMITS.points) {
    p.add('states', `at most ${INGEST_LIMITS.points} states per call`);
    p.throwIfAny();
  }
  const plantOf = await visibleMachines(
    database,
    states.flatMap((s) => (s.machineId === null ? [] : [s.machineId])),
    scope,
  );
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
  const result = await database.transaction(async (tx) => {
    await tx.query(
      `insert into machine_states (machine_id, status, at)
       select machine_id, status, at from unnest($1::text::int[], $2::text::machine_status[], $3::text::timestamptz[]) as u(machine_id, status, at)
       on conflict (machine_id, at) do update set status = excluded.status, recorded_at = now()`,
      [ids, statuses, ats],
    );
    const currentAt = await applyCurrentStatus(tx, ids, statuses, ats);
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
    return { changes, after: await deps.events.run('machineStatesRecorded', changes, tx) };
  });
  const events = result.changes;
  await deps.events.afterCommit(result.after);
  await Promise.all(events.map((e) => deps.pubsub.publish(machineStatusTopic, e.plantId, e)));
  return events;
}

/** One state, with error paths named after the single input's fields (machineId, status, at). */
export async function recordMachineState(deps: TelemetryDeps, scope: PlantScope, state: MachineStateIn): Promise<MachineStatusEvent> {
  const [event] = await recordMachineStates(deps, scope, [state], { pathOf: (_i, f) => f });
  return event;
}

export interface MachineStateRow {
  machineId: number;
  status: MachineStatus;
  at: Date;
}

/** States of one machine in [from, to), oldest first, preceded by the state in force at `from` (if any). */
export async function machineStateHistory(database: Queryable, machineId: number, from: Date, to: Date): Promise<MachineStateRow[]> {
  const rows = await database.query<{ status: MachineStatus; at: Date }>(
    `(select status, at from machine_states where machine_id = $1 and at <= $2::timestamptz order by at desc limit 1)
     union all
     (select status, at from machine_states where machine_id = $1 and at > $2::timestamptz and at < $3::timestamptz)
     order by at`,
    [machineId, from.toISOString(), to.toISOString()],
  );
  return rows.map((r) => ({ machineId, status: r.status, at: new Date(r.at) }));
}

/** The machine's current status and since when (null since: never recorded); null for an unknown machine. */
export async function currentStatus(q: Queryable, machineId: number): Promise<{ status: MachineStatus; since: Date | null } | null> {
  const [m] = await liveTwin(q).machines({ ids: [machineId] });
  return m ? { status: m.status, since: m.statusSince } : null;
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
  deps: Pick<TelemetryDeps, 'database' | 'clock'>,
  scope: PlantScope,
  counts: readonly ProductionCountIn[],
  opts: { pathOf?: PathOf } = {},
): Promise<number> {
  const { database } = deps;
  const now = deps.clock.now();
  const pathOf: PathOf = opts.pathOf ?? ((i, f) => `counts[${i}].${f}`);
  const p = new Problems();
  if (counts.length > INGEST_LIMITS.points) {
    p.add('counts', `at most ${INGEST_LIMITS.points} counts per call`);
    p.throwIfAny();
  }
  const plantOf = await visibleMachines(
    database,
    counts.flatMap((c) => (c.machineId === null ? [] : [c.machineId])),
    scope,
  );
  const seen = new Set<string>();
  counts.forEach((c, i) => {
    if (c.machineId === null || !plantOf.has(c.machineId)) p.add(pathOf(i, 'machineId'), 'unknown machine');
    const ms = checkAt(p, pathOf(i, 'at'), c.at, now);
    for (const f of ['good', 'scrap'] as const) {
      const v = c[f];
      if (!Number.isInteger(v) || v < 0 || v > PRODUCTION_LIMITS.maxCount)
        p.add(pathOf(i, f), `must be a whole number from 0 to ${PRODUCTION_LIMITS.maxCount}`);
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
    [
      intArray(counts.map((c) => c.machineId!)),
      textArray(counts.map((c) => c.at.toISOString())),
      intArray(counts.map((c) => c.good)),
      intArray(counts.map((c) => c.scrap)),
    ],
  );
  return counts.length;
}
