// Hostile input, generated: random operations built from the schema itself (every root query and mutation field, with
// arguments that are sometimes well typed, sometimes garbage: wrong types, huge and negative numbers, control
// characters, unknown IDs, deep lists), and random bytes for the text and file inputs (LP and MPS models, CSV
// datasets, ONNX files, telemetry batches). Seeded, so a failure replays. Every answer is a GraphQL answer below 500,
// the process survives, and a mutation that is refused (an error or an error type) changes nothing but its audit entry.
import assert from 'node:assert/strict';
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
} from 'graphql';
import { seededRandom } from '../src/core/random.ts';
import { schema } from '../src/graphql/schema.ts';
import { after, AUDITED, before, createTestApp, describe, it, TEST_ADMIN_KEY, type TestApp, tableCounts, testBackends, unchanged } from './helpers.ts';

const ROUNDS = Number(process.env.PLANTGRAPH_FUZZ_ROUNDS ?? 300);
/** Fields that start long work or wait: queued jobs are fine, but these would make the run slow without testing more. */
const SKIP = new Set(['seedDemoHistory']);

function generator(seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const garbage = (): unknown =>
    pick([
      null,
      '',
      'x'.repeat(1 + Math.floor(random() * 5000)),
      '\u0000\u0007\ud800',
      -1,
      0,
      2 ** 31,
      -(2 ** 53),
      1e308,
      0.5,
      true,
      [],
      {},
      [[[[[]]]]],
      'UGxhbnQ6OTk5OTk5OQ==',
      'TWFjaGluZTox',
      '2026-13-45T99:99:99Z',
      Buffer.from([1, 250, 3, 99, 0, 17, 200, 45]).toString('base64'),
    ]);
  const ID_TYPES = ['Plant', 'Machine', 'Order', 'Line', 'Product', 'Scenario', 'Schedule', 'AlertRule', 'Alert', 'Job', 'Dataset', 'ModelVersion'];
  const value = (type: GraphQLInputType, depth: number): unknown => {
    if (random() < 0.08) return garbage();
    if (isNonNullType(type)) return value(type.ofType, depth);
    if (isListType(type)) return depth > 3 ? [] : Array.from({ length: Math.floor(random() * 3) }, () => value(type.ofType, depth + 1));
    if (isEnumType(type)) return pick(type.getValues()).name;
    if (isInputObjectType(type)) {
      if (depth > 4) return {};
      const out: Record<string, unknown> = {};
      for (const f of Object.values(type.getFields())) if (isNonNullType(f.type) || random() < 0.4) out[f.name] = value(f.type, depth + 1);
      return out;
    }
    if (isScalarType(type)) {
      switch (type.name) {
        case 'Int':
          return pick([0, 1, 5, 100, -3, 1_000_000]);
        case 'Float':
          return pick([0, 0.5, 1, 42.5, -1, 1e9]);
        case 'Boolean':
          return random() < 0.5;
        case 'ID':
          return Buffer.from(`${pick(ID_TYPES)}:${pick([1, 2, 3, 999999])}`).toString('base64');
        case 'DateTime':
          return new Date(Date.now() + (random() - 0.5) * 86_400_000 * 30).toISOString();
        case 'JSON':
          return pick([{}, { a: 1 }, [1, 2], 'x']);
        default:
          return pick(['a', 'name-1', 'temperature', 'Maximize\n obj: x\nSubject To\n c: x <= 1\nEnd\n']);
      }
    }
    return null;
  };
  const selection = (type: GraphQLOutputType, depth: number): string => {
    const named = getNamedType(type);
    if (isScalarType(named) || isEnumType(named)) return '';
    if (isUnionType(named) || isInterfaceType(named)) return '{ __typename ... on Error { code message } }';
    if (!isObjectType(named)) return '';
    const fields = Object.values(named.getFields()).filter((f) => f.args.every((a) => !isNonNullType(a.type)));
    const scalars = fields.filter((f) => {
      const n = getNamedType(f.type);
      return isScalarType(n) || isEnumType(n);
    });
    const parts = ['__typename', ...scalars.slice(0, 6).map((f) => f.name)];
    if (depth < 2)
      for (const f of fields.filter((x) => !scalars.includes(x)).slice(0, 2)) {
        const sub = selection(f.type, depth + 1);
        if (sub) parts.push(`${f.name} ${sub}`);
      }
    return `{ ${parts.join(' ')} }`;
  };
  const operation = (kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>) => {
    const vars: Record<string, unknown> = {};
    const defs: string[] = [];
    const args = field.args
      .filter((a: GraphQLArgument) => isNonNullType(a.type) || random() < 0.5)
      .map((a) => {
        defs.push(`$${a.name}: ${a.type.toString()}`);
        vars[a.name] = value(a.type, 0);
        return `${a.name}: $${a.name}`;
      });
    const sel = selection(field.type, 0);
    const text = `${kind}${defs.length ? `(${defs.join(', ')})` : ''} { ${field.name}${args.length ? `(${args.join(', ')})` : ''} ${sel} }`;
    return { text, vars };
  };
  return { random, pick, operation };
}

