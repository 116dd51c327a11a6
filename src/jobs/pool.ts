import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { WorkerProgress, WorkerTaskInput } from './worker-task.ts';

/** The extension this code runs with: `.ts` under tsx, `.js` when compiled. Worker files are resolved with it. */
const OWN_EXTENSION = path.extname(fileURLToPath(import.meta.url));

/**
 * The worker module `name` (without extension) beside the module at `importMetaUrl`, with that module's extension:
 * `workerFile(import.meta.url, './train-worker')` is `train-worker.ts` under tsx and `train-worker.js` in dist/.
 */
export function workerFile(importMetaUrl: string, name: string): URL {
  return new URL(`${name}${path.extname(fileURLToPath(importMetaUrl))}`, importMetaUrl);
}

/**
 * The Node options of the worker threads. They inherit the process's (so `node --import tsx` and the tsx CLI carry
 * over); when this code runs as TypeScript but the process was not started with tsx (it registered tsx from code),
 * tsx's loader is added (by its resolved path, whatever the working directory) so that workers load .ts files too.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv, extension = OWN_EXTENSION): string[] | undefined {
  if (extension !== '.ts' || execArgv.some((a) => /[\\/]tsx[\\/]|^tsx$/.test(a))) return undefined;
  return [...execArgv, '--import', import.meta.resolve('tsx')];
}

export interface RunInWorkerOptions {
  /** Aborting terminates the worker thread (a stuck CPU loop stops too) and rejects with an AbortError. */
  signal?: AbortSignal;
  /** Progress the worker reports (see worker-task.ts). */
  onProgress?: (fraction: number, message?: string) => void;
  transferList?: readonly Transferable[];
}

/**
 * Worker threads for CPU-heavy job code (piscina), so it never runs on the event loop. The threads start when first
 * needed and stop after a minute idle. A worker module's default export comes from `workerTask` (worker-task.ts).
 */
export class WorkerPool {
  private piscina: Piscina | null = null;
  private closed = false;

  constructor(readonly threads: number) {}

  private pool(): Piscina {
    if (this.closed) throw new Error('the worker pool is closed');
    this.piscina ??= new Piscina({ minThreads: 0, maxThreads: this.threads, idleTimeout: 60_000, execArgv: workerExecArgv() });
    return this.piscina;
  }

  /** Runs the default export of `file` (a file: URL, see workerFile) in a worker thread with `payload`. */
  async runInWorker<T = unknown>(file: URL, payload: unknown, opts: RunInWorkerOptions = {}): Promise<T> {
    opts.signal?.throwIfAborted();
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: WorkerProgress) => opts.onProgress?.(m.fraction, m.message));
    try {
      const task: WorkerTaskInput = { payload, progress: port2 };
      return await this.pool().run(task, {
        filename: fileURLToPath(file),
        signal: opts.signal ?? null,
        transferList: [port2, ...(opts.transferList ?? [])] as never,
      });
    } finally {
      port1.close();
    }
  }

  /** Threads started now (0 before the first task and after they stopped idle). */
  get activeThreads(): number {
    return this.piscina?.threads.length ?? 0;
  }

  /** Terminates the threads; tasks still running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    await this.piscina?.destroy();
    this.piscina = null;
  }
}
