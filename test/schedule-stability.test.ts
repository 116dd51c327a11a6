/**
 * Plan stability (SolveOptions.reference): after a machine goes down for a window in the middle of a plan, re-planning
 * with the previous plan as reference changes fewer operations than re-planning from scratch; the changes are counted
 * here independently of SolveResult.changes, and every schedule goes through the independent checker.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from './helpers.ts';
import { ValidationError } from '../src/core/errors.ts';
import { seededRandom } from '../src/core/random.ts';
import { WorkerPool } from '../src/jobs/pool.ts';
import {
  checkSchedule,
  parseJobShop,
  type PlanReference,
  type ScheduledOperation,
  type ScheduleProblem,
  type SolveOptions,
  type SolveResult,
  solveSchedule,
} from '../src/optimize/schedule/index.ts';
import { SCHEDULE_WORKER, type ScheduleTask } from '../src/optimize/schedule/task.ts';

const ITERATIONS = 2000;
const TOLERANCE = 1;
const RUN: SolveOptions = { seed: 1, maxIterations: ITERATIONS, timeLimitSeconds: 120 };

/** A flexible job shop: `jobs` jobs of `ops` operations on `machines` machines, each operation with 2 eligible machines. */
function flexibleShop(seed: number, jobs = 8, ops = 4, machines = 5): ScheduleProblem {
  const random = seededRandom(seed);
  return {
    machines: Array.from({ length: machines }, (_, m) => ({ id: `M${m}` })),
    jobs: Array.from({ length: jobs }, (_, j) => ({
      id: `J${j}`,
      operations: Array.from({ length: ops }, () => {
        const a = Math.floor(random() * machines);
        let b = Math.floor(random() * (machines - 1));
        if (b >= a) b++;
        return { options: [a, b].map((m) => ({ machine: `M${m}`, duration: 5 + Math.floor(random() * 20) })) };
      }),
    })),
  };
}

const la01 = () => parseJobShop(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'jsplib', 'la01.txt'), 'utf8'));

/** Moved / reassigned / changed against the reference plan, counted here (not by the solver). */
function count(reference: readonly ScheduledOperation[], schedule: readonly ScheduledOperation[]) {
  const byOp = new Map(schedule.map((o) => [`${o.job}#${o.index}`, o]));
  let moved = 0;
  let reassigned = 0;
  let changed = 0;
  for (const r of reference) {
    const o = byOp.get(`${r.job}#${r.index}`);
    assert.ok(o, `${r.job}#${r.index} is scheduled`);
    const isMoved = Math.abs(o.start - r.start) > TOLERANCE;
    const isReassigned = o.machine !== r.machine;
    moved += Number(isMoved);
    reassigned += Number(isReassigned);
    changed += Number(isMoved || isReassigned);
  }
  return { moved, reassigned, changed };
}

const asReference = (plan: SolveResult, penalty: number): PlanReference => ({
  operations: plan.operations.map(({ job, index, machine, start }) => ({ job, index, machine, start })),
  penalty,
  toleranceMinutes: TOLERANCE,
});

