import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from './helpers.ts';
import { ValidationError } from '../src/core/errors.ts';
import { seededRandom } from '../src/core/random.ts';
import { makespanLowerBound } from '../src/optimize/schedule/bounds.ts';
import { type CheckRule, checkSchedule } from '../src/optimize/schedule/checker.ts';
import { construct, dispatch, dispatchScan } from '../src/optimize/schedule/construct.ts';
import { Decoder } from '../src/optimize/schedule/decode.ts';
import {
  compileProblem,
  InfeasibleProblemError,
  parseFlexibleJobShop,
  parseJobShop,
  type ScheduledOperation,
  type ScheduleProblem,
  solveSchedule,
  toOperations,
} from '../src/optimize/schedule/index.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'jsplib');
const INSTANCES: { name: string; optimum: number | null }[] = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'instances.json'), 'utf8'));
const NAMES = ['ft06', 'ft10', 'la01', 'la02', 'la03', 'la04', 'la05', 'la06', 'la07', 'la08', 'la09', 'la10'];
const load = (name: string) => parseJobShop(fs.readFileSync(path.join(FIXTURES, `${name}.txt`), 'utf8'));
const optimum = (name: string) => INSTANCES.find((i) => i.name === name)!.optimum!;

/** A small hand instance with a window, releases, setups, a fixed operation and pins. */
function handProblem(): ScheduleProblem {
  return {
    machines: [{ id: 'A' }, { id: 'B', unavailable: [{ start: 20, end: 30, kind: 'MAINTENANCE' }] }],
    jobs: [
      { id: 'J3', operations: [{ options: [{ machine: 'A', duration: 2 }], fixed: { machine: 'A', start: 0 } }] },
      {
        id: 'J1',
        due: 20,
        weight: 2,
        operations: [{ options: [{ machine: 'A', duration: 5, setup: 1 }] }, { options: [{ machine: 'B', duration: 4 }] }],
      },
      {
        id: 'J2',
        release: 2,
        due: 10,
        operations: [
          {
            options: [
              { machine: 'A', duration: 3 },
              { machine: 'B', duration: 2 },
            ],
            pin: { machine: 'B' },
          },
          { options: [{ machine: 'A', duration: 3 }], pin: { start: 12 } },
        ],
      },
    ],
  };
}

/** A valid schedule of handProblem, by hand. */
function handSchedule(): ScheduledOperation[] {
  const op = (job: string, index: number, machine: string, start: number, end: number) => ({ job, index, operation: `${job}#${index}`, machine, start, end });
  return [op('J3', 0, 'A', 0, 2), op('J1', 0, 'A', 2, 8), op('J1', 1, 'B', 8, 12), op('J2', 0, 'B', 2, 4), op('J2', 1, 'A', 12, 15)];
}

function clean(problem: ScheduleProblem, ops: ScheduledOperation[]): void {
  const { violations } = checkSchedule(problem, ops);
  assert.deepEqual(violations, []);
}

