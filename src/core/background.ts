import { AsyncLocalStorage } from 'node:async_hooks';

const background = new AsyncLocalStorage<true>();

/**
 * Runs `fn` as background work of the process (periodic tasks: sweeps, maintenance, credential checks). Everything
 * it calls, synchronously or asynchronously, is background work: it belongs to no request, so it inherits no request's
 * time budget even when its timer was first started while a request was being served, and statement counts of a
 * request (tests, per-request figures) leave it out.
 */
export function runInBackground<T>(fn: () => T): T {
  return background.run(true, fn);
}

/** True inside runInBackground. */
export function inBackground(): boolean {
  return background.getStore() === true;
}
