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

/** New points of a machine (key: machine ID); in-process only. */
export const telemetryTopic = defineTopic<TelemetryRow>('telemetry', { shared: false });

/** Machine states recorded in a plant (key: plant ID); reaches every server process. */
export const machineStatusTopic = defineTopic<MachineStatusEvent>('machineStatus', {
  shared: true,
  revive: (e: MachineStatusEvent) => reviveDates(e, ['at']),
});
