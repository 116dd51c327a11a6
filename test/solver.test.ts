// The optimization solver layer (src/optimize/solver): parsing, both solvers, the independent check, the worker.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WorkerPool } from '../src/jobs/pool.ts';
import { marketSplitMip, productionPlanningLp, productionPlanningSize, randomSmallModel } from '../src/optimize/solver/generators.ts';
import {
  buildLp,
  checkSolution,
  emptyOutcome,
  mapHighsStatus,
  type ModelVariable,
  ModelParseError,
  ModelTooLargeError,
  ModelValidationError,
  type OptimizationModel,
  parseLp,
  parseMps,
  type SolveOutcome,
  solveModel,
  solveModelInWorker,
  solveText,
  verifyOutcome,
  writeLp,
} from '../src/optimize/solver/index.ts';
import { after, describe, it, waitFor } from './helpers.ts';

const FIXTURES = new URL('./fixtures/lp/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');

/** The table of known optima in PROVENANCE.md. */
function knownOptima(): { file: string; kind: 'LP' | 'MIP'; optimum: number }[] {
  const rows = fixture('PROVENANCE.md')
    .split('\n')
    .map((l) => /^\|\s*(\S+\.mps)\s*\|\s*(LP|MIP)\s*\|\s*(-?[\d.]+)\s*\|/.exec(l))
    .filter((m) => m !== null);
  return rows.map((m) => ({ file: m[1], kind: m[2] as 'LP' | 'MIP', optimum: Number(m[3]) }));
}

function assertClose(actual: number | null, expected: number, rel: number, what: string): void {
  assert.ok(actual !== null, `${what}: no objective`);
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} is not within ${rel} of ${expected}`);
}

const INFEASIBLE_LP = `Minimize
 obj: x + y
Subject To
 c1: x + y >= 4
 c2: x + y <= 3
End
`;

const UNBOUNDED_LP = `Maximize
 obj: x + 2 y
Subject To
 c1: x - y <= 1
 c2: - x + 2 y >= -2
End
`;

// max 3x + 5y s.t. x + 2y <= 8, 3x + y <= 9: optimum x = 2, y = 3, objective 21; duals solve
// u1 + 3 u2 = 3, 2 u1 + u2 = 5: u1 = 2.4, u2 = 0.2; reduced costs of the basic x, y are 0.
const DUAL_LP = `Maximize
 profit: 3 x + 5 y
Subject To
 wood: x + 2 y <= 8
 labour: 3 x + y <= 9
