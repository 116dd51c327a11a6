import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Kind, parse } from 'graphql';
import { seedDemoHistory } from '../src/sim/demo-history.ts';
import { after, before, createTestApp, describe, it, makeKey, type TestApp, testBackends } from './helpers.ts';

/**
 * Every GraphQL example of the README, run as written against the demo (its plant and its last 24 hours of history):
 * each ```graphql block, with the variables of the ```json block right after it if there is one. A block with more
 * than one operation must name them all, and each operation runs on its own by name. An example fails on any GraphQL
 * error and on any result whose __typename is an error type. The one thing that is not as pasted: the demo history
 * is the 24 hours before the server's first start, so the `from`/`to` variables of an example are moved by the same
 * amount to end where this test's demo ends (the README says so next to them); everything else is sent unchanged.
 */
interface Example {
  line: number;
  text: string;
  variables?: Record<string, unknown>;
}

function readmeExamples(): Example[] {
  const lines = readFileSync(new URL('../README.md', import.meta.url), 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```graphql') continue;
    const start = i + 1;
    let end = start;
    while (lines[end].trim() !== '```') end++;
    const ex: Example = { line: start, text: lines.slice(start, end).join('\n') };
    // A ```json block after it (only a short paragraph of prose between) holds its variables.
    let j = end + 1;
    while (j < lines.length && j <= end + 8 && lines[j].trim() !== '```json' && !lines[j].startsWith('```')) j++;
    if (lines[j]?.trim() === '```json') {
      let k = j + 1;
      while (lines[k].trim() !== '```') k++;
      ex.variables = JSON.parse(lines.slice(j + 1, k).join('\n'));
    }
    out.push(ex);
    i = end;
  }
  return out;
}

/** __typename values anywhere in a result that name an error type. */
function errorTypenames(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => errorTypenames(x, `${path}[${i}]`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) =>
    k === '__typename' && typeof x === 'string' && x.endsWith('Error') ? [`${path}: ${x}`] : errorTypenames(x, `${path}.${k}`),
  );
}

/** Moves the example's time window (from/to variables) so that it ends where the demo history ends, keeping its length. */
function shiftWindow(vars: Record<string, unknown> | undefined, demoEnd: number): Record<string, unknown> | undefined {
  if (!vars || typeof vars.to !== 'string') return vars;
  const delta = demoEnd - Date.parse(vars.to);
  const out = { ...vars };
  for (const k of ['from', 'to']) if (typeof out[k] === 'string') out[k] = new Date(Date.parse(out[k] as string) + delta).toISOString();
  return out;
}

describe('README examples', () => {
  it('has GraphQL examples, each parses, and blocks with several operations name every one', () => {
    const examples = readmeExamples();
    assert.ok(examples.length >= 6, `found ${examples.length} examples`);
    for (const ex of examples) {
      const ops = parse(ex.text).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
      assert.ok(ops.length >= 1, `README line ${ex.line}: no operation`);
      if (ops.length > 1) for (const op of ops) assert.ok(op.name, `README line ${ex.line}: a block of ${ops.length} operations has an unnamed one`);
    }
  });
});

for (const backend of testBackends()) {
  describe(`README examples run as pasted on the demo [${backend}]`, () => {
    let app: TestApp;
    let demoEnd: number;
    before(async () => {
      app = await createTestApp(backend);
      const plant = await app.database.db.query.plants.findFirst({ orderBy: { id: 'asc' } });
      assert.ok(plant, 'the demo plant is seeded');
      demoEnd = Math.floor(app.services.clock.now().getTime() / 60_000) * 60_000;
      await seedDemoHistory(app.services, plant.id);
      // As on a first start, where the bootstrap ADMIN key is ApiKey:1 and the README's new key is ApiKey:2.
      await makeKey(app, 'bootstrap stand-in', 'ADMIN');
    });
    after(async () => {
      await app.close();
    });

    it('every operation of every example runs without an error, in README order', async (t) => {
      let ran = 0;
      for (const ex of readmeExamples()) {
        const ops = parse(ex.text).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
        for (const op of ops) {
          const name = op.name?.value;
          const res = await app.yoga.fetch('http://localhost/graphql', {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: 'application/graphql-response+json',
              authorization: 'Bearer test-admin-key-0123456789abcdef',
            },
            body: JSON.stringify({ query: ex.text, variables: shiftWindow(ex.variables, demoEnd), operationName: name }),
          });
          const body = (await res.json()) as { data?: unknown; errors?: unknown };
          const where = `README line ${ex.line}${name ? ` (${name})` : ''}`;
          assert.equal(body.errors, undefined, `${where}: ${JSON.stringify(body.errors)}`);
          assert.deepEqual(errorTypenames(body.data), [], `${where}: ${JSON.stringify(body.data)}`);
          ran++;
        }
      }
      t.diagnostic(`ran ${ran} operations`);
    });

    it('the read example finds demo data: the metric names are real and the window holds points and KPIs', async () => {
      const ex = readmeExamples().find((e) => e.text.includes('telemetry(metric:'));
      assert.ok(ex, 'the README has a telemetry read example');
      const r = await app.gql(ex.text, shiftWindow(ex.variables, demoEnd));
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const machines = r.body.data.plant.machines as any[];
      assert.ok(machines.length > 0);
      for (const m of machines) {
        assert.notEqual(m.latest, null, `${m.name}: latest is null (a metric the demo does not report?)`);
        assert.ok(
          m.telemetry.some((b: any) => b.count > 0),
          `${m.name}: no point in the window`,
        );
      }
      assert.notEqual(r.body.data.plant.kpis.availability, null);
    });
  });
}
