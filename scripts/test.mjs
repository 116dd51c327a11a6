// Runs the whole suite once, with every suite on each backend: embedded PGlite and PostgreSQL.
// PostgreSQL is TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); each suite creates and drops its
// own database. Outside CI, an unreachable PostgreSQL is skipped with a warning; in CI (CI=true) it is an error.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

const url = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
let backends = process.env.PLANTGRAPH_TEST_BACKENDS || 'pglite,postgres';
if (backends.includes('postgres')) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
  } catch (err) {
    if (process.env.CI) {
      console.error(`PostgreSQL at ${url} is not reachable (${err.message}); CI must test on PostgreSQL.`);
      process.exit(1);
    }
    console.warn(`WARNING: PostgreSQL at ${url} is not reachable (${err.message}); running on PGlite only.`);
    backends = backends
      .split(',')
      .filter((b) => b !== 'postgres')
      .join(',');
  }
}

const only = process.argv.slice(2);
const files =
  only.length > 0
    ? only
    : fs
        .readdirSync('test')
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
        .map((f) => path.join('test', f));

// Test order inside each describe (see test/helpers.ts): declared, reverse or shuffle:<seed>; `shuffle` picks a seed.
let order = process.env.PLANTGRAPH_TEST_ORDER || 'declared';
if (order === 'shuffle') order = `shuffle:${Math.floor(Math.random() * 1e9)}`;
if (!/^(declared|reverse|shuffle:\d{1,15})$/.test(order)) {
  console.error(`PLANTGRAPH_TEST_ORDER must be declared, reverse, shuffle or shuffle:<seed>, not ${JSON.stringify(order)}`);
  process.exit(2);
}
// The order applies only to tests registered through test/helpers.ts.
const direct = files.filter((f) => /import\s*\{[^}]*\b(describe|it)\b[^}]*\}\s*from\s*'node:test'/.test(fs.readFileSync(f, 'utf8')));
if (direct.length > 0) {
  console.error(`${direct.join(', ')}: import describe and it from './helpers.ts', not 'node:test', so PLANTGRAPH_TEST_ORDER applies`);
  process.exit(2);
}

console.log(`backends: ${backends}; ${files.length} test files; test order: ${order} (rerun with PLANTGRAPH_TEST_ORDER=${order})`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, PLANTGRAPH_TEST_BACKENDS: backends, PLANTGRAPH_TEST_ORDER: order, LOG_LEVEL: process.env.LOG_LEVEL || 'silent' },
});
if (order !== 'declared') console.log(`test order was ${order}`);
process.exit(r.status ?? 1);
