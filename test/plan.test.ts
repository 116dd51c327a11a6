// planProduction: the multi-period capacity LP over the twin. Objectives, backlogs and shadow prices worked by hand;
// both solvers agree; the returned LP text solves to the same objective; maintenance windows and rate factors change
// capacity; bad input, unknown plants and VIEWER keys are refused and write nothing but the audit entry.
import assert from 'node:assert/strict';
import { InfeasibleError } from '../src/core/errors.ts';
import { encodeId } from '../src/core/ids.ts';
import { buildPlanModel } from '../src/optimize/plan/index.ts';
import { importPlant } from '../src/twin/import.ts';
import { after, AUDITED, as, before, createTestApp, describe, it, makeKey, type TestApp, testBackends, unchanged } from './helpers.ts';

const PLAN = `mutation($input: PlanProductionInput!) { planProduction(input: $input) {
  __typename
  ... on PlanProductionSuccess { plan {
    status objective solver solveSeconds message modelLp
    allocations { product machine period periodStart quantity hours }
    production { product period quantity }
    backlog { product period quantity }
    shadowPrices { name value }
    bottlenecks { machine period availableHours shadowPrice }
  } }
  ... on Error { code message }
  ... on ValidationError { fieldErrors { path message } }
} }`;
const SOLVE = `query($input: SolveModelInput!) { solveModel(input: $input) { __typename ... on SolveModelSuccess { result { status objective } } ... on Error { code message } } }`;
const CREATE_WINDOW = `mutation($input: CreateMaintenanceWindowInput!) { createMaintenanceWindow(input: $input) { __typename ... on Error { code message } } }`;

const START = '2027-01-04T00:00:00.000Z';
const at = (hours: number) => new Date(Date.parse(START) + hours * 3_600_000);
let counter = 0;
const unique = (base: string) => `${base}-${process.pid}-${++counter}`;
const close = (a: number, b: number, tol = 1e-6) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