End
`;

describe('solver: fixtures with known optima', () => {
  const table = knownOptima();
  it('PROVENANCE.md lists every fixture', () => {
    assert.deepEqual(table.map((r) => r.file).sort(), ['adlittle.mps', 'afiro.mps', 'egout.mps', 'flugpl.mps', 'small_mip.mps']);
  });
  for (const { file, kind, optimum } of table) {
    const rel = kind === 'LP' ? 1e-6 : 1e-4;
    it(`${file} solves to ${optimum} with HiGHS`, async () => {
      const outcome = await solveModel(parseMps(fixture(file)), { solver: 'HIGHS', timeLimitSeconds: 60 });
      assert.equal(outcome.status, 'OPTIMAL', outcome.message ?? '');
      assert.equal(outcome.solver, 'HIGHS');
      assert.equal(outcome.isMip, kind === 'MIP');
      assertClose(outcome.objective, optimum, rel, file);
      if (kind === 'MIP') {
        assert.ok(outcome.bestBound !== null && outcome.gap !== null);
        assert.equal(outcome.duals, null);
      } else {
        assert.ok(outcome.duals !== null && outcome.reducedCosts !== null);
      }
    });
    // javascript-lp-solver: the LPs and the MIPs it finishes in a few seconds (egout takes over 10 s)
    if (file !== 'egout.mps') {
      it(`${file} solves to ${optimum} with javascript-lp-solver`, async () => {
        const outcome = await solveModel(parseMps(fixture(file)), { solver: 'JSLP', timeLimitSeconds: 30 });
        assert.equal(outcome.status, 'OPTIMAL', outcome.message ?? '');
        assert.equal(outcome.solver, 'JSLP');
        assertClose(outcome.objective, optimum, rel, file);
        assert.equal(outcome.duals, null);
      });
    }
  }
  it('parseMps reads every fixture as HiGHS reads it (bounds, integrality, rows, costs, offset)', async () => {
    const { loadHighsOnce } = await import('../src/optimize/solver/highs.ts');
    const highs = await loadHighsOnce();
    for (const { file } of table) {
      const text = fixture(file);
      for (const format of ['free', 'fixed'] as const) {
        const m = parseMps(text, { format });
        const h = highs.createModel({ format: 'mps', data: text });
        try {
          const lp = h.getLp('csr');
          assert.equal(lp.numCols, m.variables.length, file);
          assert.equal(lp.numRows, m.constraints.length, file);
          const cost = new Map(m.objective.terms.map((t) => [t.name, t.coef]));
          m.variables.forEach((v, i) => {
            assert.equal(h.getColName(i), v.name);
            assert.deepEqual(
              [v.lower, v.upper, v.type === 'continuous' ? 0 : 1, cost.get(v.name) ?? 0],
              [lp.colLower[i], lp.colUpper[i], lp.integrality?.[i] ?? 0, lp.colCost[i]],
              `${file} ${v.name}`,
            );
          });
          m.constraints.forEach((c, i) => {
            assert.deepEqual(
              [c.lower, c.upper, c.terms.length],
              [lp.rowLower[i], lp.rowUpper[i], lp.matrix.starts[i + 1] - lp.matrix.starts[i]],
              `${file} ${c.name}`,
            );
          });
          assert.equal(m.objective.constant, lp.offset);
        } finally {
          h.dispose();
        }
      }
    }
  });
});

describe('solver: infeasible, unbounded, limits', () => {
  for (const solver of ['HIGHS', 'JSLP'] as const) {
    it(`an infeasible LP is INFEASIBLE with ${solver}`, async () => {
      const outcome = await solveText('LP', INFEASIBLE_LP, { solver });
      assert.equal(outcome.status, 'INFEASIBLE');
      assert.equal(outcome.values, null);
      assert.deepEqual(outcome.infeasibleRows, ['c1', 'c2']);
    });
    it(`an unbounded LP is UNBOUNDED with ${solver}`, async () => {
      const outcome = await solveText('LP', UNBOUNDED_LP, { solver });
      assert.equal(outcome.status, 'UNBOUNDED');
    });
    it(`an unbounded MIP is UNBOUNDED with ${solver}`, async () => {
      const outcome = await solveText('LP', `${UNBOUNDED_LP.replace('End\n', '')}General\n x\nEnd\n`, { solver });
      assert.equal(outcome.status, 'UNBOUNDED');
    });
  }
  it('an infeasible LP names an irreducible infeasible subset of its rows: the rows that contradict, not the others', async () => {
    const lp = `Minimize
 obj: x + y + z
Subject To
 a: x + y >= 10
 b: x <= 3
 c: y <= 4
 d: z >= 1
 e: x + z <= 100
Bounds
 0 <= x <= 50
End
`;
    const outcome = await solveText('LP', lp, { solver: 'HIGHS' });
    assert.equal(outcome.status, 'INFEASIBLE');
    assert.deepEqual(outcome.infeasibleRows, ['a', 'b', 'c']);
  });
  it('an infeasible MIP is INFEASIBLE with HiGHS (its "infeasible or unbounded" is decided by a second solve)', async () => {
    const outcome = await solveText('LP', `${INFEASIBLE_LP.replace('End\n', '')}General\n x y\nEnd\n`, { solver: 'HIGHS' });
    assert.equal(outcome.status, 'INFEASIBLE');
  });
  it('bounds with lower above upper are INFEASIBLE before any solver runs', async () => {
    const outcome = await solveText('LP', 'Minimize\n obj: x\nSubject To\n c: x >= 0\nBounds\n 3 <= x <= 2\nEnd\n');
    assert.equal(outcome.status, 'INFEASIBLE');
    assert.match(outcome.message ?? '', /lower bound 3 above its upper bound 2/);
  });
  it('a HiGHS time limit gives FEASIBLE with an incumbent and TIME_LIMIT without', async () => {
    const withSlack = await solveModel(marketSplitMip(4, 7, true), { solver: 'HIGHS', timeLimitSeconds: 0.5 });
    assert.equal(withSlack.status, 'FEASIBLE', withSlack.message ?? '');
    assert.ok(withSlack.values !== null && withSlack.gap !== null && withSlack.gap > 0);
    assert.equal(withSlack.solverStatus, 'Time limit reached');
    const pure = await solveModel(marketSplitMip(5, 7, false), { solver: 'HIGHS', timeLimitSeconds: 0.5 });
    assert.equal(pure.status, 'TIME_LIMIT', pure.message ?? '');
    assert.equal(pure.values, null);
  });
  it('javascript-lp-solver after a MIP timeout: TIME_LIMIT, or FEASIBLE only with a solution that passed the check', async () => {
    const model = parseMps(fixture('egout.mps'));
    const outcome = await solveModel(model, { solver: 'JSLP', timeLimitSeconds: 1 });
    assert.ok(outcome.status === 'TIME_LIMIT' || outcome.status === 'FEASIBLE', outcome.status);
    if (outcome.status === 'FEASIBLE') assert.ok(checkSolution(model, outcome.values!).ok);
  });
  it('maps every HiGHS status word', () => {
    const cases: [string, boolean, string][] = [
      ['Optimal', true, 'OPTIMAL'],
      ['Empty', false, 'OPTIMAL'],
      ['Infeasible', false, 'INFEASIBLE'],
      ['Primal infeasible or unbounded', false, 'INFEASIBLE'],
      ['Unbounded', true, 'UNBOUNDED'],
      ['Time limit reached', true, 'FEASIBLE'],
      ['Time limit reached', false, 'TIME_LIMIT'],
      ['Iteration limit reached', false, 'TIME_LIMIT'],
      ['Bound on objective reached', false, 'ERROR'],
      ['Target for objective reached', true, 'FEASIBLE'],
      ['Not Set', false, 'ERROR'],
      ['Load error', false, 'ERROR'],
      ['Model error', false, 'ERROR'],
      ['Presolve error', false, 'ERROR'],
      ['Solve error', false, 'ERROR'],
      ['Postsolve error', false, 'ERROR'],
      ['Unknown', true, 'ERROR'],
    ];
    for (const [words, has, expected] of cases) assert.equal(mapHighsStatus(words, has), expected, words);
  });
});

describe('solver: LP text', () => {
  it('parses sections, labels, multi-line expressions, ranges, bounds, integers and comments', () => {
    const m = parseLp(`\\ a comment
