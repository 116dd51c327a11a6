import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as nodeTest from 'node:test';
import pg from 'pg';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import type { YogaServerInstance } from 'graphql-yoga';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.ts';
import { type Database, migrateDatabase, openDatabase } from '../src/db/client.ts';
import * as schema from '../src/db/schema/index.ts';
import type { Context } from '../src/graphql/context.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { wireServices } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import type { Services } from '../src/services.ts';
import { seedDemo } from '../src/sim/seed.ts';
import { seededRandom } from '../src/core/random.ts';

export type Backend = 'pglite' | 'postgres';

export const ADMIN_PG_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** Backends to run every suite on: PLANTGRAPH_TEST_BACKENDS=pglite,postgres (the default, set by scripts/test.mjs). */
export function testBackends(): Backend[] {
  const raw = process.env.PLANTGRAPH_TEST_BACKENDS ?? 'pglite,postgres';
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is Backend => s === 'pglite' || s === 'postgres');
}

/** A brand-new empty database: in-memory PGlite, or a freshly created PostgreSQL database dropped afterwards. */
export async function createTestDatabase(backend: Backend): Promise<{ database: Database; url?: string; drop(): Promise<void> }> {
  if (backend === 'pglite') {
    const database = await openDatabase({ dataDir: 'memory://' });
    await migrateDatabase(database);
    return { database, drop: () => database.close() };
  }
  const name = `plantgraph_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_PG_URL });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const u = new URL(ADMIN_PG_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const database = await openDatabase({ databaseUrl: url, poolSize: 5 });
  await migrateDatabase(database);
  return {
    database,
    url,
    async drop() {
      await database.close().catch(() => {});
      const a = new pg.Client({ connectionString: ADMIN_PG_URL });
      await a.connect();
      await a.query(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

export interface TestApp {
  services: Services;
  database: Database;
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  dbUrl?: string;
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: { data: T; errors?: any } & Record<string, any> }>;
  close(): Promise<void>;
}

/** The ADMIN key every test app accepts (PLANTGRAPH_ADMIN_KEY); `gql` sends it unless told otherwise. */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export async function createTestApp(backend: Backend, opts: { seed?: boolean; env?: Record<string, string> } = {}): Promise<TestApp> {
  const { database, url, drop } = await createTestDatabase(backend);
  if (opts.seed !== false) await seedDemo(database, new Date());
  const config: Config = { ...loadConfig({ PLANTGRAPH_ADMIN_KEY: TEST_ADMIN_KEY, ...opts.env }), databaseUrl: url, logLevel: 'silent' };
  const services = wireServices(config, database, createLogger('silent'));
  const yoga = createYogaApp(services);
  return {
    services,
    database,
    yoga,
    dbUrl: url,
    async gql(query, variables, headers = {}) {
      const res = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${TEST_ADMIN_KEY}`, ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    close: drop,
  };
}

/** Every table of the drizzle schema, so a table added there is counted without touching the tests. */
export const USER_TABLES: readonly string[] = (Object.values(schema) as unknown[])
  .filter((v): v is PgTable => is(v, PgTable))
  .map((t) => getTableConfig(t).name)
  .sort();

/**
 * Row counts of every user table (the partitioned `telemetry` parent counts all its partitions), in one statement,
 * to prove that a rejected request wrote nothing.
 */
export async function tableCounts(database: Database): Promise<Record<string, number>> {
  const rows = await database.query<{ t: string; n: number }>(USER_TABLES.map((t) => `select '${t}' as t, count(*)::int as n from "${t}"`).join(' union all '));
  const out: Record<string, number> = {};
  for (const t of USER_TABLES) out[t] = 0;
  for (const r of rows) out[r.t] = Number(r.n);
  return out;
}

/** One audit entry: what a GraphQL mutation writes whether it was allowed or refused. */
export const AUDITED = { audit_log: 1 } as const;

/**
 * Runs `fn` and asserts that no table changed its row count, except by exactly `grows[table]` rows (e.g. AUDITED for
 * a mutation, which is audited even when refused). Updates in place (e.g. api_keys.last_used_at) are not counted.
 */
export async function unchanged<T>(database: Database, fn: () => Promise<T>, grows: Readonly<Record<string, number>> = {}): Promise<T> {
  const before = await tableCounts(database);
  const expected = { ...before };
  for (const [t, n] of Object.entries(grows)) {
    if (!(t in expected)) throw new Error(`unchanged(): ${t} is not a table of the schema`);
    expected[t] += n;
  }
  const out = await fn();
  assert.deepEqual(await tableCounts(database), expected, `nothing may change${Object.keys(grows).length ? ` except ${JSON.stringify(grows)}` : ''}`);
  return out;
}

