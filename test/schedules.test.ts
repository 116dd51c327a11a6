// optimizeSchedule end to end: a JSPLIB instance imported as a plant is scheduled by the job to its optimum, stored
// after the independent check, read through Schedule, Plant.currentSchedule, Machine.operations and Order.plannedEnd,
// exported; the same seed gives the same schedule; machine-dependent times, rate factors, maintenance windows and
// machines down now are honoured; cancel stops a run; infeasible plants and bad input are typed errors that queue
// nothing; ORDER_LATE rules raise and resolve alerts when the current schedule changes; roles and plant scopes hold.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { decodeId, encodeId } from '../src/core/ids.ts';
import { parseJobShop, problemToPlantImport } from '../src/optimize/schedule/jsplib.ts';
import { importPlant, type PlantImport } from '../src/twin/import.ts';
import { after, AUDITED, as, before, createTestApp, describe, it, makeKey, type TestApp, testBackends, unchanged, waitFor } from './helpers.ts';

const OPTIMIZE = `mutation($input: OptimizeScheduleInput!) { optimizeSchedule(input: $input) {
  __typename
  ... on OptimizeScheduleSuccess { job { id status } }
  ... on Error { code message }
  ... on ValidationError { fieldErrors { path message } }
} }`;
const JOB = `query($id: ID!) { job(id: $id) { status message error progress result schedule { id status makespanMinutes lowerBoundMinutes gap isCurrent
  operations { order { code } step machine { name } start end setupMinutes origin } kpis { makespanMinutes onTimeRate lateOrders totalTardinessMinutes }
  bottlenecks { machineId kind minutes } } } }`;
const CANCEL = `mutation($id: ID!) { cancelJob(id: $id) { __typename } }`;

let counter = 0;
const unique = (base: string) => `${base}-${process.pid}-${++counter}`;
const START = new Date('2027-06-01T06:00:00Z');
const min = (iso: string) => (new Date(iso).getTime() - START.getTime()) / 60_000;

