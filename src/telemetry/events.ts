import { defineTopic, reviveDates } from '../pubsub/index.ts';
import type { MachineStatus } from '../db/schema/index.ts';

/** One stored telemetry point, as write listeners and `telemetry` subscribers see it. */
export interface TelemetryRow {
  machineId: number;
  plantId: number;
  metric: string;
  ts: Date;
  value: number;
}

/** One recorded machine state. */
export interface MachineStateChange {
  machineId: number;
  plantId: number;
  status: MachineStatus;
  previous: MachineStatus | null;
  at: Date;
}

/** What `machineStatus` subscribers receive. */
export interface MachineStatusEvent extends MachineStateChange {
  /** True when this state is now the machine's current status (it is the newest by `at`). */
  current: boolean;
}

declare module '../events/hub.ts' {
  interface WriteEvents {
    /** Telemetry points stored (only those new to the database), inside the ingest transaction. */
    telemetryStored: TelemetryRow[];
    /** Machine states recorded, inside the recording transaction. */
    machineStatesRecorded: MachineStateChange[];
  }
}

/**
 * The new points of one machine from one ingest call, oldest first (by `ts`). One event per machine and batch,
 * whatever the batch size: a 50,000-point batch is one event in each subscriber's bounded queue, not 50,000.
 */
export interface TelemetryBatchEvent {
  machineId: number;
  plantId: number;
  points: readonly TelemetryRow[];
}

/** New points of a machine, one event per ingest batch (key: machine ID); in-process only. */
export const telemetryTopic = defineTopic<TelemetryBatchEvent>('telemetry', { shared: false });

/** Groups stored rows into one event per machine, each with its points sorted by `ts` (stable). */
export function telemetryBatchEvents(rows: readonly TelemetryRow[]): TelemetryBatchEvent[] {
  const byMachine = new Map<number, TelemetryRow[]>();
  for (const r of rows) {
    let list = byMachine.get(r.machineId);
    if (!list) byMachine.set(r.machineId, (list = []));
    list.push(r);
  }
  const out: TelemetryBatchEvent[] = [];
  for (const [machineId, points] of byMachine) {
    let sorted = true;
    for (let i = 1; i < points.length && sorted; i++) if (points[i].ts.getTime() < points[i - 1].ts.getTime()) sorted = false;
    if (!sorted) points.sort((a, b) => a.ts.getTime() - b.ts.getTime());
    out.push({ machineId, plantId: points[0].plantId, points });
  }
  return out;
}

/** Machine states recorded in a plant (key: plant ID); reaches every server process. */
export const machineStatusTopic = defineTopic<MachineStatusEvent>('machineStatus', {
  shared: true,
  revive: (e: MachineStatusEvent) => reviveDates(e, ['at']),
});
