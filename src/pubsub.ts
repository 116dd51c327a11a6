import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * Topic-based publish/subscribe for GraphQL subscriptions. Each subscriber has a bounded queue: a subscriber that
 * falls `maxQueue` events behind is ended with a SlowConsumerError instead of holding memory or slowing publishers.
 * LocalPubSub works within one process; a PostgreSQL-backed implementation fans out across processes.
 */
export interface PubSub {
  publish(topic: string, payload: unknown): Promise<void>;
  subscribe<T = unknown>(topic: string, opts?: SubscribeOptions): AsyncIterableIterator<T>;
  close(): Promise<void>;
}

export interface SubscribeOptions {
  signal?: AbortSignal;
  /** Events held for this subscriber before it counts as too slow (default: the pub/sub's). */
  maxQueue?: number;
  /**
   * Called once when the queue overflows. The consumer may be stuck (e.g. waiting for a socket that is not being
   * read) and never ask for the next event, so this is where the transport should be closed.
   */
  onOverflow?: () => void;
}

export class SlowConsumerError extends Error {
  readonly code = 'SLOW_CONSUMER';
  constructor(maxQueue: number) {
    super(`Subscriber fell more than ${maxQueue} events behind and was disconnected; resubscribe and catch up with the query API.`);
  }
}

class Subscriber<T> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private rejecting: ((e: unknown) => void) | null = null;
  private done = false;
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
      if (this.failure && r) r(this.failure);
      else w({ value: undefined as never, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.done) return this.failure ? Promise.reject(this.failure) : Promise.resolve({ value: undefined as never, done: true });
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

export class LocalPubSub implements PubSub {
  private topics = new Map<string, Set<Subscriber<unknown>>>();

  constructor(private defaultMaxQueue = 1_000) {}

  /** Delivers to subscribers of this process only (used by the cross-process implementation too). */
  deliver(topic: string, payload: unknown): void {
    const subs = this.topics.get(topic);
    if (!subs) return;
    for (const s of subs) s.push(payload);
  }

  async publish(topic: string, payload: unknown): Promise<void> {
    this.deliver(topic, payload);
  }

  subscribe<T = unknown>(topic: string, opts: SubscribeOptions = {}): AsyncIterableIterator<T> {
    let subs = this.topics.get(topic);
    if (!subs) {
      subs = new Set();
      this.topics.set(topic, subs);
    }
    const set = subs;
    const sub: Subscriber<unknown> = new Subscriber<unknown>(
      opts.maxQueue ?? this.defaultMaxQueue,
      () => {
        set.delete(sub);
        if (set.size === 0) this.topics.delete(topic);
      },
      opts.onOverflow,
    );
    set.add(sub);
    opts.signal?.addEventListener('abort', () => void sub.return(), { once: true });
    return sub as AsyncIterableIterator<T>;
  }

  subscriberCount(topic?: string): number {
    if (topic) return this.topics.get(topic)?.size ?? 0;
    let n = 0;
    for (const s of this.topics.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    for (const subs of this.topics.values()) for (const s of [...subs]) void s.return();
    this.topics.clear();
  }
}


const CHANNEL = 'plantgraph_events';
/** NOTIFY payloads must stay under 8,000 bytes. */
const MAX_NOTIFY_BYTES = 7_900;

/**
 * Cross-process pub/sub over PostgreSQL LISTEN/NOTIFY. Topics for which `shared(topic)` is true are sent through
 * NOTIFY to every process on the database (including this one, which ignores its own); others stay in-process.
 * Local subscribers get events at once. A lost LISTEN connection is re-established every second; events sent while
 * it was down are not replayed here (clients resume through the query API with their last cursor).
 */
export class PgPubSub implements PubSub {
  private local: LocalPubSub;
  private origin = randomUUID();
  private listener: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  private constructor(
    private url: string,
    private pool: pg.Pool,
    private shared: (topic: string) => boolean,
    private onError: (msg: string) => void,
    maxQueue: number,
  ) {
    this.local = new LocalPubSub(maxQueue);
  }

  static async connect(opts: { url: string; pool: pg.Pool; shared: (topic: string) => boolean; onError?: (msg: string) => void; maxQueue?: number }): Promise<PgPubSub> {
    const ps = new PgPubSub(opts.url, opts.pool, opts.shared, opts.onError ?? (() => {}), opts.maxQueue ?? 1_000);
    await ps.listen();
    return ps;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('error', (err) => {
      this.onError(`LISTEN connection failed: ${err.message}`);
      this.scheduleReconnect();
    });
    client.on('end', () => this.scheduleReconnect());
    client.on('notification', (msg) => {
      if (msg.channel !== CHANNEL || !msg.payload) return;
      try {
        const { o, t, p } = JSON.parse(msg.payload) as { o: string; t: string; p: unknown };
        if (o !== this.origin) this.local.deliver(t, p);
      } catch {
        this.onError('ignored a malformed notification');
      }
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.listener = null;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen().catch((err) => {
        this.onError(`could not re-establish LISTEN: ${(err as Error).message}`);
        this.scheduleReconnect();
      });
    }, 1_000);
    this.reconnectTimer.unref();
  }

  async publish(topic: string, payload: unknown): Promise<void> {
    this.local.deliver(topic, payload);
    if (!this.shared(topic)) return;
    const text = JSON.stringify({ o: this.origin, t: topic, p: payload });
    if (Buffer.byteLength(text) > MAX_NOTIFY_BYTES) {
      this.onError(`event on ${topic} is too large for NOTIFY (${Buffer.byteLength(text)} bytes); delivered in this process only`);
      return;
    }
    await this.pool.query('select pg_notify($1, $2)', [CHANNEL, text]);
  }

  subscribe<T = unknown>(topic: string, opts?: SubscribeOptions): AsyncIterableIterator<T> {
    return this.local.subscribe<T>(topic, opts);
  }

  subscriberCount(topic?: string): number {
    return this.local.subscriberCount(topic);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.local.close();
    await this.listener?.end().catch(() => {});
  }
}