/** The SQL statements sent through `database` while `fn` runs, leaving out background work of the process (periodic tasks). */
export async function statementsDuring(database: Database, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  // Background work of the process (periodic sweeps and credential checks) is not the work being counted.
  const stop = database.sql.onStatement((s, background) => {
    if (!background) seen.push(s);
  });
  try {
    await fn();
  } finally {
    stop();
  }
  return seen;
}

/**
 * Splits the complete server-sent-event blocks off the front of `buf`: each block's `event` name and its `data` lines
 * joined (raw, unparsed); `rest` is the incomplete tail to keep for the next chunk.
 */
export function sseBlocks(buf: string): { blocks: { event: string; data: string }[]; rest: string } {
  const blocks: { event: string; data: string }[] = [];
  for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
    let event = '';
    let data = '';
    for (const line of buf.slice(0, i).split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    blocks.push({ event, data });
    buf = buf.slice(i + 2);
  }
  return { blocks, rest: buf };
}

/** An empty PostgreSQL database (no tables, no migrations) that a server process migrates itself; `drop` removes it. */
export async function emptyPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const t = await createTestDatabase('postgres');
  await t.database.query('drop schema public cascade; create schema public; drop schema if exists drizzle cascade');
  await t.database.close();
  return { url: t.url!, drop: t.drop };
}

/** Creates an API key through GraphQL as the test ADMIN and returns the secret. */
export async function makeKey(app: TestApp, name: string, role: string, plantIds?: string[], as = TEST_ADMIN_KEY): Promise<{ key: string; id: string }> {
  const r = await app.gql(
    `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeySuccess { key apiKey { id } } ... on Error { message } } }`,
    { input: { name, role, plantIds } },
    { authorization: `Bearer ${as}` },
  );
  const res = r.body.data?.createApiKey;
  if (res?.__typename !== 'CreateApiKeySuccess') throw new Error(`createApiKey failed: ${JSON.stringify(r.body)}`);
  return { key: res.key, id: res.apiKey.id };
}

/** `gql` as another caller. */
export function as(app: TestApp, key: string | null) {
  return <T = any>(query: string, variables?: Record<string, unknown>) =>
    app.gql<T>(query, variables, key === null ? { authorization: '' } : { authorization: `Bearer ${key}` });
}

export interface WaitOptions {
  /** Generous by default: the machine is shared and noisy. */
  timeoutMs?: number;
  message?: string | (() => string);
  intervalMs?: number;
}

