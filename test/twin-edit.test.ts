import assert from 'node:assert/strict';
import { encodeId } from '../src/core/ids.ts';
import { PlantSizeCache } from '../src/twin/sizes.ts';
import { after, AUDITED, as, before, createTestApp, describe, it, makeKey, type TestApp, testBackends, unchanged } from './helpers.ts';

const decode = (id: string) => Number(Buffer.from(id, 'base64').toString().split(':')[1]);

const IMPORT = `mutation($input: PlantImportInput!) { importPlant(input: $input) { __typename
  ... on ImportPlantSuccess { plant { id lines { id name machines { id name } } products { id name } orders(first: 50) { edges { node { id code } } } } }
  ... on Error { code message } ... on ValidationError { fieldErrors { path message } } } }`;

const ERR = '... on Error { __typename code message } ... on ValidationError { fieldErrors { path message } }';
const M = {
  createLine: `mutation($input: CreateLineInput!) { r: createLine(input: $input) { __typename ... on CreateLineSuccess { line { id name plant { id } machines { id } } } ${ERR} } }`,
  updateLine: `mutation($input: UpdateLineInput!) { r: updateLine(input: $input) { __typename ... on UpdateLineSuccess { line { id name } } ${ERR} } }`,
  deleteLine: `mutation($id: ID!) { r: deleteLine(id: $id) { __typename ... on DeleteLineSuccess { deletedId plant { id lines { name } } } ${ERR} } }`,
  createMachine: `mutation($input: CreateMachineInput!) { r: createMachine(input: $input) { __typename ... on CreateMachineSuccess { machine { id name kind idealCycleSeconds status line { id } } } ${ERR} } }`,
  updateMachine: `mutation($input: UpdateMachineInput!) { r: updateMachine(input: $input) { __typename ... on UpdateMachineSuccess { machine { id name kind idealCycleSeconds line { id name } } } ${ERR} } }`,
  deleteMachine: `mutation($id: ID!) { r: deleteMachine(id: $id) { __typename ... on DeleteMachineSuccess { deletedId plant { machines { name } } } ${ERR} } }`,
  createProduct: `mutation($input: CreateProductInput!) { r: createProduct(input: $input) { __typename ... on CreateProductSuccess { product { id name routing { index minutesPerUnit setupMinutes machines { name } } } } ${ERR} } }`,
  updateProduct: `mutation($input: UpdateProductInput!) { r: updateProduct(input: $input) { __typename ... on UpdateProductSuccess { product { id name routing { index minutesPerUnit setupMinutes machines { name } } } } ${ERR} } }`,
  deleteProduct: `mutation($id: ID!) { r: deleteProduct(id: $id) { __typename ... on DeleteProductSuccess { deletedId plant { products { name } } } ${ERR} } }`,
  createOrder: `mutation($input: CreateOrderInput!) { r: createOrder(input: $input) { __typename ... on CreateOrderSuccess { order { id code quantity releaseAt dueAt priority status product { name } } } ${ERR} } }`,
  updateOrder: `mutation($input: UpdateOrderInput!) { r: updateOrder(input: $input) { __typename ... on UpdateOrderSuccess { order { id quantity releaseAt dueAt priority status } } ${ERR} } }`,
  setOrderStatus: `mutation($input: SetOrderStatusInput!) { r: setOrderStatus(input: $input) { __typename ... on SetOrderStatusSuccess { order { id status statusChangedAt releasedAt startedAt doneAt cancelledAt } } ${ERR} } }`,
} as const;
const EXPORT = `query($id: ID!) { exportPlant(id: $id) }`;

let plantSeq = 0;
function plantDoc(name: string) {
  return {
    name,
    timezone: 'Europe/Berlin',
    lines: [
      { name: 'L1', machines: [{ name: 'M1', kind: 'mill', idealCycleSeconds: 30 }, { name: 'M2' }] },
      { name: 'L2', machines: [{ name: 'M3', kind: 'press' }] },
      { name: 'Empty', machines: [] },
    ],
    products: [
      {
        name: 'Widget',
        routing: [
          { machines: ['M1', 'M2'], minutesPerUnit: 2, setupMinutes: 10 },
          { machines: ['M3'], minutesPerUnit: 1.5 },
        ],
      },
      { name: 'Spare', routing: [{ machines: ['M2'], minutesPerUnit: 3 }] },
    ],
    orders: [
      { code: 'A-1', product: 'Widget', quantity: 50, releaseAt: '2026-12-01T06:00:00.000Z', dueAt: '2026-12-02T18:00:00.000Z', priority: 2 },
      { code: 'A-2', product: 'Widget', quantity: 5, dueAt: '2026-12-03T18:00:00.000Z', priority: 0 },
    ],
  };
}

interface Fixture {
  plantId: string;
  line: Record<string, string>;
  machine: Record<string, string>;
  product: Record<string, string>;
  order: Record<string, string>;
}

