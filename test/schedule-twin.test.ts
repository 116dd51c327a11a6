// The scheduling problem read from a twin snapshot (src/optimize/schedule/from-twin.ts), on a hand-made snapshot:
// machine-dependent times and rate factors become durations, windows and machines down now become unavailability,
// risk-aware planning avoids or derates risky machines, started operations are fixed and pins are carried.
import assert from 'node:assert/strict';
import { twinScheduleProblem } from '../src/optimize/schedule/from-twin.ts';
import { InfeasibleProblemError } from '../src/optimize/schedule/problem.ts';
import type { MachineInfo, TwinSnapshot } from '../src/twin/snapshot.ts';
import { describe, it } from './helpers.ts';

const START = new Date('2027-01-01T00:00:00Z');
const minutes = (m: number) => new Date(START.getTime() + m * 60_000);
const machine = (id: number, rateFactor = 1, status: MachineInfo['status'] = 'IDLE'): MachineInfo => ({
  id,
  plantId: 1,
  lineId: 1,
  name: `M${id}`,
  kind: null,
  idealCycleSeconds: null,
  rateFactor,
  status,
  statusSince: null,
});

function snapshot(over: Partial<TwinSnapshot> = {}): TwinSnapshot {
  return {
    plants: async () => [{ id: 1, name: 'P', timezone: 'UTC', planningHorizonHours: 48 }],
    machines: async () => [machine(1), machine(2, 0.5), machine(3, 1, 'DOWN')],
    machineNames: async () => [],
    lines: async () => [],
    products: async () => [
      {
        id: 10,
        plantId: 1,
        name: 'A',
        routing: [
          { index: 1, minutesPerUnit: 2, setupMinutes: 3, machineIds: [1, 2], machineTimes: [{ machineId: 2, minutesPerUnit: 1, setupMinutes: 0 }] },
          { index: 2, minutesPerUnit: 4, setupMinutes: 0, machineIds: [3], machineTimes: [] },
        ],
      },
    ],
    orders: async () => [
      { id: 100, plantId: 1, productId: 10, code: 'o', quantity: 5, releaseAt: minutes(30), dueAt: minutes(600), priority: 2, status: 'PLANNED' },
    ],
    maintenanceWindows: async () => [{ id: 1, machineId: 1, startsAt: minutes(-60), endsAt: minutes(45), reason: null }],
    downtime: async () => [{ machineId: 3, status: 'DOWN', since: null }],
    ...over,
  };
}

describe('schedule problem from the twin', () => {
  it('durations are quantity × the machine’s own minutes per unit / rate factor, plus its setup; releases, dues, weights', async () => {
    const { problem, index } = await twinScheduleProblem(snapshot(), 1, { start: START, repairMinutes: 90 });
    assert.equal(problem.jobs.length, 1);
    const job = problem.jobs[0];
    assert.deepEqual([job.id, job.release, job.due, job.weight], ['100', 30, 600, 3]);
    assert.deepEqual(job.operations[0].options, [
      { machine: '1', duration: 10, setup: 3 },
      { machine: '2', duration: 10, setup: 0 },
    ]);
    assert.deepEqual(job.operations[1].options, [{ machine: '3', duration: 20, setup: 0 }]);
    assert.deepEqual(index.steps.get('100'), [1, 2]);
    const un = Object.fromEntries(problem.machines.map((m) => [m.id, m.unavailable]));
    assert.deepEqual(un['1'], [{ start: 0, end: 45, kind: 'MAINTENANCE' }]);
    assert.deepEqual(un['3'], [{ start: 0, end: 90, kind: 'DOWNTIME' }]);
  });

  it('risk-aware: AVOID drops machines over the threshold (unless none would be left), DERATE slows them by (1 − risk)', async () => {
    const byMachine = new Map([
      [1, 0.8],
      [3, 0.9],
    ]);
    const avoid = (await twinScheduleProblem(snapshot(), 1, { start: START, risk: { byMachine, threshold: 0.5, mode: 'AVOID' } })).problem.jobs[0];
    assert.deepEqual(
      avoid.operations[0].options.map((o) => o.machine),
      ['2'],
    );
    assert.deepEqual(
      avoid.operations[1].options.map((o) => o.machine),
      ['3'],
      'the only machine of a step stays',
    );
    const derate = (await twinScheduleProblem(snapshot(), 1, { start: START, risk: { byMachine, threshold: 0.5, mode: 'DERATE' } })).problem.jobs[0];
    assert.ok(Math.abs(derate.operations[0].options[0].duration - 10 / 0.2) < 1e-9);
    assert.equal(derate.operations[0].options[1].duration, 10);
  });

  it('started operations are fixed where they started; pins are carried; a release after the horizon is an InfeasibleProblemError', async () => {
    const { problem, index } = await twinScheduleProblem(snapshot(), 1, {
      start: START,
      started: [{ orderId: 100, stepIndex: 1, machineId: 2, startsAt: minutes(-5) }],
      pins: [{ orderId: 100, stepIndex: 2, machineId: 3, startsAt: minutes(200) }],
    });
    const job = problem.jobs[0];
    assert.deepEqual(job.operations[0].fixed, { machine: '2', start: -5 });
    assert.equal(job.release, -5, 'the release moves back to the fixed start');
    assert.deepEqual(job.operations[1].pin, { machine: '3', start: 200 });
    assert.deepEqual([...index.fixed], ['100#0']);
    assert.deepEqual([...index.pinned], ['100#1']);
    const late = snapshot({
      orders: async () => [
        { id: 100, plantId: 1, productId: 10, code: 'far', quantity: 1, releaseAt: minutes(49 * 60), dueAt: minutes(50 * 60), priority: 0, status: 'PLANNED' },
      ],
    });
    await assert.rejects(twinScheduleProblem(late, 1, { start: START }), (e: unknown) => e instanceof InfeasibleProblemError && e.jobs[0] === 'far');
  });
});
