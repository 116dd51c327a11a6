import type { Db } from './db/client.ts';
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

/** Work to do once the transaction that a transactional listener wrote in has committed (e.g. publish). */
export type AfterCommit = () => Promise<void>;
type TxListener<T> = (event: T, db: Db) => Promise<AfterCommit | void>;

/** The writer's open transaction, as transactional listeners see it. */
export interface TxHandle {
  query(text: string, params?: unknown[]): Promise<unknown>;
  db(): Db;
}

/**
 * In-process hooks on writes (telemetry stored, machine states recorded): listeners run inside the writing
 * transaction under a savepoint and return work for after the commit (the alert evaluator publishes its events
 * there). A listener's failure is logged and rolled back; it never undoes or fails the write that caused it.
 */
export class EventHub {
  private telemetryTx = new Set<TxListener<TelemetryRow[]>>();
  private statesTx = new Set<TxListener<MachineStateChange[]>>();
  constructor(private logger: Logger) {}

  /**
   * A listener that writes in the same transaction as the telemetry it reacts to (the alert evaluator), so that
   * the data and what it caused commit together. It runs under a savepoint: if it fails, its writes are undone,
   * the failure is logged, and the telemetry is still stored.
   */
  onTelemetryInTransaction(fn: TxListener<TelemetryRow[]>): () => void {
    this.telemetryTx.add(fn);
    return () => this.telemetryTx.delete(fn);
  }

  /** The same for machine states (the MACHINE_STATE alert rules). */
  onMachineStatesInTransaction(fn: TxListener<MachineStateChange[]>): () => void {
    this.statesTx.add(fn);
    return () => this.statesTx.delete(fn);
  }

  /** Runs the transactional telemetry listeners inside the writer's transaction; returns their after-commit work. */
  runTelemetryInTransaction(rows: TelemetryRow[], tx: TxHandle): Promise<AfterCommit[]> {
    return this.runInTransaction(this.telemetryTx, rows, rows.length, tx, 'telemetry');
  }

  runMachineStatesInTransaction(changes: MachineStateChange[], tx: TxHandle): Promise<AfterCommit[]> {
    return this.runInTransaction(this.statesTx, changes, changes.length, tx, 'machine-state');
  }

  private async runInTransaction<T>(listeners: Set<TxListener<T>>, event: T, size: number, tx: TxHandle, kind: string): Promise<AfterCommit[]> {
    const after: AfterCommit[] = [];
    if (size === 0) return after;
    for (const fn of listeners) {
      await tx.query('savepoint plantgraph_listener');
      try {
        const done = await fn(event, tx.db());
        await tx.query('release savepoint plantgraph_listener');
        if (done) after.push(done);
      } catch (err) {
        await tx.query('rollback to savepoint plantgraph_listener');
        this.logger.error({ err: (err as Error).message, kind }, 'event listener failed; its writes were rolled back');
      }
    }
    return after;
  }

  /** Runs after-commit work; failures are logged. */
  async afterCommit(work: AfterCommit[]): Promise<void> {
    for (const w of work) {
      try {
        await w();
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'after-commit work failed');
      }
    }
  }
}