describe('schedule checker', () => {
  it('accepts a valid hand schedule and recomputes the KPIs', () => {
    const { violations, kpis } = checkSchedule(handProblem(), handSchedule());
    assert.deepEqual(violations, []);
    assert.equal(kpis.makespan, 15);
    // J1 ends 12 (due 20: on time), J2 ends 15 (due 10: 5 late, weight 1)
    assert.equal(kpis.totalTardiness, 5);
    assert.equal(kpis.weightedTardiness, 5);
    assert.equal(kpis.onTimeRate, 0.5);
    assert.equal(kpis.utilization.A, (2 + 6 + 3) / 15);
    assert.equal(kpis.utilization.B, (4 + 2) / 15);
  });

  const edit = (change: (ops: ScheduledOperation[]) => ScheduledOperation[]) => change(handSchedule());
  const set = (ops: ScheduledOperation[], key: string, patch: Partial<ScheduledOperation>) =>
    ops.map((o) => (`${o.job}#${o.index}` === key ? { ...o, ...patch } : o));
  const cases: [CheckRule, string, ScheduledOperation[]][] = [
    ['MISSING_OPERATION', 'J1#1', edit((ops) => ops.filter((o) => !(o.job === 'J1' && o.index === 1)))],
    ['DUPLICATE_OPERATION', 'J1#1', edit((ops) => [...ops, ops[2]])],
    ['UNKNOWN_OPERATION', 'J9#0', edit((ops) => [...ops, { job: 'J9', index: 0, operation: 'x', machine: 'A', start: 40, end: 41 }])],
    ['INELIGIBLE_MACHINE', 'J1#1', edit((ops) => set(ops, 'J1#1', { machine: 'A', start: 15, end: 19 }))],
    ['DURATION', 'J1#0', edit((ops) => set(ops, 'J1#0', { end: 7 }))],
    ['ROUTING_ORDER', 'J1#1', edit((ops) => set(ops, 'J1#1', { start: 7, end: 11 }))],
    ['RELEASE', 'J2#0', edit((ops) => set(ops, 'J2#0', { start: 1, end: 3 }))],
    ['MACHINE_OVERLAP', 'J3#0', edit((ops) => set(ops, 'J1#0', { start: 1, end: 7 }))],
    ['UNAVAILABLE_WINDOW', 'J1#1', edit((ops) => set(ops, 'J1#1', { start: 18, end: 22 }))],
    ['FIXED', 'J3#0', edit((ops) => set(set(ops, 'J3#0', { start: 30, end: 32 }), 'J1#0', { start: 0, end: 6 }))],
    ['PINNED_MACHINE', 'J2#0', edit((ops) => set(ops, 'J2#0', { machine: 'A', start: 8, end: 11 }))],
    ['PINNED_START', 'J2#1', edit((ops) => set(ops, 'J2#1', { start: 13, end: 16 }))],
  ];
  for (const [rule, operation, ops] of cases) {
    it(`rejects a schedule breaking ${rule}`, () => {
      const { violations } = checkSchedule(handProblem(), ops);
      assert.deepEqual(
        violations.map((v) => [v.rule, v.operation]),
        [[rule, operation]],
      );
    });
  }
});

describe('schedule problem validation', () => {
  it('lists malformed operations with their paths', () => {
    const problem: ScheduleProblem = {
      machines: [{ id: 'A' }, { id: 'B' }],
      jobs: [
        {
          id: 'J',
          operations: [
            { options: [] },
            { options: [{ machine: 'A', duration: -1 }] },
            { options: [{ machine: 'A', duration: 1 }], pin: { machine: 'B' } },
            { options: [{ machine: 'C', duration: 1, setup: -2 }] },
          ],
        },
      ],
    };
    assert.throws(
      () => compileProblem(problem),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(
          e.fieldErrors.map((f) => f.path),
          [
            'jobs[0].operations[0].options',
            'jobs[0].operations[1].options[0].duration',
            'jobs[0].operations[2].pin.machine',
            'jobs[0].operations[3].options[0].machine',
            'jobs[0].operations[3].options[0].setup',
          ],
        );
        assert.match(e.fieldErrors[0].message, /no eligible machine/);
        assert.match(e.fieldErrors[2].message, /not eligible/);
        return true;
      },
    );
  });

  it('names the operations and machine of overlapping fixed operations', () => {
    const problem: ScheduleProblem = {
      machines: [{ id: 'A' }],
      jobs: [
        { id: 'J1', operations: [{ options: [{ machine: 'A', duration: 5 }], fixed: { machine: 'A', start: 0 } }] },
        { id: 'J2', operations: [{ id: 'drill', options: [{ machine: 'A', duration: 5 }], fixed: { machine: 'A', start: 3 } }] },
      ],
    };
    assert.throws(
      () => compileProblem(problem),
      (e: unknown) => {
        assert.ok(e instanceof InfeasibleProblemError);
        assert.equal(e.code, 'INFEASIBLE');
        assert.deepEqual([e.jobs, e.operations, e.machines], [['J1', 'J2'], ['J1#0', 'drill'], ['A']]);
        return true;
      },
    );
  });

  it('rejects a pinned start its job cannot reach, and a fixed operation in a window', () => {
    const unreachable: ScheduleProblem = {
      machines: [{ id: 'A' }],
      jobs: [
        { id: 'J', release: 10, operations: [{ options: [{ machine: 'A', duration: 5 }] }, { options: [{ machine: 'A', duration: 1 }], pin: { start: 12 } }] },
      ],
    };
    assert.throws(
      () => compileProblem(unreachable),
      (e: unknown) => e instanceof InfeasibleProblemError && e.jobs[0] === 'J' && e.operations.join() === 'J#0,J#1' && /before 15/.test(e.message),
    );
    const inWindow: ScheduleProblem = {
      machines: [{ id: 'A', unavailable: [{ start: 4, end: 8 }] }],
      jobs: [{ id: 'J', operations: [{ options: [{ machine: 'A', duration: 5 }], fixed: { machine: 'A', start: 0 } }] }],
    };
    assert.throws(
      () => compileProblem(inWindow),
      (e: unknown) => e instanceof InfeasibleProblemError && e.machines[0] === 'A' && /window/.test(e.message),
    );
  });
});

