import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type SubscribeOptions, SlowConsumerError, type Topic } from '../pubsub/index.ts';
import type { Services } from '../services.ts';
import { CLOSE_SLOW_CONSUMER } from './close-codes.ts';
import type { Context } from './context.ts';
import { checkCost, costError } from './cost.ts';

/**
 * Subscription machinery shared by every transport (graphql-ws, SSE): topic subscriptions that end the right way
 * when a subscriber falls behind, the per-event cost budget, shared execution of identical selections, and the
 * queue that keeps subscription executions from starving queries.
 */

/**
 * Subscribes a resolver to a topic. A subscriber whose bounded queue overflows is ended once: on a WebSocket the
 * connection is closed with 4008 "Slow consumer" at once (its reader may be stuck and never ask for the next event);
 * on every transport the stream's last result is a SLOW_CONSUMER error (see useSharedSubscriptionExecution), after
 * which it is done. Every subscription resolver takes its topic through here.
 */
export function subscribeTopic<P>(ctx: Context, topic: Topic<P>, key: number, opts: Omit<SubscribeOptions, 'onOverflow'> = {}): AsyncIterableIterator<P> {
  return ctx.services.pubsub.subscribe(topic, key, {
    ...opts,
    onOverflow: () => ctx.closeConnection?.(CLOSE_SLOW_CONSUMER, 'Slow consumer'),
  });
}

/** The last result of a subscription stream whose source failed: SLOW_CONSUMER, or a fault (masked by yoga). */
export function endOfStream(err: unknown): ExecutionResult {
  if (err instanceof SlowConsumerError) return { errors: [new GraphQLError(err.message, { extensions: { code: err.code } })] };
  if (err instanceof GraphQLError) return { errors: [err] };
  return { errors: [new GraphQLError(err instanceof Error ? err.message : String(err), { originalError: err instanceof Error ? err : undefined })] };
}

/**
 * A FIFO queue that runs at most `concurrency` tasks at once. Subscription executions (their resolvers' SQL
 * included) go through one per server, so however many subscribers an event wakes, queries and mutations still find
 * free database connections and their turn on the event loop. Each subscriber waits for its own event's execution
 * before it asks for the next one, so every subscriber gets a turn in order and none can hold the queue.
 */
export class ExecutionQueue {
  private active = 0;
  private waiting: (() => void)[] = [];

  constructor(readonly concurrency: number) {}

  async run<T>(task: () => T | PromiseLike<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      // Hand the slot to the next waiting task (active stays the same), or free it. The hand-over waits for the
      // event loop's I/O phase, so requests that arrived meanwhile start (and queue their SQL) before it.
      const next = this.waiting.shift();
      if (next) setImmediate(next);
      else this.active--;
    }
  }
}

function subscriptionCostError(cost: number, max: number): GraphQLError {
  const base = costError(cost, max);
  return new GraphQLError(
    `Subscription is too expensive: its selection, executed on every event, has an estimated cost of ${Math.round(cost)}, over the limit of ${max} per event. Select less, or query the details when an event arrives.`,
    { extensions: { ...base.extensions, limit: 'PLANTGRAPH_MAX_SUBSCRIPTION_COST' } },
  );
}

/**
 * Subscriptions are costed like queries, per event: the selection that runs on every event is estimated with the
 * same check as queries (cost.ts checkCost: declared bounds, then measured twin sizes) when the subscription starts and refused with QUERY_TOO_EXPENSIVE over
 * PLANTGRAPH_MAX_SUBSCRIPTION_COST. (useCostLimit applies the query limit and reports bad page sizes first.)
 */
export function useSubscriptionCostLimit(services: Services): Plugin<Context> {
  const max = services.config.limits.maxSubscriptionCost;
  return {
    async onSubscribe({ args, setResultAndStopExecution }) {
      const err = await checkCost(args, max);
      if (!err) return;
      const cost = err.extensions.code === 'QUERY_TOO_EXPENSIVE' ? Number(err.extensions.cost) : null;
      setResultAndStopExecution({ errors: [cost === null ? err : subscriptionCostError(cost, max)] });
    },
  };
}
