// solveModel over the API: LP and MPS text in, checked solutions, duals and reduced costs out; typed errors for bad
// text and out-of-range options; PLANNER and above only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, as, before, createTestApp, describe, it, makeKey, type TestApp, testBackends } from './helpers.ts';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/lp/${name}`, import.meta.url), 'utf8');

const SOLVE = `query($input: SolveModelInput!) {
  solveModel(input: $input) {
    __typename
    ... on SolveModelSuccess { result { status objective solver solveSeconds message variables { name value } duals { name value } reducedCosts { name value } infeasibleRows } }
    ... on ModelParseError { code message line }
    ... on ValidationError { code fieldErrors { path message } }
  }
}`;

/** The known optima of test/fixtures/lp (PROVENANCE.md): relative tolerance 1e-6 for LPs, 1e-4 for MIPs. */
const KNOWN = [
  { file: 'afiro.mps', objective: -464.75314286, tolerance: 1e-6, mip: false },
  { file: 'adlittle.mps', objective: 225494.96316, tolerance: 1e-6, mip: false },
  { file: 'small_mip.mps', objective: 3.2368421, tolerance: 1e-4, mip: true },
  { file: 'flugpl.mps', objective: 1201500, tolerance: 1e-4, mip: true },
  { file: 'egout.mps', objective: 568.1007, tolerance: 1e-4, mip: true },
];

