import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from './helpers.ts';

/**
 * The layering of src/ (see README, Architecture): dependencies point down, db <- twin <- telemetry <- alerts, with
 * sim and graphql on top, and only the twin (and the db schema) read the twin tables. A new folder must be placed
 * in LAYERS before anything may import it.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

/** What each part of src/ may import (besides itself and npm packages). */
const KERNEL = ['config.ts', 'logger.ts', 'metrics.ts', 'core'];
const LAYERS: Record<string, string[]> = {
  core: [],
  'config.ts': ['logger.ts'],
  'logger.ts': [],
  'metrics.ts': ['db'],
  db: ['core'],
  pubsub: [...KERNEL],
  events: [...KERNEL, 'db'],
  twin: [...KERNEL, 'db', 'events', 'pubsub'],
  auth: [...KERNEL, 'db', 'twin'],
  telemetry: [...KERNEL, 'db', 'events', 'pubsub', 'twin'],
  alerts: [...KERNEL, 'db', 'events', 'pubsub', 'twin', 'telemetry'],
  jobs: [...KERNEL, 'db', 'events', 'pubsub'],
  predict: [...KERNEL, 'db', 'events', 'pubsub', 'twin', 'telemetry', 'jobs'],
  optimize: [...KERNEL, 'db', 'events', 'pubsub', 'twin', 'telemetry', 'alerts', 'jobs', 'predict'],
  scenario: [...KERNEL, 'db', 'events', 'pubsub', 'twin', 'telemetry', 'alerts', 'jobs', 'predict', 'optimize'],
  sim: [...KERNEL, 'db', 'events', 'pubsub', 'twin', 'telemetry', 'alerts', 'jobs', 'predict', 'services.ts'],
  graphql: ['*'],
  'services.ts': ['*'],
  'app.ts': ['*'],
  'main.ts': ['*'],
};

/** The twin tables, by SQL name and by drizzle export. */
const TWIN_TABLES = ['plants', 'lines', 'machines', 'products', 'routing_steps', 'routing_step_machines', 'orders'];
const TWIN_EXPORTS = ['plants', 'lines', 'machines', 'products', 'routingSteps', 'routingStepMachines', 'orders'];
/** May read the twin tables: the twin itself, the schema, and the GraphQL adapter, which compiles nested twin
 * selections to one SQL statement per root field through the drizzle plugin. */
const TWIN_READERS = ['twin', 'db', 'graphql'];

function files(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** The top-level part of src/ a file belongs to: its folder, or the file itself at the top. */
const partOf = (file: string) => path.relative(root, file).split(path.sep)[0];

function imports(source: string): { spec: string; names: string }[] {
  const out: { spec: string; names: string }[] = [];
  for (const m of source.matchAll(/(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g)) out.push({ spec: m[3], names: m[2] });
  for (const m of source.matchAll(/import\s*\(?\s*['"]([^'"]+)['"]/g)) out.push({ spec: m[1], names: '' });
  return out;
}

interface Edge {
  from: string;
  to: string;
  names: string;
}

function edges(list: string[]): Edge[] {
  return list.flatMap((file) =>
    imports(fs.readFileSync(file, 'utf8'))
      .filter((i) => i.spec.startsWith('.'))
      .map((i) => ({ from: file, to: path.resolve(path.dirname(file), i.spec), names: i.names })),
  );
}

function violations(all: Edge[]): string[] {
  const out: string[] = [];
  for (const e of all) {
    const from = partOf(e.from);
    const to = partOf(e.to);
    if (from === to) continue;
    const allowed = LAYERS[from];
    if (!allowed) out.push(`${path.relative(root, e.from)}: ${from} is not placed in LAYERS`);
    else if (!allowed.includes('*') && !allowed.includes(to))
      out.push(`${path.relative(root, e.from)} imports ${path.relative(root, e.to)} (${from} may not depend on ${to})`);
  }
  return out;
}

function twinReads(list: string[]): string[] {
  const out: string[] = [];
  const sqlRead = new RegExp(`\\b(from|join|update|into)\\s+"?(${TWIN_TABLES.join('|')})"?\\b`, 'i');
  const drizzleRead = new RegExp(`\\b(${TWIN_EXPORTS.join('|')})\\b`);
  const relational = new RegExp(`\\.query\\.(${TWIN_EXPORTS.join('|')})\\b`);
  for (const file of list) {
    if (TWIN_READERS.includes(partOf(file))) continue;
    const source = fs.readFileSync(file, 'utf8');
    const rel = path.relative(root, file);
    for (const line of source.split('\n')) {
      if (/^\s*(\/\/|\*)/.test(line)) continue;
      if (sqlRead.test(line) && /[`'"]/.test(line)) out.push(`${rel}: SQL on a twin table: ${line.trim()}`);
      if (relational.test(line)) out.push(`${rel}: relational query on a twin table: ${line.trim()}`);
    }
    for (const i of imports(source)) {
      if (i.spec.endsWith('db/schema/index.ts') || /db\/schema\/twin\.ts$/.test(i.spec)) {
        const names = i.names
          .replace(/[{}]/g, '')
          .split(',')
          .map((n) => n.trim().replace(/^type\s+/, ''));
        for (const n of names) if (drizzleRead.test(n) && TWIN_EXPORTS.includes(n)) out.push(`${rel}: imports the twin table ${n}`);
      }
    }
  }
  return out;
}

describe('layering of src/', () => {
  const all = files(root);

  it('every import points down the layers', () => {
    assert.deepEqual(violations(edges(all)), []);
  });

  it('only the twin reads the twin tables (no capability queries plants, lines, machines, products, routings or orders)', () => {
    assert.deepEqual(twinReads(all), []);
  });

  it('the checks can fail: an upward import and a twin-table read are caught', () => {
    const twinFile = path.join(root, 'twin', 'x.ts');
    const bad: Edge[] = [
      { from: twinFile, to: path.join(root, 'telemetry', 'ingest.ts'), names: '' },
      { from: path.join(root, 'db', 'client.ts'), to: path.join(root, 'alerts', 'rules.ts'), names: '' },
      { from: path.join(root, 'alerts', 'x.ts'), to: path.join(root, 'graphql', 'builder.ts'), names: '' },
    ];
    assert.equal(violations(bad).length, 3);
    const tmp = path.join(root, 'telemetry', `__layer_probe_${process.pid}.ts`);
    fs.writeFileSync(tmp, "import { machines } from '../db/schema/index.ts';\nconst q = 'select id from machines where id = 1';\n");
    try {
      assert.equal(twinReads([tmp]).length, 2);
    } finally {
      fs.rmSync(tmp);
    }
  });
});
