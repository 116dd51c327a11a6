import { AsyncLocalStorage } from 'node:async_hooks';
import { inBackground } from '../core/background.ts';

/** A statement refused because the request it belongs to ran out of time. */
export class DeadlineExceededError extends Error {
  readonly code = 'EXECUTION_TIMEOUT';
  constructor(readonly limitMs: number) {
    super(`The request's execution time limit of ${limitMs} ms has passed; no further statements are sent.`);
  }
}

/**
 * The time budget of one request's database work. Every statement sent while the budget is the current one (see
 * `withStatementBudget`: it follows the request's async calls) is checked against the deadline first and refused once
 * it has passed. On PostgreSQL the statements in flight are also cancelled on the server when the deadline passes
 * (`expire`); PGlite runs one statement at a time on this thread and cannot be interrupted, so there the deadline stops
 * every further statement.
 */
export class StatementBudget {
  expired = false;
  /** PostgreSQL backends (process IDs) running a statement of this budget now, with how many statements each. */
  private readonly running = new Map<number, number>();
  /** Set while the statements in flight are being cancelled: their connections go back to the pool only after it. */
  private cancelling: Promise<void> | null = null;

  constructor(
    readonly deadline: number,
    readonly limitMs: number,
  ) {}

  /** Throws DeadlineExceededError once the deadline has passed. */
  check(): void {
    if (!this.expired && Date.now() >= this.deadline) this.expired = true;
    if (this.expired) throw new DeadlineExceededError(this.limitMs);
  }

  /**
   * Marks the budget expired and cancels the statements in flight with `cancel` (given their backends' process IDs).
   * Resolves once the cancel requests have been sent.
   */
  expire(cancel?: (pids: number[]) => Promise<void>): Promise<void> {
    this.expired = true;
    if (!cancel || this.running.size === 0) return Promise.resolve();
    this.cancelling ??= cancel([...this.running.keys()]).catch(() => {});
    return this.cancelling;
  }

  /**
   * Records that backend `pid` runs a statement of this budget; the returned function ends that record and resolves
   * when the connection may be reused (never while a cancel request for it may still arrive).
   */
  track(pid: number): () => Promise<void> {
    this.running.set(pid, (this.running.get(pid) ?? 0) + 1);
    return async () => {
      const n = (this.running.get(pid) ?? 1) - 1;
      if (n <= 0) this.running.delete(pid);
      else this.running.set(pid, n);
      if (this.cancelling) await this.cancelling;
    };
  }
}

const budgets = new AsyncLocalStorage<StatementBudget>();

/** Runs `fn` with `budget` as the statement budget of everything it calls, synchronously or asynchronously. */
export function withStatementBudget<T>(budget: StatementBudget, fn: () => T): T {
  return budgets.run(budget, fn);
}

/** The statement budget of the current request, if it has one. */
export function currentStatementBudget(): StatementBudget | undefined {
  // Background work (a periodic task first started while some request ran) never inherits that request's budget.
  return inBackground() ? undefined : budgets.getStore();
}

/** Runs `fn` outside any statement budget (work shared between requests must not inherit one request's deadline). */
export function withoutStatementBudget<T>(fn: () => T): T {
  return budgets.exit(fn);
}