for (const backend of testBackends()) {
  describe(`planProduction [${backend}]`, () => {
    let app: TestApp;
    let planner: ReturnType<typeof as>;
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_BURST: '0' } });
      planner = as(app, (await makeKey(app, unique('planner'), 'PLANNER')).key);
    });
    after(async () => app.close());

    /**
     * Machines A, B, C. P1: step 1 on A (`minutesA` per unit), step 2 on C (30 min). P2: one step on B (60 min).
     * Two periods of 10 h from START. Orders: P1 5 due in period 0, P1 5 due in period 1, P2 8 due in period 1, and
     * P1 100 due after the horizon (ignored). A 4 h maintenance window on B in period 1 (hours 12 to 16).
     */
    async function plant(opts: { minutesA: number; rateC?: number }): Promise<string> {
      const { id } = await importPlant(app.database.db, {
        name: unique('Plan'),
        lines: [{ name: 'L', machines: [{ name: 'A' }, { name: 'B' }, { name: 'C', rateFactor: opts.rateC ?? 1 }] }],
        products: [
          {
            name: 'P1',
            routing: [
              { machines: ['A'], minutesPerUnit: opts.minutesA },
              { machines: ['C'], minutesPerUnit: 30 },
            ],
          },
          { name: 'P2', routing: [{ machines: ['B'], minutesPerUnit: 60 }] },
        ],
        orders: [
          { code: 'o1', product: 'P1', quantity: 5, dueAt: at(5) },
          { code: 'o2', product: 'P1', quantity: 5, dueAt: at(15) },
          { code: 'o3', product: 'P2', quantity: 8, dueAt: at(18) },
          { code: 'o4', product: 'P1', quantity: 100, dueAt: at(50) },
        ],
      });
      const [b] = await app.database.query<{ id: number }>("select id from machines where plant_id = $1 and name = 'B'", [id]);
      const w = await planner(CREATE_WINDOW, {
        input: { machineId: encodeId('Machine', Number(b.id)), start: at(12).toISOString(), end: at(16).toISOString() },
      });
      assert.equal(w.body.data.createMaintenanceWindow.__typename, 'CreateMaintenanceWindowSuccess', JSON.stringify(w.body));
      return encodeId('Plant', id);
    }

    const plan = async (input: Record<string, unknown>, gql = planner) => {
      const r = await gql(PLAN, { input: { start: START, periods: 2, periodHours: 10, ...input } });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data.planProduction;
    };
    const sum = (list: { quantity: number }[]) => list.reduce((s, x) => s + x.quantity, 0);

    it('enough capacity: zero backlog; the maintenance window caps B in period 1 at 6 h, so 2 units of P2 are made early (objective 2)', async () => {
      const plantId = await plant({ minutesA: 60 });
      for (const solver of ['HIGHS', 'JSLP']) {
        const r = await plan({ plantId, solver });
        assert.equal(r.__typename, 'PlanProductionSuccess', JSON.stringify(r));
        const p = r.plan;
        assert.equal(p.status, 'OPTIMAL', p.message);
        assert.equal(p.solver, solver);
        assert.deepEqual(p.backlog, [], solver);
        // P2 needs 8 h on B in period 1, which has 10 - 4 = 6 h: 2 units made in period 0 and held one period.
        assert.ok(close(p.objective, 2), `${solver}: objective ${p.objective}`);
        const b1 = p.allocations.filter((a: any) => a.machine === 'B' && a.period === 1);
        assert.ok(sum(b1) > 0);
        for (const a of b1) assert.ok(a.hours <= 10 - 4 + 1e-6, `B in period 1: ${a.hours} h`);
        assert.ok(
          close(
            b1.reduce((s: number, a: any) => s + a.hours, 0),
            6,
          ),
        );
        assert.equal(b1[0].periodStart, at(10).toISOString());
        // The order due after the horizon is not planned: 10 units of P1 in all.
        assert.ok(close(sum(p.production.filter((x: any) => x.product === 'P1')), 10));
      }
    });

    it('too little capacity: backlog is the hand-computed shortfall, HIGHS and JSLP agree, A is the bottleneck with a negative shadow price', async () => {
      // A takes 3 h per unit of P1: 10/3 units per period. Demand 5 + 5: backlog 5 - 10/3 = 5/3 at the end of period 0,
      // 10 - 20/3 = 10/3 at the end of period 1; backlog cost 10 * 5 = 50, plus 2 for holding P2 (as above): 52.
      const plantId = await plant({ minutesA: 180 });
      const highs = (await plan({ plantId, solver: 'HIGHS' })).plan;
      const jslp = (await plan({ plantId, solver: 'JSLP' })).plan;
      assert.equal(highs.status, 'OPTIMAL');
      assert.equal(jslp.status, 'OPTIMAL');
      assert.ok(close(highs.objective, 52), `objective ${highs.objective}`);
      assert.ok(close(jslp.objective, highs.objective), `JSLP ${jslp.objective} vs HiGHS ${highs.objective}`);
      for (const p of [highs, jslp]) {
        const back = (t: number) => sum(p.backlog.filter((x: any) => x.product === 'P1' && x.period === t));
        assert.ok(close(back(0), 5 / 3), `backlog 0: ${back(0)}`);
        assert.ok(close(back(1), 10 / 3), `backlog 1: ${back(1)}`);
        assert.equal(sum(p.backlog.filter((x: any) => x.product === 'P2')), 0);
      }
      // HiGHS reports a row's dual as the objective's change per unit increase of its bound: an extra hour on A in
      // period 0 makes 1/3 unit more, which cuts the backlog of periods 0 and 1 by 1/3 each: -20/3; in period 1, -10/3.
      const price = (name: string) => highs.shadowPrices.find((s: any) => s.name === name)?.value;
      assert.ok(close(price('cap_A_0'), -20 / 3), JSON.stringify(highs.shadowPrices));
      assert.ok(close(price('cap_A_1'), -10 / 3), JSON.stringify(highs.shadowPrices));
      assert.deepEqual(
        highs.bottlenecks.filter((b: any) => b.machine === 'A').map((b: any) => b.period),
        [0, 1],
      );
      assert.ok(highs.bottlenecks.every((b: any) => b.shadowPrice !== 0));
      // JSLP gives no duals.
      assert.deepEqual(jslp.shadowPrices, []);
    });

    it('modelLp, solved by solveModel, gives the same objective', async () => {
      const plantId = await plant({ minutesA: 180 });
      const p = (await plan({ plantId, solver: 'HIGHS' })).plan;
      for (const solver of ['HIGHS', 'JSLP']) {
        const r = await planner(SOLVE, { input: { format: 'LP', model: p.modelLp, solver } });
        const s = r.body.data.solveModel;
        assert.equal(s.__typename, 'SolveModelSuccess', JSON.stringify(r.body));
        assert.equal(s.result.status, 'OPTIMAL');
        assert.ok(close(s.result.objective, p.objective), `${solver}: ${s.result.objective} vs ${p.objective}`);
      }
    });

    it('rateFactor 0.5 doubles the hours per unit on that machine', async () => {
      const normal = (await plan({ plantId: await plant({ minutesA: 60 }), solver: 'HIGHS' })).plan;
      const slow = (await plan({ plantId: await plant({ minutesA: 60, rateC: 0.5 }), solver: 'HIGHS' })).plan;
      const perUnit = (p: any) => {
        const c = p.allocations.filter((a: any) => a.machine === 'C');
        assert.ok(c.length > 0);
        return c.reduce((s: number, a: any) => s + a.hours, 0) / sum(c);
      };
      assert.ok(close(perUnit(normal), 0.5), String(perUnit(normal)));
      assert.ok(close(perUnit(slow), 1), String(perUnit(slow)));
    });

    it('attack: unknown plant, bad fields, a VIEWER key: typed errors or FORBIDDEN, nothing written but the audit entry', async () => {
      const plantId = await plant({ minutesA: 60 });
      const missing = await unchanged(app.database, () => plan({ plantId: encodeId('Plant', 999_999_999) }), AUDITED);
      assert.equal(missing.__typename, 'NotFoundError', JSON.stringify(missing));
      const garbage = await unchanged(app.database, () => plan({ plantId: 'not-an-id' }), AUDITED);
      assert.equal(garbage.__typename, 'NotFoundError');
      for (const [input, path] of [
        [{ periods: 0 }, 'input.periods'],
        [{ periods: 105 }, 'input.periods'],
        [{ periodHours: 0 }, 'input.periodHours'],
        [{ periodHours: 745 }, 'input.periodHours'],
        [{ holdingCost: -1 }, 'input.holdingCost'],
        [{ backlogCost: -0.5 }, 'input.backlogCost'],
        [{ timeLimitSeconds: 0 }, 'input.timeLimitSeconds'],
        [{ timeLimitSeconds: 121 }, 'input.timeLimitSeconds'],
        [{ downtimeHours: -1 }, 'input.downtimeHours'],
      ] as const) {
        const r = await unchanged(app.database, () => plan({ plantId, ...input }), AUDITED);
        assert.equal(r.__typename, 'ValidationError', JSON.stringify(r));
        assert.deepEqual(
          r.fieldErrors.map((e: { path: string }) => e.path),
          [path],
        );
      }
      // A key of another plant does not see this one.
      const other = (await importPlant(app.database.db, { name: unique('Other'), lines: [{ name: 'L', machines: [{ name: 'X' }] }] })).id;
      const scoped = as(app, (await makeKey(app, unique('scoped'), 'PLANNER', [encodeId('Plant', other)])).key);
      assert.equal((await plan({ plantId }, scoped)).__typename, 'NotFoundError');
      for (const role of ['VIEWER', 'OPERATOR']) {
        const key = await makeKey(app, unique(role), role);
        const r = await unchanged(app.database, () => as(app, key.key)(PLAN, { input: { plantId } }), AUDITED);
        assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN', role);
        assert.equal(r.body.data, null);
      }
    });

    it('a product with demand and a step no machine can do is an InfeasibleError naming product and step', async () => {
      const base = {
        machines: [{ id: 1, name: 'A', rateFactor: 1 }],
        maintenanceWindows: [],
        downtime: [],
        downtimeHours: 4,
        start: new Date(START),
        periods: 2,
        periodHours: 10,
        holdingCost: 1,
        backlogCost: 10,
      };
      const products = [
        { id: 7, name: 'Q', steps: [{ machines: [{ machineId: 1, minutesPerUnit: 10 }] }, { machines: [{ machineId: 99, minutesPerUnit: 5 }] }] },
      ];
      assert.throws(
        () => buildPlanModel({ ...base, products, orders: [{ productId: 7, quantity: 3, dueAt: at(5) }] }),
        (e: unknown) => e instanceof InfeasibleError && /"Q".*step 2/.test(e.message),
      );
      // Without demand in the horizon the product is left out, and the model builds.
      const { model, names } = buildPlanModel({ ...base, products, orders: [{ productId: 7, quantity: 3, dueAt: at(50) }] });
      assert.equal(model.variables.length, 0);
      assert.deepEqual(
        names.outsideHorizon.map((o) => o.quantity),
        [3],
      );
      // Downtime: a machine DOWN now loses downtimeHours from start (4 of period 0's 10 hours).
      const ok = buildPlanModel({
        ...base,
        products: [{ id: 8, name: 'R', steps: [{ machines: [{ machineId: 1, minutesPerUnit: 60 }] }] }],
        orders: [{ productId: 8, quantity: 1, dueAt: at(1) }],
        downtime: [{ machineId: 1 }],
      });
      assert.deepEqual(
        [...ok.names.capacity.values()].map((c) => c.availableHours),
        [6, 10],
      );
    });
  });
}
