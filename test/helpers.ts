import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { YogaServerInstance } from 'graphql-yoga';
import { loadConfig } from '../src/config.ts';
import { type Database, migrateDatabase, openDatabase } from '../src/db/client.ts';
import type { Context } from '../src/graphql/context.ts';
import { createYogaApp } from '../src/graphql/server.ts';
import { wireServices } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import type { Services } from '../src/services.ts';
import { seedDemo } from '../src/sim/seed.ts';

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
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: { data: T; errors?: any } & Record<string, any> }>;
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

/** Row counts of every twin table, to prove that a rejected mutation wrote nothing. */
export async function tableCounts(database: Database): Promise<Record<string, number>> {
  const tables = ['plants', 'lines', 'machines', 'products', 'routing_steps', 'routing_step_machines', 'orders', 'api_keys'];
  const out: Record<string, number> = {};
  for (const t of tables) {
    const rows = await database.query<{ n: number }>(`select count(*)::int as n from ${t}`);
    out[t] = Number(rows[0].n);
  }
  return out;
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
