import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgAsyncDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { relations, type Relations } from './relations.ts';

export type Db = PgAsyncDatabase<PgQueryResultHKT, Relations>;

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Counts every SQL statement sent through drizzle; tests and /metrics read it. */
export class SqlCounter {
  count = 0;
  private listeners = new Set<(sql: string) => void>();
  onStatement(fn: (sql: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  record(sql: string): void {
    this.count++;
    for (const fn of this.listeners) fn(sql);
  }
}

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Where the data lives, safe to print (no password). */
  location: string;
  sql: SqlCounter;
  /** The pg pool when on PostgreSQL (for LISTEN/NOTIFY, COPY). */
  pool?: pg.Pool;
  /** The embedded PGlite instance when embedded. */
  pglite?: PGlite;
  /** Run raw SQL with positional parameters; rows come back as plain objects. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  /** PGlite data directory; 'memory://' keeps everything in memory. */
  dataDir?: string;
  poolSize?: number;
}

function counterLogger(counter: SqlCounter): DrizzleLogger {
  return { logQuery: (query) => counter.record(query) };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  const sql = new SqlCounter();
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // An idle client that loses its connection emits 'error' on the pool; without a handler the process dies.
    pool.on('error', () => {});
    const db = drizzlePg({ client: pool, relations, logger: counterLogger(sql) }) as unknown as Db;
    return {
      db,
      kind: 'postgres',
      location: redactUrl(options.databaseUrl),
      sql,
      pool,
      async query(text, params) {
        sql.record(text);
        const r = await pool.query(text, params as unknown[]);
        return r.rows;
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
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  const pglite = new PGlite(dataDir);
  await pglite.waitReady;
  const db = drizzlePglite({ client: pglite, relations, logger: counterLogger(sql) }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    location: dataDir,
    sql,
    pglite,
    async query(text, params) {
      sql.record(text);
      const r = await pglite.query(text, params as unknown[]);
      return r.rows as never[];
    },
    async ping() {
      await pglite.query('select 1');
    },
    async close() {
      await pglite.close();
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
      await migratePg(drizzlePg({ client, relations }) as never, { migrationsFolder });
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
