/**
 * The flexible job-shop problem of PlantGraph's scheduler, in minutes from a time origin (0 = the origin; times may be
 * fractional). A job is a sequence of operations (its routing); an operation runs on one of its eligible machines, each
 * with its own processing duration and its own (sequence-independent) setup duration, and occupies the machine for
 * processing + setup. Machines have unavailability windows (downtime, maintenance): no operation may overlap one, and an
 * operation is never split around a window (non-preemptive: it starts after the window instead).
 *
 * Fixed operations (already started) keep their machine and start. Pins restrict an operation to one machine and/or
 * one exact start. `compileProblem` validates a problem (a ValidationError lists every problem, with its path) and turns
 * it into the typed-array form the solver works on; statically contradictory fixed/pinned operations throw an
 * InfeasibleProblemError naming the jobs, operations and machines involved.
 */
import { InfeasibleError, Problems } from '../../core/errors.ts';

export type ScheduleObjective = 'MAKESPAN' | 'WEIGHTED_TARDINESS';

export interface MachineOption {
  machine: string;
  /** Processing minutes on this machine (≥ 0). */
  duration: number;
  /** Setup minutes on this machine (≥ 0, default 0); part of the occupancy: the operation occupies duration + setup. */
  setup?: number;
}

export interface OperationSpec {
  /** Optional name used in errors and results; by default `<job id>#<index>`. */
  id?: string;
  /** Eligible machines, each with its own durations. */
  options: MachineOption[];
  /** Already started: it stays on this machine at this start. */
  fixed?: { machine: string; start: number };
  /** Pinned to a machine and/or an exact start. */
  pin?: { machine?: string; start?: number };
}

export interface JobSpec {
  id: string;
  /** Earliest start of the first operation (default 0). */
  release?: number;
  /** Due time of the last operation's end (default: none, never late). */
  due?: number;
  /** Weight in WEIGHTED_TARDINESS (default 1). */
  weight?: number;
  operations: OperationSpec[];
}

export interface UnavailabilityWindow {
  start: number;
  end: number;
  kind?: 'DOWNTIME' | 'MAINTENANCE';
}

export interface MachineSpec {
  id: string;
  unavailable?: UnavailabilityWindow[];
}

export interface ScheduleProblem {
  machines: MachineSpec[];
  jobs: JobSpec[];
}

/** One scheduled operation: `job` and `index` (0-based position in its routing) identify it. */
export interface ScheduledOperation {
  job: string;
  index: number;
  /** The operation's id (`OperationSpec.id` or `<job>#<index>`). */
  operation: string;
  machine: string;
  start: number;
  end: number;
}

/** The problem cannot be scheduled at all; `jobs`, `operations` and `machines` name what contradicts. */
export class InfeasibleProblemError extends InfeasibleError {
  constructor(
    message: string,
    readonly jobs: string[],
    readonly operations: string[],
    readonly machines: string[],
  ) {
    super(message);
  }
}

/**
 * The solver's form of a problem: operations numbered 0..nOps-1 job after job, options in CSR arrays (the options of
 * operation o are optFirst[o]..optFirst[o+1]-1), durations = processing + setup. Pins to a machine and fixed operations
 * leave only that option. Operations with a known start (fixed, or pinned to a start) are "anchored": their option
 * and start are decided here, and the decoder treats them as blocked time on their machine.
 */