MAXIMIZE
 value: 3 x + 2 y
   - z + 4 \\ constant at the end
Subject To
 c1: x + y <= 4
 2 x + 3 y >= 1
 r: -3 <= x - y <= 5
 c4: x + 3 >= 2
Bounds
 x <= 3
 y free
 -inf <= z <= 8
 w >= -2
General
 z
Binaries
 b
End
`);
    assert.equal(m.objective.sense, 'maximize');
    assert.equal(m.objective.name, 'value');
    assert.deepEqual(m.objective.terms, [
      { name: 'x', coef: 3 },
      { name: 'y', coef: 2 },
      { name: 'z', coef: -1 },
    ]);
    assert.equal(m.objective.constant, 4);
    assert.deepEqual(
      m.constraints.map((c) => [c.name, c.lower, c.upper]),
      [
        ['c1', -Infinity, 4],
        ['R2', 1, Infinity],
        ['r', -3, 5],
        ['c4', -1, Infinity],
      ],
    );
    assert.deepEqual(
      m.variables.map((v) => [v.name, v.lower, v.upper, v.type]),
      [
        ['x', 0, 3, 'continuous'],
        ['y', -Infinity, Infinity, 'continuous'],
        ['z', -Infinity, 8, 'integer'],
        ['w', -2, Infinity, 'continuous'],
        ['b', 0, 1, 'binary'],
      ],
    );
  });
  it('parse errors carry the line number', () => {
    const cases: [string, number, RegExp][] = [
      ['Minimize\n obj: x + y\nSubject To\n c1: x + y >= 1\n c2: x + * y >= 2\nEnd\n', 5, /quadratic/],
      ['Minimize\n obj: x\nSubject To\n c1: x + y >=\nBounds\n x <= 1\nEnd\n', 5, /expected a number on the right-hand side/],
      ['\\ header\n\n x + y\n', 3, /must start with Minimize or Maximize/],
      ['Minimize\n obj: x\nSubject To\n c1: x >= 1\n c1: x <= 4\nEnd\n', 5, /duplicate constraint name "c1"/],
      ['Minimize\n obj: x\nSubject To\n c1: x y >= 1\nEnd\n', 4, /expected \+ or -/],
      ['Minimize\n obj: x\nSubject To\n c1: x >= 1\nBounds\n x <= \nEnd\n', 7, /expected a number/],
      ['Minimize\n obj: x\nSubject To\n c1: x >= 1\nSemi-continuous\n x\nEnd\n', 5, /semi-continuous/],
      ['Minimize\n obj: x\nSubject To\n c1: x + y\n c2: x >= 1\nEnd\n', 5, /expected <=, >= or = after the expression, got "c2"/],
    ];
    for (const [text, line, message] of cases) {
      assert.throws(
        () => parseLp(text),
        (e: unknown) => e instanceof ModelParseError && e.line === line && message.test(e.message) && e.message.startsWith(`line ${line}: `),
        JSON.stringify(text),
      );
    }
  });
  it('refuses text over the byte limit with a typed error', () => {
    const text = `Minimize\n obj: x\nSubject To\n c1: x >= 1 \\ ${'é'.repeat(600)}\nEnd\n`;
    assert.throws(
      () => parseLp(text, { maxBytes: 1000 }),
      (e: unknown) => e instanceof ModelTooLargeError && e.limit === 1000 && e.bytes === Buffer.byteLength(text),
    );
    assert.throws(() => parseMps(text, { maxBytes: 1000 }), ModelTooLargeError);
    assert.equal(parseLp(text, { maxBytes: 2000 }).variables.length, 1);
  });
  it('writeLp renames names HiGHS cannot read and splits ranges, keeping the optimum', async () => {
    const model: OptimizationModel = {
      variables: [
        { name: 'x[1]', lower: 0, upper: 10, type: 'continuous' },
        { name: 'free', lower: -Infinity, upper: Infinity, type: 'continuous' },
        { name: 'n', lower: 0, upper: 5, type: 'integer' },
        { name: 'unused', lower: 1, upper: 2, type: 'continuous' },
      ],
      constraints: [
        {
          name: 'a range',
          terms: [
            { name: 'x[1]', coef: 1 },
            { name: 'free', coef: 1 },
          ],
          lower: 2,
          upper: 6,
        },
        {
          name: 'c',
          terms: [
            { name: 'free', coef: 1 },
            { name: 'n', coef: -1 },
          ],
          lower: -1.5,
          upper: Infinity,
        },
      ],
      objective: {
        sense: 'maximize',
        terms: [
          { name: 'x[1]', coef: 1 },
          { name: 'n', coef: 2 },
          { name: 'unused', coef: -1 },
        ],
        constant: 0.5,
      },
    };
    const lp = buildLp(model);
    assert.doesNotMatch(lp.text, /x\[1\]|a range/);
    assert.equal(lp.rows.size, 3);
    const reparsed = parseLp(writeLp(model));
    assert.equal(reparsed.variables.length, 4);
    // max x + 2n - unused + 0.5: free >= n - 1.5, x + free <= 6, so x = 6 - free, free = n - 1.5: x + 2n = 7.5 + n, n = 5
    for (const m of [model, reparsed]) {
      for (const solver of ['HIGHS', 'JSLP'] as const) {
        const outcome = await solveModel(m, { solver });
        assert.equal(outcome.status, 'OPTIMAL', `${solver}: ${outcome.message}`);
        assertClose(outcome.objective, 12, 1e-9, solver);
      }
    }
  });
});

describe('solver: edge cases on both solvers', () => {
  const v = (name: string, lower: number, upper: number, type: ModelVariable['type'] = 'continuous'): ModelVariable => ({ name, lower, upper, type });
  const cases: { name: string; model: OptimizationModel; status: string; objective?: number }[] = [
    {
      name: 'no variables',
      model: { variables: [], constraints: [], objective: { sense: 'minimize', terms: [], constant: 5 } },
      status: 'OPTIMAL',
      objective: 5,
    },
    {
      name: 'no rows',
      model: { variables: [v('x', -2, 3)], constraints: [], objective: { sense: 'maximize', terms: [{ name: 'x', coef: 2 }], constant: 1 } },
      status: 'OPTIMAL',
      objective: 7,
    },
    {
      name: 'a constant objective and an integer fixed by a row',
      model: {
        variables: [v('x', 1, 3, 'integer')],
        constraints: [{ name: 'c', terms: [{ name: 'x', coef: 1 }], lower: 2, upper: 2 }],
        objective: { sense: 'minimize', terms: [], constant: 7 },
      },
      status: 'OPTIMAL',
      objective: 7,
    },
    {
      name: 'a row without terms that cannot hold',
      model: {
        variables: [v('x', 0, 3)],
        constraints: [{ name: 'e', terms: [], lower: 1, upper: Infinity }],
        objective: { sense: 'minimize', terms: [{ name: 'x', coef: 1 }], constant: 0 },
      },
      status: 'INFEASIBLE',
    },
    {
      name: 'a row without terms that holds and a free row',
      model: {
        variables: [v('x', 0, 3)],
        constraints: [
          { name: 'e', terms: [], lower: -1, upper: 1 },
          { name: 'f', terms: [{ name: 'x', coef: 1 }], lower: -Infinity, upper: Infinity },
        ],
        objective: { sense: 'minimize', terms: [{ name: 'x', coef: -1 }], constant: 0 },
      },
      status: 'OPTIMAL',
      objective: -3,
    },
    {
      name: 'a fixed variable, shifted bounds and the objective named like a row',
      model: {
        variables: [v('x', 2, 2), v('y', -4, 10), v('z', 1.5, 4.5, 'integer')],
        constraints: [
          {
            name: 'obj',
            terms: [
              { name: 'x', coef: 1 },
              { name: 'y', coef: 1 },
              { name: 'z', coef: 1 },
            ],
            lower: 5.5,
            upper: Infinity,
          },
        ],
        objective: {
          name: 'obj',
          sense: 'minimize',
          terms: [
            { name: 'x', coef: 1 },
            { name: 'y', coef: 1 },
            { name: 'z', coef: 3 },
          ],
          constant: 0,
        },
      },
      status: 'OPTIMAL',
      // z = 2 (its smallest integer), y = 1.5: 2 + 1.5 + 6
      objective: 9.5,
    },
  ];
  for (const c of cases) {
    for (const solver of ['HIGHS', 'JSLP'] as const) {
      it(`${c.name}: ${c.status} with ${solver}`, async () => {
        const outcome = await solveModel(c.model, { solver });
        assert.equal(outcome.status, c.status, outcome.message ?? '');
        if (c.objective !== undefined) assertClose(outcome.objective, c.objective, 1e-9, c.name);
        assert.equal(parseLp(writeLp(c.model)).objective.sense, c.model.objective.sense);
      });
    }
  }
  it('both solvers agree on status and objective on 200 seeded random small LPs and MIPs (every kind of bound and row)', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const model = randomSmallModel(seed, seed % 2 === 0, seed % 4 !== 1);
      const highs = await solveModel(model, { solver: 'HIGHS' });
      const jslp = await solveModel(model, { solver: 'JSLP', timeLimitSeconds: 10 });
      assert.equal(jslp.status, highs.status, `seed ${seed}: ${jslp.message ?? ''} ${highs.message ?? ''}`);
      if (highs.status === 'OPTIMAL') assertClose(jslp.objective, highs.objective!, 1e-6, `seed ${seed}`);
      seen.add(highs.status);
    }
    assert.deepEqual([...seen].sort(), ['INFEASIBLE', 'OPTIMAL', 'UNBOUNDED']);
  });
  it('an unbounded LP that HiGHS presolve calls infeasible is UNBOUNDED (confirmed without presolve)', async () => {
    // randomSmallModel(329, false, false): x0 and x6 can grow together (dx6 = 5 dx0) for +13 per unit
    const text = `Maximize
 obj: + 3 x0 - 1 x1 + 2 x2 - 4 x3 + 0 x4 - 4 x5 + 2 x6 + 2
