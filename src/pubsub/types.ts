import type { Topic } from './topics.ts';

/**
 * Publish/subscribe for GraphQL subscriptions over typed topics. Each subscriber has a bounded queue: a subscriber
 * that falls `maxQueue` events behind is ended with a SlowConsumerError instead of holding memory or slowing
 * publishers. LocalPubSub works within one process; PgPubSub sends the events of shared topics to every process.
 */
export interface PubSub {
  publish<P>(topic: Topic<P>, key: number, payload: P): Promise<void>;
  subscribe<P>(topic: Topic<P>, key: number, opts?: SubscribeOptions): AsyncIterableIterator<P>;
  /** Subscribers in this process, of one channel (`alerts:3`) or of all. */
  subscriberCount(channel?: string): number;
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
  /**
   * Called when events of this subscription may have been missed: the connection that brings other processes'
   * events (PostgreSQL LISTEN) was lost and is back. A subscriber that can re-read what it missed (alerts, by their
   * sequence) does it here.
   */
  onGap?: () => void;
}

export class SlowConsumerError extends Error {
  readonly code = 'SLOW_CONSUMER';
  constructor(maxQueue: number) {
    super(`Subscriber fell more than ${maxQueue} events behind and was disconnected; resubscribe and catch up with the query API.`);
  }
}
