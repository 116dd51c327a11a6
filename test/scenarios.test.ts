// What-if scenarios end to end: a machine-down scenario re-planned around the window while the live plan and twin stay
// byte-for-byte the same; compareScenarios against deltas computed here from the two schedules; promote refused after
// a conflicting live change (nothing changes) and applied after an unrelated one; ten scenarios side by side at the
// statement count of three; plan stability moves fewer operations than a plain re-plan; a DOWN state with a `replan`
// rule opens, runs and announces a scenario; bad changes are typed errors that change nothing; roles and scopes hold.
import assert from 'node:assert/strict';
import { decodeId, encodeId } from '../src/core/ids.ts';
import { scenarioUpdatesTopic, type ScenarioEvent } from '../src/scenario/topics.ts';
import { importPlant, type PlantImport } from '../src/twin/import.ts';
import { after, AUDITED, as, before, createTestApp, describe, it, makeKey, type TestApp, testBackends, unchanged, waitFor } from './helpers.ts';

let counter = 0;
const unique = (base: string) => `${base}-${process.pid}-${++counter}`;
const START = new Date('2027-06-01T06:00:00Z');
const at = (minutes: number) => new Date(START.getTime() + minutes * 60_000).toISOString();
const min = (iso: string) => (new Date(iso).getTime() - START.getTime()) / 60_000;

const OPS = 'operations(first: 1000) { order { id code } orderCode step machine { id name } start end }';
const JOB = `query($id: ID!) { job(id: $id) { status error result schedule { id isCurrent makespanMinutes kpis { makespanMinutes totalTardinessMinutes onTimeRate lateOrders } ${OPS} } } }`;
const CREATE = `mutation($input: CreateScenarioInput!) { createScenario(input: $input) { __typename
  ... on CreateScenarioSuccess { scenario { id name status } } ... on Error { code message } ... on ValidationError { fieldErrors { path message } } } }`;
const CHANGE = `mutation($input: ScenarioChangeInput!) { addScenarioChange(input: $input) { __typename
  ... on AddScenarioChangeSuccess { scenario { id revision } change { id kind } } ... on Error { code message } ... on ValidationError { fieldErrors { path message } } } }`;
const RUN = `mutation($input: RunScenarioInput!) { runScenario(input: $input) { __typename
  ... on RunScenarioSuccess { job { id } } ... on Error { code message } ... on ValidationError { fieldErrors { path message } } } }`;
const PROMOTE = `mutation($id: ID!) { promoteScenario(id: $id) { __typename
  ... on PromoteScenarioSuccess { plant { id } schedule { id isCurrent } } ... on Error { code message } } }`;
const COMPARE = `query($s: ID!, $b: ID) { compareScenarios(scenarioId: $s, baseScenarioId: $b) {
  base { id } scenario { id } kpis { name base scenario delta } movedOperations reassignedOperations comparedOperations
  orders { code change baseEnd scenarioEnd deltaMinutes baseLateMinutes scenarioLateMinutes } becameLate { code } } }`;

/** Four machines, two products with two flexible steps each, twelve orders. */
function plantDoc(): Omit<PlantImport, 'name'> {
  return {
    lines: [{ name: 'L', machines: [{ name: 'M1' }, { name: 'M2' }, { name: 'M3' }, { name: 'M4' }] }],
    products: [
      {
        name: 'A',
        routing: [
          { machines: ['M1', 'M2'], minutesPerUnit: 10 },
          { machines: ['M3', 'M4'], minutesPerUnit: 8 },
        ],
      },
      {
        name: 'B',
        routing: [
          { machines: ['M2', 'M3'], minutesPerUnit: 6 },
          { machines: ['M1', 'M4'], minutesPerUnit: 5 },
        ],
      },
    ],
    orders: Array.from({ length: 12 }, (_, i) => ({
      code: `o${i + 1}`,
      product: i % 2 === 0 ? 'A' : 'B',
      quantity: 2 + (i % 4),
      dueAt: new Date(START.getTime() + (90 + 25 * i) * 60_000),
    })),
  };
}

