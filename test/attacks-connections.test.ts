import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { type Database, openDatabase } from '../src/db/client.ts';
import { mapIterator } from '../src/graphql/iterators.ts';
import { startServer, type RunningServer } from '../src/graphql/server.ts';
import {
  after,
  before,
  createTestApp,
  emptyPostgresDatabase,
  describe,
  it,
  makeKey,
  TEST_ADMIN_KEY,
  type TestApp,
  testBackends,
  unchanged,
  waitFor,
  sseBlocks,
} from './helpers.ts';
import { type ServerProcess, startServerProcess } from './process.ts';

/**
 * Attacks from issue 9 on live connections: credentials that are revoked or expire while a WebSocket or an SSE stream
 * is open, and the operation policy (persisted operations) on every transport.
 */

const JWT_SECRET = 'connection-test-jwt-secret-0123456789abcdef';
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`;
const CREATE_KEY = `mutation Mint { createApiKey(input: { name: "minted over a dead socket", role: ADMIN }) { __typename ... on CreateApiKeySuccess { key } } }`;
const INGEST = `mutation Ingest($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on IngestTelemetrySuccess { accepted } } }`;
const TELEMETRY = `subscription($m: ID!) { telemetry(machineId: $m) { metric value } }`;

const keyOf = (globalId: string) => Number(Buffer.from(globalId, 'base64').toString().split(':')[1]);
const wsUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, 'ws')}/graphql`;

/** An HS256 JWT that expires at `exp` (epoch seconds). */
function jwt(claims: Record<string, unknown>, exp: number): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(JWT_SECRET));
}

/** Epoch seconds a few seconds ahead: a JWT that expires while the test watches its connection. */
const soon = (seconds = 3) => Math.floor(Date.now() / 1000) + seconds;

function point(machineId: string, value: number) {
  return { input: { points: [{ machineId, metric: 'conn_probe', ts: new Date().toISOString(), value }] } };
}

/**
 * A bare graphql-transport-ws client on a raw TCP socket. Unlike a browser or the `ws` client, it never answers a
 * close frame, as an attacker would not: the server keeps reading what it sends until the close handshake times out.
 */
class RawSocket {
  /** Text frames received, parsed. */
  messages: any[] = [];
  /** The code of the close frame received (never answered), or null. */
  closeCode: number | null = null;
  closeReason = '';
  closedAt = 0;
  /** The TCP connection is gone. */
  ended = false;
  endedAt = 0;
  private buf = Buffer.alloc(0);