export interface CompiledProblem {
  spec: ScheduleProblem;
  nJobs: number;
  nOps: number;
  nMachines: number;
  machineIds: string[];
  jobIds: string[];
  opIds: string[];
  /** Operations of job j: jobFirst[j] .. jobFirst[j+1]-1. */
  jobFirst: Int32Array;
  opJob: Int32Array;
  /** Index of the operation inside its job. */
  opIndex: Int32Array;
  release: Float64Array;
  /** Infinity when the job has no due time. */
  due: Float64Array;
  weight: Float64Array;
  optFirst: Int32Array;
  optMachine: Int32Array;
  /** processing + setup */
  optDuration: Float64Array;
  minDuration: Float64Array;
  /** 1 for fixed operations and operations pinned to a start. */
  anchored: Uint8Array;
  /** The chosen option of an anchored operation (-1 otherwise). */
  anchorOption: Int32Array;
  anchorStart: Float64Array;
  /** Blocked intervals per machine (unavailability windows and anchored operations), sorted and merged: CSR. */
  blockFirst: Int32Array;
  blockStart: Float64Array;
  blockEnd: Float64Array;
  /** Unavailability windows only (sorted, merged), CSR like the blocks. */
  windowFirst: Int32Array;
  windowStart: Float64Array;
  windowEnd: Float64Array;
  /** True when every duration, release and window bound is an integer (bounds may then round up). */
  integral: boolean;
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The operation's display id. */
export function operationId(job: JobSpec, index: number): string {
  return job.operations[index].id ?? `${job.id}#${index}`;
}

function mergeIntervals(list: { start: number; end: number }[]): { start: number; end: number }[] {
  const sorted = list.filter((w) => w.end > w.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: { start: number; end: number }[] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else out.push({ start: w.start, end: w.end });
  }
  return out;
}

/** Earliest t ≥ ready such that [t, t+d) overlaps no interval of the sorted list (zero-length items fit at a boundary). */
function earliestFitList(list: { start: number; end: number }[], ready: number, d: number): number {
  let t = ready;
  for (const w of list) {
    if (t + d <= w.start) break;
    if (t < w.end) t = w.end;
  }
  return t;
}

/** [s1, e1) and [s2, e2) overlap (a zero-length interval overlaps only when strictly inside the other). */
const overlaps = (s1: number, e1: number, s2: number, e2: number) => s1 < e2 && s2 < e1;

/**
 * Validates `problem` and compiles it. Throws a ValidationError listing every malformed field (no eligible machine,
 * an unknown or repeated machine, negative or non-finite numbers, a pin or fixed machine that is not eligible, ...) and
 * an InfeasibleProblemError when fixed/pinned operations contradict each other, a window, a release or their routing.
 */
export function compileProblem(problem: ScheduleProblem): CompiledProblem {
  const problems = new Problems();
  const machineIds: string[] = [];
  const machineIndex = new Map<string, number>();
  if (!Array.isArray(problem?.machines)) problems.add('machines', 'must be a list');
  if (!Array.isArray(problem?.jobs)) problems.add('jobs', 'must be a list');
  problems.throwIfAny();
  problem.machines.forEach((m, i) => {
    if (typeof m?.id !== 'string' || m.id === '') problems.add(`machines[${i}].id`, 'must be a non-empty string');
    else if (machineIndex.has(m.id)) problems.add(`machines[${i}].id`, `machine ${JSON.stringify(m.id)} is listed twice`);
    else machineIndex.set(m.id, machineIds.push(m.id) - 1);
    (m?.unavailable ?? []).forEach((w, k) => {
      if (!finite(w?.start) || !finite(w?.end)) problems.add(`machines[${i}].unavailable[${k}]`, 'start and end must be finite numbers');
      else if (w.end < w.start) problems.add(`machines[${i}].unavailable[${k}]`, 'end is before start');
    });
  });
  const jobIds = new Set<string>();
  let nOps = 0;
  let nOptions = 0;
  problem.jobs.forEach((job, j) => {
    const p = `jobs[${j}]`;
    if (typeof job?.id !== 'string' || job.id === '') problems.add(`${p}.id`, 'must be a non-empty string');
    else if (jobIds.has(job.id)) problems.add(`${p}.id`, `job ${JSON.stringify(job.id)} is listed twice`);
    else jobIds.add(job.id);
    if (job?.release !== undefined && !finite(job.release)) problems.add(`${p}.release`, 'must be a finite number');
    if (job?.due !== undefined && !finite(job.due)) problems.add(`${p}.due`, 'must be a finite number');
    if (job?.weight !== undefined && (!finite(job.weight) || job.weight < 0)) problems.add(`${p}.weight`, 'must be a finite number ≥ 0');
    if (!Array.isArray(job?.operations) || job.operations.length === 0) {
      problems.add(`${p}.operations`, 'a job needs at least one operation');
      return;
    }
    job.operations.forEach((op, k) => {
      const q = `${p}.operations[${k}]`;
      nOps++;
      if (!Array.isArray(op?.options) || op.options.length === 0) {
        problems.add(`${q}.options`, 'no eligible machine');
        return;
      }
      const seen = new Set<string>();
      op.options.forEach((o, r) => {
        nOptions++;
        if (!machineIndex.has(o?.machine)) problems.add(`${q}.options[${r}].machine`, `unknown machine ${JSON.stringify(o?.machine)}`);
        else if (seen.has(o.machine)) problems.add(`${q}.options[${r}].machine`, `machine ${JSON.stringify(o.machine)} is listed twice`);
        seen.add(o?.machine);
        if (!finite(o?.duration) || o.duration < 0) problems.add(`${q}.options[${r}].duration`, 'must be a finite number ≥ 0');
        if (o?.setup !== undefined && (!finite(o.setup) || o.setup < 0)) problems.add(`${q}.options[${r}].setup`, 'must be a finite number ≥ 0');
      });
      if (op.fixed !== undefined) {
        if (!seen.has(op.fixed?.machine)) problems.add(`${q}.fixed.machine`, `machine ${JSON.stringify(op.fixed?.machine)} is not eligible for this operation`);
        if (!finite(op.fixed?.start)) problems.add(`${q}.fixed.start`, 'must be a finite number');
        if (op.pin !== undefined) problems.add(`${q}.pin`, 'a fixed operation cannot also be pinned');
      }
      if (op.pin?.machine !== undefined && !seen.has(op.pin.machine))
        problems.add(`${q}.pin.machine`, `machine ${JSON.stringify(op.pin.machine)} is not eligible for this operation`);
      if (op.pin?.start !== undefined && !finite(op.pin.start)) problems.add(`${q}.pin.start`, 'must be a finite number');
    });
  });
  problems.throwIfAny();

  const nJobs = problem.jobs.length;
  const nMachines = machineIds.length;
  const jobFirst = new Int32Array(nJobs + 1);
  const opJob = new Int32Array(nOps);
  const opIndex = new Int32Array(nOps);
  const opIds: string[] = [];
  const release = new Float64Array(nJobs);
  const due = new Float64Array(nJobs);
  const weight = new Float64Array(nJobs);
  const optFirst = new Int32Array(nOps + 1);
  const optMachine = new Int32Array(nOptions);
  const optDuration = new Float64Array(nOptions);
  const minDuration = new Float64Array(nOps);
  const anchored = new Uint8Array(nOps);
  const anchorOption = new Int32Array(nOps).fill(-1);
  const anchorStart = new Float64Array(nOps);
  let integral = true;
  const isInt = (x: number) => Number.isInteger(x);

  const windows: { start: number; end: number }[][] = problem.machines.map((m) => {
    for (const w of m.unavailable ?? []) if (!isInt(w.start) || !isInt(w.end)) integral = false;
    return mergeIntervals((m.unavailable ?? []).map((w) => ({ start: w.start, end: w.end })));
  });

  let o = 0;
  let c = 0;
  const pinnedStart: number[] = [];
  problem.jobs.forEach((job, j) => {
    jobFirst[j] = o;
    release[j] = job.release ?? 0;
    due[j] = job.due ?? Number.POSITIVE_INFINITY;
    weight[j] = job.weight ?? 1;
    if (!isInt(release[j])) integral = false;
    job.operations.forEach((op, k) => {
      opJob[o] = j;
      opIndex[o] = k;
      opIds.push(operationId(job, k));
      optFirst[o] = c;
      const only = op.fixed?.machine ?? op.pin?.machine;
      let min = Number.POSITIVE_INFINITY;
      for (const opt of op.options) {
        if (only !== undefined && opt.machine !== only) continue;
        optMachine[c] = machineIndex.get(opt.machine)!;
        optDuration[c] = opt.duration + (opt.setup ?? 0);
        if (!isInt(optDuration[c])) integral = false;
        min = Math.min(min, optDuration[c]);
        c++;
      }
      minDuration[o] = min;
      if (op.fixed) {
        anchored[o] = 1;
        anchorOption[o] = optFirst[o];
        anchorStart[o] = op.fixed.start;
      } else if (op.pin?.start !== undefined) {
        anchored[o] = 1;
        anchorStart[o] = op.pin.start;
        pinnedStart.push(o);
      }
      if (anchored[o] && !isInt(anchorStart[o])) integral = false;
      o++;
    });
  });
  jobFirst[nJobs] = o;
  optFirst[nOps] = c;
  const optionsUsed = c;

  // Anchored intervals per machine: fixed ones first, then pinned starts on the first eligible machine (shortest first)
  // where they overlap no window and no earlier anchor.
  const anchors: { start: number; end: number; op: number }[][] = machineIds.map(() => []);
  const fits = (m: number, s: number, e: number) =>
    !windows[m].some((w) => overlaps(s, e, w.start, w.end)) && !anchors[m].some((a) => overlaps(s, e, a.start, a.end));
  const opName = (x: number) => opIds[x];
  const jobName = (x: number) => problem.jobs[opJob[x]].id;
  for (let x = 0; x < nOps; x++) {
    if (!anchored[x] || anchorOption[x] < 0) continue;
    const m = optMachine[anchorOption[x]];
    const s = anchorStart[x];
    const e = s + optDuration[anchorOption[x]];
    const w = windows[m].find((w) => overlaps(s, e, w.start, w.end));
    if (w)
      throw new InfeasibleProblemError(
        `fixed operation ${opName(x)} [${s}, ${e}) overlaps an unavailability window [${w.start}, ${w.end}) of machine ${machineIds[m]}`,
        [jobName(x)],
        [opName(x)],
        [machineIds[m]],
      );
    const a = anchors[m].find((a) => overlaps(s, e, a.start, a.end));
    if (a)
      throw new InfeasibleProblemError(
        `fixed operations ${opName(a.op)} and ${opName(x)} overlap on machine ${machineIds[m]}`,
        [...new Set([jobName(a.op), jobName(x)])],
        [opName(a.op), opName(x)],
        [machineIds[m]],
      );
    anchors[m].push({ start: s, end: e, op: x });
  }
  for (const x of pinnedStart) {
    const s = anchorStart[x];
    const order = [];
    for (let r = optFirst[x]; r < optFirst[x + 1]; r++) order.push(r);
    order.sort((a, b) => optDuration[a] - optDuration[b] || a - b);
    const r = order.find((r) => fits(optMachine[r], s, s + optDuration[r]));
    if (r === undefined) {
      const ms = order.map((r) => machineIds[optMachine[r]]);
      const others = order.flatMap((r) => anchors[optMachine[r]].filter((a) => overlaps(s, s + optDuration[r], a.start, a.end)).map((a) => a.op));
      throw new InfeasibleProblemError(
        `operation ${opName(x)} is pinned to start at ${s}, but each of its machines (${ms.join(', ')}) is unavailable or taken then`,
        [...new Set([jobName(x), ...others.map(jobName)])],
        [opName(x), ...new Set(others.map(opName))],
        ms,
      );
    }
    anchorOption[x] = r;
    anchors[optMachine[r]].push({ start: s, end: s + optDuration[r], op: x });
  }

  // Each anchored operation must be reachable: release, then the fastest possible run of its predecessors.
  for (let j = 0; j < nJobs; j++) {
    let t = release[j];
    let from = jobFirst[j];
    for (let x = jobFirst[j]; x < jobFirst[j + 1]; x++) {
      if (anchored[x]) {
        if (anchorStart[x] < t) {
          const ops = [];
          for (let y = from; y <= x; y++) ops.push(opName(y));
          throw new InfeasibleProblemError(
            `operation ${opName(x)} must start at ${anchorStart[x]}, but job ${problem.jobs[j].id} cannot reach it before ${t} (release ${release[j]} and the minimum durations of the operations before it)`,
            [problem.jobs[j].id],
            ops,
            [machineIds[optMachine[anchorOption[x]]]],
          );
        }
        t = anchorStart[x] + optDuration[anchorOption[x]];
        from = x;
      } else {
        let best = Number.POSITIVE_INFINITY;
        for (let r = optFirst[x]; r < optFirst[x + 1]; r++) {
          const d = optDuration[r];
          best = Math.min(best, earliestFitList(windows[optMachine[r]], t, d) + d);
        }
        t = best;
      }
    }
  }

  const blockFirst = new Int32Array(nMachines + 1);
  const windowFirst = new Int32Array(nMachines + 1);
  const bS: number[] = [];
  const bE: number[] = [];
  const wS: number[] = [];
  const wE: number[] = [];
  for (let m = 0; m < nMachines; m++) {
    blockFirst[m] = bS.length;
    windowFirst[m] = wS.length;
    for (const w of windows[m]) {
      wS.push(w.start);
      wE.push(w.end);
    }
    for (const b of mergeIntervals([...windows[m], ...anchors[m]])) {
      bS.push(b.start);
      bE.push(b.end);
    }
  }
  blockFirst[nMachines] = bS.length;
  windowFirst[nMachines] = wS.length;

  return {
    spec: problem,
    nJobs,
    nOps,
    nMachines,
    machineIds,
    jobIds: problem.jobs.map((j) => j.id),
    opIds,
    jobFirst,
    opJob,
    opIndex,
    release,
    due,
    weight,
    optFirst,
    optMachine: optMachine.subarray(0, optionsUsed),
    optDuration: optDuration.subarray(0, optionsUsed),
    minDuration,
    anchored,
    anchorOption,
    anchorStart,
    blockFirst,
    blockStart: Float64Array.from(bS),
    blockEnd: Float64Array.from(bE),
    windowFirst,
    windowStart: Float64Array.from(wS),
    windowEnd: Float64Array.from(wE),
    integral,
  };
}