describe('schedule construction', () => {
  it('reports a pinned start that dispatching cannot meet as infeasible, naming it', async () => {
    const problem: ScheduleProblem = {
      machines: [{ id: 'A' }, { id: 'B' }],
      jobs: [
        { id: 'busy', operations: [{ options: [{ machine: 'A', duration: 10 }], fixed: { machine: 'A', start: 0 } }] },
        { id: 'J', operations: [{ options: [{ machine: 'A', duration: 10 }] }, { options: [{ machine: 'B', duration: 1 }], pin: { start: 10 } }] },
      ],
    };
    await assert.rejects(
      solveSchedule(problem, { timeLimitSeconds: 1 }),
      (e: unknown) => e instanceof InfeasibleProblemError && e.operations.join() === 'J#1' && e.jobs.join() === 'J' && e.machines.join() === 'B',
    );
  });

  it('gives a checker-clean schedule on every fixture', () => {
    for (const name of NAMES) {
      const problem = load(name);
      const p = compileProblem(problem);
      const decoder = new Decoder(p);
      const { solution, value } = construct(p, 'MAKESPAN', decoder);
      const ops = toOperations(p, solution, decoder, 'MAKESPAN');
      clean(problem, ops);
      assert.ok(value >= optimum(name), name);
    }
  });

  it('honours windows, releases, setups, the fixed operation and the pins of the hand instance', async () => {
    const problem = handProblem();
    for (const objective of ['MAKESPAN', 'WEIGHTED_TARDINESS'] as const) {
      const r = await solveSchedule(problem, { objective, timeLimitSeconds: 1, maxIterations: 200, seed: 3 });
      clean(problem, r.operations);
      const at = (key: string) => r.operations.find((o) => o.operation === key)!;
      assert.deepEqual([at('J3#0').machine, at('J3#0').start], ['A', 0]);
      assert.equal(at('J2#0').machine, 'B');
      assert.equal(at('J2#1').start, 12);
      assert.ok(at('J2#0').start >= 2);
      assert.equal(at('J1#0').end - at('J1#0').start, 6);
    }
  });

  it('starts an operation after a window it would cross, and uses the faster machine', async () => {
    const problem: ScheduleProblem = {
      machines: [{ id: 'slow' }, { id: 'fast', unavailable: [{ start: 3, end: 10 }] }],
      jobs: [
        {
          id: 'J',
          operations: [
            {
              options: [
                { machine: 'slow', duration: 30 },
                { machine: 'fast', duration: 5 },
              ],
            },
          ],
        },
        {
          id: 'K',
          operations: [
            {
              options: [
                { machine: 'slow', duration: 2, setup: 6 },
                { machine: 'fast', duration: 4 },
              ],
            },
          ],
        },
      ],
    };
    const r = await solveSchedule(problem, { timeLimitSeconds: 1, seed: 1 });
    clean(problem, r.operations);
    const j = r.operations.find((o) => o.job === 'J')!;
    // fast: [0,3) is too short for 5 minutes, so J starts at 10 on fast (end 15) rather than 30 on slow
    assert.deepEqual([j.machine, j.start, j.end], ['fast', 10, 15]);
    // K: 2 + 6 setup on slow (ends 8) beats fast after J (ends 19)
    const k = r.operations.find((o) => o.job === 'K')!;
    assert.deepEqual([k.machine, k.start, k.end], ['slow', 0, 8]);
    assert.equal(r.makespan, 15);
  });

  it('the Giffler-Thompson rules with candidates per machine dispatch exactly what the scan over every job does', () => {
    const random = seededRandom(11);
    const flexible: ScheduleProblem = {
      machines: Array.from({ length: 8 }, (_, i) => ({ id: `M${i}`, unavailable: i % 3 === 0 ? [{ start: 40 + 7 * i, end: 90 + 7 * i }] : [] })),
      jobs: Array.from({ length: 30 }, (_, j) => ({
        id: `J${j}`,
        release: Math.floor(random() * 60),
        due: 200 + Math.floor(random() * 400),
        operations: Array.from({ length: 5 }, (_, k) => {
          const ms = new Set<number>();
          const n = 1 + Math.floor(random() * 3);
          while (ms.size < n) ms.add(Math.floor(random() * 8));
          const options = [...ms].map((m) => ({ machine: `M${m}`, duration: Math.floor(random() * 20), setup: Math.floor(random() * 3) }));
          return j === 3 && k === 2 ? { options, pin: { machine: options[0].machine } } : { options };
        }),
      })),
    };
    const problems = [...NAMES.map((n) => load(n)), handProblem(), flexible];
    for (const [i, problem] of problems.entries()) {
      const p = compileProblem(problem);
      for (const rule of ['GT_MWKR', 'GT_EDD'] as const) {
        const fast = dispatch(p, rule);
        const scan = dispatchScan(p, rule);
        assert.equal(fast.ok, scan.ok);
        assert.ok(fast.solution.sameAs(scan.solution), `problem ${i} ${rule}`);
      }
    }
  });

  it('builds a 100 jobs × 20 machines flexible schedule in under a second', () => {
    const random = seededRandom(7);
    const machines = Array.from({ length: 20 }, (_, i) => ({
      id: `M${i}`,
      unavailable: i % 4 === 0 ? [{ start: 100 + 10 * i, end: 160 + 10 * i }] : [],
    }));
    const jobs = Array.from({ length: 100 }, (_, j) => ({
      id: `J${j}`,
      release: Math.floor(random() * 100),
      due: 500 + Math.floor(random() * 1500),
      operations: Array.from({ length: 20 }, () => {
        const k = 1 + Math.floor(random() * 3);
        const ms = new Set<number>();
        while (ms.size < k) ms.add(Math.floor(random() * 20));
        return { options: [...ms].map((m) => ({ machine: `M${m}`, duration: 1 + Math.floor(random() * 50), setup: Math.floor(random() * 5) })) };
      }),
    }));
    const problem = { machines, jobs };
    const started = performance.now();
    const p = compileProblem(problem);
    const decoder = new Decoder(p);
    const { solution } = construct(p, 'WEIGHTED_TARDINESS', decoder);
    const ms = performance.now() - started;
    clean(problem, toOperations(p, solution, decoder, 'WEIGHTED_TARDINESS'));
    assert.ok(ms < 1000, `${ms} ms`);
  });
});

