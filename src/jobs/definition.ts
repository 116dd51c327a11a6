import type { Role } from '../db/schema/index.ts';
import type { Job } from './job.ts';
import type { WorkerPool } from './pool.ts';

/** What a job's code gets. */
export interface JobContext<P = unknown> {
  readonly job: Job;
  readonly params: P;
  /** Fires when the job is cancelled, its process shuts down, or its lease is lost; `signal.reason` is a JobAbort. */
  readonly signal: AbortSignal;
  /** Reports progress (0 to 1; clamped) and optionally a message; written at most every 250 ms, the last one always. */
  progress(fraction: number, message?: string): void;
  /** Worker threads for CPU-heavy code: `pool.runInWorker(file, payload, { signal, onProgress: progress })`. */
  readonly pool: WorkerPool;
}

/** A kind of job: its code and who may cancel it. The value `run` resolves to is stored as the job's result (JSON). */
export interface JobDefinition<P = any, R = unknown> {
  run(ctx: JobContext<P>): Promise<R> | R;
  /** The role a caller needs to cancel such a job (ADMIN always may). Default ENGINEER. */
  role?: Role;
}

export type StopReason = 'cancelled' | 'shutdown' | 'lost';

/** The reason of a run's AbortSignal. */
export class JobAbort extends Error {
  override readonly name = 'AbortError';
  constructor(readonly why: StopReason) {
    super(
      why === 'cancelled' ? 'the job was cancelled' : why === 'shutdown' ? 'the server process is shutting down' : 'the job is no longer held by this process',
    );
  }
}
