/**
 * Why a schedule looks the way it does, computed from the problem and the schedule alone (O(n log n)): for every
 * operation, what fixed its start (the previous operation of its job, the previous operation on its machine, the end
 * of an unavailability window, the job's release, or its pin); walking those links back from an operation gives its
 * critical path. The makespan's critical path names the bottlenecks (the machines and windows that bind); the
 * critical path of each late order names what made it late. Cheap enough to store with every schedule.
 */
import type { ScheduledOperation, ScheduleProblem } from './problem.ts';

export type BindingKind = 'JOB' | 'MACHINE' | 'WINDOW' | 'RELEASE' | 'FIXED' | 'START';

export interface Bottleneck {
  machine: string;
  /** MACHINE: operations on the critical path run back to back on it; WINDOW: the path waits for its window. */
  kind: 'MACHINE' | 'WINDOW';
  /** Minutes of the critical path spent on this machine (MACHINE) or waiting for this window (WINDOW). */
  minutes: number;
  /** Share of the makespan. */
  share: number;
  /** The span on the path [from, to), minutes from the start. */
  from: number;
  to: number;
}

export interface LateOrderExplanation {
  job: string;
  end: number;
  due: number;
  tardiness: number;
  weightedTardiness: number;
  /** Machines on its critical path, most minutes first. */
  machines: { machine: string; minutes: number }[];
  /** Windows its critical path waited for. */
  windows: { machine: string; start: number; end: number }[];
  /** Minutes of its critical path by what bound each link: processing, queueing behind another order, windows, release. */
  minutesBy: { processing: number; machineQueue: number; windows: number; release: number };
}

export interface ScheduleExplanation {
  objectiveByOrder: { job: string; tardiness: number; weightedTardiness: number }[];
  lateOrders: LateOrderExplanation[];
  /** Over all late orders: the machines and windows that appear on their critical paths, most minutes first. */
  byConstraint: { machine: string; kind: 'MACHINE' | 'WINDOW'; minutes: number; orders: number }[];
}

const EPS = 1e-6;

interface Link {
  kind: BindingKind;
  /** The operation that bound it (JOB, MACHINE). */
  prev: number;
  window?: { start: number; end: number };
}