for (const backend of testBackends()) {
  describe(`solveModel [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_BURST: '0' } });
    });
    after(async () => app.close());

    const solve = async (input: Record<string, unknown>, gql = app.gql.bind(app)) => {
      const r = await gql(SOLVE, { input });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data.solveModel;
    };

    for (const k of KNOWN) {
      it(`${k.file} (MPS) solves to its known optimum ${k.objective} with HiGHS, status OPTIMAL`, async () => {
        const r = await solve({ format: 'MPS', model: fixture(k.file), solver: 'HIGHS', timeLimitSeconds: 60, mipGap: 0 });
        assert.equal(r.__typename, 'SolveModelSuccess', JSON.stringify(r));
        assert.equal(r.result.status, 'OPTIMAL', r.result.message);
        assert.equal(r.result.solver, 'HIGHS');
        const rel = Math.abs(r.result.objective - k.objective) / Math.max(1, Math.abs(k.objective));
        assert.ok(rel <= k.tolerance, `objective ${r.result.objective}, expected ${k.objective}`);
        assert.ok(r.result.variables.length > 0);
        // Duals and reduced costs for LPs (HiGHS); none for MIPs.
        assert.equal(r.result.duals === null, k.mip);
        assert.equal(r.result.reducedCosts === null, k.mip);
      });
    }

    it('an LP worked by hand: values, objective, duals and reduced costs, the same objective on both solvers', async () => {
      // max 3x + 2y s.t. x + y <= 4, x + 3y <= 9, x <= 3: optimum x = 3, y = 1, objective 11 (c2 slack); duals c1 = 2, c2 = 0;
      // the bound x <= 3 binds: reduced cost of x = 3 - 2 = 1.
      const lp = 'Maximize\n obj: 3 x + 2 y\nSubject To\n c1: x + y <= 4\n c2: x + 3 y <= 9\nBounds\n 0 <= x <= 3\nEnd\n';
      const highs = await solve({ format: 'LP', model: lp, solver: 'HIGHS' });
      assert.equal(highs.result.status, 'OPTIMAL');
      assert.ok(Math.abs(highs.result.objective - 11) < 1e-9);
      const value = (list: { name: string; value: number }[], name: string) => list.find((v) => v.name === name)?.value;
      assert.ok(Math.abs(value(highs.result.variables, 'x')! - 3) < 1e-9 && Math.abs(value(highs.result.variables, 'y')! - 1) < 1e-9);
      assert.ok(Math.abs(value(highs.result.duals, 'c1')! - 2) < 1e-9, JSON.stringify(highs.result.duals));
      assert.ok(Math.abs(value(highs.result.duals, 'c2')!) < 1e-9);
      assert.ok(Math.abs(value(highs.result.reducedCosts, 'x')! - 1) < 1e-9, JSON.stringify(highs.result.reducedCosts));
      const jslp = await solve({ format: 'LP', model: lp, solver: 'JSLP' });
      assert.equal(jslp.result.solver, 'JSLP');
      assert.equal(jslp.result.status, 'OPTIMAL');
      assert.ok(Math.abs(jslp.result.objective - 11) < 1e-9);
      // AUTO picks javascript-lp-solver for a small pure LP.
      assert.equal((await solve({ format: 'LP', model: lp })).result.solver, 'JSLP');
    });

    it('an infeasible and an unbounded LP are reported as such on both solvers', async () => {
      const infeasible = 'Minimize\n obj: x\nSubject To\n c1: x >= 5\n c2: x <= 2\nEnd\n';
      const unbounded = 'Maximize\n obj: x + y\nSubject To\n c1: x - y <= 1\nEnd\n';
      for (const solver of ['HIGHS', 'JSLP']) {
        const i = await solve({ format: 'LP', model: infeasible, solver });
        assert.deepEqual([i.result.status, i.result.objective, i.result.variables], ['INFEASIBLE', null, []], `${solver}: ${JSON.stringify(i)}`);
        assert.deepEqual(i.result.infeasibleRows, ['c1', 'c2'], 'the rows that contradict each other');
        const u = await solve({ format: 'LP', model: unbounded, solver });
        assert.equal(u.result.status, 'UNBOUNDED', `${solver}: ${JSON.stringify(u)}`);
      }
    });

    it('attack: malformed text is a ModelParseError with its line; out-of-range options are ValidationErrors', async () => {
      const bad = await solve({ format: 'LP', model: 'Minimize\n obj: x\nSubject To\n c1: x >= = 5\nEnd\n' });
      assert.equal(bad.__typename, 'ModelParseError');
      assert.equal(bad.code, 'MODEL_PARSE_ERROR');
      assert.equal(bad.line, 4);
      assert.match(bad.message, /^line 4: /);
      const mps = await solve({ format: 'MPS', model: 'NAME x\nROWS\n N obj\nCOLUMNS\n    x obj notanumber\nENDATA\n' });
      assert.equal(mps.__typename, 'ModelParseError');
      assert.equal(mps.line, 5);
      const lp = 'Minimize\n obj: x\nSubject To\n c1: x >= 1\nEnd\n';
      for (const [input, path] of [
        [{ timeLimitSeconds: 0 }, 'input.timeLimitSeconds'],
        [{ timeLimitSeconds: 121 }, 'input.timeLimitSeconds'],
        [{ mipGap: 1 }, 'input.mipGap'],
      ] as const) {
        const r = await solve({ format: 'LP', model: lp, ...input });
        assert.equal(r.__typename, 'ValidationError', JSON.stringify(r));
        assert.deepEqual(
          r.fieldErrors.map((e: { path: string }) => e.path),
          [path],
        );
      }
    });

    it('roles: PLANNER may solve; VIEWER and OPERATOR get FORBIDDEN', async () => {
      const lp = 'Minimize\n obj: x\nSubject To\n c1: x >= 1\nEnd\n';
      const planner = await makeKey(app, `planner-${process.pid}`, 'PLANNER');
      const ok = await solve({ format: 'LP', model: lp }, as(app, planner.key));
      assert.equal(ok.result.objective, 1);
      for (const role of ['VIEWER', 'OPERATOR']) {
        const key = await makeKey(app, `${role}-${process.pid}`, role);
        const r = await as(app, key.key)(SOLVE, { input: { format: 'LP', model: lp } });
        assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN', role);
        assert.equal(r.body.data, null);
      }
    });
  });
}