const isRefusal = (body: any): boolean => {
  if (body.errors?.length) return true;
  const data = body.data ?? {};
  return Object.values(data).some((v: any) => typeof v?.__typename === 'string' && v.__typename.endsWith('Error'));
};

for (const backend of testBackends()) {
  describe(`fuzz [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { env: { PLANTGRAPH_RATE_LIMIT_BURST: '0' } });
    });
    after(async () => {
      await app.close();
    });
    const send = async (query: string, variables: unknown) => {
      const res = await app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      assert.ok(res.status < 500, `${res.status} for ${query.slice(0, 300)} ${JSON.stringify(variables).slice(0, 300)}: ${text.slice(0, 300)}`);
      return JSON.parse(text);
    };

    it(`${ROUNDS} random operations from the schema: no 5xx, and a refused mutation changes nothing but its audit entry`, async (t) => {
      const g = generator(20261202);
      const queries = Object.values(schema.getQueryType()!.getFields()).filter((f) => !SKIP.has(f.name));
      const mutations = Object.values(schema.getMutationType()!.getFields()).filter((f) => !SKIP.has(f.name));
      let refused = 0;
      let accepted = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const isMutation = g.random() < 0.5;
        const { text, vars } = g.operation(isMutation ? 'mutation' : 'query', g.pick(isMutation ? mutations : queries));
        if (!isMutation) {
          await send(text, vars);
          continue;
        }
        // A refused mutation must leave every table as it was (its audit entry aside); an accepted one may change data.
        const counted = await tableCounts(app.database);
        const body = await send(text, vars);
        if (isRefusal(body)) {
          refused++;
          const now = await tableCounts(app.database);
          const expected = { ...counted, audit_log: counted.audit_log + 1 };
          // Requests refused before execution (invalid documents) write no audit entry.
          if (now.audit_log === counted.audit_log) expected.audit_log = counted.audit_log;
          assert.deepEqual(now, expected, `${text}\n${JSON.stringify(vars).slice(0, 500)}\n${JSON.stringify(body).slice(0, 500)}`);
        } else accepted++;
      }
      t.diagnostic(`${ROUNDS} operations: ${refused} mutations refused (nothing changed), ${accepted} accepted`);
    });

    it('random bytes for models, datasets and telemetry: typed errors, nothing stored', async () => {
      const g = generator(7);
      for (let i = 0; i < 20; i++) {
        // Seeded bytes, so a failure replays.
        const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(g.random() * 4000) }, () => Math.floor(g.random() * 256)));
        const text = g.random() < 0.5 ? bytes.toString('latin1') : bytes.toString('utf8');
        for (const format of ['LP', 'MPS']) {
          const r = await send(`query($input: SolveModelInput!) { solveModel(input: $input) { __typename ... on Error { code message } } }`, {
            input: { format, model: text },
          });
          if (!r.errors) assert.match(r.data.solveModel.__typename, /Error$|Success$/);
        }
        // Random bytes can happen to be a valid CSV (one line is a header): then the dataset is stored, as it should;
        // anything refused stores nothing.
        const countsBefore = await tableCounts(app.database);
        const ds = await send(`mutation($input: ImportDatasetInput!) { importDataset(input: $input) { __typename ... on Error { code } } }`, {
          input: { name: `fuzz-${i}`, csv: text },
        });
        if (ds.errors || ds.data.importDataset.__typename !== 'ImportDatasetSuccess')
          assert.deepEqual(await tableCounts(app.database), { ...countsBefore, audit_log: countsBefore.audit_log + 1 }, JSON.stringify(ds));
        await unchanged(
          app.database,
          async () => {
            const r = await send(`mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on Error { code } } }`, {
              input: { points: [{ machineId: text.slice(0, 40), metric: text.slice(0, 10), ts: text.slice(0, 24), value: text.length }] },
            });
            if (!r.errors) assert.match(r.data.ingestTelemetry.__typename, /Error$/, JSON.stringify(r));
          },
          AUDITED,
        );
        // An ONNX "file" of random bytes, as a multipart upload.
        const boundary = `----fuzz${i}`;
        const operations = JSON.stringify({
          query: `mutation($input: RegisterModelInput!) { registerModel(input: $input) { __typename ... on Error { code } } }`,
          variables: { input: { name: `fuzz-${i}`, task: 'CLASSIFICATION', file: null } },
        });
        const body = Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n`),
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.file"]}\r\n`),
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="m.onnx"\r\nContent-Type: application/octet-stream\r\n\r\n`),
          bytes,
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ]);
        await unchanged(
          app.database,
          async () => {
            const res = await app.yoga.fetch('http://localhost/graphql', {
              method: 'POST',
              headers: {
                'content-type': `multipart/form-data; boundary=${boundary}`,
                authorization: `Bearer ${TEST_ADMIN_KEY}`,
                'graphql-require-preflight': '1',
              },
              body,
            });
            assert.ok(res.status < 500, String(res.status));
            const r = (await res.json()) as any;
            if (!r.errors) assert.match(r.data.registerModel.__typename, /Error$/, JSON.stringify(r));
          },
          AUDITED,
        );
      }
    });
  });
}
