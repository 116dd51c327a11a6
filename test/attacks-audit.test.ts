import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Database } from '../src/db/client.ts';
import { startServer } from '../src/graphql/server.ts';
import {
  AUDITED,
  after,
  as,
  before,
  createTestApp,
  describe,
  it,
  makeKey,
  subscribe,
  TEST_ADMIN_KEY,
  type TestApp,
  testBackends,
  unchanged,
} from './helpers.ts';

/**
 * Attacks from issue 9 on the audit log and on text input: a mutation escaping its audit entry, entries bloated by
 * any key, text no column can store, and errors that list every problem or echo huge input.
 */

const KEY = `mutation MakeKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeySuccess { apiKey { id name } } ... on Error { code message } } }`;
const IMPORT = `mutation Import($input: PlantImportInput!) { importPlant(input: $input) { __typename ... on ValidationError { message fieldErrors { path message } } } }`;

interface Entry {
  id: number;
  key_name: string;
  operation: string;
  fields: string[];
  variables: any;
  outcome: string;
}
const lastEntry = async (database: Database): Promise<Entry> =>
  (await database.query<Entry>('select id, key_name, operation, fields, variables, outcome from audit_log order by id desc limit 1'))[0];
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
const KiB = 1024;

for (const backend of testBackends()) {
  describe(`attacks on the audit log [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false });
    });
    after(() => app.close());

    it('an undeclared NUL variable no longer lets a mutation escape the audit log: it is dropped, key and entry commit together', async () => {
      const r = await unchanged(app.database, () => app.gql(KEY, { input: { name: 'escape-nul', role: 'ADMIN' }, x: '\u0000', y: { 'k\u0000': 1 } }), {
        api_keys: 1,
        audit_log: 1,
      });
      assert.equal(r.body.data?.createApiKey?.__typename, 'CreateApiKeySuccess', JSON.stringify(r.body));
      const entry = await lastEntry(app.database);
      assert.deepEqual(
        { key: entry.key_name, operation: entry.operation, fields: entry.fields, variables: entry.variables, outcome: entry.outcome },
        {
          key: 'PLANTGRAPH_ADMIN_KEY',
          operation: 'MakeKey',
          fields: ['createApiKey'],
          variables: { input: { name: 'escape-nul', role: 'ADMIN' } },
          outcome: 'OK',
        },
        'the undeclared variables reach neither execution nor the entry',
      );
    });

    it('a lone surrogate or a NUL in a used variable is refused before execution: only its storable audit entry is written', async () => {
      for (const [name, shown] of [
        ['a\ud800b', 'a\ufffdb'],
        ['a\udc00', 'a\ufffd'],
        ['nul\u0000', 'nul\ufffd'],
      ]) {
        const r = await unchanged(app.database, () => app.gql(KEY, { input: { name, role: 'ADMIN' } }), AUDITED);
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.errors[0].extensions.code, 'BAD_USER_INPUT');
        assert.equal(r.body.errors[0].extensions.inputPath, '$input.name');
        assert.match(r.body.errors[0].message, /^Variable \$input at \$input\.name contains a NUL character \(U\+0000\) or an unpaired UTF-16 surrogate/);
        const entry = await lastEntry(app.database);
        assert.equal(entry.outcome, 'BAD_USER_INPUT');
        assert.deepEqual(entry.variables, { input: { name: shown, role: 'ADMIN' } }, 'stored with U+FFFD in place of what cannot be stored');
      }
    });

    it('when the audit entry cannot be written, the mutation is not run: AUDIT_UNAVAILABLE and nothing changes', async () => {
      await app.database.query(
        `create or replace function refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'audit refused'; end $$`,
      );
      await app.database.query('create trigger refuse_audit_insert before insert on audit_log for each row execute function refuse_audit()');
      try {
        const r = await unchanged(app.database, () => app.gql(KEY, { input: { name: 'unaudited', role: 'ADMIN' } }));
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.errors[0].extensions.code, 'AUDIT_UNAVAILABLE');
        assert.match(r.body.errors[0].message, /audit log cannot be written, so the mutation was not run/);
        assert.equal(r.body.data ?? null, null);
      } finally {
        await app.database.query('drop trigger refuse_audit_insert on audit_log');
      }
      const keys = await app.database.query<{ n: number }>(`select count(*)::int as n from api_keys where name = 'unaudited'`);
      assert.equal(keys[0].n, 0);
    });

    it('when the outcome cannot be recorded, the mutation stands and its entry stays PENDING (an unknown outcome, not a lost one)', async () => {
      await app.database.query(
        `create or replace function refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'audit refused'; end $$`,
      );
      await app.database.query('create trigger refuse_audit_update before update on audit_log for each row execute function refuse_audit()');
      let r: { body: { data: any } };
      try {
        r = await unchanged(app.database, () => app.gql(KEY, { input: { name: 'pending-outcome', role: 'VIEWER' } }), { api_keys: 1, audit_log: 1 });
      } finally {
        await app.database.query('drop trigger refuse_audit_update on audit_log');
      }
      assert.equal(r.body.data.createApiKey.__typename, 'CreateApiKeySuccess');
      const entry = await lastEntry(app.database);
      assert.deepEqual([entry.operation, entry.outcome, entry.variables], ['MakeKey', 'PENDING', { input: { name: 'pending-outcome', role: 'VIEWER' } }]);
    });

    it('30 refused VIEWER mutations with a 4 MB undeclared variable, and 5 with a bloated declared one, add a few KiB each', async (t) => {
      const viewer = as(app, (await makeKey(app, 'bloater', 'VIEWER')).key);
      const size = async () => {
        const [row] = await app.database.query<{ relation: string; stored: string | null; n: number }>(
          `select pg_total_relation_size('audit_log')::text as relation, sum(octet_length(variables::text))::text as stored, count(*)::int as n from audit_log`,
        );
        return { relation: Number(row.relation), stored: Number(row.stored ?? 0), n: row.n };
      };
      const start = await size();
      // 4 MB that does not compress, as a 2 MiB string and an object of 45,000 keys (objects had no cap; "bulk": a key named like "keys" would be redacted).
      const junk = {
        text: randomBytes(1.5 * 1024 * 1024).toString('base64'),
        bulk: Object.fromEntries(Array.from({ length: 45_000 }, (_, i) => [`k${i}`, randomBytes(24).toString('base64')])),
      };
      const input = { name: 'never', lines: [{ name: 'L', machines: [{ name: 'M' }] }] };
      for (let i = 0; i < 30; i++) {
        const r = await unchanged(app.database, () => viewer(IMPORT, { input, junk }), AUDITED);
        assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN');
      }
      const afterUndeclared = await size();
      const undeclaredEntry = await lastEntry(app.database);
      // Declared, but within the per-item caps (100 items, 2,000 characters): 100 products x 100 steps x 25 machines.
      const products = Array.from({ length: 100 }, (_, i) => ({
        name: `P${i}`,
        routing: Array.from({ length: 100 }, () => ({
          machines: Array.from({ length: 25 }, (_, k) => `${randomBytes(3).toString('hex')}${k}`),
          minutesPerUnit: 1,
        })),
      }));
      const bloated = { ...input, products };
      const sent = bytes({ input: bloated });
      for (let i = 0; i < 5; i++) {
        const r = await unchanged(app.database, () => viewer(IMPORT, { input: bloated }), AUDITED);
        assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN');
      }
      const end = await size();
      const capped = await lastEntry(app.database);
      const perUndeclared = (afterUndeclared.relation - start.relation) / 30;
      const perDeclared = (end.relation - afterUndeclared.relation) / 5;
      t.diagnostic(
        `${backend}: audit_log grew ${afterUndeclared.relation - start.relation} bytes for 30 entries with ${bytes(junk)} bytes of undeclared variables (${Math.round(perUndeclared)} per entry, ` +
          `${Math.round((afterUndeclared.stored - start.stored) / 30)} bytes of variables each) and ${end.relation - afterUndeclared.relation} bytes for 5 entries with ` +
          `${sent} bytes of declared variables (${Math.round(perDeclared)} per entry, ${Math.round((end.stored - afterUndeclared.stored) / 5)} bytes of variables each)`,
      );
      assert.deepEqual(undeclaredEntry.variables, { input }, 'only the declared variable is stored');
      assert.match(capped.variables['[truncated]'], /^the variables took \d+ bytes as JSON; an audit entry keeps at most 16384$/);
      assert.equal(typeof capped.variables.preview, 'string');
      assert.ok(bytes(capped.variables) <= 16 * KiB, `${bytes(capped.variables)} bytes stored`);
      assert.ok((afterUndeclared.stored - start.stored) / 30 <= 1 * KiB, 'a stored entry of the undeclared case keeps only its small declared variable');
      assert.ok((end.stored - afterUndeclared.stored) / 5 <= 16 * KiB, 'at most 16 KiB of variables per entry');
      // Pages and TOAST chunks are allocated in steps of 8 KiB: generous bounds, far below the megabytes of before.
      assert.ok(perUndeclared <= 8 * KiB, `${perUndeclared} bytes per entry`);
      assert.ok(perDeclared <= 40 * KiB, `${perDeclared} bytes per entry`);
    });

    it('a mutation refused by the cost check is audited with storable, declared-only variables', async () => {
      // 25 pages of 500 orders: over the limit whatever the size of the twin (a connection costs its page).
      const page = 'orders(first: 500) { edges { node { id code quantity priority status dueAt releaseAt } } }';
      const pages = Array.from({ length: 25 }, (_, i) => `o${i}: ${page}`).join(' ');
      const M = `mutation Costly($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { ${pages} } } } }`;
      const r = await unchanged(app.database, () => app.gql(M, { input: { name: 'costly', lines: [] }, x: '\u0000' }), AUDITED);
      assert.equal(r.body.errors[0].extensions.code, 'QUERY_TOO_EXPENSIVE');
      const entry = await lastEntry(app.database);
      assert.deepEqual([entry.operation, entry.outcome, entry.variables], ['Costly', 'QUERY_TOO_EXPENSIVE', { input: { name: 'costly', lines: [] } }]);
    });
  });

  describe(`refused mutations and the rate limit [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_BURST: '3', PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '1' } });
    });
    after(() => app.close());

    it('each refused, audited mutation takes a token: after the burst the next is answered 429 and not audited', async () => {
      const viewer = as(app, (await makeKey(app, 'limited', 'VIEWER')).key);
      const input = { name: 'never', lines: [{ name: 'L', machines: [{ name: 'M' }] }] };
      for (let i = 0; i < 3; i++) {
        const r = await unchanged(app.database, () => viewer(IMPORT, { input, junk: 'x'.repeat(1000) }), AUDITED);
        assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN');
      }
      const limited = await unchanged(app.database, () => viewer(IMPORT, { input }));
      assert.equal(limited.status, 429);
      assert.equal(limited.body.errors[0].extensions.code, 'RATE_LIMITED');
    });
  });

  describe(`text no column can store, in any input [${backend}]`, () => {
    let app: TestApp;
    let plantId: string;
    let machineId: string;
    before(async () => {
      app = await createTestApp(backend, { seed: false });
      const r = await app.gql(
        `mutation { importPlant(input: { name: "Text", lines: [{ name: "L", machines: [{ name: "M" }] }] }) { ... on ImportPlantSuccess { plant { id machines { id } } } } }`,
      );
      plantId = r.body.data.importPlant.plant.id;
      machineId = r.body.data.importPlant.plant.machines[0].id;
    });
    after(() => app.close());

    const INGEST = `mutation Ingest($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on Error { message } } }`;
    const RULE = `mutation Rule($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename ... on Error { message } } }`;
    const point = (metric: string) => ({ machineId, metric, ts: new Date().toISOString(), value: 1 });
    const rule = (extra: Record<string, unknown>) => ({
      plantId,
      name: 'r',
      kind: 'THRESHOLD',
      severity: 'INFO',
      metric: 'm',
      comparator: 'GT',
      threshold: 1,
      ...extra,
    });

    it('NUL and unpaired surrogates in mutation inputs, variables or literals: BAD_USER_INPUT with the path, never "Unexpected error."', async () => {
      const cases: { name: string; query: string; variables?: () => Record<string, unknown>; path: string }[] = [
        { name: 'ingest batchId (NUL)', query: INGEST, variables: () => ({ input: { batchId: 'b\u0000', points: [point('m')] } }), path: '$input.batchId' },
        {
          name: 'ingest metric (surrogate)',
          query: INGEST,
          variables: () => ({ input: { points: [point('m'), point('t\ud800')] } }),
          path: '$input.points[1].metric',
        },
        {
          name: 'ingest columns (surrogate)',
          query: INGEST,
          variables: () => ({ input: { columns: { machineIds: [machineId], metrics: ['\udfff'], ts: [new Date().toISOString()], values: [1] } } }),
          path: '$input.columns.metrics[0]',
        },
        { name: 'alert rule metric (NUL)', query: RULE, variables: () => ({ input: rule({ metric: 'temp\u0000' }) }), path: '$input.metric' },
        {
          name: 'alert rule model (NUL)',
          query: RULE,
          variables: () => ({ input: rule({ kind: 'PREDICTION', metric: null, model: 'm\u0000' }) }),
          path: '$input.model',
        },
        { name: 'alert rule name (surrogate)', query: RULE, variables: () => ({ input: rule({ name: 'r\ud83d' }) }), path: '$input.name' },
        {
          name: 'import names (surrogate)',
          query: IMPORT,
          variables: () => ({ input: { name: 'p', lines: [{ name: 'L', machines: [{ name: 'ok' }, { name: 'x\udc00y' }] }] } }),
          path: '$input.lines[0].machines[1].name',
        },
        { name: 'api key name (NUL)', query: KEY, variables: () => ({ input: { name: 'k\u0000', role: 'VIEWER' } }), path: '$input.name' },
        {
          name: 'a key of an input object (NUL)',
          query: KEY,
          variables: () => ({ input: { name: 'k', role: 'VIEWER', 'bad\u0000key': 1 } }),
          path: '$input["bad\ufffdkey"]',
        },
        {
          name: 'literal batchId (NUL escape)',
          query: `mutation { ingestTelemetry(input: { batchId: "b\\u0000", points: [] }) { __typename } }`,
          path: 'ingestTelemetry(input).batchId',
        },
        {
          name: 'literal in a fragment, behind an alias (NUL escape)',
          query: `mutation { ...F } fragment F on Mutation { k: createApiKey(input: { name: "\\u0000", role: VIEWER }) { __typename } }`,
          path: 'k(input).name',
        },
        {
          name: 'variable default (NUL escape)',
          query: `mutation($n: String = "\\u0000") { createApiKey(input: { name: $n, role: VIEWER }) { __typename } }`,
          path: '$n (default)',
        },
      ];
      for (const c of cases) {
        const r = await unchanged(app.database, () => app.gql(c.query, c.variables?.()), AUDITED);
        const text = JSON.stringify(r.body);
        assert.equal(r.status, 400, `${c.name}: ${text}`);
        assert.doesNotMatch(text, /Unexpected error/, c.name);
        assert.equal(r.body.errors[0].extensions.code, 'BAD_USER_INPUT', `${c.name}: ${text}`);
        assert.equal(r.body.errors[0].extensions.inputPath, c.path, c.name);
        assert.match(r.body.errors[0].message, /NUL character \(U\+0000\) or an unpaired UTF-16 surrogate/, c.name);
        const entry = await lastEntry(app.database);
        assert.equal(entry.outcome, 'BAD_USER_INPUT', c.name);
        assert.doesNotMatch(JSON.stringify(entry.variables), /\\u0000|\\ud[89a-f]/i, `${c.name}: the entry is storable`);
      }
    });

    it('NUL and unpaired surrogates in query arguments are refused alike, and a query that reads them changes nothing', async () => {
      const cases: { name: string; query: string; variables: Record<string, unknown>; path: string }[] = [
        {
          name: 'latest(metric) (surrogate)',
          query: `query($id: ID!, $m: String!) { node(id: $id) { ... on Machine { latest(metric: $m) { value } } } }`,
          variables: { id: machineId, m: 'a\ud800b' },
          path: '$m',
        },
        { name: 'node(id) (NUL)', query: `query($id: ID!) { node(id: $id) { id } }`, variables: { id: 'Machine:1\u0000' }, path: '$id' },
        { name: 'cursor (surrogate)', query: `query($a: String) { plants(after: $a) { totalCount } }`, variables: { a: '\ud800' }, path: '$a' },
        {
          name: 'list argument literal (NUL escape)',
          query: `{ plants { edges { node { machines { latest(metric: "\\u0000") { value } } } } } }`,
          variables: {},
          path: 'plants.edges.node.machines.latest(metric)',
        },
      ];
      for (const c of cases) {
        const r = await unchanged(app.database, () => app.gql(c.query, c.variables));
        assert.equal(r.status, 400, `${c.name}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.errors[0].extensions.code, 'BAD_USER_INPUT', c.name);
        assert.equal(r.body.errors[0].extensions.inputPath, c.path, c.name);
      }
    });

    it('over WebSocket too: a mutation with an undeclared NUL variable is audited, a subscription with a NUL is refused', async () => {
      const server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      try {
        const made = await unchanged(
          app.database,
          async () => {
            const sub = await subscribe(server.url, TEST_ADMIN_KEY, KEY, { input: { name: 'ws-key', role: 'VIEWER' }, x: '\u0000' });
            await sub.done;
            await sub.dispose();
            return sub;
          },
          { api_keys: 1, audit_log: 1 },
        );
        assert.equal(made.events[0]?.data?.createApiKey?.__typename, 'CreateApiKeySuccess', JSON.stringify(made.events));
        const entry = await lastEntry(app.database);
        assert.deepEqual([entry.outcome, entry.variables], ['OK', { input: { name: 'ws-key', role: 'VIEWER' } }]);
        const refused = await unchanged(app.database, async () => {
          const sub = await subscribe(
            server.url,
            TEST_ADMIN_KEY,
            `subscription($id: ID!, $m: [String!]) { telemetry(machineId: $id, metrics: $m) { value } }`,
            {
              id: machineId,
              m: ['ok', 'x\u0000'],
            },
          );
          await sub.done;
          await sub.dispose();
          return sub;
        });
        const errors = refused.events[0]?.errors ?? refused.errors[0];
        assert.equal(errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(refused));
        assert.equal(errors[0].extensions.inputPath, '$m[1]');
      } finally {
        await server.close();
      }
    });
  });

  describe(`errors that list problems or echo input are bounded [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false });
    });
    after(() => app.close());

    const lines = [{ name: 'L', machines: [{ name: 'M' }] }];
    const products = [{ name: 'P', routing: [{ machines: ['M'], minutesPerUnit: 1 }] }];

    it('a 2 MB import with 60,000 problems lists the first 100 and counts the rest', async (t) => {
      const orders = Array.from({ length: 20_000 }, () => ({ code: '', product: 'nope-'.repeat(8), quantity: 0, dueAt: '2026-12-01T00:00:00Z' }));
      const input = { name: 'Bad orders', lines, products, orders };
      const sent = bytes({ input });
      const started = performance.now();
      const r = await unchanged(app.database, () => app.gql(IMPORT, { input }), AUDITED);
      const ms = Math.round(performance.now() - started);
      const answered = bytes(r.body);
      t.diagnostic(`${backend}: an import of ${sent} bytes with 60,000 problems answered ${answered} bytes in ${ms} ms`);
      const e = r.body.data.importPlant;
      assert.equal(e.__typename, 'ValidationError');
      assert.equal(e.message, 'Invalid input: 60,000 problems (the first 100 are listed)');
      assert.equal(e.fieldErrors.length, 100);
      assert.deepEqual(e.fieldErrors.slice(0, 3), [
        { path: 'orders[0].code', message: 'must not be empty' },
        { path: 'orders[0].product', message: `unknown product "${'nope-'.repeat(8)}"` },
        { path: 'orders[0].quantity', message: 'must be a positive whole number' },
      ]);
      assert.ok(answered < 16 * KiB, `${answered} bytes`);
    });

    it('problemCount counts every problem; fieldErrors lists at most 100', async () => {
      const orders = Array.from({ length: 150 }, (_, i) => ({ code: `O${i}`, product: 'P', quantity: -1, dueAt: '2026-12-01T00:00:00Z' }));
      const r = await unchanged(
        app.database,
        () =>
          app.gql(`mutation($input: PlantImportInput!) { importPlant(input: $input) { ... on ValidationError { problemCount fieldErrors { path } } } }`, {
            input: { name: 'Count', lines, products, orders },
          }),
        AUDITED,
      );
      assert.equal(r.body.data.importPlant.problemCount, 150);
      assert.equal(r.body.data.importPlant.fieldErrors.length, 100);
      assert.equal(r.body.data.importPlant.fieldErrors[99].path, 'orders[99].quantity');
    });

    it('a 7 MiB value is never echoed back: domain errors, scalar errors and graphql-js coercion errors quote at most 200 characters', async (t) => {
      const huge = 'N'.repeat(7 * 1024 * 1024);
      const cut = `${'N'.repeat(200)}…`;
      const order = { code: 'O', product: 'P', quantity: 1, dueAt: '2026-12-01T00:00:00Z' };
      const cases: { name: string; query: string; variables: Record<string, unknown>; grows: Record<string, number>; expect: RegExp }[] = [
        {
          name: 'unknown product',
          query: IMPORT,
          variables: { input: { name: 'Echo', lines, products, orders: [{ ...order, product: huge }] } },
          grows: AUDITED,
          expect: new RegExp(`unknown product "${cut}"`),
        },
        {
          name: 'DateTime scalar',
          query: IMPORT,
          variables: { input: { name: 'Echo', lines, products, orders: [{ ...order, dueAt: huge }] } },
          grows: AUDITED,
          expect: new RegExp(`DateTime must be an ISO-8601 string .* got "${cut}"`),
        },
        {
          name: 'Int coercion (graphql-js)',
          query: IMPORT,
          variables: { input: { name: 'Echo', lines, products, orders: [{ ...order, quantity: huge }] } },
          grows: AUDITED,
          expect: /Int cannot represent non-integer value: "N{200}…"/,
        },
        {
          name: 'time zone',
          query: IMPORT,
          variables: { input: { name: 'Echo', timezone: huge, lines } },
          grows: AUDITED,
          expect: new RegExp(`unknown IANA time zone "${cut}"`),
        },
        { name: 'global ID', query: `query($id: ID!) { node(id: $id) { id } }`, variables: { id: huge }, grows: {}, expect: /Invalid global ID: "N{200}…"/ },
      ];
      const answers: { body: unknown; size: number; entry: number | null }[] = [];
      for (const c of cases) {
        const r = await unchanged(app.database, () => app.gql(c.query, c.variables), c.grows);
        answers.push({ body: r.body, size: bytes(r.body), entry: c.grows === AUDITED ? bytes((await lastEntry(app.database)).variables) : null });
      }
      t.diagnostic(`${backend}: bytes answered for a 7 MiB value: ${cases.map((c, i) => `${c.name} ${answers[i].size}`).join(', ')}`);
      cases.forEach((c, i) => {
        const { body, size, entry } = answers[i];
        assert.match(JSON.stringify(body).replaceAll('\\"', '"'), c.expect, c.name);
        assert.ok(size < 4 * KiB, `${c.name}: ${size} bytes`);
        if (entry !== null) assert.ok(entry <= 16 * KiB, `${c.name}: the audit entry is capped (${entry} bytes)`);
      });
    });
  });
}
