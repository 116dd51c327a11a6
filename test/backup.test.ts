// Backups (README, Backups): `npm run backup` / `npm run restore` (scripts/backup.mjs) round-trip every table, row
// for row: PostgreSQL through pg_dump/pg_restore into a fresh database, the embedded database through a dump of its
// stopped data directory into a new one. A backup of a data directory that a running server holds is refused, and a
// restore over a non-empty directory too; neither leaves anything behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Database, migrateDatabase, openDatabase } from '../src/db/client.ts';
import { seedDemo } from '../src/sim/seed.ts';
import { ADMIN_PG_URL, after, before, createTestDatabase, describe, it, testBackends, USER_TABLES } from './helpers.ts';

const SCRIPT = path.join(import.meta.dirname, '..', 'scripts', 'backup.mjs');

function script(command: 'backup' | 'restore', file: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [SCRIPT, command, file], { env: { ...process.env, DATABASE_URL: '', ...env }, encoding: 'utf8', timeout: 120_000 });
}

/** Every user table's rows as one digest each (the text of every row, sorted). */
async function digest(database: Database): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of USER_TABLES) {
    const [r] = await database.query<{ n: number; h: string }>(
      `select count(*)::int as n, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as h from "${table}" t`,
    );
    out[table] = `${r.n}:${r.h}`;
  }
  return out;
}

for (const backend of testBackends()) {
  describe(`backup and restore [${backend}]`, () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-backup-'));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    if (backend === 'pglite') {
      it('the embedded database: a stopped data directory round-trips every table; a running one is refused, a non-empty target too', async () => {
        const source = path.join(tmp, 'source');
        const db = await openDatabase({ dataDir: source });
        await migrateDatabase(db);
        await seedDemo(db, new Date());
        const before = await digest(db);
        assert.ok(Number(before.machines.split(':')[0]) > 0);
        // While a server holds the directory, the backup is refused and writes nothing.
        const refused = script('backup', path.join(tmp, 'busy.tar.gz'), { PLANTGRAPH_DATA_DIR: source });
        assert.equal(refused.status, 1, refused.stderr);
        assert.match(refused.stderr, /is using .*stop it first/);
        assert.equal(fs.existsSync(path.join(tmp, 'busy.tar.gz')) || fs.existsSync(path.join(tmp, 'busy.tar.gz.partial')), false);
        await db.close();
        const file = path.join(tmp, 'plant.tar.gz');
        const backup = script('backup', file, { PLANTGRAPH_DATA_DIR: source });
        assert.equal(backup.status, 0, backup.stderr);
        const target = path.join(tmp, 'restored');
        const restore = script('restore', file, { PLANTGRAPH_DATA_DIR: target });
        assert.equal(restore.status, 0, restore.stderr);
        const restored = await openDatabase({ dataDir: target });
        try {
          assert.deepEqual(await digest(restored), before);
        } finally {
          await restored.close();
        }
        const again = script('restore', file, { PLANTGRAPH_DATA_DIR: target });
        assert.equal(again.status, 1);
        assert.match(again.stderr, /not empty/);
      });
    } else {
      let source: Awaited<ReturnType<typeof createTestDatabase>>;
      const targetName = `plantgraph_restore_${process.pid}_${Date.now()}`;
      before(async () => {
        source = await createTestDatabase('postgres');
        await seedDemo(source.database, new Date());
      });
      after(async () => {
        await source.drop();
        const a = new pg.Client({ connectionString: ADMIN_PG_URL });
        await a.connect();
        await a.query(`drop database if exists "${targetName}" with (force)`);
        await a.end();
      });
      it('PostgreSQL: pg_dump while running, pg_restore into a fresh database, every table row for row', async () => {
        const before = await digest(source.database);
        const file = path.join(tmp, 'plant.dump');
        const backup = script('backup', file, { DATABASE_URL: source.url! });
        assert.equal(backup.status, 0, backup.stderr);
        const a = new pg.Client({ connectionString: ADMIN_PG_URL });
        await a.connect();
        await a.query(`create database "${targetName}"`);
        await a.end();
        const u = new URL(ADMIN_PG_URL);
        u.pathname = `/${targetName}`;
        const restore = script('restore', file, { DATABASE_URL: u.toString() });
        assert.equal(restore.status, 0, restore.stderr);
        const restored = await openDatabase({ databaseUrl: u.toString(), poolSize: 2 });
        try {
          assert.deepEqual(await digest(restored), before);
          // The restored database is usable as it is: migrations are recorded, nothing to apply.
          await migrateDatabase(restored);
          assert.deepEqual(await digest(restored), before);
        } finally {
          await restored.close();
        }
      });
    }
  });
}