  private constructor(private socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.read(d));
    socket.on('close', () => {
      this.ended = true;
      this.endedAt = Date.now();
    });
    socket.on('error', () => {});
  }

  static open(httpUrl: string): Promise<RawSocket> {
    const u = new URL(httpUrl);
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: u.hostname,
        port: u.port,
        path: '/graphql',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': randomBytes(16).toString('base64'),
          'sec-websocket-version': '13',
          'sec-websocket-protocol': 'graphql-transport-ws',
        },
      });
      req.on('upgrade', (_res, socket, head) => {
        const raw = new RawSocket(socket);
        if (head.length > 0) raw.read(head);
        resolve(raw);
      });
      req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Opens, sends connection_init with the credential and waits for the ack. */
  static async connect(httpUrl: string, authorization: string): Promise<RawSocket> {
    const raw = await RawSocket.open(httpUrl);
    raw.send({ type: 'connection_init', payload: { authorization } });
    await waitFor(() => raw.messages.some((m) => m.type === 'connection_ack') || raw.closeCode !== null, { message: 'connection_ack' });
    assert.equal(raw.closeCode, null, 'the connection is accepted');
    return raw;
  }

  private read(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const op = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (op === 0x1) this.messages.push(JSON.parse(payload.toString()));
      else if (op === 0x8 && this.closeCode === null) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.subarray(2).toString();
        this.closedAt = Date.now();
      } else if (op === 0x9) this.frame(0xa, payload);
    }
  }

  private frame(op: number, payload: Buffer): void {
    const mask = randomBytes(4);
    let header: Buffer;
    if (payload.length < 126) header = Buffer.from([0x80 | op, 0x80 | payload.length]);
    else if (payload.length < 65_536) header = Buffer.from([0x80 | op, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | op;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i & 3];
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  send(message: unknown): void {
    if (!this.ended) this.frame(0x1, Buffer.from(JSON.stringify(message)));
  }

  of(id: string): any[] {
    return this.messages.filter((m) => m.id === id);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A graphql-ws client (no retries) that records how its sockets closed. */
function wsClient(httpUrl: string, authorization: string): { client: Client; closes: { code: number; reason: string; at: number }[] } {
  const closes: { code: number; reason: string; at: number }[] = [];
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: { authorization },
    on: { closed: (e: any) => void closes.push({ code: e.code, reason: e.reason, at: Date.now() }) },
  });
  return { client, closes };
}

/** One operation over a client: its last result, or what ended it (GraphQL errors, or the close event's code). */
function runOn(client: Client, query: string, variables?: Record<string, unknown>, extensions?: Record<string, unknown>): Promise<any> {
  return new Promise((resolve) => {
    let last: unknown = null;
    client.subscribe(
      { query, variables, extensions },
      {
        next: (v) => void (last = v),
        error: (e: any) => resolve(Array.isArray(e) ? { errors: e } : { close: e?.code }),
        complete: () => resolve(last),
      },
    );
  });
}

interface LiveSubscription {
  events: any[];
  errors: any[];
  ended: boolean;
}

/** A subscription over a client, returned once the server has subscribed to `topic`. */
async function liveOn(app: TestApp, client: Client, query: string, variables: Record<string, unknown>, topic: string): Promise<LiveSubscription> {
  const count = () => app.services.pubsub.subscriberCount(topic);
  const before = count();
  const sub: LiveSubscription = { events: [], errors: [], ended: false };
  client.subscribe(
    { query, variables },
    {
      next: (v) => void sub.events.push(v),
      error: (e) => {
        sub.errors.push(e);
        sub.ended = true;
      },
      complete: () => void (sub.ended = true),
    },
  );
  await waitFor(() => count() > before || sub.ended, { message: `a subscriber on ${topic}` });
  assert.equal(sub.ended, false, `the subscription is live: ${JSON.stringify(sub.errors)}`);
  return sub;
}

interface SseStream {
  status: number;
  events: { event: string; data: any }[];
  ended: boolean;
  endedAt: number;
  abort(): void;
}

/** A GraphQL request over SSE (`Accept: text/event-stream`), read as its events arrive. */
async function openSse(httpUrl: string, authorization: string, body: Record<string, unknown>): Promise<SseStream> {
  const ctrl = new AbortController();
  const res = await fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization },
    body: JSON.stringify(body),
    signal: ctrl.signal,
  });
  const s: SseStream = { status: res.status, events: [], ended: false, endedAt: 0, abort: () => ctrl.abort() };
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        const { blocks, rest } = sseBlocks(buf);
        buf = rest;
        for (const { event, data } of blocks) if (event) s.events.push({ event, data: data ? JSON.parse(data) : null });
      }
    } catch {
      // aborted by the test
    } finally {
      s.ended = true;
      s.endedAt = Date.now();
    }
  })();
  return s;
}