for (const backend of testBackends()) {
  describe(`what-if scenarios [${backend}]`, () => {
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

    async function plant(doc = plantDoc()) {
      const { id } = await importPlant(app.database.db, { ...doc, name: unique('P') });
      const plantId = encodeId('Plant', id);
      const read = await app.gql(
        `query($id: ID!) { node(id: $id) { ... on Plant { machines { id name } orders(first: 100) { edges { node { id code dueAt } } } } } }`,
        {
          id: plantId,
        },
      );
      const p = read.body.data.node;
      return {
        id,
        plantId,
        machine: (name: string) => p.machines.find((m: any) => m.name === name).id as string,
        order: (code: string) => p.orders.edges.find((e: any) => e.node.code === code).node.id as string,
        due: new Map<string, number>(p.orders.edges.map((e: any) => [e.node.code, min(e.node.dueAt)])),
      };
    }
    async function finished(jobId: string) {
      return waitFor(
        async () => {
          const got = await app.gql(JOB, { id: jobId });
          assert.equal(got.body.errors, undefined, JSON.stringify(got.body.errors));
          const j = got.body.data.job;
          return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status) ? j : null;
        },
        { timeoutMs: 120_000 },
      );
    }
    async function livePlan(plantId: string) {
      const r = await planner(
        `mutation($input: OptimizeScheduleInput!) { optimizeSchedule(input: $input) { __typename ... on OptimizeScheduleSuccess { job { id } } ... on Error { message } } }`,
        { input: { plantId, start: START.toISOString(), timeLimitSeconds: 30, maxIterations: 400, activate: true } },
      );
      assert.equal(r.body.data.optimizeSchedule.__typename, 'OptimizeScheduleSuccess', JSON.stringify(r.body));
      const job = await finished(r.body.data.optimizeSchedule.job.id);
      assert.equal(job.status, 'SUCCEEDED', job.error);
      return job.schedule;
    }
    async function scenario(plantId: string, name = unique('S')) {
      const r = await planner(CREATE, { input: { plantId, name } });
      assert.equal(r.body.data.createScenario.__typename, 'CreateScenarioSuccess', JSON.stringify(r.body));
      return r.body.data.createScenario.scenario.id as string;
    }
    async function change(scenarioId: string, c: Record<string, unknown>) {
      const r = await planner(CHANGE, { input: { scenarioId, ...c } });
      assert.equal(r.body.data.addScenarioChange.__typename, 'AddScenarioChangeSuccess', JSON.stringify(r.body));
      return r.body.data.addScenarioChange.change.id as string;
    }
    async function runScenario(scenarioId: string, extra: Record<string, unknown> = {}) {
      const r = await planner(RUN, { input: { scenarioId, start: START.toISOString(), timeLimitSeconds: 30, maxIterations: 400, ...extra } });
      assert.equal(r.body.data.runScenario.__typename, 'RunScenarioSuccess', JSON.stringify(r.body));
      const job = await finished(r.body.data.runScenario.job.id);
      assert.equal(job.status, 'SUCCEEDED', job.error);
      assert.equal(job.schedule.isCurrent, false, "a scenario's schedule never becomes current");
      return job.schedule;
    }
    /** Everything of the live plant a scenario must not touch, as text: the export, the current plan, the twin rows. */
    async function liveState(p: { id: number; plantId: string }) {
      const doc = await app.gql(`query($id: ID!) { exportPlant(id: $id) plant(id: $id) { currentSchedule { id export(format: JSON) } } }`, { id: p.plantId });
      const rows: string[] = [];
      for (const [table, where] of [
        ['plants', 'id = $1'],
        ['machines', 'plant_id = $1'],
        ['orders', 'plant_id = $1'],
        ['maintenance_windows', 'plant_id = $1'],
        ['products', 'plant_id = $1'],
        ['routing_steps', 'product_id in (select id from products where plant_id = $1)'],
        ['routing_step_machines', 'step_id in (select s.id from routing_steps s join products p on p.id = s.product_id where p.plant_id = $1)'],
        ['schedules', 'plant_id = $1 and scenario_id is null'],
        ['scheduled_operations', 'schedule_id in (select id from schedules where plant_id = $1 and scenario_id is null)'],
      ]) {
        const r = await app.database.query<{ t: string }>(
          `select coalesce(string_agg(t::text, '|' order by t::text), '') as t from ${table} t where ${where}`,
          [p.id],
        );
        rows.push(`${table}:${r[0].t}`);
      }
      return JSON.stringify({ doc: doc.body.data, rows });
    }
    /** Operations in both plans that start more than a minute apart or changed machine, counted here. */
    function moved(base: any[], other: any[]) {
      const byKey = new Map(base.map((o) => [`${o.orderCode}#${o.step}`, o]));
      let n = 0;
      for (const o of other) {
        const b = byKey.get(`${o.orderCode}#${o.step}`);
        if (b && (b.machine.id !== o.machine.id || Math.abs(min(b.start) - min(o.start)) > 1)) n++;
      }
      return n;
    }

    it('a machine-down scenario plans nothing on the machine in the window, passes the rules, and leaves the live plan and twin byte-for-byte unchanged; compare matches deltas computed here', async () => {
      const p = await plant();
      const live = await livePlan(p.plantId);
      const before = await liveState(p);
      const busiest = ['M1', 'M2', 'M3', 'M4']
        .map((m) => ({ m, n: live.operations.filter((o: any) => o.machine.name === m).length }))
        .sort((a, b) => b.n - a.n)[0].m;
      const s = await scenario(p.plantId);
      await change(s, { machineDown: { machineId: p.machine(busiest), from: at(20), to: at(240) } });
      const plan = await runScenario(s);
      assert.equal(await liveState(p), before, 'the live plant is untouched by a scenario');
      // Nothing on the machine inside the window; routing order and one operation at a time per machine.
      for (const o of plan.operations)
        if (o.machine.name === busiest)
          assert.ok(min(o.end) <= 20 || min(o.start) >= 240, `${o.orderCode}#${o.step} [${min(o.start)}, ${min(o.end)}) on ${busiest}`);
      const byMachine = new Map<string, any[]>();
      for (const o of plan.operations) byMachine.set(o.machine.name, [...(byMachine.get(o.machine.name) ?? []), o]);
      for (const list of byMachine.values()) {
        list.sort((a, b) => min(a.start) - min(b.start));
        for (let i = 1; i < list.length; i++) assert.ok(min(list[i].start) >= min(list[i - 1].end));
      }
      for (const o of plan.operations.filter((x: any) => x.step === 2)) {
        const first = plan.operations.find((x: any) => x.orderCode === o.orderCode && x.step === 1);
        assert.ok(min(o.start) >= min(first.end), `${o.orderCode} in routing order`);
      }
      assert.equal(plan.operations.length, 24);

      const r = await app.gql(COMPARE, { s });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const c = r.body.data.compareScenarios;
      assert.equal(c.base.id, live.id);
      assert.equal(c.scenario.id, plan.id);
      const kpi = (name: string) => c.kpis.find((k: any) => k.name === name);
      assert.equal(kpi('makespanMinutes').base, live.kpis.makespanMinutes);
      assert.equal(kpi('makespanMinutes').scenario, plan.kpis.makespanMinutes);
      assert.equal(kpi('makespanMinutes').delta, plan.kpis.makespanMinutes - live.kpis.makespanMinutes);
      assert.equal(kpi('lateOrders').delta, plan.kpis.lateOrders - live.kpis.lateOrders);
      assert.equal(c.movedOperations, moved(live.operations, plan.operations));
      assert.equal(c.comparedOperations, 24);
      // Orders: planned ends and lateness computed here from the operations and the due dates.
      const ends = (ops: any[]) => {
        const m = new Map<string, number>();
        for (const o of ops) m.set(o.orderCode, Math.max(m.get(o.orderCode) ?? 0, min(o.end)));
        return m;
      };
      const be = ends(live.operations);
      const se = ends(plan.operations);
      const expected: Record<string, string> = {};
      for (const [code, end] of se) {
        const b = be.get(code)!;
        const due = p.due.get(code)!;
        const wasLate = b > due;
        const isLate = end > due;
        if (!wasLate && isLate) expected[code] = 'BECAME_LATE';
        else if (wasLate && !isLate) expected[code] = 'BECAME_ON_TIME';
        else if (end - b > 1) expected[code] = 'LATER';
        else if (b - end > 1) expected[code] = 'EARLIER';
      }
      assert.deepEqual(Object.fromEntries(c.orders.map((o: any) => [o.code, o.change])), expected);
      for (const o of c.orders) assert.equal(o.deltaMinutes, se.get(o.code)! - be.get(o.code)!);
      assert.deepEqual(
        c.becameLate.map((o: any) => o.code),
        Object.keys(expected)
          .filter((k) => expected[k] === 'BECAME_LATE')
          .sort(),
      );
      assert.ok(Object.keys(expected).length > 0, 'the breakdown changes some orders');
    });

    it('promote: refused with ConflictError (changing nothing) after a conflicting live change; applied after an unrelated one', async () => {
      const p = await plant();
      await livePlan(p.plantId);
      const s = await scenario(p.plantId);
      await change(s, { changeDueDate: { orderId: p.order('o3'), dueAt: at(600) } });
      await change(s, { machineRate: { machineId: p.machine('M1'), factor: 0.5 } });
      await runScenario(s);
      // The planner's order changes on the floor meanwhile: a conflict.
      const edit = await app.gql(`mutation($input: UpdateOrderInput!) { updateOrder(input: $input) { __typename } }`, {
        input: { id: p.order('o3'), quantity: 9 },
      });
      assert.equal(edit.body.data.updateOrder.__typename, 'UpdateOrderSuccess');
      const before = await liveState(p);
      const refused = await unchanged(app.database, () => planner(PROMOTE, { id: s }), AUDITED);
      assert.equal(refused.body.data.promoteScenario.__typename, 'ConflictError', JSON.stringify(refused.body));
      assert.match(refused.body.data.promoteScenario.message, /order o3/);
      assert.equal(await liveState(p), before);
      // Run it again on the new live state, then an unrelated live change (a line renamed, another plant's order): promoted.
      await runScenario(s);
      const other = await plant();
      const unrelated = await app.gql(`mutation($input: UpdateOrderInput!) { updateOrder(input: $input) { __typename } }`, {
        input: { id: other.order('o1'), priority: 5 },
      });
      assert.equal(unrelated.body.data.updateOrder.__typename, 'UpdateOrderSuccess');
      const lines = (await app.gql(`query($id: ID!) { plant(id: $id) { lines { id } } }`, { id: p.plantId })).body.data.plant.lines;
      const rename = await app.gql(`mutation($input: UpdateLineInput!) { updateLine(input: $input) { __typename } }`, {
        input: { id: lines[0].id, name: 'renamed' },
      });
      assert.equal(rename.body.data.updateLine.__typename, 'UpdateLineSuccess');
      const ok = await planner(PROMOTE, { id: s });
      assert.equal(ok.body.data.promoteScenario.__typename, 'PromoteScenarioSuccess', JSON.stringify(ok.body));
      assert.equal(ok.body.data.promoteScenario.schedule.isCurrent, true);
      const after = await app.gql(
        `query($id: ID!, $o: ID!, $m: ID!, $s: ID!) { plant(id: $id) { currentSchedule { id } } o: node(id: $o) { ... on Order { dueAt } } m: node(id: $m) { ... on Machine { rateFactor } } scenario(id: $s) { status } }`,
        { id: p.plantId, o: p.order('o3'), m: p.machine('M1'), s },
      );
      const d = after.body.data;
      assert.equal(d.plant.currentSchedule.id, ok.body.data.promoteScenario.schedule.id);
      assert.equal(new Date(d.o.dueAt).toISOString(), at(600));
      assert.equal(d.m.rateFactor, 0.5);
      assert.equal(d.scenario.status, 'PROMOTED');
      const again = await unchanged(app.database, () => planner(PROMOTE, { id: s }), AUDITED);
      assert.equal(again.body.data.promoteScenario.__typename, 'ConflictError');
    });

    it('a rush order added in a scenario is planned, compared as ADDED and created live on promote', async () => {
      const p = await plant();
      await livePlan(p.plantId);
      const s = await scenario(p.plantId);
      await change(s, { addOrder: { code: 'rush', product: 'A', quantity: 3, dueAt: at(60), priority: 10 } });
      const plan = await runScenario(s);
      const rush = plan.operations.filter((o: any) => o.orderCode === 'rush');
      assert.equal(rush.length, 2);
      assert.ok(
        rush.every((o: any) => o.order === null),
        'the added order is not a live order yet',
      );
      const c = (await app.gql(COMPARE, { s })).body.data.compareScenarios;
      assert.equal(c.orders.find((o: any) => o.code === 'rush').change, 'ADDED');
      const ok = await planner(PROMOTE, { id: s });
      assert.equal(ok.body.data.promoteScenario.__typename, 'PromoteScenarioSuccess', JSON.stringify(ok.body));
      const cur = await app.gql(`query($id: ID!) { plant(id: $id) { currentSchedule { ${OPS} } } }`, { id: p.plantId });
      const live = cur.body.data.plant.currentSchedule.operations.filter((o: any) => o.orderCode === 'rush');
      assert.equal(live.length, 2);
      assert.ok(
        live.every((o: any) => o.order?.code === 'rush'),
        'the promoted plan refers to the new live order',
      );
    });

    it('ten scenarios coexist on one plant, each with its own changes; listing them costs the same statements at 3 and at 10', async () => {
      const p = await plant();
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const s = await scenario(p.plantId, `rate ${i}`);
        await change(s, { machineRate: { machineId: p.machine('M2'), factor: 0.1 * (i + 1) } });
        if (i % 2 === 0) await change(s, { cancelOrder: { orderId: p.order('o1') } });
        ids.push(s);
      }
      const q = `query($p: ID!) { scenarios(plantId: $p) { id name status changes { kind details } machines { name rateFactor liveRateFactor status } orders { code status changed } schedule { id } } }`;
      // Only the request's statements: background work of the app (sweeps, job polling) may run meanwhile.
      const requestStatements = async <T>(fn: () => Promise<T>): Promise<{ n: number; r: T }> => {
        let n = 0;
        const stop = app.database.sql.onStatement((_sql, background) => {
          if (!background) n++;
        });
        try {
          return { r: await fn(), n };
        } finally {
          stop();
        }
      };
      const count = async () => {
        await app.gql(q, { p: p.plantId });
        const { n, r } = await requestStatements(() => app.gql(q, { p: p.plantId }));
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        return { n, list: r.body.data.scenarios };
      };
      const ten = await count();
      assert.equal(ten.list.length, 10);
      for (const s of ten.list) {
        const i = Number(s.name.split(' ')[1]);
        assert.equal(s.machines.find((m: any) => m.name === 'M2').rateFactor, 0.1 * (i + 1));
        assert.equal(s.machines.find((m: any) => m.name === 'M2').liveRateFactor, 1);
        assert.equal(s.orders.find((o: any) => o.code === 'o1').status, i % 2 === 0 ? 'CANCELLED' : 'PLANNED');
        assert.equal(s.changes.length, i % 2 === 0 ? 2 : 1);
      }
      for (const id of ids.slice(3)) {
        const d = await planner(`mutation($id: ID!) { discardScenario(id: $id) { __typename } }`, { id });
        assert.equal(d.body.data.discardScenario.__typename, 'DiscardScenarioSuccess');
      }
      const q3 = q.replace('scenarios(plantId: $p)', 'scenarios(plantId: $p, status: OPEN)');
      await app.gql(q3, { p: p.plantId });
      const { n: n3, r: three } = await requestStatements(() => app.gql(q3, { p: p.plantId }));
      assert.equal(three.body.data.scenarios.length, 3);
      assert.equal(ten.n, n3, `10 scenarios: ${ten.n} statements, 3: ${n3}`);
    });

    it('plan stability: minimizeChanges moves fewer operations than a plain re-plan of the same change (counted here)', async (t) => {
      const p = await plant();
      const live = await livePlan(p.plantId);
      const busiest = ['M1', 'M2', 'M3', 'M4']
        .map((m) => ({ m, n: live.operations.filter((o: any) => o.machine.name === m).length }))
        .sort((a, b) => b.n - a.n)[0].m;
      const down = { machineDown: { machineId: p.machine(busiest), from: at(30), to: at(120) } };
      const plain = await scenario(p.plantId, 'plain');
      await change(plain, down);
      const stable = await scenario(p.plantId, 'stable');
      await change(stable, down);
      const a = await runScenario(plain);
      const b = await runScenario(stable, { minimizeChanges: true });
      const movedPlain = moved(live.operations, a.operations);
      const movedStable = moved(live.operations, b.operations);
      assert.ok(movedStable < movedPlain, `stable moved ${movedStable}, plain ${movedPlain}`);
      t.diagnostic(
        `moved against the live plan: plain re-plan ${movedPlain} of 24, minimizeChanges ${movedStable}; makespan ${a.makespanMinutes} vs ${b.makespanMinutes}`,
      );
      const c = (await app.gql(COMPARE, { s: stable })).body.data.compareScenarios;
      assert.equal(c.movedOperations, movedStable);
      // Scenario against scenario.
      const cc = (await app.gql(COMPARE, { s: stable, b: plain })).body.data.compareScenarios;
      assert.equal(cc.base.id, a.id);
      assert.equal(cc.movedOperations, moved(a.operations, b.operations));
      for (const o of b.operations) if (o.machine.name === busiest) assert.ok(min(o.end) <= 30 || min(o.start) >= 120);
    });

    it('a DOWN state under a MACHINE_STATE rule with replan opens a scenario with the machine out, runs it and announces it on scenarioUpdates', async () => {
      const p = await plant();
      await livePlan(p.plantId);
      const rule = await app.gql(
        `mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename ... on ValidationError { fieldErrors { path } } } }`,
        {
          input: { plantId: p.plantId, name: 'down', kind: 'MACHINE_STATE', severity: 'CRITICAL', status: 'DOWN', replan: true },
        },
      );
      assert.equal(rule.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess', JSON.stringify(rule.body));
      const events: ScenarioEvent[] = [];
      const controller = new AbortController();
      const sub = app.services.pubsub.subscribe(scenarioUpdatesTopic, p.id, { signal: controller.signal });
      const reading = (async () => {
        try {
          for await (const e of sub) events.push(e);
        } catch {}
      })();
      const now = new Date();
      const rec = await app.gql(`mutation($input: MachineStateInput!) { recordMachineState(input: $input) { __typename ... on Error { message } } }`, {
        input: { machineId: p.machine('M2'), status: 'DOWN', at: now.toISOString() },
      });
      assert.equal(rec.body.data.recordMachineState.__typename, 'RecordMachineStateSuccess', JSON.stringify(rec.body));
      const done = await waitFor(() => events.find((e) => e.kind === 'RUN_FINISHED' || e.kind === 'RUN_FAILED'), { timeoutMs: 120_000 });
      controller.abort();
      await reading;
      assert.equal(done.kind, 'RUN_FINISHED', done.error ?? '');
      assert.ok(events.some((e) => e.kind === 'CREATED' && e.automatic && e.scenarioId === done.scenarioId));
      assert.ok(done.kpis && done.kpis.length > 0);
      const s = await app.gql(
        `query($id: ID!) { scenario(id: $id) { automatic status changes { kind details } schedule { ${OPS} } machines { name status downtime { from to } } } }`,
        { id: encodeId('Scenario', done.scenarioId) },
      );
      const sc = s.body.data.scenario;
      assert.equal(sc.automatic, true);
      assert.equal(sc.changes.length, 1);
      assert.equal(sc.changes[0].kind, 'MACHINE_DOWN');
      assert.equal(sc.changes[0].details.machineId, p.machine('M2'));
      const window = sc.machines.find((m: any) => m.name === 'M2').downtime[0];
      assert.equal(new Date(window.to).getTime() - new Date(window.from).getTime(), 120 * 60_000, 'no history: the default repair time');
      for (const o of sc.schedule.operations)
        if (o.machine.name === 'M2') assert.ok(new Date(o.start) >= new Date(window.to) || new Date(o.end) <= new Date(window.from));
      // The same breakdown recorded again opens no second scenario.
      const n = Number((await app.database.query<{ n: number }>('select count(*)::int as n from scenarios where plant_id = $1', [p.id]))[0].n);
      assert.equal(n, 1);
    });

    it('attack: malformed, contradictory and out-of-range changes, closed scenarios, VIEWER and other plants: typed errors, nothing changes', async () => {
      const p = await plant();
      const other = await plant();
      const s = await scenario(p.plantId);
      const cases: [Record<string, unknown>, string, string[] | null][] = [
        [{}, 'ValidationError', ['input']],
        [
          { machineDown: { machineId: p.machine('M1'), from: at(10), to: at(20) }, machineRate: { machineId: p.machine('M1'), factor: 0.5 } },
          'ValidationError',
          ['input'],
        ],
        [{ machineDown: { machineId: p.machine('M1'), from: at(20), to: at(10) } }, 'ValidationError', ['input.machineDown.to']],
        [{ machineDown: { machineId: other.machine('M1'), from: at(10), to: at(20) } }, 'ValidationError', ['input.machineDown.machineId']],
        [{ machineDown: { machineId: 'garbage', from: at(10), to: at(20) } }, 'ValidationError', ['input.machineDown.machineId']],
        [{ machineRate: { machineId: p.machine('M1'), factor: 0 } }, 'ValidationError', ['input.machineRate.factor']],
        [{ machineRate: { machineId: p.machine('M1'), factor: 11 } }, 'ValidationError', ['input.machineRate.factor']],
        [{ addOrder: { code: 'o1', product: 'A', quantity: 1, dueAt: at(100) } }, 'ValidationError', ['input.addOrder.code']],
        [{ addOrder: { code: 'new', product: 'nope', quantity: 0, dueAt: at(100) } }, 'ValidationError', ['input.addOrder.quantity', 'input.addOrder.product']],
        [{ cancelOrder: { orderId: other.order('o1') } }, 'ValidationError', ['input.cancelOrder.orderId']],
        [{ changeQuantity: { orderId: p.order('o1'), quantity: -1 } }, 'ValidationError', ['input.changeQuantity.quantity']],
        [{ changePriority: { orderId: p.order('o1'), priority: 5000 } }, 'ValidationError', ['input.changePriority.priority']],
        [{ removeMaintenanceWindow: { windowId: encodeId('MaintenanceWindow', 999_999) } }, 'ValidationError', ['input.removeMaintenanceWindow.windowId']],
        [
          { changeRoutingMachines: { productId: encodeId('Product', 999_999), step: 1, machineIds: [] } },
          'ValidationError',
          ['input.changeRoutingMachines.productId', 'input.changeRoutingMachines.machineIds'],
        ],
      ];
      for (const [c, typename, paths] of cases) {
        const r = await unchanged(app.database, () => planner(CHANGE, { input: { scenarioId: s, ...c } }), AUDITED);
        const out = r.body.data.addScenarioChange;
        assert.equal(out.__typename, typename, `${JSON.stringify(c)}: ${JSON.stringify(r.body)}`);
        if (paths)
          assert.deepEqual(
            out.fieldErrors.map((f: any) => f.path),
            paths,
            JSON.stringify(c),
          );
      }
      // Unknown scenarios, another plant's key, VIEWER.
      const unknown = await unchanged(
        app.database,
        () => planner(CHANGE, { input: { scenarioId: encodeId('Scenario', 999_999), cancelOrder: { orderId: p.order('o1') } } }),
        AUDITED,
      );
      assert.equal(unknown.body.data.addScenarioChange.__typename, 'NotFoundError');
      const scoped = as(app, (await makeKey(app, unique('other'), 'PLANNER', [other.plantId])).key);
      for (const [q, v, field] of [
        [CHANGE, { input: { scenarioId: s, cancelOrder: { orderId: p.order('o1') } } }, 'addScenarioChange'],
        [PROMOTE, { id: s }, 'promoteScenario'],
        [RUN, { input: { scenarioId: s } }, 'runScenario'],
        [CREATE, { input: { plantId: p.plantId, name: 'x' } }, 'createScenario'],
      ] as const) {
        const r = await unchanged(app.database, () => scoped(q, v), AUDITED);
        assert.equal(r.body.data[field].__typename, 'NotFoundError', JSON.stringify(r.body));
      }
      assert.equal((await scoped(`query($id: ID!) { scenario(id: $id) { id } }`, { id: s })).body.data.scenario, null);
      const viewer = as(app, (await makeKey(app, unique('viewer'), 'VIEWER')).key);
      const denied = await unchanged(app.database, () => viewer(CREATE, { input: { plantId: p.plantId, name: 'x' } }), AUDITED);
      assert.equal(denied.body.errors[0].extensions.code, 'FORBIDDEN');
      assert.equal((await viewer(`query($id: ID!) { scenario(id: $id) { id } }`, { id: s })).body.data.scenario.id, s, 'VIEWER reads');
      // A discarded scenario neither changes, runs nor promotes.
      await planner(`mutation($id: ID!) { discardScenario(id: $id) { __typename } }`, { id: s });
      for (const [q, v, field] of [
        [CHANGE, { input: { scenarioId: s, cancelOrder: { orderId: p.order('o1') } } }, 'addScenarioChange'],
        [PROMOTE, { id: s }, 'promoteScenario'],
        [RUN, { input: { scenarioId: s } }, 'runScenario'],
        [`mutation($id: ID!) { discardScenario(id: $id) { __typename ... on Error { code } } }`, { id: s }, 'discardScenario'],
      ] as const) {
        const r = await unchanged(app.database, () => planner(q, v), AUDITED);
        assert.equal(r.body.data[field].__typename, 'ConflictError', JSON.stringify(r.body));
      }
      assert.equal(decodeId('Scenario', s) !== null, true);
    });
  });
}
