import assert from 'node:assert/strict';
import { after, before, createTestApp, describe, it, type TestApp, testBackends, unchanged } from './helpers.ts';

/** Attacks from the attack-testing round (issue 9) that this suite pins down, each with the exact refusal. */
const b64 = (s: string) => Buffer.from(s).toString('base64');

for (const backend of testBackends()) {
  describe(`attacks on the cost model, the audit log and IDs [${backend}]`, () => {
    let app: TestApp;
    let machineId: string;
    before(async () => {
      app = await createTestApp(backend);
      machineId = (await app.gql('{ plants(first: 1) { edges { node { machines { id } } } } }')).body.data.plants.edges[0].node.machines[0].id;
    });
    after(() => app.close());

    const WIDE = 'plants(first: $n) { edges { node { orders(first: $n) { edges { node { id code } } } } } }';

    it('a variable default is costed and capped like the same value sent as a variable', async () => {
      const sent = await unchanged(app.database, () => app.gql(`query Wide($n: Int) { ${WIDE} }`, { n: 500 }));
      assert.equal(sent.status, 400);
      assert.equal(sent.body.errors[0].extensions.code, 'QUERY_TOO_EXPENSIVE');
      const byDefault = await unchanged(app.database, () => app.gql(`query Wide($n: Int = 500) { ${WIDE} }`));
      assert.equal(byDefault.status, 400, JSON.stringify(byDefault.body).slice(0, 300));
      assert.equal(byDefault.body.errors[0].extensions.code, 'QUERY_TOO_EXPENSIVE');
      assert.equal(byDefault.body.errors[0].extensions.cost, sent.body.errors[0].extensions.cost);
      const huge = await unchanged(app.database, () => app.gql(`query Huge($n: Int = 100000) { plants(first: $n) { edges { node { id } } } }`));
      assert.equal(huge.status, 400);
      assert.equal(huge.body.errors[0].extensions.code, 'BAD_USER_INPUT');
      assert.match(huge.body.errors[0].message, /page size must be from 0 to 500/);
      // A variable that is given wins over its default.
      const small = await app.gql(`query Small($n: Int = 100000) { plants(first: $n) { edges { node { id } } } }`, { n: 1 });
      assert.equal(small.body.errors, undefined, JSON.stringify(small.body.errors));
      assert.equal(small.body.data.plants.edges.length, 1);
    });

    it('the audit log names the fields of a mutation behind an alias, an inline fragment or a fragment spread', async () => {
      const key = { input: { name: 'audited', role: 'VIEWER' } };
      const cases: { name: string; query: string; fields: string[] }[] = [
        { name: 'Aliased', query: 'mutation Aliased($input: CreateApiKeyInput!) { k: createApiKey(input: $input) { __typename } }', fields: ['createApiKey'] },
        {
          name: 'Inline',
          query: 'mutation Inline($input: CreateApiKeyInput!) { ... on Mutation { createApiKey(input: $input) { __typename } } }',
          fields: ['createApiKey'],
        },
        {
          name: 'Spread',
          query:
            'mutation Spread($input: CreateApiKeyInput!, $id: ID!) { ...Both } fragment Both on Mutation { a: createApiKey(input: $input) { __typename } revokeApiKey(id: $id) { __typename } }',
          fields: ['createApiKey', 'revokeApiKey'],
        },
      ];
      for (const c of cases) {
        const r = await app.gql(c.query, { ...key, id: b64('ApiKey:987654') });
        assert.equal(r.body.errors, undefined, `${c.name}: ${JSON.stringify(r.body.errors)}`);
        const entry = await app.database.query<{ operation: string; fields: string[] }>('select operation, fields from audit_log order by id desc limit 1');
        assert.deepEqual(entry, [{ operation: c.name, fields: c.fields }], c.name);
      }
    });

    it('a mutation refused by the page-size check is audited with that code, and changes nothing else', async () => {
      const M =
        'mutation Paged($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { orders(first: 501) { totalCount } } } } }';
      const r = await unchanged(app.database, () => app.gql(M, { input: { name: 'Never imported', lines: [] } }), { audit_log: 1 });
      assert.equal(r.status, 400);
      assert.equal(r.body.errors[0].extensions.code, 'BAD_USER_INPUT');
      const entry = await app.database.query<{ operation: string; fields: string[]; outcome: string }>(
        'select operation, fields, outcome from audit_log order by id desc limit 1',
      );
      assert.deepEqual(entry, [{ operation: 'Paged', fields: ['importPlant'], outcome: 'BAD_USER_INPUT' }]);
    });

    it('a DateTime in year 0000 (or one that an offset moves there) is a typed input error and changes nothing', async () => {
      const M = 'mutation Zero($input: PlantImportInput!) { importPlant(input: $input) { __typename } }';
      for (const dueAt of ['0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00', '9999-12-31T23:30:00-01:00']) {
        const input = {
          name: `Year zero ${dueAt}`,
          lines: [{ name: 'L', machines: [{ name: 'M' }] }],
          products: [{ name: 'X', routing: [{ machines: ['M'], minutesPerUnit: 1 }] }],
          orders: [{ code: 'O', product: 'X', quantity: 1, dueAt }],
        };
        const r = await unchanged(app.database, () => app.gql(M, { input }), { audit_log: 1 });
        assert.equal(r.status, 400, `${dueAt}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.errors[0].message, /years 0001 to 9999/, dueAt);
        assert.doesNotMatch(JSON.stringify(r.body), /Unexpected error/);
      }
    });

    it('node(id) answers only canonical IDs: a padded, signed, hexadecimal or exponent key reads like an unknown ID', async () => {
      const key = Buffer.from(machineId, 'base64').toString().split(':')[1];
      const Q = 'query($id: ID!) { node(id: $id) { id ... on Machine { name } } }';
      assert.notEqual((await app.gql(Q, { id: machineId })).body.data.node, null, 'the canonical ID reads the machine');
      const unknown = await app.gql(Q, { id: b64('Machine:987654') });
      assert.deepEqual(unknown.body, { data: { node: null } });
      for (const variant of [`0${key}`, `+${key}`, `${key}.0`, `0x${Number(key).toString(16)}`, `${key}e0`, ` ${key}`, `${key} `]) {
        const r = await unchanged(app.database, () => app.gql(Q, { id: b64(`Machine:${variant}`) }));
        assert.deepEqual(r.body, unknown.body, `Machine:${JSON.stringify(variant)}`);
      }
    });
  });
}

for (const backend of testBackends()) {
  describe(`no schema suggestions in production [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { NODE_ENV: 'production' } });
    });
    after(() => app.close());

    it('unknown fields, input fields and enum values (literal or variable) are refused without "Did you mean"', async () => {
      const at = '2026-01-01T00:00:00Z';
      const cases: { name: string; query: string; variables?: Record<string, unknown>; names: string }[] = [
        { name: 'field', query: '{ plants { edges { node { nam } } } }', names: 'nam' },
        {
          name: 'enum literal',
          query: `mutation { recordMachineState(input: { machineId: "x", status: RUNNIN, at: "${at}" }) { __typename } }`,
          names: 'RUNNIN',
        },
        { name: 'input field', query: 'mutation { importPlant(input: { nam: "x", name: "y", lines: [] }) { __typename } }', names: 'nam' },
        {
          name: 'enum variable',
          query: 'mutation($s: MachineStatus!) { recordMachineState(input: { machineId: "x", status: $s, at: "2026-01-01T00:00:00Z" }) { __typename } }',
          variables: { s: 'RUNNIN' },
          names: 'RUNNIN',
        },
        { name: 'argument', query: '{ plants(firs: 1) { totalCount } }', names: 'firs' },
      ];
      for (const c of cases) {
        // A mutation that reaches execution is audited (the variable case); one refused at validation is not executed.
        const r = await unchanged(app.database, () => app.gql(c.query, c.variables), c.variables ? { audit_log: 1 } : {});
        assert.ok(Array.isArray(r.body.errors) && r.body.errors.length > 0, `${c.name}: ${JSON.stringify(r.body)}`);
        const text = JSON.stringify(r.body.errors);
        assert.doesNotMatch(text, /Did you mean/, c.name);
        assert.match(text, new RegExp(c.names), `${c.name}: the error still names what is wrong`);
      }
    });
  });
}