for (const backend of testBackends()) {
  describe(`credentials on open connections [${backend}]`, () => {
    let app: TestApp;
    let server: RunningServer;
    let plants = 0;

    before(async () => {
      app = await createTestApp(backend, { env: { PLANTGRAPH_JWT_SECRET: JWT_SECRET, PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '0' } });
      server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
    });
    after(async () => {
      await server.close();
      await app.close();
    });

    /** A machine of the test's own (in a plant of its own): its telemetry subscribers are the test's only ones. */
    async function ownMachine(): Promise<{ machineId: string; topic: string; subscribers: () => number }> {
      const r = await app.gql(
        `mutation($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { machines { id } } } } }`,
        { input: { name: `Connections ${++plants} ${randomBytes(4).toString('hex')}`, lines: [{ name: 'L', machines: [{ name: 'M' }] }] } },
      );
      const machineId: string = r.body.data.importPlant.plant.machines[0].id;
      const topic = `telemetry:${keyOf(machineId)}`;
      return { machineId, topic, subscribers: () => app.services.pubsub.subscriberCount(topic) };
    }

    const revoke = async (id: string) => {
      const r = await app.gql(REVOKE, { id });
      assert.equal(r.body.data.revokeApiKey.__typename, 'RevokeApiKeySuccess', JSON.stringify(r.body));
    };

    it('attack: an unscoped ADMIN key revoked over HTTP by another admin ends its WebSocket at once (4403) and mints nothing after', async (t) => {
      const { machineId, topic, subscribers } = await ownMachine();
      const admin = await makeKey(app, 'ws-admin', 'ADMIN');
      const { client, closes } = wsClient(server.url, `Bearer ${admin.key}`);
      try {
        const before = subscribers();
        const sub = await liveOn(app, client, TELEMETRY, { m: machineId }, topic);
        // One socket carries the subscription and every operation until the revocation.
        const me = await runOn(client, '{ me { name role } }');
        assert.deepEqual(me.data, { me: { name: 'ws-admin', role: 'ADMIN' } }, 'the socket works before the revocation');
        await app.gql(INGEST, point(machineId, 1));
        await waitFor(() => sub.events.length === 1, { message: 'the event before the revocation' });

        const revokedAt = Date.now();
        await revoke(admin.id);
        await waitFor(() => sub.ended, { timeoutMs: 15_000, message: 'the subscription to end after the revocation' });
        assert.equal(closes.length, 1, JSON.stringify(closes));
        const ms = closes[0].at - revokedAt;
        t.diagnostic(`WebSocket closed ${ms} ms after the revocation was sent (code ${closes[0].code}, reason "${closes[0].reason}")`);
        assert.equal(closes[0].code, 4403);
        assert.equal(closes[0].reason, 'Credentials revoked');
        assert.equal(sub.errors[0]?.code, 4403, 'the subscription ends with the close');
        assert.ok(ms < 5_000, `closed after ${ms} ms`);
        assert.equal(subscribers(), before, 'the server holds no subscriber for it');

        // Whatever the client sends next on this credential is refused, and nothing is written (not even an audit entry).
        const minted = await unchanged(app.database, () => runOn(client, CREATE_KEY));
        assert.equal(minted?.close, 4403, JSON.stringify(minted));
        const query = await runOn(client, '{ me { name } }');
        assert.equal(query?.close, 4403, JSON.stringify(query));
      } finally {
        await client.dispose();
      }
    });

    const ignoringClose: {
      label: string;
      credential: () => Promise<{ auth: string; revoke?: () => Promise<void>; exp?: number }>;
      mutation: (machineId: string) => [string, Record<string, unknown>];
    }[] = [
      {
        label: 'a revoked unscoped ADMIN key tries createApiKey',
        credential: async () => {
          const k = await makeKey(app, 'raw-admin', 'ADMIN');
          return { auth: `Bearer ${k.key}`, revoke: () => revoke(k.id) };
        },
        mutation: () => [CREATE_KEY, {}],
      },
      {
        label: 'an expired OPERATOR JWT tries ingestTelemetry',
        credential: async () => {
          const exp = soon();
          return { auth: `Bearer ${await jwt({ sub: 'raw-operator', role: 'OPERATOR' }, exp)}`, exp };
        },
        mutation: (machineId) => [INGEST, point(machineId, 2)],
      },
    ];
    for (const c of ignoringClose) {
      it(`attack: ${c.label} on a socket that ignores the 4403 close: its subscription is gone, nothing runs, it is dropped`, async (t) => {
        const { machineId, subscribers } = await ownMachine();
        const cred = await c.credential();
        const raw = await RawSocket.connect(server.url, cred.auth);
        try {
          const before = subscribers();
          raw.send({ id: 's', type: 'subscribe', payload: { query: TELEMETRY, variables: { m: machineId } } });
          await waitFor(() => subscribers() > before || raw.of('s').length > 0, { message: 'the raw subscription to be live' });
          assert.deepEqual(raw.of('s'), [], 'the subscription is live');

          const started = Date.now();
          await cred.revoke?.();
          await waitFor(() => raw.closeCode !== null, { timeoutMs: 15_000, message: 'a close frame' });
          if (cred.exp) {
            const late = raw.closedAt - cred.exp * 1000;
            t.diagnostic(`closed ${late} ms after the JWT's expiry`);
            assert.ok(late >= -50 && late < 1_500, `closed ${late} ms after expiry`);
          } else t.diagnostic(`closed ${raw.closedAt - started} ms after the revocation was sent`);
          assert.equal(raw.closeCode, 4403);
          assert.equal(raw.closeReason, cred.exp ? 'Credentials expired' : 'Credentials revoked');
          // This client never answers the close frame, yet the subscription ends on the server all the same.
          await waitFor(() => subscribers() === before, { message: 'the subscription to end on the server' });

          const [query, variables] = c.mutation(machineId);
          await unchanged(app.database, async () => {
            raw.send({ id: 'm', type: 'subscribe', payload: { query, variables } });
            await waitFor(() => raw.ended, { timeoutMs: 15_000, message: 'the server to drop the socket' });
          });
          t.diagnostic(`the unanswered socket was dropped ${raw.endedAt - raw.closedAt} ms after its close frame`);
          assert.deepEqual(raw.of('m'), [], 'no answer to the mutation');
        } finally {
          raw.destroy();
        }
      });
    }

    it('attack: a key revoked elsewhere (its cached lookup expired) is refused on the next operation of an open socket', async () => {
      const k = await makeKey(app, 'revoked-elsewhere', 'ADMIN');
      const raw = await RawSocket.connect(server.url, `Bearer ${k.key}`);
      try {
        raw.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { name } }' } });
        await waitFor(() => raw.of('q').some((m) => m.type === 'complete'), { message: 'the first query' });
        assert.deepEqual(raw.of('q')[0].payload, { data: { me: { name: 'revoked-elsewhere' } } });
        // What another process's revokeApiKey leaves behind here: the row is revoked and this process's cache has aged out.
        await app.database.query('update api_keys set revoked_at = now() where id = $1', [keyOf(k.id)]);
        app.services.auth.keys.invalidate();
        await unchanged(app.database, async () => {
          raw.send({ id: 'm', type: 'subscribe', payload: { query: CREATE_KEY } });
          await waitFor(() => raw.closeCode !== null || raw.of('m').length > 0, { timeoutMs: 15_000, message: 'the answer to the mutation' });
        });
        assert.deepEqual(raw.of('m'), []);
        assert.equal(raw.closeCode, 4403);
        assert.equal(raw.closeReason, 'Credentials revoked');
      } finally {
        raw.destroy();
      }
    });

    const sseCases: { label: string; credential: () => Promise<{ auth: string; revoke?: () => Promise<void>; exp?: number }>; reason: string }[] = [
      {
        label: 'a key revoked over HTTP',
        credential: async () => {
          const k = await makeKey(app, 'sse-viewer', 'VIEWER');
          return { auth: `Bearer ${k.key}`, revoke: () => revoke(k.id) };
        },
        reason: 'CREDENTIALS_REVOKED',
      },
      {
        label: 'a JWT that expires',
        credential: async () => {
          const exp = soon();
          return { auth: `Bearer ${await jwt({ sub: 'sse-viewer', role: 'VIEWER' }, exp)}`, exp };
        },
        reason: 'CREDENTIALS_EXPIRED',
      },
    ];
    for (const c of sseCases) {
      it(`attack: an SSE subscription of ${c.label} ends with a final UNAUTHENTICATED error event`, async (t) => {
        const { machineId, subscribers } = await ownMachine();
        const cred = await c.credential();
        const before = subscribers();
        const stream = await openSse(server.url, cred.auth, { query: TELEMETRY, variables: { m: machineId } });
        try {
          assert.equal(stream.status, 200);
          await waitFor(() => subscribers() > before || stream.ended, { message: 'the SSE subscription to be live' });
          await app.gql(INGEST, point(machineId, 3));
          await waitFor(() => stream.events.length === 1 || stream.ended, { message: 'the event before the end' });
          assert.equal(stream.events[0]?.data?.data?.telemetry?.value, 3, JSON.stringify(stream.events));

          const started = Date.now();
          await cred.revoke?.();
          await waitFor(() => stream.ended, { timeoutMs: 15_000, message: 'the stream to end' });
          const ms = cred.exp ? stream.endedAt - cred.exp * 1000 : stream.endedAt - started;
          t.diagnostic(`SSE stream ended ${ms} ms after ${cred.exp ? "the JWT's expiry" : 'the revocation was sent'}`);
          if (cred.exp) assert.ok(ms >= -50 && ms < 1_500, `ended ${ms} ms after expiry`);
          else assert.ok(ms < 5_000, `ended ${ms} ms after the revocation`);
          assert.deepEqual(
            stream.events.slice(1).map((e) => e.event),
            ['next', 'complete'],
          );
          const [error] = stream.events[1].data.errors;
          assert.equal(error.extensions.code, 'UNAUTHENTICATED');
          assert.equal(error.extensions.reason, c.reason);
          assert.equal(stream.events[1].data.data, undefined);
          assert.equal(subscribers(), before, 'the server holds no subscriber for it');
          const again = await openSse(server.url, cred.auth, { query: TELEMETRY, variables: { m: machineId } });
          assert.equal(again.status, 401);
        } finally {
          stream.abort();
        }
      });
    }

    it('attack: a client that ignores the 1001 close at shutdown runs nothing more and does not hold the shutdown', async (t) => {
      const own = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      const raw = await RawSocket.connect(own.url, `Bearer ${TEST_ADMIN_KEY}`);
      let closing: Promise<void> | undefined;
      try {
        const started = Date.now();
        closing = own.close();
        await waitFor(() => raw.closeCode !== null, { timeoutMs: 15_000, message: 'the 1001 close frame' });
        assert.equal(raw.closeCode, 1001);
        await unchanged(app.database, async () => {
          raw.send({ id: 'm', type: 'subscribe', payload: { query: CREATE_KEY } });
          await closing;
        });
        const ms = Date.now() - started;
        t.diagnostic(`the server stopped ${ms} ms after close() with a client that never answered its close frame`);
        assert.ok(ms < 10_000, `shutdown took ${ms} ms`);
        await waitFor(() => raw.ended, { message: 'the socket to be dropped' });
        assert.deepEqual(raw.of('m'), []);
      } finally {
        raw.destroy();
        await (closing ?? own.close());
      }
    });

    it('a JWT that expires while its WebSocket is open: the subscription ends (4403) within about a second, ingestTelemetry is refused', async (t) => {
      const { machineId, topic } = await ownMachine();
      const exp = soon();
      const token = await jwt({ sub: 'ws-operator', role: 'OPERATOR' }, exp);
      const { client, closes } = wsClient(server.url, `Bearer ${token}`);
      try {
        const sub = await liveOn(app, client, TELEMETRY, { m: machineId }, topic);
        const ok = await runOn(client, INGEST, point(machineId, 4));
        assert.equal(ok.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess', 'the token works before its expiry');
        await waitFor(() => sub.events.length === 1, { message: 'the event before the expiry' });
        await waitFor(() => sub.ended, { timeoutMs: 15_000, message: 'the subscription to end at expiry' });
        const late = closes[0].at - exp * 1000;
        t.diagnostic(`WebSocket closed ${late} ms after the JWT's expiry`);
        assert.ok(late >= -50 && late < 1_500, `closed ${late} ms after expiry`);
        assert.equal(closes[0].code, 4403);
        assert.equal(closes[0].reason, 'Credentials expired');
        const refused = await unchanged(app.database, () => runOn(client, INGEST, point(machineId, 5)));
        assert.equal(refused?.close, 4403, JSON.stringify(refused));
      } finally {
        await client.dispose();
      }
    });
  });
}

