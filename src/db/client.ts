import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgAsyncDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { intArray } from './arrays.ts';
import { lockDataDir, StartupError } from './dir-lock.ts';
import { currentStatementBudget, type StatementBudget } from './deadline.ts';
import { inBackground } from '../core/background.ts';
import { relations, type Relations } from './relations.ts';

export type Db = PgAsyncDatabase<PgQueryResultHKT, Relations>;

/** The project's migrations/ folder: beside package.json, found upward from this module (src/db/ under tsx, dist/ when bundled). */
export const migrationsFolder = findUpward(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

function findUpward(from: string, name: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`no ${name}/ folder beside a package.json above ${from}`);
  }
}

/** Counts every SQL statement sent (drizzle and raw); tests and /metrics read it. */
export class SqlCounter {
  count = 0;
  private listeners = new Set<(sql: string, background: boolean) => void>();
  /** `background`: sent by background work of the process (core/background.ts), not on behalf of a request. */
  onStatement(fn: (sql: string, background: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  /** Called before every statement; refuses it (DeadlineExceededError) once the current request's deadline passed. */
  record(sql: string): void {
    currentStatementBudget()?.check();
    this.count++;
    if (this.listeners.size === 0) return;
    const background = inBackground();
    for (const fn of this.listeners) fn(sql, background);
  }
}

/**
 * A fixed statement with a name: on PostgreSQL it is prepared once per connection (named), so hot statements are
 * parsed and planned once; on PGlite it runs as plain text. Only statements whose text never changes get a name.
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export function statement(name: string, text: string): Statement {
  return { name, text };
}

/** What both the whole database and an open transaction offer: drizzle and raw SQL on the same counted connection. */
export interface Queryable {
  /** drizzle-orm (query builder and relational queries). */
  readonly db: Db;
  /** Raw SQL (text, or a named Statement) with positional parameters; rows come back as plain objects. */
  query<T = Record<string, unknown>>(sql: string | Statement, params?: unknown[]): Promise<T[]>;
}

/** An open transaction. Everything sent through it (drizzle, raw SQL, COPY) runs on its one connection. */
export interface Tx extends Queryable {
  /** COPY ... FROM STDIN with the data whole or as chunks produced while earlier ones are sent (PostgreSQL only). */
  readonly copyFrom: ((text: string, data: string | Buffer | Iterable<string | Buffer>) => Promise<void>) | undefined;
  /** Runs `fn` under a savepoint: if it throws, its writes are rolled back and the error is rethrown. */
  savepoint<T>(fn: () => Promise<T>, name?: string): Promise<T>;
}

export interface Database extends Queryable {
  kind: 'pglite' | 'postgres';
  /** Where the data lives, safe to print (no password). */
  location: string;
  sql: SqlCounter;
  /** The pg pool when on PostgreSQL (for LISTEN/NOTIFY). */
  pool?: pg.Pool;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL: cancels the statements running on these backends (process IDs), from a connection of its own (the
   * pool may be busy with exactly those statements). PGlite statements cannot be interrupted: undefined there.
   */
  cancel?(pids: readonly number[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  /** PGlite data directory; 'memory://' keeps everything in memory. */
  dataDir?: string;
  poolSize?: number;
  /**
   * PGlite's shared_buffers in MiB (default PGLITE_SHARED_BUFFERS_MB). PostgreSQL's default of 128 MiB costs about
   * half a second at every start in WebAssembly (the buffer pool is cleared page by page); pages beyond the pool are
   * read from the operating system's file cache.
   */
  sharedBuffersMb?: number;
}

/** The default of OpenOptions.sharedBuffersMb (PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB). */
export const PGLITE_SHARED_BUFFERS_MB = 32;

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}

type Client = PGlite | PGliteTransaction | pg.Pool | pg.PoolClient;
/** The query method all four clients share. */
type QueryClient = { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> };

/** The one place drizzle is constructed: on a PGlite instance or transaction, a pg pool or a pooled client. */
function drizzleOn(client: Client, counter?: SqlCounter): Db {
  const logger = counter ? { logQuery: (q: string) => counter.record(q) } : undefined;
  const db =
    client instanceof pg.Pool || client instanceof pg.Client
      ? drizzlePg({ client, relations, logger })
      : drizzlePglite({ client: client as PGlite, relations, logger });
  return db as unknown as Db;
}

/** Raw queries through a client, counted; named statements are prepared on pg. */
function rawQuery(client: Client, counter: SqlCounter) {
  const pgClient = client instanceof pg.Pool || client instanceof pg.Client;
  return async <T>(sql: string | Statement, params?: unknown[]): Promise<T[]> => {
    const text = typeof sql === 'string' ? sql : sql.text;
    counter.record(text);
    if (pgClient && typeof sql !== 'string') return (await (client as pg.Pool).query({ name: sql.name, text, values: params })).rows as T[];
    return (await (client as QueryClient).query(text, params)).rows as T[];
  };
}

function makeTx(client: PGliteTransaction | pg.PoolClient, counter: SqlCounter): Tx {
  let db: Db | undefined;
  const query = rawQuery(client, counter);
  let depth = 0;
  return {
    // Created on first use: most transactions only send raw SQL.
    get db() {
      return (db ??= drizzleOn(client, counter));
    },
    query,
    copyFrom:
      client instanceof pg.Client
        ? async (text, data) => {
            counter.record(text);
            const source = Readable.from(typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data);
            await pipeline(source, (client as pg.PoolClient).query(copyFromStdin(text)));
          }
        : undefined,
    async savepoint(fn, name = 'plantgraph_sp') {
      const sp = depth === 0 ? name : `${name}_${depth}`;
      depth++;
      await query(`savepoint ${sp}`);
      try {
        const result = await fn();
        await query(`release savepoint ${sp}`);
        return result;
      } catch (err) {
        await query(`rollback to savepoint ${sp}`);
        throw err;
      } finally {
        depth--;
      }
    },
  };
}

/** A pooled client's backend process ID (pg sets it at connect; its types leave it out). */
const backendPid = (client: pg.PoolClient) => (client as unknown as { processID: number }).processID;

/** A statement error the server reported (with a SQLSTATE) leaves the connection usable; anything else may not. */
const connectionBroken = (err: unknown) => !(err instanceof Error && typeof (err as { code?: unknown }).code === 'string');

/**
 * Within a statement budget (a request with a deadline, see deadline.ts), `pool.query` takes a client itself, as
 * pg-pool does, so that the budget knows which backend runs the statement and can cancel it at the deadline; the
 * client goes back to the pool only after any cancel request for it. Without a budget nothing changes.
 */
function trackBudgetedStatements(pool: pg.Pool): void {
  const plain = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  // The callback form of connect hands over an idle connection in this turn and the statement is sent at once, before
  // the caller goes on with other synchronous work (awaiting the promise form would wait for every microtask queued
  // before it: a GraphQL walk over a large tree, say).
  const withinBudget = (budget: StatementBudget, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      pool.connect((err, client) => {
        if (err || !client) {
          reject(err ?? new Error('no connection'));
          return;
        }
        let untrack: (() => Promise<void>) | undefined;
        const finish = async (failure: unknown, result?: unknown) => {
          await untrack?.().catch(() => {});
          client.release(failure !== undefined && connectionBroken(failure) ? (failure as Error) : undefined);
          if (failure !== undefined) reject(failure);
          else resolve(result);
        };
        try {
          budget.check(); // the wait for a free connection may have used up the time
          untrack = budget.track(backendPid(client));
          (client.query as (...a: unknown[]) => Promise<unknown>)(...args).then(
            (result) => finish(undefined, result),
            (e: unknown) => finish(e),
          );
        } catch (e) {
          void finish(e);
        }
      });
    });
  pool.query = ((...args: unknown[]) => {
    const budget = currentStatementBudget();
    if (!budget || typeof args[args.length - 1] === 'function') return plain(...args);
    return withinBudget(budget, args);
  }) as typeof pool.query;
}

/** The first connection, so that a missing database or an unreachable server is one clear line at start-up. */
async function checkReachable(pool: pg.Pool, url: string): Promise<void> {
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => {});
    const e = err as NodeJS.ErrnoException;
    let name = '';
    try {
      name = decodeURIComponent(new URL(url).pathname.slice(1));
    } catch {}
    if (e.code === '3D000')
      throw new StartupError(
        `the PostgreSQL database "${name}" does not exist at ${redactUrl(url)}; create it with \`createdb ${name}\` (or fix DATABASE_URL)`,
      );
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EHOSTUNREACH' || e.code === 'ETIMEDOUT')
      throw new StartupError(`cannot reach PostgreSQL at ${redactUrl(url)} (${e.code}); is it running? (or fix DATABASE_URL)`);
    if (e.code === '28P01' || e.code === '28000') throw new StartupError(`PostgreSQL refused the login at ${redactUrl(url)}: ${e.message}`);
    throw err;
  }
}

