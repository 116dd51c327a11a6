export { LocalPubSub } from './local.ts';
export { PgPubSub } from './postgres.ts';
export { defineTopic, reviveDates, type Topic } from './topics.ts';
export { type PubSub, SlowConsumerError, type SubscribeOptions } from './types.ts';
