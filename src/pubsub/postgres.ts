import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PubSub, SubscribeOptions } from './types.ts';
import { LocalPubSub } from './local.ts';
import { type Topic, topicOfChannel } from './topics.ts';

const CHANNEL = 'plantgraph_events';
/** NOTIFY payloads must stay under 8,000 bytes. */
const MAX_NOTIFY_BYTES = 7_900;

/**
 * Cross-process pub/sub over PostgreSQL LISTEN/NOTIFY. Events of shared topics are sent through NOTIFY to every
 * process on the database (including this one, which ignores its own) and revived there by their topic; others stay
 * in-process.
 * Local subscribers get events at once. A lost LISTEN connection is re-established every second; events sent while
 * it was down are not replayed here (clients resume through the query API with their last cursor).
 */
export class PgPubSub implements PubSub {
  private local: LocalPubSub;
  private origin = randomUUID();
  private listener: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  /** The LISTEN connection was lost since it was last established. */
  private lost = false;

  private constructor(
    private url: string,
    private pool: pg.Pool,
    private onError: (msg: string) => void,
    maxQueue: number,
  ) {
    this.local = new LocalPubSub(maxQueue);
  }

  static async connect(opts: { url: string; pool: pg.Pool; onError?: (msg: string) => void; maxQueue?: number }): Promise<PgPubSub> {
    const ps = new PgPubSub(opts.url, opts.pool, opts.onError ?? (() => {}), opts.maxQueue ?? 1_000);
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
        const topic = topicOfChannel(t);
        if (o !== this.origin && topic?.shared) this.local.deliver(t, topic.revive(p));
      } catch {
        this.onError('ignored a malformed notification');
      }
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
    // Back after a loss: what other processes published meanwhile never arrived; subscribers that can, re-read it.
    if (this.lost) {
      this.lost = false;
      this.local.gap();
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.lost = true;
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

  async publish<P>(topic: Topic<P>, key: number, payload: P): Promise<void> {
    const channel = topic.channel(key);
    this.local.deliver(channel, payload);
    if (!topic.shared) return;
    const text = JSON.stringify({ o: this.origin, t: channel, p: payload });
    if (Buffer.byteLength(text) > MAX_NOTIFY_BYTES) {
      this.onError(`event on ${channel} is too large for NOTIFY (${Buffer.byteLength(text)} bytes); delivered in this process only`);
      return;
    }
    await this.pool.query('select pg_notify($1, $2)', [CHANNEL, text]);
  }

  subscribe<P>(topic: Topic<P>, key: number, opts?: SubscribeOptions): AsyncIterableIterator<P> {
    return this.local.subscribe(topic, key, opts);
  }

  subscriberCount(channel?: string): number {
    return this.local.subscriberCount(channel);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.local.close();
    await this.listener?.end().catch(() => {});
  }
}
