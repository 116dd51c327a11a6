import DataLoader from 'dataloader';
import type { Context } from './context.ts';

/**
 * Per-request batching: `loader(ctx, name, batch)` returns the request's DataLoader of that name, created on first
 * use. Everything a request's resolvers ask of one loader in the same tick goes to `batch` in one call, so a
 * per-row field costs one statement for all rows. Name a loader by everything its batch depends on besides the
 * keys (field and arguments, e.g. `buckets:temperature:<from>:<to>:60`).
 */
const perRequest = new WeakMap<Context, Map<string, DataLoader<unknown, unknown>>>();

export function loader<K, V>(ctx: Context, name: string, batch: (keys: readonly K[]) => Promise<Map<K, V>>): DataLoader<K, V | undefined> {
  let loaders = perRequest.get(ctx);
  if (!loaders) perRequest.set(ctx, (loaders = new Map()));
  let l = loaders.get(name) as DataLoader<K, V | undefined> | undefined;
  if (!l) {
    l = new DataLoader<K, V | undefined>(async (keys) => {
      const found = await batch(keys);
      return keys.map((k) => found.get(k));
    });
    loaders.set(name, l as DataLoader<unknown, unknown>);
  }
  return l;
}