/** The machine busiest in `plan`, down from 40% to `endShare` of its makespan. */
function withDowntime(problem: ScheduleProblem, plan: SolveResult, endShare: number) {
  const busy = new Map<string, number>();
  for (const o of plan.operations) busy.set(o.machine, (busy.get(o.machine) ?? 0) + o.end - o.start);
  const machine = [...busy.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
  const window = { start: Math.round(plan.makespan * 0.4), end: Math.round(plan.makespan * endShare), kind: 'DOWNTIME' as const };
  const changed: ScheduleProblem = {
    ...problem,
    machines: problem.machines.map((m) => (m.id === machine ? { ...m, unavailable: [...(m.unavailable ?? []), window] } : m)),
  };
  return { changed, machine, window };
}

const pool = new WorkerPool(1);
after(() => pool.close());

const scenarios = [
  { name: 'flexible job shop 8 × 4 on 5 machines (2 eligible each)', problem: () => flexibleShop(1), endShare: 0.55 },
  { name: 'la01 (10 × 5)', problem: la01, endShare: 0.5 },
];

for (const scenario of scenarios) {
  describe(`plan stability: ${scenario.name}, a machine down mid-plan`, () => {
    const problem = scenario.problem();
    let reference: SolveResult;
    let plain: SolveResult;
    let stable: SolveResult;
    let options: SolveOptions;
    let down: ReturnType<typeof withDowntime>;

    let penalty = 0;
    // Every test reads these (solved once, so the tests pass alone and in any order).
    before(async () => {
      reference = await solveSchedule(problem, RUN);
      down = withDowntime(problem, reference, scenario.endShare);
      // one changed operation costs as much as 5% more makespan
      penalty = Math.round(0.05 * reference.makespan);
      options = { ...RUN, reference: asReference(reference, penalty) };
      plain = await solveSchedule(down.changed, RUN);
      stable = await solveSchedule(down.changed, options);
    });

    it('re-planning with the reference changes strictly fewer operations than re-planning from scratch', async () => {
      // the window really hits the plan
      assert.ok(reference.operations.some((o) => o.machine === down.machine && o.start < down.window.end && down.window.start < o.end));
      const plainCount = count(reference.operations, plain.operations);
      const stableCount = count(reference.operations, stable.operations);
      console.log(
        `${scenario.name}: reference makespan ${reference.makespan}, ${down.machine} down [${down.window.start}, ${down.window.end}), penalty ${penalty}; ` +
          `plain: makespan ${plain.makespan}, moved ${plainCount.moved}, reassigned ${plainCount.reassigned}, changed ${plainCount.changed}; ` +
          `stable: makespan ${stable.makespan}, moved ${stableCount.moved}, reassigned ${stableCount.reassigned}, changed ${stableCount.changed}, penalised ${stable.penalisedValue}`,
      );
      assert.ok(stableCount.changed < plainCount.changed, `stable changes ${stableCount.changed} < plain ${plainCount.changed}`);
      assert.deepEqual(stable.changes, stableCount);
      assert.equal(plain.changes, undefined);
      assert.equal(plain.penalisedValue, undefined);
      // objectiveValue, gap and status stay about the makespan
      assert.equal(stable.objectiveValue, stable.makespan);
      assert.equal(stable.penalisedValue, stable.makespan + penalty * stableCount.changed);
      assert.ok(stable.gap >= 0 && stable.gap < 1);
      assert.equal(stable.status, stable.makespan <= stable.lowerBound ? 'OPTIMAL' : 'FEASIBLE');
      // the lower-bound stop fires only on a penalised value at the bound: the makespan at its bound and no change
      if (stable.stoppedBy === 'TARGET') assert.equal(stableCount.changed, 0);
      // and the search did not trade stability for nothing: its penalised value beats the plain plan's
      assert.ok(stable.penalisedValue! <= plain.makespan + penalty * plainCount.changed);
    });

    it('both schedules pass the checker and leave the window free', () => {
      for (const result of [plain, stable]) {
        assert.deepEqual(checkSchedule(down.changed, result.operations).violations, []);
        for (const o of result.operations) {
          if (o.machine !== down.machine) continue;
          assert.ok(o.end <= down.window.start || o.start >= down.window.end, `${o.operation} [${o.start}, ${o.end}) avoids the window`);
        }
      }
    });

    it('is deterministic: the same input, seed and iterations give the same schedule', async () => {
      const again = await solveSchedule(down.changed, options);
      assert.deepEqual(again.operations, stable.operations);
      assert.deepEqual(again.changes, stable.changes);
    });

    it('an unchanged problem with the reference as it is changes no operation', async () => {
      const same = await solveSchedule(problem, options);
      assert.deepEqual(count(reference.operations, same.operations), { moved: 0, reassigned: 0, changed: 0 });
      assert.deepEqual(same.changes, { moved: 0, reassigned: 0, changed: 0 });
      assert.equal(same.makespan, reference.makespan);
      assert.equal(same.penalisedValue, same.makespan);
    });

    it('the reference reaches the worker (ScheduleTask)', async () => {
      const { reference: ref, ...rest } = options;
      const task: ScheduleTask = { problem: down.changed, options: { ...rest, reference: ref } };
      const result = await pool.runInWorker<SolveResult>(SCHEDULE_WORKER, task);
      assert.deepEqual(result.operations, stable.operations);
      assert.deepEqual(result.changes, stable.changes);
    });
  });
}

describe('plan stability: reference details', () => {
  const problem = flexibleShop(2);

  it('new orders are never penalised; entries for orders that are gone are ignored', async () => {
    const reference = await solveSchedule(problem, RUN);
    const extra: ScheduleProblem = {
      ...problem,
      jobs: [
        ...problem.jobs.filter((j) => j.id !== 'J7'),
        {
          id: 'RUSH',
          operations: [{ options: [{ machine: 'M0', duration: 10 }] }, { options: [{ machine: 'M1', duration: 10 }] }],
        },
      ],
    };
    const result = await solveSchedule(extra, { ...RUN, reference: asReference(reference, 5) });
    const listed = reference.operations.filter((o) => o.job !== 'J7');
    assert.deepEqual(result.changes, count(listed, result.operations));
    assert.equal(result.penalisedValue, result.makespan + 5 * result.changes!.changed);
    assert.deepEqual(checkSchedule(extra, result.operations).violations, []);
  });

  it('a reference machine the problem no longer has counts as reassigned', async () => {
    const reference = await solveSchedule(problem, RUN);
    const ref = asReference(reference, 5);
    const first = ref.operations[0];
    const result = await solveSchedule(problem, { ...RUN, reference: { ...ref, operations: [{ ...first, machine: 'GONE' }, ...ref.operations.slice(1)] } });
    assert.equal(result.changes!.reassigned, 1);
    assert.equal(result.changes!.changed, 1);
    assert.deepEqual(
      result.operations.map((o) => [o.machine, o.start]),
      reference.operations.map((o) => [o.machine, o.start]),
    );
  });

  it('a malformed reference is a ValidationError naming the fields', async () => {
    await assert.rejects(
      solveSchedule(problem, {
        ...RUN,
        reference: {
          penalty: -1,
          toleranceMinutes: Number.NaN,
          operations: [
            { job: 'J0', index: 0, machine: 'M0', start: 0 },
            { job: 'J0', index: 0, machine: 'M1', start: 3 },
            { job: 'J1', index: 1.5, machine: 'M0', start: Number.POSITIVE_INFINITY },
          ],
        },
      }),
      (e: unknown) => e instanceof ValidationError,
    );
    await assert.rejects(
      solveSchedule(problem, {
        ...RUN,
        reference: {
          penalty: 1,
          operations: [
            { job: 'J0', index: 0, machine: 'M0', start: 0 },
            { job: 'J0', index: 0, machine: 'M1', start: 3 },
          ],
        },
      }),
      (e: unknown) => e instanceof ValidationError && JSON.stringify(e).includes('reference.operations[1]'),
    );
  });
});