// Two real server processes on one PostgreSQL database: a key revoked through A ends its socket on B.
if (testBackends().includes('postgres')) {
  describe('credentials across server processes [postgres]', () => {
    const KEY = 'cross-process-conn-admin-key-0123456789';
    let a: ServerProcess;
    let b: ServerProcess;
    let database: Database;
    let drop: () => Promise<void>;
    let dataDir: string;
    before(async () => {
      const t = await emptyPostgresDatabase();
      drop = t.drop;
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-'));
      const env = { DATABASE_URL: t.url, PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_DATA_DIR: dataDir, PLANTGRAPH_SEED: 'none' };
      a = await startServerProcess(env);
      b = await startServerProcess(env);
      database = await openDatabase({ databaseUrl: t.url, poolSize: 2 });
    });
    after(async () => {
      await a?.stop('SIGKILL');
      await b?.stop('SIGKILL');
      await database?.close();
      await drop?.();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    const gql = async (url: string, auth: string, query: string, variables?: unknown) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    it('attack: a key revoked through process A ends its WebSocket on process B within 5 s, and B runs nothing more for it', async (t) => {
      const admin = `Bearer ${KEY}`;
      const imported = await gql(
        a.url,
        admin,
        `mutation { importPlant(input: { name: "Cross", lines: [{ name: "L", machines: [{ name: "M" }] }] }) { ... on ImportPlantSuccess { plant { machines { id } } } } }`,
      );
      const machine = imported.body.data.importPlant.plant.machines[0].id;
      const created = await gql(
        a.url,
        admin,
        `mutation { createApiKey(input: { name: "on-b", role: ADMIN }) { ... on CreateApiKeySuccess { key apiKey { id } } } }`,
      );
      const { key, apiKey } = created.body.data.createApiKey;

      const raw = await RawSocket.connect(b.url, `Bearer ${key}`);
      try {
        raw.send({ id: 's', type: 'subscribe', payload: { query: TELEMETRY, variables: { m: machine } } });
        // Telemetry events stay in their process: ingesting through B shows that B's subscription is live.
        await waitFor(
          async () => {
            if (raw.of('s').some((m) => m.type === 'next')) return true;
            await gql(b.url, admin, INGEST, point(machine, Math.random()));
            return false;
          },
          { intervalMs: 200, message: 'the subscription on B to be live' },
        );

        const started = Date.now();
        assert.equal((await gql(a.url, admin, REVOKE, { id: apiKey.id })).body.data.revokeApiKey.__typename, 'RevokeApiKeySuccess');
        await waitFor(() => raw.closeCode !== null, { timeoutMs: 20_000, message: 'B to close the socket' });
        const ms = raw.closedAt - started;
        t.diagnostic(`process B closed the socket ${ms} ms after the revocation was sent to process A`);
        assert.equal(raw.closeCode, 4403);
        assert.equal(raw.closeReason, 'Credentials revoked');
        assert.ok(ms < 5_000, `closed after ${ms} ms`);
        // B has seen the revocation: its HTTP refuses the key now, not at the end of its cache lifetime.
        assert.equal((await gql(b.url, `Bearer ${key}`, '{ me { name } }')).status, 401);
        await unchanged(database, async () => {
          raw.send({ id: 'm', type: 'subscribe', payload: { query: CREATE_KEY } });
          await waitFor(() => raw.ended, { timeoutMs: 15_000, message: 'B to drop the socket' });
        });
        assert.deepEqual(raw.of('m'), []);
      } finally {
        raw.destroy();
      }
    });
  });
}

for (const backend of testBackends()) {
  describe(`the operation policy holds on every transport [${backend}]`, () => {
    const PERSISTED = 'query Count { plants { totalCount } }';
    const hash = createHash('sha256').update(PERSISTED).digest('hex');
    const persisted = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });
    const IMPORT = `mutation { importPlant(input: { name: "Smuggled", lines: [{ name: "L", machines: [{ name: "M" }] }] }) { __typename } }`;
    const INTROSPECTION = '{ __schema { queryType { name } types { name fields { name } } } }';
    let dir: string;
    let app: TestApp;
    let server: RunningServer;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-po-'));
      const file = path.join(dir, 'operations.json');
      fs.writeFileSync(file, JSON.stringify({ [hash]: PERSISTED }));
      app = await createTestApp(backend, { env: { PLANTGRAPH_PERSISTED_OPERATIONS: file } });
      server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
    });
    after(async () => {
      await server.close();
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    type Body = { query?: string; extensions?: Record<string, unknown> };
    const auth = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    const json = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
    /** Each transport sends one operation and returns its result ({ data } or { errors }). */
    const transports: Record<string, (body: Body) => Promise<any>> = {
      'HTTP POST': async (body) => (await fetch(`${server.url}/graphql`, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify(body) })).json(),
      'HTTP GET': async (body) => {
        const u = new URL(`${server.url}/graphql`);
        if (body.query !== undefined) u.searchParams.set('query', body.query);
        if (body.extensions) u.searchParams.set('extensions', JSON.stringify(body.extensions));
        return (await fetch(u, { headers: { accept: json.accept, ...auth } })).json();
      },
      'JSON-array batch': async (body) => {
        const results = (await (
          await fetch(`${server.url}/graphql`, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify([body, body]) })
        ).json()) as any[];
        assert.equal(results.length, 2);
        assert.deepEqual(results[1], results[0]);
        return results[0];
      },
      SSE: async (body) => {
        const s = await openSse(server.url, auth.authorization, body);
        await waitFor(() => s.ended, { message: 'the SSE response' });
        return s.events.find((e) => e.event === 'next')?.data;
      },
      WebSocket: async (body) => {
        const { client } = wsClient(server.url, auth.authorization);
        try {
          // graphql-ws requires a query string: a persisted operation sends an empty one with its hash.
          return await runOn(client, body.query ?? '', undefined, body.extensions);
        } finally {
          await client.dispose();
        }
      },
    };

    it('attack: an arbitrary importPlant and an introspection query are refused with PersistedQueryOnly on every transport, and change nothing', async () => {
      const reference = await transports['HTTP POST']({ query: IMPORT });
      assert.equal(reference.errors[0].message, 'PersistedQueryOnly', JSON.stringify(reference));
      const code = reference.errors[0].extensions.code;
      assert.equal(typeof code, 'string');
      for (const [name, send] of Object.entries(transports)) {
        for (const query of [IMPORT, INTROSPECTION]) {
          const r = await unchanged(app.database, () => send({ query }));
          const label = `${name}: ${query.slice(0, 30)}`;
          assert.equal(r?.data ?? null, null, `${label}: ${JSON.stringify(r)}`);
          assert.equal(r?.errors?.[0]?.message, 'PersistedQueryOnly', `${label}: ${JSON.stringify(r)}`);
          assert.deepEqual(r.errors[0].extensions, { code }, label);
        }
      }
    });

    it('a persisted operation runs by its hash on every transport; an unknown hash is refused alike', async () => {
      const [{ n }] = await app.database.query<{ n: number }>('select count(*)::int as n from plants');
      for (const [name, send] of Object.entries(transports)) {
        const r = await unchanged(app.database, () => send({ extensions: persisted(hash) }));
        assert.deepEqual(r, { data: { plants: { totalCount: Number(n) } } }, name);
        const unknown = await send({ extensions: persisted('f'.repeat(64)) });
        assert.equal(unknown?.errors?.[0]?.message, 'PersistedQueryNotFound', `${name}: ${JSON.stringify(unknown)}`);
      }
    });
  });
}

describe('a failed subscription source ends once', () => {
  it('mapIterator passes a failure of its source on once, then is done (yoga would turn a repeated failure into endless error events)', async () => {
    let calls = 0;
    const source: AsyncIterator<number> = {
      next: async () => {
        calls++;
        throw new Error('overflowed');
      },
    };
    const mapped = mapIterator(source, (n) => n);
    await assert.rejects(mapped.next(), /overflowed/);
    assert.deepEqual(await mapped.next(), { value: undefined, done: true });
    assert.equal(calls, 1, 'the failed source is not asked again');
  });
});