/** Polls `cond` (sync or async) until it returns a truthy value, and returns that value; fails after `timeoutMs`. */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 30_000, intervalMs = 20 } = opts;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) {
      const m = typeof opts.message === 'function' ? opts.message() : opts.message;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${m ?? cond.toString()}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until `value()` reaches `target`; fails only when it has not moved for `stallMs` (progress, not a deadline). */
export async function waitForProgress(value: () => number, target: number, opts: { stallMs?: number; message?: string } = {}): Promise<void> {
  const stallMs = opts.stallMs ?? 30_000;
  let last = value();
  let movedAt = Date.now();
  while (value() < target) {
    const v = value();
    if (v !== last) {
      last = v;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) {
      throw new Error(`${opts.message ?? 'no progress'}: stuck at ${v} of ${target} for ${stallMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Pub/sub topics a subscription resolver subscribes to; with one, `subscribe` resolves once the server is listening. */
export interface LiveTopic {
  /** LocalPubSub and PgPubSub count their subscribers (`subscriberCount(topic)`). */
  pubsub: object;
  topic: string;
}

export interface TestSubscription<T = any> {
  /** `next` payloads, in order (each `{ data, errors? }`). */
  events: T[];
  /** `error` callbacks (graphql-ws: an array of GraphQL errors, or a CloseEvent). */
  errors: any[];
  completed: boolean;
  /** Resolves once the operation has ended (error or complete). */
  done: Promise<void>;
  /** Waits until at least `n` events have arrived; returns them. */
  waitFor(n: number, opts?: WaitOptions): Promise<T[]>;
  dispose(): Promise<void>;
}

/**
 * One graphql-ws subscription on its own connection. With `live`, resolves once the server has subscribed to that
 * topic (graphql-ws has no acknowledgement of a subscription), so nothing published afterwards is missed. `keep`
 * maps each event to what `events` holds (to keep large payloads out of memory).
 */
export async function subscribe<T = any>(
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { live?: LiveTopic; keep?: (event: any) => T } = {},
): Promise<TestSubscription<T>> {
  const { live, keep = (e) => e } = opts;
  const wsUrl = url.replace(/^http/, 'ws').replace(/\/graphql$/, '') + '/graphql';
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${key}` } });
  const counter = live?.pubsub as { subscriberCount?(topic: string): number } | undefined;
  const count = () => counter?.subscriberCount?.(live!.topic) ?? 0;
  const before = count();
  const sub: TestSubscription<T> = {
    events: [],
    errors: [],
    completed: false,
    done: undefined as never,
    async waitFor(n, opts) {
      await waitFor(() => sub.events.length >= n || sub.completed, {
        message: () => `${n} events (got ${JSON.stringify(sub.events)}, errors ${JSON.stringify(sub.errors)})`,
        ...opts,
      });
      if (sub.events.length < n) throw new Error(`the subscription ended after ${sub.events.length} of ${n} events: ${JSON.stringify(sub.errors)}`);
      return sub.events;
    },
    async dispose() {
      stop();
      await client.dispose();
    },
  };
  let stop: () => void = () => {};
  sub.done = new Promise<void>((resolve) => {
    stop = client.subscribe<T>(
      { query, variables },
      {
        next: (v) => void sub.events.push(keep(v)),
        error: (e) => {
          sub.errors.push(e);
          sub.completed = true;
          resolve();
        },
        complete: () => {
          sub.completed = true;
          resolve();
        },
      },
    );
  });
  if (live) {
    if (typeof counter?.subscriberCount !== 'function') throw new Error('subscribe(): this pub/sub cannot count subscribers');
    await waitFor(() => count() > before || sub.completed, { message: `a subscriber on ${live.topic}` });
    if (sub.completed) throw new Error(`the subscription ended before it was live: ${JSON.stringify(sub.errors)}`);
  }
  return sub;
}

// ---- Test order --------------------------------------------------------------------------------------------------
// PLANTGRAPH_TEST_ORDER=declared (default) | reverse | shuffle:<seed> registers the `it`s and nested `describe`s of
// every describe in that order, so a test that depends on another one's data or leftovers shows up. Test files take
// describe/it from here, not from node:test (scripts/test.mjs checks).

export { after, afterEach, before, beforeEach } from 'node:test';

type Order = { kind: 'declared' } | { kind: 'reverse' } | { kind: 'shuffle'; seed: number };

export function testOrder(raw = process.env.PLANTGRAPH_TEST_ORDER ?? ''): Order {
  if (raw === '' || raw === 'declared') return { kind: 'declared' };
  if (raw === 'reverse') return { kind: 'reverse' };
  const m = /^shuffle:(\d{1,15})$/.exec(raw);
  if (m) return { kind: 'shuffle', seed: Number(m[1]) };
  throw new Error(`PLANTGRAPH_TEST_ORDER must be declared, reverse or shuffle:<seed>, not ${JSON.stringify(raw)}`);
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The entries of one describe in the configured order; a shuffle depends on the seed and the describe's name. */
export function permute<T>(entries: readonly T[], suite: string, order: Order = testOrder()): T[] {
  const out = [...entries];
  if (order.kind === 'reverse') return out.reverse();
  if (order.kind === 'shuffle') {
    const rnd = seededRandom((order.seed ^ hash(suite)) >>> 0);
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
  }
  return out;
}

let collecting: (() => void)[] | null = null;
const register = (entry: () => void) => (collecting ? collecting.push(entry) : entry());

/** node:test `describe` whose tests and nested suites are registered in PLANTGRAPH_TEST_ORDER. Hooks run as usual. */
export function describe(name: string, fn: () => void): void {
  register(() =>
    nodeTest.describe(name, () => {
      const outer = collecting;
      const mine: (() => void)[] = [];
      collecting = mine;
      try {
        fn();
      } finally {
        collecting = outer;
      }
      for (const entry of permute(mine, name)) entry();
    }),
  );
}

/** node:test `it` (optionally with its options: timeout, todo, skip), registered in PLANTGRAPH_TEST_ORDER within its describe. */
type TestFn = (t: nodeTest.TestContext) => unknown;
export function it(name: string, optsOrFn: nodeTest.TestOptions | TestFn, maybeFn?: TestFn): void {
  const opts = typeof optsOrFn === 'function' ? {} : optsOrFn;
  const fn = typeof optsOrFn === 'function' ? optsOrFn : maybeFn!;
  register(() => nodeTest.it(name, opts, async (t) => void (await fn(t))));
}