describe('schedule search', () => {
  it('gives the same schedule for the same seed and iteration budget', async () => {
    const problem = load('ft10');
    const run = () => solveSchedule(problem, { timeLimitSeconds: 60, maxIterations: 3000, seed: 42 });
    const [a, b] = [await run(), await run()];
    assert.equal(a.stoppedBy, 'ITERATIONS');
    assert.equal(a.iterations, 3000);
    assert.deepEqual(a.operations, b.operations);
    const c = await solveSchedule(problem, { timeLimitSeconds: 60, maxIterations: 3000, seed: 43 });
    clean(problem, c.operations);
  });

  it('converges to the same schedule in time-limited runs on a stable instance', async () => {
    // la02's lower bound is its optimum: the run stops at a deterministic iteration, whatever the clock says
    const problem = load('la02');
    const a = await solveSchedule(problem, { timeLimitSeconds: 20, seed: 5 });
    const b = await solveSchedule(problem, { timeLimitSeconds: 20, seed: 5 });
    assert.equal(a.stoppedBy, 'TARGET');
    assert.equal(a.makespan, optimum('la02'));
    assert.deepEqual([a.iterations, a.operations], [b.iterations, b.operations]);
  });

  it('stops within a second of an abort and returns a checked schedule', async () => {
    const problem = load('ft10');
    const controller = new AbortController();
    let progress = 0;
    const started = performance.now();
    const pending = solveSchedule(problem, { timeLimitSeconds: 60, seed: 1, signal: controller.signal, onProgress: () => progress++ });
    setTimeout(() => controller.abort(), 300);
    const r = await pending;
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.stoppedBy, 'ABORTED');
    assert.ok(seconds < 1.3, `${seconds} s`);
    assert.ok(progress >= 1);
    clean(problem, r.operations);
  });

  it('reaches 55 on ft06', async () => {
    const r = await solveSchedule(load('ft06'), { timeLimitSeconds: 10, seed: 1, target: 55 });
    assert.equal(r.makespan, 55);
    // the combinatorial bounds give 52 on ft06 (Jackson preemptive one-machine bound): no proof without the MIP
    assert.equal(r.lowerBound, 52);
    assert.equal(r.status, 'FEASIBLE');
  });

  it('proves ft06 optimal with the HiGHS disjunctive MIP', async () => {
    const r = await solveSchedule(load('ft06'), { timeLimitSeconds: 10, seed: 1, target: 55, mipProofSeconds: 30 });
    assert.deepEqual([r.makespan, r.lowerBound, r.status, r.gap], [55, 55, 'OPTIMAL', 0]);
  });

  for (const name of ['la01', 'la02', 'la03', 'la04', 'la05']) {
    it(`reaches the optimum of ${name}`, async () => {
      const r = await solveSchedule(load(name), { timeLimitSeconds: 10, seed: 1, target: optimum(name) });
      assert.equal(r.makespan, optimum(name));
      if (r.lowerBound === optimum(name)) assert.equal(r.status, 'OPTIMAL');
    });
  }

  it('improves weighted tardiness to its bound on a small instance', async () => {
    // one machine, three jobs: EDD with weights; the optimum is known by enumeration
    const problem: ScheduleProblem = {
      machines: [{ id: 'M' }],
      jobs: [
        { id: 'a', due: 4, weight: 1, operations: [{ options: [{ machine: 'M', duration: 4 }] }] },
        { id: 'b', due: 3, weight: 5, operations: [{ options: [{ machine: 'M', duration: 3 }] }] },
        { id: 'c', due: 9, weight: 1, operations: [{ options: [{ machine: 'M', duration: 2 }] }] },
      ],
    };
    const r = await solveSchedule(problem, { objective: 'WEIGHTED_TARDINESS', timeLimitSeconds: 2, maxIterations: 500, seed: 1 });
    clean(problem, r.operations);
    // best order b, a, c: b ends 3 (0), a ends 7 (3 late), c ends 9 (0): 3
    assert.equal(r.objectiveValue, 3);
    assert.equal(r.kpis.weightedTardiness, 3);
  });
});

