import type { Logger } from './logger.ts';

export type MachineStatus = 'RUNNING' | 'IDLE' | 'DOWN' | 'MAINTENANCE' | 'OFFLINE';

export interface TelemetryRow {
  machineId: number;
  plantId: number;
  metric: string;
  ts: Date;
  value: number;
}

export interface MachineStateChange {
  machineId: number;
  plantId: number;
  status: MachineStatus;
  previous: MachineStatus | null;
  at: Date;
}

type Listener<T> = (event: T) => void | Promise<void>;

/**
 * In-process hooks that run after a write has committed (telemetry stored, a machine state recorded). The alert
 * evaluator listens here. A listener's failure is logged and never undoes or fails the write that caused it.
 */
export class EventHub {
  private telemetry = new Set<Listener<TelemetryRow[]>>();
  private states = new Set<Listener<MachineStateChange[]>>();
  constructor(private logger: Logger) {}

  onTelemetry(fn: Listener<TelemetryRow[]>): () => void {
    this.telemetry.add(fn);
    return () => this.telemetry.delete(fn);
  }
  onMachineStates(fn: Listener<MachineStateChange[]>): () => void {
    this.states.add(fn);
    return () => this.states.delete(fn);
  }

  /** Runs every listener and waits for them (so a caller can rely on alerts being evaluated when it returns). */
  async emitTelemetry(rows: TelemetryRow[]): Promise<void> {
    if (rows.length > 0) await this.run(this.telemetry, rows, 'telemetry');
  }
  async emitMachineStates(changes: MachineStateChange[]): Promise<void> {
    if (changes.length > 0) await this.run(this.states, changes, 'machine-state');
  }

  private async run<T>(listeners: Set<Listener<T>>, event: T, kind: string): Promise<void> {
    for (const fn of listeners) {
      try {
        await fn(event);
      } catch (err) {
        this.logger.error({ err: (err as Error).message, kind }, 'event listener failed');
      }
    }
  }
}
