/**
 * Maps and filters an async iterator in one step: `fn` returning undefined drops the event. Ending the result
 * (return, throw, or `fn` throwing) ends the source at once, even while a `next()` is waiting on it, so a closed
 * subscription never leaves a subscriber queued on its topic. A plain object rather than an async generator: this
 * runs once per event and subscriber, and `fn` may return a promise (awaited only when it is one).
 *
 * A failing source (its `next()` rejects) ends the result too: the error reaches the caller once, or, with
 * `onError`, is turned into one last value; every later `next()` is done. A consumer that asks again after an error
 * therefore never sees the same failure twice (and cannot spin on it).
 */
export function mapIterator<T, U>(
  source: AsyncIterator<T>,
  fn: (value: T) => U | undefined | PromiseLike<U | undefined>,
  opts: { onError?: (err: unknown) => U | undefined } = {},
): AsyncIterableIterator<U> {
  let ended = false;
  const end = async (): Promise<IteratorReturnResult<undefined>> => {
    if (!ended) {
      ended = true;
      await source.return?.();
    }
    return { value: undefined, done: true };
  };
  const it: AsyncIterableIterator<U> = {
    async next() {
      while (!ended) {
        let r: IteratorResult<T>;
        try {
          r = await source.next();
        } catch (err) {
          await end().catch(() => {});
          const last = opts.onError?.(err);
          if (last === undefined) throw err;
          return { value: last, done: false };
        }
        if (r.done) {
          ended = true;
          break;
        }
        let v: U | undefined | PromiseLike<U | undefined>;
        try {
          v = fn(r.value);
          if (isPromiseLike(v)) v = await v;
        } catch (err) {
          await end();
          throw err;
        }
        if (v !== undefined) return { value: v as U, done: false };
      }
      return { value: undefined, done: true };
    },
    return: end,
    async throw(err?: unknown) {
      await end();
      throw err;
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

function isPromiseLike<V>(v: unknown): v is PromiseLike<V> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
