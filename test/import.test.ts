import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { AUDITED, createTestApp, describe, it, tableCounts, type TestApp, testBackends, unchanged } from './helpers.ts';

const IMPORT = /* GraphQL */ `
  mutation Import($input: PlantImportInput!) {
    importPlant(input: $input) {
      __typename
      ... on ImportPlantSuccess { plant { id name timezone lines { name machines { name } } products { name routing { index machines { name } } } orders(first: 10) { totalCount } } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { path message } }
    }
  }`;

function goodPlant(name = 'Test Plant') {
  return {
    name,
    timezone: 'America/Chicago',
    lines: [
      { name: 'L1', machines: [{ name: 'M1', kind: 'mill', idealCycleSeconds: 30 }, { name: 'M2' }] },
      { name: 'L2', machines: [{ name: 'M3', kind: 'press' }] },
    ],
    products: [
      {
        name: 'Widget',
        routing: [
          { machines: ['M1', 'M2'], minutesPerUnit: 2, setupMinutes: 10 },
          { machines: ['M3'], minutesPerUnit: 1 },
        ],
      },
    ],
    orders: [
      { code: 'A-1', product: 'Widget', quantity: 50, releaseAt: '2026-12-01T06:00:00Z', dueAt: '2026-12-02T18:00:00+01:00', priority: 2 },
      { code: 'A-2', product: 'Widget', quantity: 5, dueAt: '2026-12-03T18:00:00Z' },
    ],
  };
}

