import assert from 'node:assert/strict';
import { mapIterator } from '../src/graphql/iterators.ts';
import { defineTopic, LocalPubSub } from '../src/pubsub/index.ts';
import { describe, it } from './helpers.ts';

const numbers = defineTopic<number>('test_iterator_numbers', { shared: false });

describe('mapIterator', () => {
  it('maps, drops undefined, awaits promised values, and ends when the source ends', async () => {
    const source = (async function* () {
      yield* [1, 2, 3, 4, 5];
    })();
    const seen: number[] = [];
    for await (const v of mapIterator(source, (n) => (n % 2 === 0 ? undefined : n === 3 ? Promise.resolve(30) : n * 10))) seen.push(v);
    assert.deepEqual(seen, [10, 30, 50]);
  });

  it('return() ends the source at once, also while a next() is waiting on it', async () => {
    const pubsub = new LocalPubSub();
    const it = mapIterator(pubsub.subscribe(numbers, 1), (n) => n + 1);
    pubsub.deliver(numbers.channel(1), 1);
    assert.deepEqual(await it.next(), { value: 2, done: false });
    const pending = it.next();
    assert.equal(pubsub.subscriberCount(numbers.channel(1)), 1);
    assert.deepEqual(await it.return!(), { value: undefined, done: true });
    assert.equal(pubsub.subscriberCount(numbers.channel(1)), 0);
    assert.deepEqual(await pending, { value: undefined, done: true });
    pubsub.deliver(numbers.channel(1), 2);
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  });

  it('a throwing map function or throw() ends the source too, and the error reaches the caller', async () => {
    const pubsub = new LocalPubSub();
    const failing = mapIterator(pubsub.subscribe(numbers, 1), () => {
      throw new Error('bad event');
    });
    pubsub.deliver(numbers.channel(1), 1);
    await assert.rejects(failing.next(), /bad event/);
    assert.equal(pubsub.subscriberCount(numbers.channel(1)), 0);
    const thrown = mapIterator(pubsub.subscribe(numbers, 2), (n) => n);
    await assert.rejects(thrown.throw!(new Error('stop')), /stop/);
    assert.equal(pubsub.subscriberCount(numbers.channel(2)), 0);
  });

  it("a failing source fails the result once (or ends it with onError's value), then it is done: a consumer that asks again cannot spin", async () => {
    const pubsub = new LocalPubSub(2);
    const plain = mapIterator(pubsub.subscribe(numbers, 3), (n) => n);
    const mapped = mapIterator(pubsub.subscribe(numbers, 3), (n) => n, { onError: (err) => -String(err).length });
    for (let i = 0; i < 3; i++) pubsub.deliver(numbers.channel(3), i);
    assert.equal(pubsub.subscriberCount(numbers.channel(3)), 0, 'both overflowed and left the topic');
    await assert.rejects(plain.next(), /fell more than 2 events behind/);
    for (let i = 0; i < 3; i++) assert.deepEqual(await plain.next(), { value: undefined, done: true });
    const last = await mapped.next();
    assert.equal(last.done, false);
    assert.ok((last.value as number) < 0, 'onError turned the failure into the last value');
    for (let i = 0; i < 3; i++) assert.deepEqual(await mapped.next(), { value: undefined, done: true });
  });
});
