import { workerFile } from '../../jobs/pool.ts';
import type { ScheduleProblem, SolveOptions } from './index.ts';

/** What schedule-worker.ts receives. */
export interface ScheduleTask {
  problem: ScheduleProblem;
  /** Plain, structured-cloneable data; `reference` (plan stability) included: the worker passes every option on. */
  options: Omit<SolveOptions, 'signal' | 'onProgress'>;
}

/** The worker module (beside this one in src/, and in dist/ after the bundle flattens them). */
export const SCHEDULE_WORKER = workerFile(import.meta.url, './schedule-worker');