export function explainSchedule(
  problem: ScheduleProblem,
  ops: readonly ScheduledOperation[],
): { bottlenecks: Bottleneck[]; explanation: ScheduleExplanation; makespan: number } {
  const jobs = new Map(problem.jobs.map((j) => [j.id, j]));
  const windows = new Map(problem.machines.map((m) => [m.id, (m.unavailable ?? []).filter((w) => w.end > w.start)]));
  const byJob = new Map<string, number[]>();
  const byMachine = new Map<string, number[]>();
  ops.forEach((o, i) => {
    (byJob.get(o.job) ?? byJob.set(o.job, []).get(o.job)!).push(i);
    (byMachine.get(o.machine) ?? byMachine.set(o.machine, []).get(o.machine)!).push(i);
  });
  const prevOnJob = new Int32Array(ops.length).fill(-1);
  const prevOnMachine = new Int32Array(ops.length).fill(-1);
  for (const list of byJob.values()) {
    list.sort((a, b) => ops[a].index - ops[b].index);
    for (let k = 1; k < list.length; k++) prevOnJob[list[k]] = list[k - 1];
  }
  for (const list of byMachine.values()) {
    list.sort((a, b) => ops[a].start - ops[b].start || ops[a].end - ops[b].end);
    for (let k = 1; k < list.length; k++) prevOnMachine[list[k]] = list[k - 1];
  }
  const links: Link[] = ops.map((o, i) => {
    const spec = jobs.get(o.job)?.operations[o.index];
    if (spec?.fixed || spec?.pin?.start !== undefined) return { kind: 'FIXED', prev: -1 };
    const pj = prevOnJob[i];
    if (pj >= 0 && Math.abs(ops[pj].end - o.start) <= EPS) return { kind: 'JOB', prev: pj };
    const pm = prevOnMachine[i];
    if (pm >= 0 && Math.abs(ops[pm].end - o.start) <= EPS) return { kind: 'MACHINE', prev: pm };
    const w = windows.get(o.machine)?.find((x) => Math.abs(x.end - o.start) <= EPS);
    if (w) return { kind: 'WINDOW', prev: pj >= 0 ? pj : pm, window: { start: w.start, end: w.end } };
    if (pj < 0 && o.start > EPS) return { kind: 'RELEASE', prev: -1 };
    return { kind: pj >= 0 ? 'JOB' : 'START', prev: pj };
  });

  /** The critical path ending at operation i: each link with the time it covers. */
  function path(i: number) {
    const machines = new Map<string, number>();
    const waits: { machine: string; start: number; end: number; minutes: number }[] = [];
    const spans = new Map<string, { from: number; to: number }>();
    const minutesBy = { processing: 0, machineQueue: 0, windows: 0, release: 0 };
    const seen = new Set<number>();
    let cur = i;
    while (cur >= 0 && !seen.has(cur)) {
      seen.add(cur);
      const o = ops[cur];
      const d = o.end - o.start;
      machines.set(o.machine, (machines.get(o.machine) ?? 0) + d);
      const span = spans.get(o.machine);
      spans.set(o.machine, { from: Math.min(span?.from ?? o.start, o.start), to: Math.max(span?.to ?? o.end, o.end) });
      minutesBy.processing += d;
      const link = links[cur];
      if (link.kind === 'WINDOW' && link.window) {
        const from = link.prev >= 0 ? Math.max(ops[link.prev].end, link.window.start) : link.window.start;
        const minutes = Math.max(0, o.start - from);
        waits.push({ machine: o.machine, start: link.window.start, end: link.window.end, minutes });
        minutesBy.windows += minutes;
      }
      if (link.kind === 'RELEASE') minutesBy.release += o.start;
      if (link.kind === 'MACHINE' && ops[link.prev].job !== o.job) {
        // Queueing behind another order: the time this order's own previous operation had already ended.
        const pj = prevOnJob[cur];
        minutesBy.machineQueue += Math.max(0, o.start - (pj >= 0 ? ops[pj].end : (jobs.get(o.job)?.release ?? 0)));
      }
      cur = link.prev;
    }
    return { machines, waits, spans, minutesBy };
  }

  let last = -1;
  ops.forEach((o, i) => {
    if (last < 0 || o.end > ops[last].end) last = i;
  });
  const makespan = last >= 0 ? ops[last].end : 0;
  const bottlenecks: Bottleneck[] = [];
  if (last >= 0) {
    const p = path(last);
    for (const [machine, minutes] of p.machines) {
      const span = p.spans.get(machine)!;
      bottlenecks.push({ machine, kind: 'MACHINE', minutes, share: makespan > 0 ? minutes / makespan : 0, from: span.from, to: span.to });
    }
    for (const w of p.waits)
      if (w.minutes > EPS)
        bottlenecks.push({ machine: w.machine, kind: 'WINDOW', minutes: w.minutes, share: makespan > 0 ? w.minutes / makespan : 0, from: w.start, to: w.end });
    bottlenecks.sort((a, b) => b.minutes - a.minutes || a.machine.localeCompare(b.machine));
  }

  const objectiveByOrder: ScheduleExplanation['objectiveByOrder'] = [];
  const lateOrders: LateOrderExplanation[] = [];
  const constraint = new Map<string, { machine: string; kind: 'MACHINE' | 'WINDOW'; minutes: number; orders: Set<string> }>();
  for (const [job, list] of byJob) {
    const spec = jobs.get(job);
    const end = ops[list[list.length - 1]].end;
    const due = spec?.due;
    const tardiness = due === undefined ? 0 : Math.max(0, end - due);
    const weighted = tardiness * (spec?.weight ?? 1);
    objectiveByOrder.push({ job, tardiness, weightedTardiness: weighted });
    if (tardiness <= EPS) continue;
    const p = path(list[list.length - 1]);
    const machines = [...p.machines].map(([machine, minutes]) => ({ machine, minutes })).sort((a, b) => b.minutes - a.minutes);
    lateOrders.push({
      job,
      end,
      due: due!,
      tardiness,
      weightedTardiness: weighted,
      machines,
      windows: p.waits.map(({ minutes: _m, ...w }) => w),
      minutesBy: p.minutesBy,
    });
    for (const m of machines) {
      const k = `M|${m.machine}`;
      const c = constraint.get(k) ?? constraint.set(k, { machine: m.machine, kind: 'MACHINE', minutes: 0, orders: new Set() }).get(k)!;
      c.minutes += m.minutes;
      c.orders.add(job);
    }
    for (const w of p.waits) {
      const k = `W|${w.machine}`;
      const c = constraint.get(k) ?? constraint.set(k, { machine: w.machine, kind: 'WINDOW', minutes: 0, orders: new Set() }).get(k)!;
      c.minutes += w.minutes;
      c.orders.add(job);
    }
  }
  lateOrders.sort((a, b) => b.weightedTardiness - a.weightedTardiness || a.job.localeCompare(b.job));
  objectiveByOrder.sort((a, b) => b.weightedTardiness - a.weightedTardiness || a.job.localeCompare(b.job));
  return {
    bottlenecks,
    makespan,
    explanation: {
      objectiveByOrder,
      lateOrders,
      byConstraint: [...constraint.values()]
        .map((c) => ({ machine: c.machine, kind: c.kind, minutes: c.minutes, orders: c.orders.size }))
        .sort((a, b) => b.minutes - a.minutes),
    },
  };
}