for (const backend of testBackends()) {
  describe(`optimizeSchedule [${backend}]`, () => {
    let app: TestApp;
    let planner: ReturnType<typeof as>;
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_BURST: '0' } });
      app.services.jobs.start();
      planner = as(app, (await makeKey(app, unique('planner'), 'PLANNER')).key);
    });
    after(async () => {
      await app.services.jobs.stop();
      await app.close();
    });

    async function plant(doc: Omit<PlantImport, 'name'>): Promise<string> {
      const { id } = await importPlant(app.database.db, { ...doc, name: unique('P') });
      return encodeId('Plant', id);
    }
    async function run(input: Record<string, unknown>, as = planner) {
      const r = await as(OPTIMIZE, { input: { start: START.toISOString(), ...input } });
      assert.equal(r.body.data?.optimizeSchedule.__typename, 'OptimizeScheduleSuccess', JSON.stringify(r.body));
      const id = r.body.data.optimizeSchedule.job.id;
      return waitFor(
        async () => {
          const got = await app.gql(JOB, { id });
          assert.equal(got.body.errors, undefined, JSON.stringify(got.body.errors));
          const j = got.body.data.job;
          return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status) ? j : null;
        },
        { timeoutMs: 120_000 },
      );
    }

    it('ft06 imported as a plant: OPTIMAL at 55 through the job, stored, current, and read back everywhere', async () => {
      const problem = parseJobShop(fs.readFileSync('test/fixtures/jsplib/ft06.txt', 'utf8'));
      const plantId = await plant(problemToPlantImport(problem, 'x', START));
      const job = await run({ plantId, timeLimitSeconds: 20, seed: 7 });
      assert.equal(job.status, 'SUCCEEDED', job.error);
      const s = job.schedule;
      assert.equal(s.status, 'OPTIMAL');
      assert.equal(s.makespanMinutes, 55);
      assert.equal(s.lowerBoundMinutes, 55);
      assert.equal(s.gap, 0);
      assert.equal(s.isCurrent, true, 'the first schedule of a plant becomes current');
      assert.equal(s.operations.length, 36);
      assert.equal(Math.max(...s.operations.map((o: any) => min(o.end))), 55);
      assert.ok(s.bottlenecks.length > 0 && s.bottlenecks.every((b: any) => b.kind === 'MACHINE' || b.kind === 'WINDOW'));
      // Every operation takes its routed time on a routed machine, in routing order, one at a time per machine.
      const byMachine = new Map<string, any[]>();
      for (const o of s.operations) {
        const job = problem.jobs.find((j) => j.id === o.order.code)!;
        const spec = job.operations[o.step - 1];
        const opt = spec.options.find((x) => x.machine === o.machine.name);
        assert.ok(opt, `${o.order.code}#${o.step} on ${o.machine.name}`);
        assert.equal(min(o.end) - min(o.start), opt.duration);
        byMachine.set(o.machine.name, [...(byMachine.get(o.machine.name) ?? []), o]);
      }
      for (const list of byMachine.values()) {
        list.sort((a, b) => min(a.start) - min(b.start));
        for (let i = 1; i < list.length; i++) assert.ok(min(list[i].start) >= min(list[i - 1].end));
      }
      const read = await app.gql(
        `query($id: ID!) { node(id: $id) { ... on Plant { currentSchedule { id export(format: CSV) }
           machines { name operations { order { code } end } } orders(first: 100) { edges { node { code plannedEnd } } } } } }`,
        { id: plantId },
      );
      const p = read.body.data.node;
      assert.equal(p.currentSchedule.id, s.id);
      assert.equal(
        p.machines.reduce((n: number, m: any) => n + m.operations.length, 0),
        36,
      );
      const csv = p.currentSchedule.export.split('\n');
      assert.equal(csv[0], 'order,step,machine,start,end,setup_minutes,origin');
      assert.equal(csv.length, 37);
      for (const e of p.orders.edges) {
        const ends = s.operations.filter((o: any) => o.order.code === e.node.code).map((o: any) => min(o.end));
        assert.equal(min(e.node.plannedEnd), Math.max(...ends));
      }
      const list = await app.gql(`query($p: ID!) { schedules(plantId: $p, first: 5) { edges { node { id } } } }`, { p: plantId });
      assert.deepEqual(
        list.body.data.schedules.edges.map((e: any) => e.node.id),
        [s.id],
      );
    });

    it('the same input, seed and iteration budget give the same schedule; a second schedule is not current unless asked', async () => {
      const problem = parseJobShop(fs.readFileSync('test/fixtures/jsplib/la01.txt', 'utf8'));
      const plantId = await plant(problemToPlantImport(problem, 'x', START));
      const a = await run({ plantId, timeLimitSeconds: 60, seed: 3, maxIterations: 300 });
      const b = await run({ plantId, timeLimitSeconds: 60, seed: 3, maxIterations: 300 });
      assert.equal(a.status, 'SUCCEEDED', a.error);
      assert.equal(b.status, 'SUCCEEDED', b.error);
      assert.notEqual(a.schedule.id, b.schedule.id);
      assert.deepEqual(b.schedule.operations, a.schedule.operations);
      assert.equal(a.schedule.isCurrent, true);
      assert.equal(b.schedule.isCurrent, false);
      const act = await planner(
        `mutation($id: ID!) { activateSchedule(id: $id) { __typename ... on ActivateScheduleSuccess { schedule { id isCurrent } } ... on Error { code } } }`,
        {
          id: b.schedule.id,
        },
      );
      assert.deepEqual(act.body.data.activateSchedule.schedule, { id: b.schedule.id, isCurrent: true });
      const again = await planner(`mutation($id: ID!) { activateSchedule(id: $id) { __typename ... on Error { code } } }`, { id: b.schedule.id });
      assert.equal(again.body.data.activateSchedule.code, 'CONFLICT');
      const old = await app.gql(`query($id: ID!) { schedule(id: $id) { isCurrent } }`, { id: a.schedule.id });
      assert.equal(old.body.data.schedule.isCurrent, false);
    });

    it('machine-dependent times, rate factors, a maintenance window and a machine down now are honoured', async () => {
      const plantId = await plant({
        lines: [{ name: 'L', machines: [{ name: 'slow' }, { name: 'fast' }, { name: 'half', rateFactor: 0.5 }] }],
        products: [
          { name: 'A', routing: [{ machines: ['slow', 'fast'], minutesPerUnit: 10, machineTimes: [{ machine: 'fast', minutesPerUnit: 1, setupMinutes: 5 }] }] },
          { name: 'B', routing: [{ machines: ['half'], minutesPerUnit: 2 }] },
        ],
        orders: [
          { code: 'a1', product: 'A', quantity: 10, dueAt: new Date(START.getTime() + 86_400_000) },
          { code: 'b1', product: 'B', quantity: 10, dueAt: new Date(START.getTime() + 86_400_000) },
        ],
      });
      const machines = (await app.gql(`query($id: ID!) { node(id: $id) { ... on Plant { machines { id name } } } }`, { id: plantId })).body.data.node.machines;
      const half = machines.find((m: any) => m.name === 'half').id;
      const w = await planner(`mutation($input: CreateMaintenanceWindowInput!) { createMaintenanceWindow(input: $input) { __typename } }`, {
        input: { machineId: half, start: START.toISOString(), end: new Date(START.getTime() + 30 * 60_000).toISOString() },
      });
      assert.equal(w.body.data.createMaintenanceWindow.__typename, 'CreateMaintenanceWindowSuccess');
      const job = await run({ plantId, timeLimitSeconds: 2 });
      assert.equal(job.status, 'SUCCEEDED', job.error);
      const ops = new Map(job.schedule.operations.map((o: any) => [o.order.code, o]));
      const a1: any = ops.get('a1');
      assert.equal(a1.machine.name, 'fast');
      assert.equal(min(a1.end) - min(a1.start), 15, '10 units × 1 min on fast + 5 min setup');
      assert.equal(a1.setupMinutes, 5);
      const b1: any = ops.get('b1');
      assert.equal(min(b1.start), 30, 'after the maintenance window');
      assert.equal(min(b1.end) - min(b1.start), 40, '10 × 2 min at half speed');
      // The same plant with "half" DOWN now: it stays out for repairMinutes from the start.
      await app.database.query(`update machines set status = 'DOWN' where id = $1`, [decodeId('Machine', half)]);
      const down = await run({ plantId, timeLimitSeconds: 1, repairMinutes: 90, activate: true });
      assert.equal(down.status, 'SUCCEEDED', down.error);
      const b2 = down.schedule.operations.find((o: any) => o.order.code === 'b1');
      assert.equal(min(b2.start), 90);
    });

    it('pins: an operation pinned to a start and another to a machine are kept; a pin inside a maintenance window is an InfeasibleError', async () => {
      const plantId = await plant({
        lines: [{ name: 'L', machines: [{ name: 'A' }, { name: 'B' }] }],
        products: [{ name: 'P', routing: [{ machines: ['A', 'B'], minutesPerUnit: 10 }] }],
        orders: [
          { code: 'o1', product: 'P', quantity: 1, dueAt: new Date(START.getTime() + 86_400_000) },
          { code: 'o2', product: 'P', quantity: 1, dueAt: new Date(START.getTime() + 86_400_000) },
        ],
      });
      const ids = (
        await app.gql(`query($id: ID!) { node(id: $id) { ... on Plant { machines { id name } orders(first: 5) { edges { node { id code } } } } } }`, {
          id: plantId,
        })
      ).body.data.node;
      const order = (code: string) => ids.orders.edges.find((e: any) => e.node.code === code).node.id;
      const machine = (name: string) => ids.machines.find((m: any) => m.name === name).id;
      const PIN = `mutation($input: PinOperationInput!) { pinOperation(input: $input) { __typename ... on Error { code message } ... on ValidationError { fieldErrors { path } } } }`;
      const at = (m: number) => new Date(START.getTime() + m * 60_000).toISOString();
      assert.equal((await planner(PIN, { input: { orderId: order('o1'), step: 1, start: at(100) } })).body.data.pinOperation.__typename, 'PinOperationSuccess');
      assert.equal(
        (await planner(PIN, { input: { orderId: order('o2'), step: 1, machineId: machine('A') } })).body.data.pinOperation.__typename,
        'PinOperationSuccess',
      );
      const bad = await unchanged(app.database, () => planner(PIN, { input: { orderId: order('o2'), step: 2, machineId: machine('A') } }), AUDITED);
      assert.deepEqual(bad.body.data.pinOperation.fieldErrors, [{ path: 'input.step' }]);
      const job = await run({ plantId, timeLimitSeconds: 1 });
      assert.equal(job.status, 'SUCCEEDED', job.error);
      const ops = new Map(job.schedule.operations.map((o: any) => [o.order.code, o]));
      assert.equal(min((ops.get('o1') as any).start), 100);
      assert.equal((ops.get('o1') as any).origin, 'PINNED');
      assert.equal((ops.get('o2') as any).machine.name, 'A');
      // A start pinned inside a maintenance window of its machine cannot be planned.
      const repin = await planner(PIN, { input: { orderId: order('o1'), step: 1, machineId: machine('B'), start: at(100) } });
      assert.equal(repin.body.data.pinOperation.__typename, 'PinOperationSuccess');
      const win = await planner(
        `mutation($input: CreateMaintenanceWindowInput!) { createMaintenanceWindow(input: $input) { __typename ... on Error { message } } }`,
        {
          input: { machineId: machine('B'), start: at(90), end: at(120) },
        },
      );
      assert.equal(win.body.data.createMaintenanceWindow.__typename, 'CreateMaintenanceWindowSuccess', JSON.stringify(win.body));
      const r = await unchanged(app.database, () => planner(OPTIMIZE, { input: { plantId, start: START.toISOString() } }), AUDITED);
      assert.equal(r.body.data.optimizeSchedule.__typename, 'InfeasibleError', JSON.stringify(r.body));
      const un = await planner(`mutation($o: ID!) { unpinOperation(orderId: $o, step: 1) { __typename } }`, { o: order('o1') });
      assert.equal(un.body.data.unpinOperation.__typename, 'UnpinOperationSuccess');
      const after = await run({ plantId, timeLimitSeconds: 1 });
      assert.equal(after.status, 'SUCCEEDED', after.error);
    });

    it('Machine.operations, Order.plannedEnd and Plant.currentSchedule cost the same statements at 3 and at 30 machines and orders', async () => {
      const count = async (n: number) => {
        const names = Array.from({ length: n }, (_, i) => `M${i}`);
        const plantId = await plant({
          lines: [{ name: 'L', machines: names.map((name) => ({ name })) }],
          products: names.map((m) => ({ name: `P${m}`, routing: [{ machines: [m], minutesPerUnit: 5 }] })),
          orders: names.map((m, i) => ({ code: `o${i}`, product: `P${m}`, quantity: 2, dueAt: new Date(START.getTime() + 86_400_000) })),
        });
        const job = await run({ plantId, timeLimitSeconds: 0 });
        assert.equal(job.status, 'SUCCEEDED', job.error);
        const q = `query($id: ID!) { plant(id: $id) { currentSchedule { makespanMinutes kpis { onTimeRate } }
          lines { machines { name operations { start order { code } } } } orders(first: 100) { edges { node { code plannedEnd } } } } }`;
        await app.gql(q, { id: plantId });
        const start = app.database.sql.count;
        const r = await app.gql(q, { id: plantId });
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        for (const m of r.body.data.plant.lines[0].machines) assert.equal(m.operations.length, 1);
        for (const e of r.body.data.plant.orders.edges) assert.equal(min(e.node.plannedEnd), 10);
        return app.database.sql.count - start;
      };
      const small = await count(3);
      const large = await count(30);
      assert.equal(large, small, `3 machines: ${small} statements, 30: ${large}`);
    });

    it('cancel stops a running solve within a few seconds and stores nothing', async () => {
      const problem = parseJobShop(fs.readFileSync('test/fixtures/jsplib/ft10.txt', 'utf8'));
      const plantId = await plant(problemToPlantImport(problem, 'x', START));
      const r = await planner(OPTIMIZE, { input: { plantId, start: START.toISOString(), timeLimitSeconds: 120 } });
      const id = r.body.data.optimizeSchedule.job.id;
      await waitFor(async () => (await app.gql(JOB, { id })).body.data.job.status === 'RUNNING' || null, { timeoutMs: 60_000 });
      const asked = Date.now();
      const c = await planner(CANCEL, { id });
      assert.equal(c.body.data.cancelJob.__typename, 'CancelJobSuccess');
      const end = await waitFor(
        async () => {
          const j = (await app.gql(JOB, { id })).body.data.job;
          return j.status === 'RUNNING' ? null : j;
        },
        { timeoutMs: 30_000 },
      );
      assert.equal(end.status, 'CANCELLED');
      assert.ok(Date.now() - asked < 15_000, `cancelled after ${Date.now() - asked} ms`);
      assert.equal(end.schedule, null);
    });

    it('attack: infeasible plants, bad options, unknown plants, VIEWER: typed errors, nothing queued', async () => {
      const lateRelease = await plant({
        planningHorizonHours: 24,
        lines: [{ name: 'L', machines: [{ name: 'M' }] }],
        products: [{ name: 'A', routing: [{ machines: ['M'], minutesPerUnit: 1 }] }],
        orders: [
          {
            code: 'later',
            product: 'A',
            quantity: 1,
            releaseAt: new Date(START.getTime() + 3 * 86_400_000),
            dueAt: new Date(START.getTime() + 4 * 86_400_000),
          },
        ],
      });
      const viewer = as(app, (await makeKey(app, unique('viewer'), 'VIEWER')).key);
      const cases: [Record<string, unknown>, string, string | null, ReturnType<typeof as>][] = [
        [{ plantId: lateRelease }, 'InfeasibleError', null, planner],
        [{ plantId: lateRelease, timeLimitSeconds: -1 }, 'ValidationError', 'input.timeLimitSeconds', planner],
        [{ plantId: lateRelease, seed: -5 }, 'ValidationError', 'input.seed', planner],
        [{ plantId: encodeId('Plant', 999_999_999) }, 'NotFoundError', null, planner],
        [{ plantId: 'garbage' }, 'NotFoundError', null, planner],
      ];
      for (const [input, typename, path, who] of cases) {
        const r = await unchanged(app.database, () => who(OPTIMIZE, { input: { start: START.toISOString(), ...input } }), AUDITED);
        const out = r.body.data.optimizeSchedule;
        assert.equal(out.__typename, typename, JSON.stringify(r.body));
        if (path)
          assert.deepEqual(
            out.fieldErrors.map((f: any) => f.path),
            [path],
          );
        if (typename === 'InfeasibleError') assert.match(out.message, /later.*planning horizon|planning horizon.*later/);
      }
      const denied = await unchanged(app.database, () => viewer(OPTIMIZE, { input: { plantId: lateRelease } }), AUDITED);
      assert.equal(denied.body.data?.optimizeSchedule ?? null, null);
      assert.equal(denied.body.errors[0].extensions.code, 'FORBIDDEN');
    });

    it('ORDER_LATE rules raise one alert per late order when the schedule becomes current, and resolve it when on time again', async () => {
      const doc = {
        lines: [{ name: 'L', machines: [{ name: 'M' }] }],
        products: [{ name: 'A', routing: [{ machines: ['M'], minutesPerUnit: 60 }] }],
        orders: [
          { code: 'early', product: 'A', quantity: 1, dueAt: new Date(START.getTime() + 30 * 60_000) },
          { code: 'easy', product: 'A', quantity: 1, dueAt: new Date(START.getTime() + 86_400_000) },
        ],
      };
      const plantId = await plant(doc);
      const rule = await app.gql(`mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename } }`, {
        input: { plantId, name: 'late', kind: 'ORDER_LATE', severity: 'WARNING' },
      });
      assert.equal(rule.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess');
      const first = await run({ plantId, timeLimitSeconds: 1 });
      assert.equal(first.status, 'SUCCEEDED', first.error);
      const alerts = async () =>
        (
          await app.gql(`query($p: ID!) { alerts(plantId: $p, first: 10) { edges { node { status message order { code } } } } }`, { p: plantId })
        ).body.data.alerts.edges.map((e: any) => e.node);
      const open = await alerts();
      assert.equal(open.length, 1, JSON.stringify(open));
      assert.equal(open[0].order.code, 'early');
      assert.equal(open[0].status, 'OPEN');
      assert.match(open[0].message, /early is planned to finish 30 min late/);
      await app.database.query(`update orders set due_at = $1 where code = 'early' and plant_id = $2`, [
        new Date(START.getTime() + 86_400_000).toISOString(),
        decodeId('Plant', plantId),
      ]);
      const second = await run({ plantId, timeLimitSeconds: 1, activate: true });
      assert.equal(second.status, 'SUCCEEDED', second.error);
      const now = await alerts();
      assert.deepEqual(
        now.map((a: any) => a.status),
        ['RESOLVED'],
      );
    });
  });
}