/** How long making a new PostgreSQL connection may take before the request fails as SERVICE_UNAVAILABLE. */
export const CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long a request waits for a connection of the pool when all are busy. Far longer than a connect: a burst of
 * work (10,000 subscribers subscribing at once) queues for seconds on a healthy database, and must not read as the
 * database being away. A queue that does not move for this long does fail, retryable.
 */
export const POOL_WAIT_TIMEOUT_MS = 30_000;

/** A pool client whose connect gives up after CONNECT_TIMEOUT_MS (pg's own timer: "connection timeout"). */
class BoundedConnectClient extends pg.Client {
  constructor(config?: pg.ClientConfig) {
    super({ ...config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  }
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  const sql = new SqlCounter();
  if (options.databaseUrl) {
    const url = options.databaseUrl;
    // A connection that cannot be made in 10 s fails (a stalled or unreachable server) instead of holding the request;
    // waiting for a busy pool is bounded separately and far longer (POOL_WAIT_TIMEOUT_MS); keep-alive notices a peer
    // that vanished without closing the connection.
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      Client: BoundedConnectClient,
      connectionTimeoutMillis: POOL_WAIT_TIMEOUT_MS,
      keepAlive: true,
    });
    // An idle client that loses its connection emits 'error' on the pool; without a handler the process dies.
    pool.on('error', () => {});
    // A connection can fail more than once (a cut, then the end of the socket); the pool listens only for the first,
    // so every client gets its own listener: the error reaches the statement that was running, never the process.
    pool.on('connect', (client) => client.on('error', () => {}));
    trackBudgetedStatements(pool);
    await checkReachable(pool, url);
    return {
      db: drizzleOn(pool, sql),
      kind: 'postgres',
      location: redactUrl(options.databaseUrl),
      sql,
      pool,
      query: rawQuery(pool, sql),
      async transaction(fn) {
        const client = await pool.connect();
        let broken = false;
        const untrack = currentStatementBudget()?.track(backendPid(client));
        try {
          sql.record('begin');
          await client.query('begin');
          const result = await fn(makeTx(client, sql));
          sql.record('commit');
          await client.query('commit');
          return result;
        } catch (err) {
          try {
            await client.query('rollback');
          } catch {
            broken = true;
          }
          throw err;
        } finally {
          await untrack?.();
          client.release(broken);
        }
      },
      async cancel(pids) {
        if (pids.length === 0) return;
        const client = new pg.Client({ connectionString: url });
        client.on('error', () => {});
        await client.connect();
        try {
          await client.query('select pg_cancel_backend(p) from unnest($1::text::int[]) p', [intArray(pids)]);
        } finally {
          await client.end().catch(() => {});
        }
      },
      async ping() {
        await pool.query('select 1');
      },
      async close() {
        await pool.end();
      },
    };
  }
  const dataDir = options.dataDir ?? 'memory://';
  // One process per data directory: two PGlite instances on the same files diverge and lose one side's writes.
  const lock = dataDir.startsWith('memory://') ? null : lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    pglite = new PGlite(dataDir, {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${options.sharedBuffersMb ?? PGLITE_SHARED_BUFFERS_MB}MB`],
    });
    await pglite.waitReady;
  } catch (err) {
    lock?.release();
    throw err;
  }
  return {
    db: drizzleOn(pglite, sql),
    kind: 'pglite',
    location: dataDir,
    sql,
    query: rawQuery(pglite, sql),
    // PGlite has one connection: while a transaction is open, queries outside it wait for it to end.
    transaction: (fn) => pglite.transaction((t) => fn(makeTx(t, sql))),
    async ping() {
      await pglite.query('select 1');
    },
    async close() {
      try {
        await pglite.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/** Applies the committed drizzle-kit migrations; on PostgreSQL under an advisory lock so that processes can start together. */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as never, { migrationsFolder });
    return;
  }
  const client = await database.pool!.connect();
  try {
    await client.query('select pg_advisory_lock(7215001)');
    try {
      await migratePg(drizzleOn(client) as never, { migrationsFolder });
    } finally {
      await client.query('select pg_advisory_unlock(7215001)');
    }
  } finally {
    client.release();
  }
}

/** True when every committed migration has been applied (for /ready). */
export async function migrationsApplied(database: Database): Promise<boolean> {
  const dirs = fs.readdirSync(migrationsFolder).filter((d) => fs.statSync(path.join(migrationsFolder, d)).isDirectory());
  try {
    const rows = await database.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations');
    return Number(rows[0]?.n ?? 0) >= dirs.length;
  } catch {
    return false;
  }
}
