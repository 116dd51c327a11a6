import { SlowConsumerError, type PubSub, type SubscribeOptions } from './types.ts';
import type { Topic } from './topics.ts';

class Subscriber<T> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private rejecting: ((e: unknown) => void) | null = null;
  done = false;
  private failure: Error | null = null;

  constructor(
    private maxQueue: number,
    private onEnd: () => void,
    private onOverflow?: () => void,
  ) {}

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = this.rejecting = null;
      w({ value, done: false });
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.fail(new SlowConsumerError(this.maxQueue));
      this.onOverflow?.();
      return;
    }
    this.queue.push(value);
  }

  /** Ends the subscriber with `err`: the consumer's next (or pending) `next()` rejects with it once, then it is done. */
  fail(err: Error): void {
    if (this.done) return;
    this.failure = err;
    this.queue = [];
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd();
    if (this.waiting) {
      const w = this.waiting;
      const r = this.rejecting;
      this.waiting = this.rejecting = null;
      const failure = this.failure;
      this.failure = null;
      if (failure && r) r(failure);
      else w({ value: undefined as never, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.done) {
      // The failure is reported once; afterwards the iterator is simply done. (Rejecting every later call made a
      // consumer that retries after an error, such as yoga's SSE stream, spin on it forever.)
      const failure = this.failure;
      this.failure = null;
      return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined as never, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.rejecting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.failure = null;
    this.queue = [];
    this.finish();
    return Promise.resolve({ value: undefined as never, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** Delivery within one process; PgPubSub uses it for its local subscribers. */
export class LocalPubSub implements PubSub {
  private channels = new Map<string, Set<Subscriber<unknown>>>();
  private gapHandlers = new Map<Subscriber<unknown>, () => void>();

  constructor(private defaultMaxQueue = 1_000) {}

  /** Delivers to the subscribers of a channel in this process only. */
  deliver(channel: string, payload: unknown): void {
    const subs = this.channels.get(channel);
    if (!subs) return;
    for (const s of subs) s.push(payload);
  }

  async publish<P>(topic: Topic<P>, key: number, payload: P): Promise<void> {
    this.deliver(topic.channel(key), payload);
  }

  subscribe<P>(topic: Topic<P>, key: number, opts: SubscribeOptions = {}): AsyncIterableIterator<P> {
    const channel = topic.channel(key);
    let subs = this.channels.get(channel);
    if (!subs) {
      subs = new Set();
      this.channels.set(channel, subs);
    }
    const set = subs;
    const sub: Subscriber<unknown> = new Subscriber<unknown>(
      opts.maxQueue ?? this.defaultMaxQueue,
      () => {
        set.delete(sub);
        if (set.size === 0) this.channels.delete(channel);
      },
      opts.onOverflow,
    );
    set.add(sub);
    if (opts.onGap) this.gapHandlers.set(sub, opts.onGap);
    opts.signal?.addEventListener('abort', () => void sub.return(), { once: true });
    return sub as AsyncIterableIterator<P>;
  }

  /** Tells every subscriber with an onGap handler that events may have been missed. */
  gap(): void {
    for (const [sub, handler] of this.gapHandlers) {
      if (sub.done) this.gapHandlers.delete(sub);
      else
        try {
          handler();
        } catch {}
    }
  }

  subscriberCount(channel?: string): number {
    if (channel) return this.channels.get(channel)?.size ?? 0;
    let n = 0;
    for (const s of this.channels.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    for (const subs of this.channels.values()) for (const s of [...subs]) void s.return();
    this.channels.clear();
  }
}