for (const backend of testBackends()) {
  describe(`twin editing [${backend}]`, () => {
    let app: TestApp;
    let viewer: ReturnType<typeof as>;
    let planner: ReturnType<typeof as>;
    let engineer: ReturnType<typeof as>;
    /** ENGINEER and PLANNER keys limited to a plant of their own (not the fixtures'). */
    let otherEngineer: ReturnType<typeof as>;
    let otherPlanner: ReturnType<typeof as>;

    async function fixture(): Promise<Fixture> {
      const r = await app.gql(IMPORT, { input: plantDoc(`Edit plant ${++plantSeq}`) });
      const p = r.body.data.importPlant.plant;
      assert.ok(p, JSON.stringify(r.body));
      const line: Record<string, string> = {};
      const machine: Record<string, string> = {};
      for (const l of p.lines) {
        line[l.name] = l.id;
        for (const m of l.machines) machine[m.name] = m.id;
      }
      const product = Object.fromEntries(p.products.map((x: any) => [x.name, x.id]));
      const order = Object.fromEntries(p.orders.edges.map((e: any) => [e.node.code, e.node.id]));
      return { plantId: p.id, line, machine, product, order };
    }

    before(async () => {
      app = await createTestApp(backend, { seed: false });
      viewer = as(app, (await makeKey(app, 'viewer', 'VIEWER')).key);
      planner = as(app, (await makeKey(app, 'planner', 'PLANNER')).key);
      engineer = as(app, (await makeKey(app, 'engineer', 'ENGINEER')).key);
      const own = await app.gql(IMPORT, { input: plantDoc('Someone else') });
      const ownId = own.body.data.importPlant.plant.id;
      otherEngineer = as(app, (await makeKey(app, 'other-engineer', 'ENGINEER', [ownId])).key);
      otherPlanner = as(app, (await makeKey(app, 'other-planner', 'PLANNER', [ownId])).key);
    });
    after(() => app.close());

    async function ok(call: Promise<{ body: any }>, typename: string) {
      const r = await call;
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      assert.equal(r.body.data.r.__typename, typename, JSON.stringify(r.body.data.r));
      return r.body.data.r;
    }
    /** A refused mutation: the typed error, and nothing changed but its audit entry. */
    async function refused(call: () => Promise<{ body: any }>, typename: string, message: RegExp, paths?: string[]) {
      const r = await unchanged(app.database, call, AUDITED);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const res = r.body.data.r;
      assert.equal(res.__typename, typename, JSON.stringify(res));
      assert.match(res.message, message);
      if (paths) assert.deepEqual(res.fieldErrors.map((f: any) => f.path).sort(), [...paths].sort(), JSON.stringify(res.fieldErrors));
      return res;
    }

    it('lines: create, rename, delete an empty one', async () => {
      const f = await fixture();
      const created = await unchanged(app.database, () => ok(engineer(M.createLine, { input: { plantId: f.plantId, name: '  L3 ' } }), 'CreateLineSuccess'), {
        lines: 1,
        audit_log: 1,
      });
      assert.equal(created.line.name, 'L3');
      assert.equal(created.line.plant.id, f.plantId);
      const renamed = await ok(engineer(M.updateLine, { input: { id: created.line.id, name: 'Line 3' } }), 'UpdateLineSuccess');
      assert.equal(renamed.line.name, 'Line 3');
      const deleted = await unchanged(app.database, () => ok(engineer(M.deleteLine, { id: created.line.id }), 'DeleteLineSuccess'), {
        lines: -1,
        audit_log: 1,
      });
      assert.equal(deleted.deletedId, created.line.id);
      assert.deepEqual(
        deleted.plant.lines.map((l: any) => l.name),
        ['L1', 'L2', 'Empty'],
      );
    });

    it('lines: duplicate and bad names, a line with machines, unknown IDs are refused', async () => {
      const f = await fixture();
      await refused(() => engineer(M.createLine, { input: { plantId: f.plantId, name: 'L1' } }), 'ValidationError', /a line named "L1" already exists/, [
        'name',
      ]);
      await refused(() => engineer(M.createLine, { input: { plantId: f.plantId, name: '   ' } }), 'ValidationError', /name: must not be empty/, ['name']);
      await refused(() => engineer(M.updateLine, { input: { id: f.line.L2, name: 'L1' } }), 'ValidationError', /a line named "L1" already exists/, ['name']);
      const c = await refused(() => engineer(M.deleteLine, { id: f.line.L1 }), 'ConflictError', /still referred to by machine "M1", machine "M2"$/);
      assert.equal(c.code, 'CONFLICT');
      const nf = await refused(() => engineer(M.deleteLine, { id: encodeId('Line', 999_999) }), 'NotFoundError', /^Line ".+" not found$/);
      assert.equal(nf.code, 'NOT_FOUND');
      await refused(() => engineer(M.deleteLine, { id: f.machine.M1 }), 'NotFoundError', /^Line ".+" not found$/);
      await refused(() => engineer(M.deleteLine, { id: 'not an id' }), 'NotFoundError', /^Line "not an id" not found$/);
    });

    it('machines: create, rename, change kind and ideal cycle, move to another line, delete', async () => {
      const f = await fixture();
      const c = await unchanged(
        app.database,
        () => ok(engineer(M.createMachine, { input: { lineId: f.line.Empty, name: 'M9', kind: 'lathe', idealCycleSeconds: 12.5 } }), 'CreateMachineSuccess'),
        { machines: 1, audit_log: 1 },
      );
      assert.deepEqual(
        { ...c.machine, id: undefined },
        { id: undefined, name: 'M9', kind: 'lathe', idealCycleSeconds: 12.5, status: 'IDLE', line: { id: f.line.Empty } },
      );
      const u = await ok(
        engineer(M.updateMachine, { input: { id: c.machine.id, name: 'M9b', kind: null, idealCycleSeconds: 20, lineId: f.line.L2 } }),
        'UpdateMachineSuccess',
      );
      assert.deepEqual(u.machine, { id: c.machine.id, name: 'M9b', kind: null, idealCycleSeconds: 20, line: { id: f.line.L2, name: 'L2' } });
      // Fields left out keep their value.
      const kept = await ok(engineer(M.updateMachine, { input: { id: c.machine.id, kind: 'drill' } }), 'UpdateMachineSuccess');
      assert.deepEqual(kept.machine, { id: c.machine.id, name: 'M9b', kind: 'drill', idealCycleSeconds: 20, line: { id: f.line.L2, name: 'L2' } });
      const d = await unchanged(app.database, () => ok(engineer(M.deleteMachine, { id: c.machine.id }), 'DeleteMachineSuccess'), {
        machines: -1,
        audit_log: 1,
      });
      assert.equal(d.deletedId, c.machine.id);
      assert.deepEqual(
        d.plant.machines.map((m: any) => m.name),
        ['M1', 'M2', 'M3'],
      );
    });

    it('machines: validation, a line of another plant, and references (routings, alert rules) are refused', async () => {
      const f = await fixture();
      const g = await fixture();
      await refused(
        () => engineer(M.createMachine, { input: { lineId: f.line.L1, name: 'M1', idealCycleSeconds: -1 } }),
        'ValidationError',
        /^Invalid input: 1 problems$|idealCycleSeconds/,
        ['idealCycleSeconds'],
      );
      await refused(() => engineer(M.createMachine, { input: { lineId: f.line.L1, name: 'M3' } }), 'ValidationError', /a machine named "M3" already exists/, [
        'name',
      ]);
      await refused(() => engineer(M.updateMachine, { input: { id: f.machine.M1, name: 'M2' } }), 'ValidationError', /a machine named "M2" already exists/, [
        'name',
      ]);
      await refused(
        () => engineer(M.updateMachine, { input: { id: f.machine.M1, lineId: g.line.L1 } }),
        'ValidationError',
        /lineId: unknown line in this plant/,
        ['lineId'],
      );
      await refused(
        () => engineer(M.updateMachine, { input: { id: f.machine.M1, lineId: 'garbage' } }),
        'ValidationError',
        /lineId: unknown line in this plant/,
        ['lineId'],
      );
      await refused(
        () => engineer(M.deleteMachine, { id: f.machine.M2 }),
        'ConflictError',
        /still referred to by routing step 1 of product "Widget", routing step 1 of product "Spare"$/,
      );
      const rule = await app.gql(`mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename } }`, {
        input: {
          plantId: f.plantId,
          name: 'Hot M3',
          kind: 'THRESHOLD',
          severity: 'WARNING',
          machineId: f.machine.M3,
          metric: 'temperature',
          comparator: 'GT',
          threshold: 90,
        },
      });
      assert.equal(rule.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess', JSON.stringify(rule.body));
      await refused(() => engineer(M.deleteMachine, { id: f.machine.M3 }), 'ConflictError', /routing step 2 of product "Widget", alert rule "Hot M3"$/);
    });

    it('products: create with a routing, rename, replace the routing, delete one without orders', async () => {
      const f = await fixture();
      const c = await unchanged(
        app.database,
        () =>
          ok(
            engineer(M.createProduct, {
              input: {
                plantId: f.plantId,
                name: 'Gadget',
                routing: [
                  { machines: ['M3', 'M1'], minutesPerUnit: 4, setupMinutes: 0 },
                  { machines: ['M2'], minutesPerUnit: 0.5 },
                ],
              },
            }),
            'CreateProductSuccess',
          ),
        { products: 1, routing_steps: 2, routing_step_machines: 3, audit_log: 1 },
      );
      assert.deepEqual(c.product.routing, [
        { index: 1, minutesPerUnit: 4, setupMinutes: 0, machines: [{ name: 'M1' }, { name: 'M3' }] },
        { index: 2, minutesPerUnit: 0.5, setupMinutes: 0, machines: [{ name: 'M2' }] },
      ]);
      const u = await unchanged(
        app.database,
        () =>
          ok(
            engineer(M.updateProduct, { input: { id: c.product.id, name: 'Gadget 2', routing: [{ machines: ['M2'], minutesPerUnit: 7, setupMinutes: 3 }] } }),
            'UpdateProductSuccess',
          ),
        { routing_steps: -1, routing_step_machines: -2, audit_log: 1 },
      );
      assert.deepEqual(u.product, {
        id: c.product.id,
        name: 'Gadget 2',
        routing: [{ index: 1, minutesPerUnit: 7, setupMinutes: 3, machines: [{ name: 'M2' }] }],
      });
      const renamed = await ok(engineer(M.updateProduct, { input: { id: c.product.id, name: 'Gadget 3' } }), 'UpdateProductSuccess');
      assert.equal(renamed.product.routing.length, 1, 'a rename keeps the routing');
      const d = await unchanged(app.database, () => ok(engineer(M.deleteProduct, { id: c.product.id }), 'DeleteProductSuccess'), {
        products: -1,
        routing_steps: -1,
        routing_step_machines: -1,
        audit_log: 1,
      });
      assert.deepEqual(
        d.plant.products.map((p: any) => p.name),
        ['Widget', 'Spare'],
      );
    });

    it('products: bad routings, duplicate names and products with orders are refused', async () => {
      const f = await fixture();
      const g = await fixture();
      await refused(
        () =>
          engineer(M.createProduct, {
            input: {
              plantId: f.plantId,
              name: 'Bad',
              routing: [
                { machines: ['M1', 'M1', 'Nope'], minutesPerUnit: 0, setupMinutes: -1 },
                { machines: [], minutesPerUnit: 1 },
              ],
            },
          }),
        'ValidationError',
        /problems/,
        ['routing[0].machines[1]', 'routing[0].machines[2]', 'routing[0].minutesPerUnit', 'routing[0].setupMinutes', 'routing[1].machines'],
      );
      await refused(
        () => engineer(M.createProduct, { input: { plantId: f.plantId, name: 'Empty', routing: [] } }),
        'ValidationError',
        /routing: a product needs at least one routing step/,
        ['routing'],
      );
      await refused(
        () => engineer(M.updateProduct, { input: { id: f.product.Spare, name: 'Widget' } }),
        'ValidationError',
        /a product named "Widget" already exists/,
        ['name'],
      );
      // A machine of another plant is not a machine of this one.
      const gm = await app.gql(`query($id: ID!) { node(id: $id) { ... on Machine { name } } }`, { id: g.machine.M1 });
      assert.equal(gm.body.data.node.name, 'M1');
      await refused(
        () => engineer(M.updateProduct, { input: { id: f.product.Spare, routing: [{ machines: ['M4'], minutesPerUnit: 1 }] } }),
        'ValidationError',
        /unknown machine "M4"/,
        ['routing[0].machines[0]'],
      );
      const many = Array.from({ length: 201 }, (_v, i) => `M${i}`);
      await refused(
        () => engineer(M.updateProduct, { input: { id: f.product.Spare, routing: [{ machines: many, minutesPerUnit: 1 }] } }),
        'ValidationError',
        /routing\[0\]\.machines: at most 200 machines per step/,
        ['routing[0].machines'],
      );
      await refused(() => engineer(M.deleteProduct, { id: f.product.Widget }), 'ConflictError', /still referred to by order "A-1", order "A-2"$/);
    });

    it('orders: create, change quantity, dates and priority; fields left out keep their value', async () => {
      const f = await fixture();
      const c = await unchanged(
        app.database,
        () =>
          ok(
            planner(M.createOrder, {
              input: {
                plantId: f.plantId,
                order: { code: 'B-1', product: 'Spare', quantity: 10, releaseAt: '2026-12-05T06:00:00Z', dueAt: '2026-12-06T06:00:00+01:00' },
              },
            }),
            'CreateOrderSuccess',
          ),
        { orders: 1, audit_log: 1 },
      );
      assert.deepEqual(
        { ...c.order, id: undefined },
        {
          id: undefined,
          code: 'B-1',
          quantity: 10,
          releaseAt: '2026-12-05T06:00:00.000Z',
          dueAt: '2026-12-06T05:00:00.000Z',
          priority: 0,
          status: 'PLANNED',
          product: { name: 'Spare' },
        },
      );
      const u = await ok(planner(M.updateOrder, { input: { id: c.order.id, quantity: 12, priority: 7, dueAt: '2026-12-07T00:00:00Z' } }), 'UpdateOrderSuccess');
      assert.deepEqual(u.order, {
        id: c.order.id,
        quantity: 12,
        releaseAt: '2026-12-05T06:00:00.000Z',
        dueAt: '2026-12-07T00:00:00.000Z',
        priority: 7,
        status: 'PLANNED',
      });
      const cleared = await ok(planner(M.updateOrder, { input: { id: c.order.id, releaseAt: null } }), 'UpdateOrderSuccess');
      assert.equal(cleared.order.releaseAt, null);
      assert.equal(cleared.order.quantity, 12);
    });

    it('orders: validation and duplicate codes are refused', async () => {
      const f = await fixture();
      const order = { code: 'A-1', product: 'Nope', quantity: 0, releaseAt: '2026-12-05T06:00:00Z', dueAt: '2026-12-06T06:00:00Z', priority: 5000 };
      await refused(() => planner(M.createOrder, { input: { plantId: f.plantId, order } }), 'ValidationError', /2 problems/, [
        'order.quantity',
        'order.priority',
      ]);
      await refused(
        () => planner(M.createOrder, { input: { plantId: f.plantId, order: { ...order, quantity: 1, priority: 1 } } }),
        'ValidationError',
        /unknown product "Nope"/,
        ['order.product'],
      );
      await refused(
        () => planner(M.createOrder, { input: { plantId: f.plantId, order: { ...order, product: 'Widget', quantity: 1, priority: 1 } } }),
        'ValidationError',
        /order.code: an order with code "A-1" already exists in this plant/,
        ['order.code'],
      );
      await refused(
        () =>
          planner(M.createOrder, {
            input: {
              plantId: f.plantId,
              order: { ...order, code: 'Z', product: 'Widget', quantity: 1, priority: 1, status: 'DONE', doneAt: '2026-12-05T00:00:00Z' },
            },
          }),
        'ValidationError',
        /2 problems/,
        ['order.status', 'order.doneAt'],
      );
      await refused(
        () =>
          planner(M.createOrder, {
            input: { plantId: f.plantId, order: { ...order, code: 'Z', product: 'Widget', quantity: 1, priority: 1, dueAt: '2026-12-04T00:00:00Z' } },
          }),
        'ValidationError',
        /order.dueAt: must be after releaseAt/,
        ['order.dueAt'],
      );
      // A-1 is released 2026-12-01T06:00Z: a due date before that is refused, as is clearing required fields.
      await refused(
        () => planner(M.updateOrder, { input: { id: f.order['A-1'], dueAt: '2026-11-30T00:00:00Z' } }),
        'ValidationError',
        /dueAt: must be after releaseAt/,
        ['dueAt'],
      );
      await refused(() => planner(M.updateOrder, { input: { id: f.order['A-1'], quantity: null, dueAt: null } }), 'ValidationError', /2 problems/, [
        'quantity',
        'dueAt',
      ]);
    });

    it('orders: the lifecycle PLANNED → RELEASED → IN_PROGRESS → DONE records the time of each step', async () => {
      const f = await fixture();
      const id = f.order['A-1'];
      const t1 = '2026-01-01T06:00:00.000Z';
      const t2 = '2026-01-01T07:30:00.000Z';
      const r1 = await unchanged(
        app.database,
        () => ok(planner(M.setOrderStatus, { input: { id, status: 'RELEASED', at: t1 } }), 'SetOrderStatusSuccess'),
        AUDITED,
      );
      assert.deepEqual(r1.order, { id, status: 'RELEASED', statusChangedAt: t1, releasedAt: t1, startedAt: null, doneAt: null, cancelledAt: null });
      await refused(
        () => planner(M.setOrderStatus, { input: { id, status: 'DONE' } }),
        'ConflictError',
        /is RELEASED and cannot become DONE \(allowed: IN_PROGRESS, CANCELLED\)/,
      );
      await refused(
        () => planner(M.setOrderStatus, { input: { id, status: 'IN_PROGRESS', at: '2025-12-31T00:00:00Z' } }),
        'ValidationError',
        /must not be before the order's last status change/,
        ['at'],
      );
      await refused(
        () => planner(M.setOrderStatus, { input: { id, status: 'IN_PROGRESS', at: '2099-01-01T00:00:00Z' } }),
        'ValidationError',
        /at: must not be in the future/,
        ['at'],
      );
      const r2 = await ok(planner(M.setOrderStatus, { input: { id, status: 'IN_PROGRESS', at: t2 } }), 'SetOrderStatusSuccess');
      assert.deepEqual(r2.order, { id, status: 'IN_PROGRESS', statusChangedAt: t2, releasedAt: t1, startedAt: t2, doneAt: null, cancelledAt: null });
      const sentAt = Date.now();
      const r3 = await ok(planner(M.setOrderStatus, { input: { id, status: 'DONE' } }), 'SetOrderStatusSuccess');
      assert.equal(r3.order.status, 'DONE');
      assert.equal(r3.order.doneAt, r3.order.statusChangedAt);
      assert.ok(Date.parse(r3.order.doneAt) >= sentAt - 1000, 'default time is now');
      await refused(
        () => planner(M.setOrderStatus, { input: { id, status: 'CANCELLED' } }),
        'ConflictError',
        /is DONE and cannot become CANCELLED \(it is final\)/,
      );
      await refused(() => planner(M.updateOrder, { input: { id, quantity: 3 } }), 'ConflictError', /order "A-1" is DONE; it can no longer change/);
    });

    it('orders: CANCELLED from PLANNED, and nothing after it', async () => {
      const f = await fixture();
      const id = f.order['A-2'];
      const c = await ok(planner(M.setOrderStatus, { input: { id, status: 'CANCELLED', at: '2026-01-02T00:00:00Z' } }), 'SetOrderStatusSuccess');
      assert.deepEqual(c.order, {
        id,
        status: 'CANCELLED',
        statusChangedAt: '2026-01-02T00:00:00.000Z',
        releasedAt: null,
        startedAt: null,
        doneAt: null,
        cancelledAt: '2026-01-02T00:00:00.000Z',
      });
      await refused(
        () => planner(M.setOrderStatus, { input: { id, status: 'RELEASED' } }),
        'ConflictError',
        /is CANCELLED and cannot become RELEASED \(it is final\)/,
      );
      await refused(() => planner(M.setOrderStatus, { input: { id, status: 'CANCELLED' } }), 'ConflictError', /is CANCELLED and cannot become CANCELLED/);
    });

    it('roles: VIEWER may use none of them, PLANNER no structural edit, ENGINEER no order edit', async () => {
      const f = await fixture();
      const cases: [keyof typeof M, Record<string, unknown>][] = [
        ['createLine', { input: { plantId: f.plantId, name: 'X' } }],
        ['updateLine', { input: { id: f.line.L1, name: 'X' } }],
        ['deleteLine', { id: f.line.Empty }],
        ['createMachine', { input: { lineId: f.line.L1, name: 'X' } }],
        ['updateMachine', { input: { id: f.machine.M1, name: 'X' } }],
        ['deleteMachine', { id: f.machine.M1 }],
        ['createProduct', { input: { plantId: f.plantId, name: 'X', routing: [{ machines: ['M1'], minutesPerUnit: 1 }] } }],
        ['updateProduct', { input: { id: f.product.Spare, name: 'X' } }],
        ['deleteProduct', { id: f.product.Spare }],
        ['createOrder', { input: { plantId: f.plantId, order: { code: 'X', product: 'Widget', quantity: 1, dueAt: '2027-01-01T00:00:00Z' } } }],
        ['updateOrder', { input: { id: f.order['A-1'], quantity: 1 } }],
        ['setOrderStatus', { input: { id: f.order['A-1'], status: 'RELEASED' } }],
      ];
      const structural = new Set([
        'createLine',
        'updateLine',
        'deleteLine',
        'createMachine',
        'updateMachine',
        'deleteMachine',
        'createProduct',
        'updateProduct',
        'deleteProduct',
      ]);
      for (const [name, vars] of cases) {
        const callers: [string, ReturnType<typeof as>][] = [['VIEWER', viewer], structural.has(name) ? ['PLANNER', planner] : ['ENGINEER', engineer]];
        for (const [role, call] of callers) {
          if (role === 'ENGINEER') continue; // ENGINEER includes PLANNER: it may edit orders too (checked below)
          const r = await unchanged(app.database, () => call(M[name], vars), AUDITED);
          assert.equal(r.body.data, null, `${role} ${name}`);
          assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN', `${role} ${name}`);
          assert.equal(r.body.errors[0].message, `Forbidden: role ${role} may not use Mutation.${name}`);
        }
      }
      // Each role includes the ones before it: ENGINEER may also edit orders.
      await ok(engineer(M.updateOrder, { input: { id: f.order['A-1'], quantity: 2 } }), 'UpdateOrderSuccess');
    });

    it('plant scopes: an ID of another plant reads exactly like an unknown ID, and exportPlant is null', async () => {
      const f = await fixture();
      const cases: [keyof typeof M, ReturnType<typeof as>, Record<string, unknown>, string, string][] = [
        ['createLine', otherEngineer, { input: { plantId: f.plantId, name: 'X' } }, 'Plant', f.plantId],
        ['updateLine', otherEngineer, { input: { id: f.line.L1, name: 'X' } }, 'Line', f.line.L1],
        ['deleteLine', otherEngineer, { id: f.line.Empty }, 'Line', f.line.Empty],
        ['createMachine', otherEngineer, { input: { lineId: f.line.L1, name: 'X' } }, 'Line', f.line.L1],
        ['updateMachine', otherEngineer, { input: { id: f.machine.M1, name: 'X' } }, 'Machine', f.machine.M1],
        ['deleteMachine', otherEngineer, { id: f.machine.M1 }, 'Machine', f.machine.M1],
        ['createProduct', otherEngineer, { input: { plantId: f.plantId, name: 'X', routing: [{ machines: ['M1'], minutesPerUnit: 1 }] } }, 'Plant', f.plantId],
        ['updateProduct', otherEngineer, { input: { id: f.product.Spare, name: 'X' } }, 'Product', f.product.Spare],
        ['deleteProduct', otherEngineer, { id: f.product.Spare }, 'Product', f.product.Spare],
        [
          'createOrder',
          otherPlanner,
          { input: { plantId: f.plantId, order: { code: 'X', product: 'Widget', quantity: 1, dueAt: '2027-01-01T00:00:00Z' } } },
          'Plant',
          f.plantId,
        ],
        ['updateOrder', otherPlanner, { input: { id: f.order['A-1'], quantity: 1 } }, 'Order', f.order['A-1']],
        ['setOrderStatus', otherPlanner, { input: { id: f.order['A-1'], status: 'RELEASED' } }, 'Order', f.order['A-1']],
      ];
      for (const [name, call, vars, kind, id] of cases) {
        const r = await unchanged(app.database, () => call(M[name], vars), AUDITED);
        assert.equal(r.body.errors, undefined, `${name}: ${JSON.stringify(r.body.errors)}`);
        assert.deepEqual(r.body.data.r, { __typename: 'NotFoundError', code: 'NOT_FOUND', message: `${kind} "${id}" not found` }, name);
        // The same answer as for an ID that exists nowhere.
        const unknown = encodeId(kind, 999_999);
        const u = JSON.parse(JSON.stringify(vars).replaceAll(id, unknown));
        const ru = await app.gql(M[name], u);
        assert.deepEqual(ru.body.data.r, { __typename: 'NotFoundError', code: 'NOT_FOUND', message: `${kind} "${unknown}" not found` }, `${name} unknown`);
      }
      const e = await otherPlanner(EXPORT, { id: f.plantId });
      assert.equal(e.body.errors, undefined);
      assert.equal(e.body.data.exportPlant, null);
    });

    it('exportPlant: a document importPlant accepts, and the imported plant exports the same', async () => {
      const f = await fixture();
      // Edit it first, so the export carries edits.
      await ok(engineer(M.createMachine, { input: { lineId: f.line.Empty, name: 'M4', idealCycleSeconds: 8 } }), 'CreateMachineSuccess');
      await ok(
        engineer(M.updateProduct, { input: { id: f.product.Spare, routing: [{ machines: ['M4', 'M2'], minutesPerUnit: 3, setupMinutes: 1 }] } }),
        'UpdateProductSuccess',
      );
      await ok(planner(M.updateOrder, { input: { id: f.order['A-2'], priority: 9 } }), 'UpdateOrderSuccess');
      await ok(planner(M.setOrderStatus, { input: { id: f.order['A-1'], status: 'RELEASED', at: '2026-01-01T06:00:00Z' } }), 'SetOrderStatusSuccess');
      await ok(planner(M.setOrderStatus, { input: { id: f.order['A-1'], status: 'IN_PROGRESS', at: '2026-01-01T07:00:00Z' } }), 'SetOrderStatusSuccess');
      const e1 = await viewer(EXPORT, { id: f.plantId });
      assert.equal(e1.body.errors, undefined, JSON.stringify(e1.body.errors));
      const doc = e1.body.data.exportPlant;
      assert.equal(doc.timezone, 'Europe/Berlin');
      assert.deepEqual(doc.lines[2], { name: 'Empty', machines: [{ name: 'M4', idealCycleSeconds: 8 }] });
      assert.deepEqual(doc.products[1], { name: 'Spare', routing: [{ machines: ['M2', 'M4'], minutesPerUnit: 3, setupMinutes: 1 }] });
      assert.equal(doc.orders[1].priority, 9);
      assert.deepEqual(doc.orders[0], {
        code: 'A-1',
        product: 'Widget',
        quantity: 50,
        releaseAt: '2026-12-01T06:00:00.000Z',
        dueAt: '2026-12-02T18:00:00.000Z',
        priority: 2,
        status: 'IN_PROGRESS',
        releasedAt: '2026-01-01T06:00:00.000Z',
        startedAt: '2026-01-01T07:00:00.000Z',
      });
      const copyName = `${doc.name} (copy)`;
      const imported = await app.gql(IMPORT, { input: { ...doc, name: copyName } });
      assert.equal(imported.body.data.importPlant.__typename, 'ImportPlantSuccess', JSON.stringify(imported.body));
      const e2 = await app.gql(EXPORT, { id: imported.body.data.importPlant.plant.id });
      assert.deepEqual(e2.body.data.exportPlant, { ...doc, name: copyName });
      // The copy's order carries on from where the original was: IN_PROGRESS since 07:00, so DONE is next.
      const copied = await app.gql(`query($id: ID!) { plant(id: $id) { orders(first: 5) { edges { node { id code status statusChangedAt } } } } }`, {
        id: imported.body.data.importPlant.plant.id,
      });
      const a1 = copied.body.data.plant.orders.edges.find((e: any) => e.node.code === 'A-1').node;
      assert.equal(a1.statusChangedAt, '2026-01-01T07:00:00.000Z');
      await ok(planner(M.setOrderStatus, { input: { id: a1.id, status: 'DONE' } }), 'SetOrderStatusSuccess');
      const none = await app.gql(EXPORT, { id: encodeId('Plant', 999_999) });
      assert.equal(none.body.data.exportPlant, null);
    });

    it('a delete racing an edit that adds a reference: exactly one of them wins, and no reference is lost', async () => {
      const f = await fixture();
      // deleteMachine(M1) races updateProduct(Spare), which puts M1 into Spare's routing.
      const [del, upd] = await Promise.all([
        engineer(M.deleteMachine, { id: f.machine.M1 }),
        engineer(M.updateProduct, { input: { id: f.product.Spare, routing: [{ machines: ['M1'], minutesPerUnit: 1 }] } }),
      ]);
      const d = del.body.data.r;
      const u = upd.body.data.r;
      // M1 is in Widget's routing already: the delete is refused whichever runs first, and the update succeeds.
      assert.equal(d.__typename, 'ConflictError', JSON.stringify(d));
      assert.equal(u.__typename, 'UpdateProductSuccess', JSON.stringify(u));
      // M2's only references are step 1 of Widget and Spare; replace Spare's routing while M2 is deleted after
      // Widget stops using it: either the delete sees the new routing (Conflict) or the update sees no M2 (Validation).
      await ok(engineer(M.updateProduct, { input: { id: f.product.Widget, routing: [{ machines: ['M1'], minutesPerUnit: 1 }] } }), 'UpdateProductSuccess');
      await ok(engineer(M.updateProduct, { input: { id: f.product.Spare, routing: [{ machines: ['M1'], minutesPerUnit: 1 }] } }), 'UpdateProductSuccess');
      const [del2, upd2] = await Promise.all([
        engineer(M.deleteMachine, { id: f.machine.M2 }),
        engineer(M.updateProduct, { input: { id: f.product.Spare, routing: [{ machines: ['M2'], minutesPerUnit: 1 }] } }),
      ]);
      const outcome = [del2.body.data.r.__typename, upd2.body.data.r.__typename].join(' + ');
      console.log(`race outcome: ${outcome}`);
      assert.ok(['DeleteMachineSuccess + ValidationError', 'ConflictError + UpdateProductSuccess'].includes(outcome), outcome);
      const [{ n }] = await app.database.query<{ n: number }>(
        'select count(*)::int as n from routing_steps rs left join routing_step_machines rsm on rsm.step_id = rs.id where rs.product_id = $1 and rsm.step_id is null',
        [decode(f.product.Spare)],
      );
      assert.equal(Number(n), 0, 'no routing step lost its machines');
    });

    it('the cost model and the machine directory see edits at once', async () => {
      const f = await fixture();
      const plantNum = decode(f.plantId);
      const sizes = new PlantSizeCache(app.database);
      const mine = (id: number) => id === plantNum;
      const initial = await sizes.maxima(mine);
      assert.deepEqual(
        [initial.lines, initial.machines, initial.machinesPerLine, initial.products, initial.steps, initial.machinesPerStep],
        [3, 3, 2, 2, 3, 2],
      );
      const lines = [];
      for (const name of ['N1', 'N2', 'N3'])
        lines.push((await ok(engineer(M.createLine, { input: { plantId: f.plantId, name } }), 'CreateLineSuccess')).line.id);
      for (const name of ['X1', 'X2', 'X3']) await ok(engineer(M.createMachine, { input: { lineId: f.line.L1, name } }), 'CreateMachineSuccess');
      await ok(
        engineer(M.createProduct, {
          input: { plantId: f.plantId, name: 'Long', routing: [1, 2, 3, 4].map(() => ({ machines: ['M1', 'M2', 'M3', 'X1'], minutesPerUnit: 1 })) },
        }),
        'CreateProductSuccess',
      );
      const afterEdits = await sizes.maxima(mine);
      t_diag(`sizes before ${JSON.stringify(initial)} after ${JSON.stringify(afterEdits)}`);
      assert.deepEqual(afterEdits, {
        lines: 6,
        machines: 6,
        products: 3,
        steps: 7,
        stepMachines: 20,
        machinesPerLine: 5,
        stepsPerProduct: 4,
        machinesPerStep: 4,
      });
      await ok(engineer(M.deleteLine, { id: lines[0] }), 'DeleteLineSuccess');
      assert.equal((await sizes.maxima(mine)).lines, 5);

      const m1 = decode(f.machine.M1);
      const plantName = (await app.database.query<{ name: string }>('select name from plants where id = $1', [plantNum]))[0].name;
      assert.equal((await app.services.machineNames.names([m1])).get(m1), 'M1');
      assert.equal(await app.services.machineNames.idByName(plantName, 'M1'), m1);
      await ok(engineer(M.updateMachine, { input: { id: f.machine.M1, name: 'Mill 1' } }), 'UpdateMachineSuccess');
      assert.equal((await app.services.machineNames.names([m1])).get(m1), 'Mill 1', 'a rename shows at once in this process');
      assert.equal(await app.services.machineNames.idByName(plantName, 'Mill 1'), m1);
      assert.equal(app.services.machineNames.cachedId(plantName, 'M1'), undefined, 'the old name is gone');
    });
  });
}

function t_diag(msg: string): void {
  console.log(msg);
}