for (const backend of testBackends()) {
  describe(`importPlant [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false });
      // A plant no test changes, for the duplicate-name case.
      assert.equal((await app.gql(IMPORT, { input: goodPlant('Existing Plant') })).body.data.importPlant.__typename, 'ImportPlantSuccess');
    });
    after(() => app.close());

    it('imports a whole plant and reads it back', async () => {
      const written = { plants: 1, lines: 2, machines: 3, products: 1, routing_steps: 2, routing_step_machines: 3, orders: 2, audit_log: 1 };
      const r = await unchanged(app.database, () => app.gql(IMPORT, { input: goodPlant() }), written);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const res = r.body.data.importPlant;
      assert.equal(res.__typename, 'ImportPlantSuccess');
      assert.equal(res.plant.name, 'Test Plant');
      assert.equal(res.plant.timezone, 'America/Chicago');
      assert.deepEqual(
        res.plant.lines.map((l: any) => l.machines.map((m: any) => m.name)),
        [['M1', 'M2'], ['M3']],
      );
      assert.deepEqual(res.plant.products[0].routing, [
        { index: 1, machines: [{ name: 'M1' }, { name: 'M2' }] },
        { index: 2, machines: [{ name: 'M3' }] },
      ]);
      assert.equal(res.plant.orders.totalCount, 2);
    });

    const bad: [string, (p: ReturnType<typeof goodPlant>) => unknown, string[]][] = [
      ['duplicate plant name', (p) => ({ ...p, name: 'Existing Plant' }), ['name']],
      [
        'duplicate line names',
        (p) => {
          p.lines[1].name = 'L1';
          return { ...p, name: 'X1' };
        },
        ['lines[1].name'],
      ],
      [
        'duplicate machine names across lines',
        (p) => {
          p.lines[1].machines[0].name = 'M1';
          return { ...p, name: 'X2' };
        },
        ['lines[1].machines[0].name', 'products[0].routing[1].machines[0]'],
      ],
      [
        'routing naming an unknown machine',
        (p) => {
          p.products[0].routing[1].machines = ['M3', 'Ghost'];
          return { ...p, name: 'X3' };
        },
        ['products[0].routing[1].machines[1]'],
      ],
      [
        'negative quantity',
        (p) => {
          p.orders[0].quantity = -5;
          return { ...p, name: 'X4' };
        },
        ['orders[0].quantity'],
      ],
      [
        'due before release',
        (p) => {
          p.orders[0].dueAt = '2026-11-30T00:00:00Z';
          return { ...p, name: 'X5' };
        },
        ['orders[0].dueAt'],
      ],
      [
        'duplicate order codes and unknown product',
        (p) => {
          p.orders[1].code = 'A-1';
          p.orders[0].product = 'Gadget';
          return { ...p, name: 'X6' };
        },
        ['orders[0].product', 'orders[1].code'],
      ],
      [
        'empty and blank names, bad time zone, zero rate',
        (p) => {
          p.lines[0].name = '  ';
          p.products[0].routing[0].minutesPerUnit = 0;
          return { ...p, name: '', timezone: 'Mars/Olympus' };
        },
        ['name', 'timezone', 'lines[0].name', 'products[0].routing[0].minutesPerUnit'],
      ],
      ['no lines at all', (p) => ({ ...p, name: 'X7', lines: [], products: [], orders: [] }), ['lines']],
      [
        'step without machines, negative setup',
        (p) => {
          p.products[0].routing[0].machines = [];
          p.products[0].routing[0].setupMinutes = -1;
          return { ...p, name: 'X8' };
        },
        ['products[0].routing[0].machines', 'products[0].routing[0].setupMinutes'],
      ],
      [
        'machine times for a machine not in the step, twice for one machine, with a zero time and a negative setup',
        (p) => {
          (p.products[0].routing[0] as any).machineTimes = [
            { machine: 'M3', minutesPerUnit: 1 },
            { machine: 'M1', minutesPerUnit: 0 },
            { machine: 'M1', minutesPerUnit: 2, setupMinutes: -4 },
          ];
          return { ...p, name: 'X9' };
        },
        [
          'products[0].routing[0].machineTimes[0].machine',
          'products[0].routing[0].machineTimes[1].minutesPerUnit',
          'products[0].routing[0].machineTimes[2].machine',
          'products[0].routing[0].machineTimes[2].setupMinutes',
        ],
      ],
    ];

    for (const [label, mutate, paths] of bad) {
      it(`rejects ${label} with a ValidationError listing every problem and writes nothing`, async () => {
        const r = await unchanged(app.database, () => app.gql(IMPORT, { input: mutate(goodPlant()) }), AUDITED);
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        const res = r.body.data.importPlant;
        assert.equal(res.__typename, 'ValidationError');
        assert.equal(res.code, 'VALIDATION_FAILED');
        assert.deepEqual(res.fieldErrors.map((e: any) => e.path).sort(), [...paths].sort(), JSON.stringify(res.fieldErrors));
        for (const e of res.fieldErrors) assert.ok(e.message.length > 5);
      });
    }

    it("machine-dependent times: a step takes its own time on the machines given, the step's on the others, and exports them", async () => {
      const plant = goodPlant('Flexible');
      (plant.products[0].routing[0] as any).machineTimes = [{ machine: 'M2', minutesPerUnit: 3.5, setupMinutes: 4 }];
      (plant.products[0].routing[1] as any).machineTimes = [{ machine: 'M3', minutesPerUnit: 0.5 }];
      const r = await app.gql(
        `mutation($input: PlantImportInput!) { importPlant(input: $input) { __typename ... on ImportPlantSuccess { plant { id products { routing { index minutesPerUnit setupMinutes machineTimes { machine { name } minutesPerUnit setupMinutes } } } } } } }`,
        { input: plant },
      );
      assert.equal(r.body.data.importPlant.__typename, 'ImportPlantSuccess', JSON.stringify(r.body));
      const [first, second] = r.body.data.importPlant.plant.products[0].routing;
      assert.deepEqual(first, {
        index: 1,
        minutesPerUnit: 2,
        setupMinutes: 10,
        machineTimes: [{ machine: { name: 'M2' }, minutesPerUnit: 3.5, setupMinutes: 4 }],
      });
      // Without its own setup, a machine time keeps the step's setup.
      assert.deepEqual(second, {
        index: 2,
        minutesPerUnit: 1,
        setupMinutes: 0,
        machineTimes: [{ machine: { name: 'M3' }, minutesPerUnit: 0.5, setupMinutes: 0 }],
      });
      const doc = (await app.gql(`query($id: ID!) { exportPlant(id: $id) }`, { id: r.body.data.importPlant.plant.id })).body.data.exportPlant;
      assert.deepEqual(doc.products[0].routing[0].machineTimes, [{ machine: 'M2', minutesPerUnit: 3.5, setupMinutes: 4 }]);
      assert.deepEqual(doc.products[0].routing[1].machineTimes, [{ machine: 'M3', minutesPerUnit: 0.5, setupMinutes: 0 }]);
    });

    it('rejects a DateTime without offset and a non-integer quantity as GraphQL input errors, writing nothing', async () => {
      const before = await tableCounts(app.database);
      const p: any = goodPlant('X9');
      p.orders[0].dueAt = '2026-12-02 18:00';
      const r = await app.gql(IMPORT, { input: p });
      assert.equal(r.status, 400);
      assert.match(r.body.errors[0].message, /DateTime/);
      const q: any = goodPlant('X10');
      q.orders[0].quantity = 2.5;
      const r2 = await app.gql(IMPORT, { input: q });
      assert.equal(r2.status, 400);
      assert.match(r2.body.errors[0].message, /Int/);
      assert.deepEqual(await tableCounts(app.database), { ...before, audit_log: before.audit_log + 2 }, 'nothing but the two audit entries');
    });

    it('answers malformed GraphQL with a syntax error and no data', async () => {
      const r = await app.gql('mutation { importPlant(input: { name: "x" ');
      assert.equal(r.status, 400);
      assert.match(r.body.errors[0].message, /Syntax Error/);
      const r2 = await app.gql('{ plants { nope } }');
      assert.equal(r2.status, 400);
      assert.match(r2.body.errors[0].message, /Cannot query field "nope"/);
    });

    it('lets only one of two concurrent imports of the same name win', async () => {
      const [a, b] = await Promise.all([app.gql(IMPORT, { input: goodPlant('Race') }), app.gql(IMPORT, { input: goodPlant('Race') })]);
      const kinds = [a.body.data.importPlant.__typename, b.body.data.importPlant.__typename].sort();
      assert.deepEqual(kinds, ['ImportPlantSuccess', 'ValidationError']);
      const rows = await app.database.query<{ n: number }>(`select count(*)::int as n from plants where name = 'Race'`);
      assert.equal(Number(rows[0].n), 1);
    });
  });
}
