import type { Database } from '../db/client.ts';
import type { Severity } from './rules.ts';
import { intArray } from '../telemetry/sql.ts';

export interface OpenAlertSummary {
  /** OPEN or ACKNOWLEDGED alerts of the machine. */
  count: number;
  highestSeverity: Severity | null;
}

const NONE: OpenAlertSummary = Object.freeze({ count: 0, highestSeverity: null });

/**
 * Count and highest severity of the active (OPEN or ACKNOWLEDGED) alerts of each machine, in one statement; machines
 * without any get count 0. The severity enum is declared in rank order, so max() is the highest.
 */
export async function openAlertSummaries(database: Database, machineIds: readonly number[]): Promise<Map<number, OpenAlertSummary>> {
  const out = new Map<number, OpenAlertSummary>();
  for (const id of machineIds) out.set(id, NONE);
  if (machineIds.length === 0) return out;
  const rows = await database.query<{ machine_id: number; count: number; highest: Severity }>(
    `select machine_id, count(*)::int as count, max(severity)::text as highest from alerts
     where machine_id = any($1::text::int[]) and status <> 'RESOLVED' group by machine_id`,
    [intArray(machineIds)],
  );
  for (const r of rows) out.set(r.machine_id, { count: r.count, highestSeverity: r.highest });
  return out;
}
