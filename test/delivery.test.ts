import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import WebSocket from 'ws';
import { alertTopic } from '../src/alerts/service.ts';
import { startServer, type RunningServer } from '../src/graphql/server.ts';
import { createTestApp, describe, it, subscribe, TEST_ADMIN_KEY, type TestApp, testBackends, waitFor, waitForProgress } from './helpers.ts';

const backend = testBackends()[0];
describe(`subscription delivery under load [${backend}]`, () => {
  let app: TestApp;
  let server: RunningServer;
  let plantId: string;
  let plantNum: number;
  before(async () => {
    app = await createTestApp(backend);
    server = await startServer(app.services, { port: 0, host: '127.0.0.1', wsMaxBufferedBytes: 256 * 1024 });
    plantId = (await app.gql(`{ plants { edges { node { id } } } }`)).body.data.plants.edges[0].node.id;
    plantNum = Number(Buffer.from(plantId, 'base64').toString().split(':')[1]);
  });
  after(async () => {
    await server.close();
    await app.close();
  });

  function fakeEvent(i: number) {
    const now = new Date().toISOString();
    return {
      kind: 'UPDATED',
      alert: {
        id: 1,
        plantId: plantNum,
        ruleId: 1,
        subject: 'machine:1',
        machineId: null,
        orderId: null,
        status: 'OPEN',
        severity: 'CRITICAL',
        message: `event ${i} ${'x'.repeat(40_000)}`,
        value: i,
        occurrences: i,
        seq: i,
        openedAt: now,
        lastSeenAt: now,
        acknowledgedAt: null,
        acknowledgedBy: null,
        acknowledgeNote: null,
        resolvedAt: null,
        resolvedBy: null,
        resolveNote: null,
      },
    };
  }

  it('closes a subscriber that stops reading with 4008, while a healthy subscriber gets every event and publishing never blocks', async () => {
    const url = `${server.url.replace('http', 'ws')}/graphql`;
    const query = `subscription($p: ID!) { alerts(plantId: $p) { kind alert { message value } } }`;

    // The slow one: a raw graphql-transport-ws client whose TCP socket stops being read after subscribing.
    const slow = new WebSocket(url, 'graphql-transport-ws');
    const slowClosed = new Promise<number>((resolve) => slow.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => slow.on('open', () => resolve()));
    slow.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }));
    await new Promise<void>((resolve) => slow.once('message', () => resolve()));
    slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { p: plantId } } }));

    const topic = alertTopic.channel(plantNum);
    const pubsub = app.services.pubsub;
    await waitFor(() => pubsub.subscriberCount(topic) === 1, { message: 'the slow subscription on the server' });
    const healthy = await subscribe(server.url, TEST_ADMIN_KEY, query, { p: plantId }, { live: { pubsub, topic }, keep: (e) => e.data?.alerts.alert.value });
    (slow as any)._socket.pause();

    const N = 3000;
    let slowestPublishMs = 0;
    for (let i = 1; i <= N; i++) {
      // A healthy subscriber keeps up, but shares this process's CPU with the publisher: stay within half of its
      // 1,000-event queue so that only the stuck subscriber can overflow (waiting here is not counted as publishing).
      if (i - healthy.events.length > 500) await waitForProgress(() => healthy.events.length, i - 250, { message: 'the healthy subscriber' });
      const t = Date.now();
      await app.services.pubsub.publish(alertTopic, plantNum, fakeEvent(i) as never);
      slowestPublishMs = Math.max(slowestPublishMs, Date.now() - t);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(pubsub.subscriberCount(topic), 1, 'the slow subscription was dropped on the server');
    // The stuck reader resumes seconds after it was dropped: it still learns why (4008), it is not just cut off.
    (slow as any)._socket.resume();
    await waitForProgress(() => healthy.events.length, N, { message: 'the healthy subscriber' });
    assert.deepEqual(healthy.errors, []);
    assert.deepEqual(
      healthy.events,
      Array.from({ length: N }, (_, i) => i + 1),
      'every event, in order',
    );
    assert.equal(await slowClosed, 4008);
    assert.ok(slowestPublishMs < 1_000, `publishing took up to ${slowestPublishMs} ms`);
    await healthy.dispose();
  });

  it('terminates a peer that stops answering pings', async () => {
    const pinging = await startServer(app.services, { port: 0, host: '127.0.0.1', wsPingMs: 300 });
    after(() => pinging.close());
    const url = `${pinging.url.replace('http', 'ws')}/graphql`;
    const ws = new WebSocket(url, 'graphql-transport-ws', { autoPong: false } as never);
    await new Promise<void>((resolve) => ws.on('open', () => resolve()));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }));
    const code = await Promise.race([
      new Promise<number>((resolve) => ws.on('close', (c) => resolve(c))),
      new Promise<number>((r) => setTimeout(() => r(-1), 5_000)),
    ]);
    assert.equal(code, 1006, 'the server terminated the connection');
  });
});