describe('schedule solver on random constrained problems', () => {
  it('returns checker-clean schedules or InfeasibleProblemError, never a violation', async () => {
    let solved = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed);
      const int = (n: number) => Math.floor(random() * n);
      const M = 2 + int(4);
      const machines = Array.from({ length: M }, (_, i) => {
        const start = int(40);
        return { id: `M${i}`, unavailable: random() < 0.5 ? [{ start, end: start + 1 + int(15) }] : [] };
      });
      const jobs = Array.from({ length: 2 + int(6) }, (_, j) => ({
        id: `J${j}`,
        release: int(10),
        due: 20 + int(60),
        weight: 1 + int(3),
        operations: Array.from({ length: 1 + int(4) }, (_, k) => {
          const ms = [...new Set(Array.from({ length: 1 + int(3) }, () => int(M)))];
          const op: ScheduleProblem['jobs'][number]['operations'][number] = {
            options: ms.map((m) => ({ machine: `M${m}`, duration: int(10), setup: int(3) })),
          };
          if (k === 0 && random() < 0.1) op.fixed = { machine: `M${ms[0]}`, start: 10 + int(5) };
          else {
            if (random() < 0.1) op.pin = { machine: `M${ms[0]}` };
            if (k > 0 && random() < 0.08) op.pin = { ...op.pin, start: 60 + int(40) };
          }
          return op;
        }),
      }));
      for (const objective of ['MAKESPAN', 'WEIGHTED_TARDINESS'] as const) {
        try {
          const r = await solveSchedule({ machines, jobs }, { objective, maxIterations: 200, timeLimitSeconds: 5, seed });
          assert.ok(r.objectiveValue >= r.lowerBound - 1e-9);
          solved++;
        } catch (e) {
          if (!(e instanceof InfeasibleProblemError)) throw e;
        }
      }
    }
    assert.ok(solved >= 60, `${solved}`);
  });
});

