// Backup and restore of PlantGraph's database (README, Backups).
//
//   npm run backup -- <file>      PostgreSQL (DATABASE_URL set): pg_dump's custom format, taken while the server runs.
//                                 Embedded (PGlite, PLANTGRAPH_DATA_DIR, default ./data): a gzipped tar of the data
//                                 directory, taken while the server is stopped (its lock file says if it runs).
//   npm run restore -- <file>     PostgreSQL: pg_restore into DATABASE_URL, which must be an empty database (create it
//                                 with createdb). Embedded: unpacks into PLANTGRAPH_DATA_DIR, which must not exist or
//                                 be empty.
//
// Exit codes: 0 done, 1 refused or failed (the reason on stderr, nothing half-done: a backup goes to <file>.partial
// and is renamed when complete; an embedded restore goes to a sibling directory renamed at the end).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [command, file] = process.argv.slice(2);
const fail = (message) => {
  console.error(`plantgraph ${command ?? ''}: ${message}`);
  process.exit(1);
};
if ((command !== 'backup' && command !== 'restore') || !file) fail('usage: node scripts/backup.mjs backup|restore <file>');
const url = process.env.DATABASE_URL || '';
const dataDir = path.resolve(process.env.PLANTGRAPH_DATA_DIR || './data');

/** A data directory is in use when its lock file names a live process. */
function inUse(dir) {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'plantgraph.lock'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return err?.code === 'EPERM' ? -1 : null;
  }
}

function run(bin, args) {
  const r = spawnSync(bin, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.error) fail(`${bin}: ${r.error.message}`);
  if (r.status !== 0) fail(`${bin} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
}

if (url) {
  if (command === 'backup') {
    run('pg_dump', ['--format=custom', '--no-owner', `--file=${file}.partial`, url]);
    fs.renameSync(`${file}.partial`, file);
  } else {
    if (!fs.existsSync(file)) fail(`no such file ${file}`);
    run('pg_restore', ['--no-owner', '--exit-on-error', '--single-transaction', `--dbname=${url}`, file]);
  }
} else {
  const { PGlite } = await import('@electric-sql/pglite');
  if (command === 'backup') {
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) fail(`${dataDir} is not a PlantGraph data directory`);
    const pid = inUse(dataDir);
    if (pid) fail(`the server (PID ${pid}) is using ${dataDir}; stop it first (or back up PostgreSQL with DATABASE_URL)`);
    const db = new PGlite(dataDir);
    await db.waitReady;
    const blob = await db.dumpDataDir('gzip');
    await db.close();
    fs.writeFileSync(`${file}.partial`, Buffer.from(await blob.arrayBuffer()));
    fs.renameSync(`${file}.partial`, file);
  } else {
    if (!fs.existsSync(file)) fail(`no such file ${file}`);
    if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) fail(`${dataDir} is not empty; restore into a new PLANTGRAPH_DATA_DIR`);
    const staging = `${dataDir}.restoring-${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    const db = new PGlite(staging, { loadDataDir: new Blob([fs.readFileSync(file)]) });
    await db.waitReady;
    await db.query('select 1');
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.renameSync(staging, dataDir);
  }
}
console.log(`plantgraph ${command}: done (${url ? 'PostgreSQL' : dataDir} ${command === 'backup' ? '→' : '←'} ${file})`);
