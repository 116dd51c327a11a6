import DataLoader from 'dataloader';
import type { Context } from './context.ts';

/**
 * Per-request batching: `loader(ctx, name, batch)` returns the request's DataLoader of that name, created on first
 * use. Everything a request's resolvers ask of one loader in the same tick goes to `batch` in one call, so a
 * per-row field costs one statement for all rows. Name a loader by everything its batch depends on besides the
 * keys (field and arguments, e.g. `buckets:temperature:<from>:<to>:60`). Keys that are objects (rows the batch needs
 * more of than an ID) name their identity with `keyOf`; the batch's map is keyed by it.
 */
const perRequest = new WeakMap<Context, Map<string, DataLoader<unknown, unknown>>>();

export function loader<K, V, C = K>(
  ctx: Context,
  name: string,
  batch: (keys: readonly K[]) => Promise<Map<C, V>>,
  keyOf?: (key: K) => C,
): DataLoader<K, V | undefined, C> {
  let loaders = perRequest.get(ctx);
  if (!loaders) perRequest.set(ctx, (loaders = new Map()));
  let l = loaders.get(name) as DataLoader<K, V | undefined, C> | undefined;
  if (!l) {
    const key = keyOf ?? ((k: K) => k as unknown as C);
    l = new DataLoader<K, V | undefined, C>(
      async (keys) => {
        const found = await batch(keys);
        return keys.map((k) => found.get(key(k)));
      },
      { cacheKeyFn: key },
    );
    loaders.set(name, l as DataLoader<unknown, unknown>);
  }
  return l;
}
