import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { Severity } from '../db/schema/index.ts';

/** The active (OPEN or ACKNOWLEDGED) alerts of a machine, as dashboards show them. */
export interface OpenAlertSummary {
  /** OPEN or ACKNOWLEDGED alerts of the machine. */
  count: number;
  /** The highest severity among them; null when there are none. */
  highestSeverity: Severity | null;
}

/**
 * The summary of one machine's active alerts as a correlated subquery on `machineId` (a column of the outer
 * query): a JSON object {count, highestSeverity}. Dashboards add it to the machine rows' own query, so summaries of
 * any number of machines cost no statement of their own. The severity enum is declared in rank order, so max() is
 * the highest.
 */
export function openAlertSummarySql(machineId: SQLWrapper): SQL {
  return sql`(select json_build_object('count', count(*), 'highestSeverity', max(a.severity)) from alerts a where a.machine_id = ${machineId} and a.status <> 'RESOLVED')`;
}
