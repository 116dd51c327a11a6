/**
 * Maps and filters an async iterator in one step: `fn` returning undefined drops the event. Ending the result
 * (return, throw, `fn` throwing, or the source failing) ends it for good and ends the source at once, even while a
 * `next()` is waiting on it, so a closed subscription never leaves a subscriber queued on its topic. A plain object rather than an async generator: this
 * runs once per event and subscriber, and `fn` may return a promise (awaited only when it is one).
 */
export function mapIterator<T, U>(source: AsyncIterator<T>, fn: (value: T) => U | undefined | PromiseLike<U | undefined>): AsyncIterableIterator<U> {
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
          // A source that failed is finished: the caller gets the failure once, then done (never the same failure again,
          // which a consumer that maps errors to results, like yoga's, would repeat forever).
          ended = true;
          throw err;
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
