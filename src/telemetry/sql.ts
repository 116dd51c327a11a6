import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFromStdin } from 'pg-copy-streams';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { Database, Db } from '../db/client.ts';
import { relations } from '../db/relations.ts';

/**
 * Raw SQL within one transaction on either driver. Telemetry code writes set-based SQL (unnest, CTEs, COPY) that
 * the query builder does not express; every statement is still counted in `database.sql`.
 */
export interface RawTx {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** COPY ... FROM STDIN with the data whole or as chunks produced while earlier ones are sent
   * (PostgreSQL only; undefined on PGlite). */
  copyFrom?: (text: string, data: string | Buffer | Iterable<string | Buffer>) => Promise<void>;
  /** A drizzle handle on this same transaction (created on first use). */
  db(): Db;
}

export async function withTransaction<T>(database: Database, fn: (tx: RawTx) => Promise<T>): Promise<T> {
  const counter = database.sql;
  if (database.kind === 'pglite') {
    return database.pglite!.transaction(async (t) => {
      let db: Db | undefined;
      return fn({
        async query(text, params) {
          counter.record(text);
          return (await t.query(text, params as unknown[])).rows as never[];
        },
        db: () => (db ??= drizzlePglite({ client: t as never, relations, logger: { logQuery: (q) => counter.record(q) } }) as unknown as Db),
      });
    });
  }
  const client = await database.pool!.connect();
  let broken = false;
  try {
    counter.record('begin');
    await client.query('begin');
    let db: Db | undefined;
    const tx: RawTx = {
      db: () => (db ??= drizzlePg({ client, relations, logger: { logQuery: (q) => counter.record(q) } }) as unknown as Db),
      async query(text, params) {
        counter.record(text);
        return (await client.query(text, params as unknown[])).rows;
      },
      async copyFrom(text, data) {
        counter.record(text);
        await pipeline(Readable.from(typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data), client.query(copyFromStdin(text)));
      },
    };
    const result = await fn(tx);
    counter.record('commit');
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
    client.release(broken);
  }
}

/** Positional parameters go as text array literals and are cast in SQL (`$1::text::int[]`): fast to build, and
 * the same on both drivers. */
export function intArray(values: ArrayLike<number>): string {
  return `{${Array.prototype.join.call(values, ',')}}`;
}

export function floatArray(values: ArrayLike<number>): string {
  return `{${Array.prototype.join.call(values, ',')}}`;
}

const NEEDS_ESCAPE = /["\\]/g;

export function textArray(values: readonly string[]): string {
  const parts = new Array<string>(values.length);
  // Repeated strings (metric names) are escaped once.
  let last = '';
  let lastQuoted = '""';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== last || i === 0) {
      last = v;
      lastQuoted = `"${v.replace(NEEDS_ESCAPE, '\\$&')}"`;
    }
    parts[i] = lastQuoted;
  }
  return `{${parts.join(',')}}`;
}

export const DAY_MS = 86_400_000;