Subject To
 c0: 12 <= + 2.5 x0 + 0.5 x1 + 5 x2 + 2.5 x3 + 3.5 x4 - 0.5 x6 <= 21
 c1: 4 <= - 0.5 x1 + 3 x2 + 4.5 x4 <= 11
Bounds
 -inf <= x1 <= 6
 x2 = -2.5
 3 <= x3 <= 7.5
 x6 free
End
`;
    for (const solver of ['HIGHS', 'JSLP'] as const) assert.equal((await solveText('LP', text, { solver })).status, 'UNBOUNDED', solver);
  });
  it('an LP javascript-lp-solver cycles on stops at its pivot budget (ERROR); AUTO then solves it with HiGHS', async () => {
    const model = randomSmallModel(865, false, false, 30);
    const jslp = await solveModel(model, { solver: 'JSLP' });
    assert.equal(jslp.status, 'ERROR');
    assert.match(jslp.message ?? '', /pivots without finishing/);
    const auto = await solveModel(model);
    assert.equal(auto.solver, 'HIGHS');
    assert.equal(auto.status, 'INFEASIBLE');
    assert.match(auto.message ?? '', /solved with HiGHS instead/);
  });
  it('javascript-lp-solver honours a time limit inside an LP (TIME_LIMIT)', async () => {
    const started = performance.now();
    const outcome = await solveModel(productionPlanningLp(productionPlanningSize(1000), 42), { solver: 'JSLP', timeLimitSeconds: 0.3 });
    assert.equal(outcome.status, 'TIME_LIMIT', outcome.message ?? '');
    assert.ok(performance.now() - started < 3000);
  });
  it('javascript-lp-solver refuses free integer variables (ERROR); HiGHS solves them', async () => {
    const model: OptimizationModel = {
      variables: [v('x', -Infinity, Infinity, 'integer'), v('y', -3.5, 2.5, 'integer')],
      constraints: [
        {
          name: 'c',
          terms: [
            { name: 'x', coef: 1 },
            { name: 'y', coef: 1 },
          ],
          lower: -10.5,
          upper: Infinity,
        },
      ],
      objective: {
        sense: 'minimize',
        terms: [
          { name: 'x', coef: 1 },
          { name: 'y', coef: 0.5 },
        ],
        constant: 0,
      },
    };
    const jslp = await solveModel(model, { solver: 'JSLP' });
    assert.equal(jslp.status, 'ERROR');
    assert.match(jslp.message ?? '', /free integer variables \(x\)/);
    const highs = await solveModel(model, { solver: 'HIGHS' });
    assert.equal(highs.status, 'OPTIMAL');
    assert.deepEqual(highs.values, { x: -12, y: 2 });
  });
  it('AUTO picks javascript-lp-solver for a small LP and HiGHS for a MIP', async () => {
    assert.equal((await solveText('LP', DUAL_LP)).solver, 'JSLP');
    assert.equal((await solveText('LP', `${DUAL_LP.replace('End\n', '')}General\n x\nEnd\n`)).solver, 'HIGHS');
  });
});

describe('solver: MPS', () => {
  it('round trip: parse MPS, write LP, parse LP, same optimum', async () => {
    for (const { file, optimum } of knownOptima().filter((r) => r.file !== 'egout.mps')) {
      const again = parseLp(writeLp(parseMps(fixture(file))));
      const outcome = await solveModel(again, { solver: 'HIGHS' });
      assertClose(outcome.objective, optimum, 1e-6, file);
    }
  });
  it('reads bounds, ranges, markers, an objective constant and OBJSENSE the way HiGHS does', () => {
    const m = parseMps(`NAME test