describe('schedule bounds and parsers', () => {
  it('parses the job-shop format', () => {
    const p = load('ft06');
    assert.equal(p.jobs.length, 6);
    assert.equal(p.machines.length, 6);
    assert.deepEqual(p.jobs[0].operations[0].options, [{ machine: 'M2', duration: 1 }]);
    assert.equal(makespanLowerBound(compileProblem(load('la01'))), 666);
  });

  it('bounds the makespan by the work of a machine group', async () => {
    const lathe = [
      { machine: 'L1', duration: 10 },
      { machine: 'L2', duration: 10 },
    ];
    const problem: ScheduleProblem = {
      machines: [{ id: 'L1' }, { id: 'L2' }, { id: 'B' }],
      jobs: [
        ...[0, 1, 2, 3].map((j) => ({ id: `lathe${j}`, operations: [{ options: lathe }] })),
        { id: 'b', operations: [{ options: [{ machine: 'B', duration: 1 }] }] },
      ],
    };
    // four 10-minute operations on two lathes: 20 (total work / machines would give 41 / 3)
    assert.equal(makespanLowerBound(compileProblem(problem)), 20);
    const r = await solveSchedule(problem, { timeLimitSeconds: 1, seed: 1 });
    assert.deepEqual([r.makespan, r.status], [20, 'OPTIMAL']);
  });

  it('parses the flexible (Brandimarte) format', async () => {
    const text = `2 3 1.5
2  2 1 4 3 6  1 2 5
1  3 1 3 2 3 3 1
`;
    const problem = parseFlexibleJobShop(text);
    assert.deepEqual(problem.jobs[0].operations, [
      {
        options: [
          { machine: 'M0', duration: 4 },
          { machine: 'M2', duration: 6 },
        ],
      },
      { options: [{ machine: 'M1', duration: 5 }] },
    ]);
    assert.equal(problem.jobs[1].operations[0].options.length, 3);
    assert.throws(() => parseFlexibleJobShop('1 2\n1 1 3 4\n'), /bad machine 3/);
    const r = await solveSchedule(problem, { timeLimitSeconds: 1, maxIterations: 100, seed: 1 });
    clean(problem, r.operations);
    // J0: M0 [0,4) then M1 [4,9); J1 on M2 [0,1): makespan 9 = J0's minimum work
    assert.equal(r.makespan, 9);
    assert.equal(r.status, 'OPTIMAL');
  });
});
