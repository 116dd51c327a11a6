import type { Tx } from '../db/client.ts';
import type { Logger } from '../logger.ts';

/**
 * Write events by kind. Each capability that raises one declares its payload type next to the code that raises it,
 * by augmenting this interface:
 *
 *   declare module '../events/hub.ts' { interface WriteEvents { telemetryStored: TelemetryRow[] } }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface WriteEvents {}

/** Work to do once the transaction a listener wrote in has committed (e.g. publish). */
export type AfterCommit = () => Promise<void>;
export type WriteListener<P> = (payload: P, tx: Tx) => Promise<AfterCommit | void>;

/**
 * In-process hooks on writes: listeners run inside the writer's transaction, each under a savepoint, so that the data
 * and what it caused (alerts raised) commit together; they return work for after the commit. A listener's failure is
 * logged and its writes are rolled back; it never undoes or fails the write that caused it. Reactions that go up the
 * layers (db <- twin <- telemetry <- alerts) travel this way, so the writer knows nothing of its listeners.
 */
export class EventHub<E = WriteEvents> {
  private listeners = new Map<keyof E, Set<WriteListener<never>>>();
  private committed = new Map<keyof E, Set<(payload: never) => Promise<void> | void>>();
  constructor(private logger: Logger) {}

  on<K extends keyof E>(kind: K, fn: WriteListener<E[K]>): () => void {
    let set = this.listeners.get(kind);
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add(fn as WriteListener<never>);
    return () => set.delete(fn as WriteListener<never>);
  }

  /**
   * A listener that only reacts once the write has committed (it writes nothing in the writer's transaction): no
   * savepoint, no statement in that transaction; `fn` runs with the after-commit work.
   */
  afterCommitOn<K extends keyof E>(kind: K, fn: (payload: E[K]) => Promise<void> | void): () => void {
    let set = this.committed.get(kind);
    if (!set) this.committed.set(kind, (set = new Set()));
    set.add(fn as (payload: never) => void);
    return () => set.delete(fn as (payload: never) => void);
  }

  /** Runs the listeners of `kind` inside the writer's transaction; returns their after-commit work. */
  async run<K extends keyof E>(kind: K, payload: E[K], tx: Tx): Promise<AfterCommit[]> {
    const after: AfterCommit[] = [];
    for (const fn of this.committed.get(kind) ?? []) after.push(async () => (fn as (payload: E[K]) => Promise<void> | void)(payload));
    for (const fn of this.listeners.get(kind) ?? []) {
      try {
        const done = await tx.savepoint(() => (fn as WriteListener<E[K]>)(payload, tx), 'plantgraph_listener');
        if (done) after.push(done);
      } catch (err) {
        this.logger.error({ err: (err as Error).message, kind: String(kind) }, 'event listener failed; its writes were rolled back');
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