OBJSENSE
    MAX
ROWS
 N obj
 L lim
 G low
 E eq
 E eq2
COLUMNS
    MARKER    'MARKER'   'INTORG'
    i1        obj  1     lim  1
    i2        obj  1     lim  1
    i3        low  1
    MARKER    'MARKER'   'INTEND'
    c1        obj  2     eq  1
    c1        eq2  1
    c2        low  1     eq  1
RHS
    RHS       lim  10    low  2
    RHS       eq   4     eq2  3
    RHS       obj  7
RANGES
    RNG       lim  4     low  3
    RNG       eq   -2    eq2  5
BOUNDS
 LO BND       i2   2
 MI BND       i3
 UP BND       c1   -1
 FR BND       c2
ENDATA
`);
    assert.equal(m.objective.sense, 'maximize');
    assert.equal(m.objective.constant, -7);
    assert.deepEqual(
      m.variables.map((v) => [v.name, v.lower, v.upper, v.type]),
      [
        ['i1', 0, 1, 'integer'],
        ['i2', 2, Infinity, 'integer'],
        ['i3', -Infinity, Infinity, 'integer'],
        ['c1', 0, -1, 'continuous'],
        ['c2', -Infinity, Infinity, 'continuous'],
      ],
    );
    assert.deepEqual(
      m.constraints.map((c) => [c.name, c.lower, c.upper]),
      [
        ['lim', 6, 10],
        ['low', 2, 5],
        ['eq', 2, 4],
        ['eq2', 3, 8],
      ],
    );
  });
  it('bounds and right-hand sides of 1e20 or more are infinite in MPS and LP text', () => {
    const m = parseMps(
      'NAME t\nROWS\n N obj\n L c1\n G c2\nCOLUMNS\n    x obj 1 c1 1\n    x c2 1\nRHS\n    RHS c1 1e30 c2 -1e30\nBOUNDS\n UP B x 1e21\n LO B x -1e30\nENDATA\n',
    );
    assert.deepEqual(
      m.constraints.map((c) => [c.lower, c.upper]),
      [
        [-Infinity, Infinity],
        [-Infinity, Infinity],
      ],
    );
    assert.deepEqual([m.variables[0].lower, m.variables[0].upper], [-Infinity, Infinity]);
    const l = parseLp('Minimize\n obj: x\nSubject To\n c: x <= 1e30\nBounds\n -1e20 <= x <= 1e25\nEnd\n');
    assert.deepEqual([l.constraints[0].upper, l.variables[0].lower, l.variables[0].upper], [Infinity, -Infinity, Infinity]);
    assert.throws(
      () => parseMps('NAME t\nROWS\n N obj\n E c1\nCOLUMNS\n    x obj 1 c1 1\nRHS\n    RHS c1 1e30\nENDATA\n'),
      (e: unknown) => e instanceof ModelParseError && e.line === 8 && /infinite on the wrong side/.test(e.message),
    );
  });
  it('MPS errors carry the line number', () => {
    const cases: [string, number, RegExp][] = [
      ['NAME x\nROWS\n N obj\n L c1\nCOLUMNS\n    x obj 1 c2 1\nENDATA\n', 6, /unknown row "c2"/],
      ['NAME x\nROWS\n N obj\n Q c1\nENDATA\n', 4, /unknown row type/],
      ['NAME x\nROWS\n N obj\n L c1\nCOLUMNS\n    x obj 1 c1 abc\nENDATA\n', 6, /expected a number/],
      ['NAME x\nROWS\n N obj\n L c1\nCOLUMNS\n    x obj 1 c1 1\nBOUNDS\n XX BND x 1\nENDATA\n', 8, /unknown bound type/],
      ['NAME x\nROWS\n N obj\n L c1\nCOLUMNS\n    x obj 1 c1 1\n', 6, /missing ENDATA/],
    ];
    for (const [text, line, message] of cases) {
      assert.throws(
        () => parseMps(text),
        (e: unknown) => e instanceof ModelParseError && e.line === line && message.test(e.message),
        JSON.stringify(text),
      );
    }
  });
});

describe('solver: duals', () => {
  it('HiGHS gives the shadow prices and reduced costs worked out by hand', async () => {
    const outcome = await solveText('LP', DUAL_LP, { solver: 'HIGHS' });
    assert.equal(outcome.status, 'OPTIMAL');
    assertClose(outcome.objective, 21, 1e-9, 'objective');
    assertClose(outcome.values!.x, 2, 1e-9, 'x');
    assertClose(outcome.values!.y, 3, 1e-9, 'y');
    assertClose(outcome.duals!.wood, 2.4, 1e-9, 'wood');
    assertClose(outcome.duals!.labour, 0.2, 1e-9, 'labour');
    assertClose(outcome.reducedCosts!.x, 0, 1e-9, 'x');
    assertClose(outcome.reducedCosts!.y, 0, 1e-9, 'y');
  });
  it('the same LP minimized with negated costs has negated duals; a range row gets the dual of its active side', async () => {
    const outcome = await solveText(
      'LP',
      DUAL_LP.replace('Maximize', 'Minimize').replace('3 x + 5 y', '-3 x - 5 y').replace('wood: x + 2 y <= 8', 'wood: 1 <= x + 2 y <= 8'),
      {
        solver: 'HIGHS',
      },
    );
    assertClose(outcome.duals!.wood, -2.4, 1e-9, 'wood');
    assertClose(outcome.duals!.labour, -0.2, 1e-9, 'labour');
  });
  it('javascript-lp-solver gives none', async () => {
    const outcome = await solveText('LP', DUAL_LP, { solver: 'JSLP' });
    assertClose(outcome.objective, 21, 1e-9, 'objective');
    assert.equal(outcome.duals, null);
    assert.equal(outcome.reducedCosts, null);
  });
});

describe('solver: checkSolution and the post-check', () => {
  const variables: ModelVariable[] = [
    { name: 'x', lower: 0, upper: 4, type: 'continuous' },
    { name: 'n', lower: 0, upper: 10, type: 'integer' },
  ];
  const model: OptimizationModel = {
    variables,
    constraints: [
      {
        name: 'cap',
        terms: [
          { name: 'x', coef: 1 },
          { name: 'n', coef: 2 },
        ],
        lower: -Infinity,
        upper: 10,
      },
    ],
    objective: {
      sense: 'maximize',
      terms: [
        { name: 'x', coef: 1 },
        { name: 'n', coef: 1 },
      ],
      constant: 1,
    },
  };
  it('accepts a feasible solution and recomputes the objective', () => {
    const check = checkSolution(model, { x: 4, n: 3 });
    assert.equal(check.ok, true);
    assert.equal(check.objective, 8);
  });
  it('rejects a bound violation', () => {
    const check = checkSolution(model, { x: 4.5, n: 1 });
    assert.deepEqual(
      check.violations.map((v) => [v.kind, v.name, v.amount]),
      [['bound', 'x', 0.5]],
    );
  });
  it('rejects a row violation', () => {
    const check = checkSolution(model, { x: 4, n: 4 });
    assert.deepEqual(
      check.violations.map((v) => [v.kind, v.name, v.amount]),
      [['row', 'cap', 2]],
    );
  });
  it('rejects an integrality violation', () => {
    const check = checkSolution(model, { x: 1, n: 2.5 });
    assert.deepEqual(
      check.violations.map((v) => [v.kind, v.name, v.amount]),
      [['integrality', 'n', 0.5]],
    );
  });
  it('a solver answer that violates a row is reported ERROR, never OPTIMAL', async () => {
    const liar = async (): Promise<SolveOutcome> => ({ ...emptyOutcome('HIGHS', 'OPTIMAL', true, 'Optimal'), values: { x: 4, n: 5 }, objective: 10 });
    const outcome = await solveModel(model, { solver: 'HIGHS' }, { HIGHS: liar });
    assert.equal(outcome.status, 'ERROR');
    assert.equal(outcome.values, null);
    assert.match(outcome.message ?? '', /row cap: activity 14 is outside \[-Infinity, 10\] by 4/);
    assert.deepEqual(
      outcome.violations.map((v) => [v.kind, v.name]),
      [['row', 'cap']],
    );
  });
  it('a timed-out MIP answer that fails the check means no solution (TIME_LIMIT)', () => {
    const limited: SolveOutcome = { ...emptyOutcome('JSLP', 'FEASIBLE', true, 'timeout'), values: { x: 4, n: 2.5 }, objective: 7.5 };
    const outcome = verifyOutcome(model, limited);
    assert.equal(outcome.status, 'TIME_LIMIT');
    assert.equal(outcome.values, null);
    assert.match(outcome.message ?? '', /not integral/);
  });
  it('an objective that does not match the values is a violation', () => {
    const wrong: SolveOutcome = { ...emptyOutcome('JSLP', 'OPTIMAL', true, 'feasible'), values: { x: 4, n: 3 }, objective: 9 };
    const outcome = verifyOutcome(model, wrong);
    assert.equal(outcome.status, 'ERROR');
    assert.deepEqual(
      outcome.violations.map((v) => v.kind),
      ['objective'],
    );
  });
  it('validation names duplicate names and NaN', async () => {
    const bad: OptimizationModel = {
      variables: [...variables, { name: 'x', lower: Number.NaN, upper: 1, type: 'continuous' }],
      constraints: [{ name: 'cap', terms: [{ name: 'y', coef: 1 }], lower: 0, upper: 1 }],
      objective: { sense: 'minimize', terms: [], constant: 0 },
    };
    await assert.rejects(
      () => solveModel(bad),
      (e: unknown) =>
        e instanceof ModelValidationError &&
        e.problems.some((p) => p.path === 'variables[2].name' && /duplicate variable name "x"/.test(p.message)) &&
        e.problems.some((p) => p.path === 'variables[2].lower') &&
        e.problems.some((p) => p.path === 'constraints[0].terms[0]' && /unknown variable "y"/.test(p.message)),
    );
  });
});

describe('solver: worker pool', () => {
  const pool = new WorkerPool(1);
  after(() => pool.close());
  it('a malformed model is refused in the calling thread with the typed error', () => {
    const bad: OptimizationModel = { variables: [], constraints: [], objective: { sense: 'minimize', terms: [{ name: 'nope', coef: 1 }], constant: 0 } };
    assert.throws(() => solveModelInWorker(pool, bad), ModelValidationError);
  });
  it('solves in a worker', async () => {
    const outcome = await solveModelInWorker(pool, parseLp(DUAL_LP), { solver: 'HIGHS' });
    assert.equal(outcome.status, 'OPTIMAL');
    assert.equal(outcome.duals?.wood, 2.4);
  });
  it('an abort mid-solve rejects within a second', async () => {
    const controller = new AbortController();
    let solving = false;
    const done = solveModelInWorker(
      pool,
      marketSplitMip(5, 11, true),
      { solver: 'HIGHS' },
      {
        signal: controller.signal,
        onProgress: (_f, message) => {
          if (message === 'solving') solving = true;
        },
      },
    );
    const settled = done.then(
      () => 'resolved',
      (e: Error) => e,
    );
    await waitFor(() => solving, { message: 'the worker to start solving' });
    const abortedAt = performance.now();
    controller.abort();
    const result = await settled;
    const ms = performance.now() - abortedAt;
    assert.ok(result instanceof Error && result.name === 'AbortError', String(result));
    assert.ok(ms < 1000, `rejected after ${ms} ms`);
    // the pool still works afterwards
    const again = await solveModelInWorker(pool, parseLp(DUAL_LP), { solver: 'JSLP' });
    assert.equal(again.objective, 21);
  });
});
