/**
 * Independent schedule checker: it reads the problem as given (ScheduleProblem, not the solver's compiled form) and
 * shares no code with the solver, so a solver bug cannot hide itself. `checkSchedule` lists every violated rule with the
 * operation concerned and recomputes the KPIs.
 *
 * Intervals are half-open [start, end): touching is not overlapping; a zero-length operation overlaps only an interval
 * that strictly contains its instant. Numbers are compared with a tolerance of 1e-6 minutes.
 */
import type { ScheduledOperation, ScheduleProblem } from './problem.ts';

export type CheckRule =
  | 'UNKNOWN_OPERATION'
  | 'DUPLICATE_OPERATION'
  | 'MISSING_OPERATION'
  | 'INELIGIBLE_MACHINE'
  | 'DURATION'
  | 'ROUTING_ORDER'
  | 'RELEASE'
  | 'MACHINE_OVERLAP'
  | 'UNAVAILABLE_WINDOW'
  | 'FIXED'
  | 'PINNED_MACHINE'
  | 'PINNED_START';

export interface Violation {
  rule: CheckRule;
  /** `<job>#<index>` of the operation concerned (the first of a pair for MACHINE_OVERLAP). */
  operation: string;
  message: string;
}

export interface ScheduleKpis {
  makespan: number;
  /** Sum over jobs of max(0, end − due). */
  totalTardiness: number;
  /** Sum over jobs of weight × max(0, end − due). */
  weightedTardiness: number;
  /** Share of jobs with a due time that end by it (1 when no job has one). */
  onTimeRate: number;
  /**
   * Per machine: busy minutes / available minutes in [0, makespan] (available = makespan minus the unavailability
   * windows inside it); 0 when nothing is available.
   */
  utilization: Record<string, number>;
}

export interface CheckResult {
  violations: Violation[];
  kpis: ScheduleKpis;
}

const EPS = 1e-6;

export function checkSchedule(problem: ScheduleProblem, schedule: readonly ScheduledOperation[]): CheckResult {
  const violations: Violation[] = [];
  const add = (rule: CheckRule, operation: string, message: string) => violations.push({ rule, operation, message });
  const key = (job: string, index: number) => `${job}#${index}`;
  const byKey = new Map<string, ScheduledOperation>();
  const jobsById = new Map(problem.jobs.map((j) => [j.id, j]));
  for (const s of schedule) {
    const k = key(s.job, s.index);
    const job = jobsById.get(s.job);
    if (!job || !Number.isInteger(s.index) || s.index < 0 || s.index >= job.operations.length) {
      add('UNKNOWN_OPERATION', k, `no operation ${s.index} in job ${JSON.stringify(s.job)}`);
      continue;
    }
    if (byKey.has(k)) {
      add('DUPLICATE_OPERATION', k, 'scheduled more than once');
      continue;
    }
    byKey.set(k, s);
  }
  const perMachine = new Map<string, ScheduledOperation[]>();
  const windows = new Map(problem.machines.map((m) => [m.id, m.unavailable ?? []]));
  for (const job of problem.jobs) {
    let prevEnd = Number.NEGATIVE_INFINITY;
    job.operations.forEach((op, index) => {
      const k = key(job.id, index);
      const s = byKey.get(k);
      if (!s) {
        add('MISSING_OPERATION', k, 'not scheduled');
        prevEnd = Number.NaN;
        return;
      }
      const option = op.options.find((o) => o.machine === s.machine);
      if (!option) add('INELIGIBLE_MACHINE', k, `machine ${JSON.stringify(s.machine)} is not eligible`);
      else {
        const occupancy = option.duration + (option.setup ?? 0);
        if (Math.abs(s.end - s.start - occupancy) > EPS) add('DURATION', k, `occupies ${s.end - s.start} minutes on ${s.machine}, expected ${occupancy}`);
      }
      if (index === 0 && s.start < (job.release ?? 0) - EPS) add('RELEASE', k, `starts at ${s.start}, before the job's release ${job.release}`);
      if (index > 0 && !Number.isNaN(prevEnd) && s.start < prevEnd - EPS)
        add('ROUTING_ORDER', k, `starts at ${s.start}, before operation ${index - 1} of its job ends at ${prevEnd}`);
      prevEnd = s.end;
      if (op.fixed && (op.fixed.machine !== s.machine || Math.abs(op.fixed.start - s.start) > EPS))
        add('FIXED', k, `fixed at ${op.fixed.machine} ${op.fixed.start}, scheduled at ${s.machine} ${s.start}`);
      if (op.pin?.machine !== undefined && op.pin.machine !== s.machine) add('PINNED_MACHINE', k, `pinned to ${op.pin.machine}, scheduled on ${s.machine}`);
      if (op.pin?.start !== undefined && Math.abs(op.pin.start - s.start) > EPS)
        add('PINNED_START', k, `pinned to start at ${op.pin.start}, starts at ${s.start}`);
      for (const w of windows.get(s.machine) ?? []) {
        if (s.start < w.end - EPS && w.start < s.end - EPS)
          add('UNAVAILABLE_WINDOW', k, `[${s.start}, ${s.end}) overlaps the unavailability of ${s.machine} [${w.start}, ${w.end})`);
      }
      let list = perMachine.get(s.machine);
      if (!list) perMachine.set(s.machine, (list = []));
      list.push({ ...s, operation: k });
    });
  }
  for (const [machine, list] of perMachine) {
    list.sort((a, b) => a.start - b.start || a.end - b.end);
    let last: ScheduledOperation | undefined;
    for (const s of list) {
      if (last && s.start < last.end - EPS && last.start < s.end - EPS)
        add(
          'MACHINE_OVERLAP',
          last.operation,
          `${last.operation} [${last.start}, ${last.end}) and ${s.operation} [${s.start}, ${s.end}) overlap on ${machine}`,
        );
      if (!last || s.end > last.end) last = s;
    }
  }

  // KPIs
  let makespan = 0;
  for (const s of byKey.values()) makespan = Math.max(makespan, s.end);
  let totalTardiness = 0;
  let weightedTardiness = 0;
  let withDue = 0;
  let onTime = 0;
  for (const job of problem.jobs) {
    const lastOp = byKey.get(key(job.id, job.operations.length - 1));
    if (!lastOp || job.due === undefined) continue;
    withDue++;
    const t = Math.max(0, lastOp.end - job.due);
    if (t <= EPS) onTime++;
    totalTardiness += t;
    weightedTardiness += (job.weight ?? 1) * t;
  }
  const utilization: Record<string, number> = {};
  for (const m of problem.machines) {
    let busy = 0;
    for (const s of perMachine.get(m.id) ?? []) busy += Math.max(0, Math.min(s.end, makespan) - Math.max(s.start, 0));
    // unavailable minutes inside [0, makespan], windows merged
    const ws = (m.unavailable ?? []).map((w) => [Math.max(0, w.start), Math.min(makespan, w.end)]).filter(([a, b]) => b > a);
    ws.sort((a, b) => a[0] - b[0]);
    let down = 0;
    let reach = Number.NEGATIVE_INFINITY;
    for (const [a, b] of ws) {
      const from = Math.max(a, reach);
      if (b > from) down += b - from;
      reach = Math.max(reach, b);
    }
    const available = makespan - down;
    utilization[m.id] = available > EPS ? busy / available : 0;
  }
  return {
    violations,
    kpis: { makespan, totalTardiness, weightedTardiness, onTimeRate: withDue === 0 ? 1 : onTime / withDue, utilization },
  };
}
