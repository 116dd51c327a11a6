import type { TelemetryConfig } from '../config.ts';
import type { Clock } from '../core/clock.ts';
import { type PeriodicTask, startPeriodic } from '../core/periodic.ts';
import type { Database, Queryable, Tx } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { DAY_MS, dayOf, retentionCutoffDay } from './timestamps.ts';

/**
 * Daily partitions of `telemetry` (UTC days, named telemetry_pYYYYMMDD), created ahead of time and on demand, and
 * dropped after the retention period. A point whose day has no partition lands in telemetry_default, and creating
 * that day's partition later moves it over, so a missing partition never loses a point.
 */

const ADVISORY_LOCK = 7_215_002;
const NAME = /^telemetry_p(\d{4})(\d{2})(\d{2})$/;
/** Partitions kept ready around today at start-up and by the periodic maintenance. */
export const DAYS_BACK = 7;
export const DAYS_AHEAD = 3;

export function partitionName(day: number): string {
  const d = new Date(day * DAY_MS);
  const p = (n: number) => String(n).padStart(2, '0');
  return `telemetry_p${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
}

function dayLiteral(day: number): string {
  return `'${new Date(day * DAY_MS).toISOString()}'`;
}

async function listPartitionDays(q: Queryable): Promise<Set<number>> {
  const rows = await q.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'telemetry'::regclass`,
  );
  const days = new Set<number>();
  for (const { name } of rows) {
    const m = NAME.exec(name);
    if (m) days.add(dayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))));
  }
  return days;
}

interface PartitionState {
  days: Set<number> | null;
  /** Serialises DDL from this process; other processes are held off by an advisory lock. */
  queue: Promise<unknown>;
}
const states = new WeakMap<Database, PartitionState>();

function stateOf(database: Database): PartitionState {
  let s = states.get(database);
  if (!s) states.set(database, (s = { days: null, queue: Promise.resolve() }));
  return s;
}

function serialise<T>(s: PartitionState, fn: () => Promise<T>): Promise<T> {
  const run = s.queue.then(fn, fn);
  s.queue = run.catch(() => {});
  return run;
}

async function createPartition(tx: Tx, day: number): Promise<void> {
  const name = partitionName(day);
  const from = dayLiteral(day);
  const to = dayLiteral(day + 1);
  await tx.query(`create table "${name}" (like "telemetry" including defaults including constraints)`);
  // Points that arrived before this partition existed sit in the default partition: move them first, or the attach
  // would fail its check of the default partition.
  await tx.query(
    `with moved as (delete from "telemetry_default" where ts >= ${from} and ts < ${to} returning machine_id, metric, ts, value)
     insert into "${name}" (machine_id, metric, ts, value) select machine_id, metric, ts, value from moved`,
  );
  await tx.query(`alter table "telemetry" attach partition "${name}" for values from (${from}) to (${to})`);
}

/** Makes sure each of these UTC days has its own partition. Cheap when they all exist (an in-memory check). */
export async function ensurePartitions(database: Database, days: Iterable<number>): Promise<number> {
  const s = stateOf(database);
  if (!s.days) s.days = await listPartitionDays(database);
  const wanted = [...new Set(days)].filter((d) => !s.days!.has(d));
  if (wanted.length === 0) return 0;
  return serialise(s, async () => {
    const created: number[] = [];
    const existing = await database.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${ADVISORY_LOCK})`);
      const have = await listPartitionDays(tx);
      for (const day of wanted) {
        if (have.has(day)) continue;
        await createPartition(tx, day);
        created.push(day);
      }
      return have;
    });
    s.days = new Set([...existing, ...created]);
    return created.length;
  });
}

/** Forgets what this process knows about partitions (after another process may have dropped some). */
export function forgetPartitions(database: Database): void {
  const s = states.get(database);
  if (s) s.days = null;
}

export interface MaintenanceResult {
  created: number;
  dropped: string[];
}

/**
 * Creates the partitions from DAYS_BACK days ago (but not before the retention cutoff) to DAYS_AHEAD days ahead,
 * drops whole partitions older than the retention cutoff, and deletes expired rows from the default partition, the
 * rollup and the batch IDs.
 */
export async function maintainTelemetry(database: Database, config: TelemetryConfig, now: Date): Promise<MaintenanceResult> {
  const today = dayOf(now.getTime());
  const cutoff = retentionCutoffDay(config, now);
  const days: number[] = [];
  for (let d = Math.max(cutoff, today - DAYS_BACK); d <= today + DAYS_AHEAD; d++) days.push(d);
  const created = await ensurePartitions(database, days);
  const s = stateOf(database);
  const dropped = await serialise(s, () =>
    database.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${ADVISORY_LOCK})`);
      const have = await listPartitionDays(tx);
      const old = [...have].filter((d) => d < cutoff).sort((a, b) => a - b);
      for (const d of old) await tx.query(`drop table if exists "${partitionName(d)}"`);
      const cutoffTs = new Date(cutoff * DAY_MS).toISOString();
      const rollupCutoffTs = new Date((today - config.rollupRetentionDays) * DAY_MS).toISOString();
      await tx.query(`delete from "telemetry_default" where ts < $1::timestamptz`, [cutoffTs]);
      await tx.query(`delete from "telemetry_1m" where minute < $1::timestamptz`, [rollupCutoffTs]);
      await tx.query(`delete from "telemetry_batches" where received_at < $1::timestamptz`, [cutoffTs]);
      s.days = new Set([...have].filter((d) => d >= cutoff));
      return old.map(partitionName);
    }),
  );
  return { created, dropped };
}

/** Runs maintainTelemetry every `intervalMs` (default one hour) until stopped; start-up runs it once itself. */
/** Maintains partitions and retention every `intervalMs` (hourly) until stopped. */
export function startTelemetryMaintenance(database: Database, config: TelemetryConfig, clock: Clock, logger: Logger, intervalMs = 3_600_000): PeriodicTask {
  return startPeriodic(
    async () => {
      const r = await maintainTelemetry(database, config, clock.now());
      if (r.created > 0 || r.dropped.length > 0) logger.info({ created: r.created, dropped: r.dropped }, 'telemetry partitions maintained');
    },
    intervalMs,
    (err) => logger.error({ err: (err as Error).message }, 'telemetry maintenance failed'),
  );
}
