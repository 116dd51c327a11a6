/**
 * Plan stability: re-planning against a previous plan (the reference) charges `penalty` objective units per operation
 * that is changed, i.e. moved (|start − reference start| > toleranceMinutes) or reassigned (on another machine); an
 * operation both moved and reassigned counts once, and operations the reference does not list (new orders) are never
 * charged. The decoder (decode.ts) adds the penalty, so the dispatching rules, the reference start below and the tabu
 * search all compare penalised values.
 *
 * `referenceDispatch` builds a start from the reference: every operation the reference lists, on a machine that is still
 * eligible, goes to that machine in the reference's per-machine order (by reference start); the others (new, or whose
 * machine is gone or no longer eligible) are dispatched in between, at the earliest start, and before the next
 * reference operation of their machine only when they end by its reference start. The semi-active decoder then
 * places it (windows, releases, fixed and pinned operations respected), so the plan before a change stays in place.
 */
import { Problems } from '../../core/errors.ts';
import { earliestFit, linkAfter, Solution } from './decode.ts';
import type { CompiledProblem, ScheduledOperation } from './problem.ts';

/** The previous plan and the price of changing it (SolveOptions.reference). */
export interface PlanReference {
  /** The previous plan's operations: job id, operation index in the job (0-based, routing order), machine id, start (minutes). */
  operations: readonly { job: string; index: number; machine: string; start: number }[];
  /** Objective units charged per operation that is moved (|start − reference start| > toleranceMinutes) or reassigned (other machine). */
  penalty: number;
  /** Default 1 minute. */
  toleranceMinutes?: number;
}

/** Operations changed against a reference: moved, reassigned, and changed (moved or reassigned, counted once). */
export interface PlanChanges {
  moved: number;
  reassigned: number;
  changed: number;
}

/** The decoder's form of a reference, per compiled operation. */
export interface CompiledReference {
  /** 1 when the reference lists the operation. */
  has: Uint8Array;
  /** The reference machine's index (-1: a machine the problem no longer has). */
  machine: Int32Array;
  start: Float64Array;
  penalty: number;
  tolerance: number;
  /** Anchored (fixed or start-pinned) operations changed against the reference: a constant of every schedule. */
  anchoredChanged: number;
}

export const DEFAULT_TOLERANCE_MINUTES = 1;

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const key = (job: string, index: number) => `${job}\u0000${index}`;

/**
 * Validates a reference (a ValidationError lists every malformed field, paths under `reference`) and maps it onto the
 * compiled problem. Entries naming a job or an operation index the problem does not have are ignored (the order is
 * gone); an entry on an unknown machine makes its operation count as reassigned whatever the schedule.
 */
export function compileReference(p: CompiledProblem, reference: PlanReference): CompiledReference {
  const problems = new Problems();
  if (!finite(reference?.penalty) || reference.penalty < 0) problems.add('reference.penalty', 'must be a finite number ≥ 0');
  const tolerance = reference?.toleranceMinutes ?? DEFAULT_TOLERANCE_MINUTES;
  if (!finite(tolerance) || tolerance < 0) problems.add('reference.toleranceMinutes', 'must be a finite number ≥ 0');
  if (!Array.isArray(reference?.operations)) problems.add('reference.operations', 'must be a list');
  problems.throwIfAny();
  const jobIndex = new Map(p.jobIds.map((id, j) => [id, j]));
  const machineIndex = new Map(p.machineIds.map((id, m) => [id, m]));
  const has = new Uint8Array(p.nOps);
  const machine = new Int32Array(p.nOps).fill(-1);
  const start = new Float64Array(p.nOps);
  const seen = new Set<string>();
  reference.operations.forEach((r, i) => {
    const q = `reference.operations[${i}]`;
    const before = problems.count;
    if (typeof r?.job !== 'string') problems.add(`${q}.job`, 'must be a string');
    if (!Number.isInteger(r?.index) || r.index < 0) problems.add(`${q}.index`, 'must be an integer ≥ 0');
    if (typeof r?.machine !== 'string') problems.add(`${q}.machine`, 'must be a string');
    if (!finite(r?.start)) problems.add(`${q}.start`, 'must be a finite number');
    if (problems.count > before) return;
    const k = key(r.job, r.index);
    if (seen.has(k)) {
      problems.add(q, `operation ${r.index} of job ${JSON.stringify(r.job)} is listed twice`);
      return;
    }
    seen.add(k);
    const j = jobIndex.get(r.job);
    if (j === undefined || r.index >= p.jobFirst[j + 1] - p.jobFirst[j]) return;
    const o = p.jobFirst[j] + r.index;
    has[o] = 1;
    machine[o] = machineIndex.get(r.machine) ?? -1;
    start[o] = r.start;
  });
  problems.throwIfAny();
  let anchoredChanged = 0;
  for (let o = 0; o < p.nOps; o++) {
    if (!has[o] || !p.anchored[o]) continue;
    if (machine[o] !== p.optMachine[p.anchorOption[o]] || Math.abs(p.anchorStart[o] - start[o]) > tolerance) anchoredChanged++;
  }
  return { has, machine, start, penalty: reference.penalty, tolerance, anchoredChanged };
}

/** Counts the operations of `operations` changed against `reference` (entries without a scheduled operation are ignored). */
export function countChanges(reference: PlanReference, operations: readonly ScheduledOperation[]): PlanChanges {
  const tolerance = reference.toleranceMinutes ?? DEFAULT_TOLERANCE_MINUTES;
  const byKey = new Map(operations.map((o) => [key(o.job, o.index), o]));
  const out: PlanChanges = { moved: 0, reassigned: 0, changed: 0 };
  for (const r of reference.operations) {
    const o = byKey.get(key(r.job, r.index));
    if (!o) continue;
    const moved = Math.abs(o.start - r.start) > tolerance;
    const reassigned = o.machine !== r.machine;
    if (moved) out.moved++;
    if (reassigned) out.reassigned++;
    if (moved || reassigned) out.changed++;
  }
  return out;
}

/**
 * The constructive start from the reference (see the module comment). Always a complete solution; the decoder may
 * still find it infeasible (an anchored start missed), then the caller drops it.
 */
export function referenceDispatch(p: CompiledProblem, ref: CompiledReference): Solution {
  const { nJobs, nMachines, nOps, jobFirst, optFirst, optMachine, optDuration, minDuration, anchored, anchorStart, anchorOption } = p;
  const s = new Solution(p);
  // the option on the reference machine (the shortest, should the machine be listed twice), -1 when none
  const bound = new Int32Array(nOps).fill(-1);
  const queues: number[][] = Array.from({ length: nMachines }, () => []);
  for (let o = 0; o < nOps; o++) {
    if (anchored[o]) {
      s.opt[o] = anchorOption[o];
      continue;
    }
    if (!ref.has[o] || ref.machine[o] < 0) continue;
    let best = -1;
    for (let r = optFirst[o]; r < optFirst[o + 1]; r++) {
      if (optMachine[r] === ref.machine[o] && (best < 0 || optDuration[r] < optDuration[best])) best = r;
    }
    if (best < 0) continue;
    bound[o] = best;
    queues[optMachine[best]].push(o);
  }
  for (const q of queues) q.sort((a, b) => ref.start[a] - ref.start[b] || a - b);
  const head = new Int32Array(nMachines);
  const done = new Uint8Array(nOps);
  /** The next reference operation of machine m not yet dispatched, -1 when none. */
  const headOf = (m: number) => {
    const q = queues[m];
    while (head[m] < q.length && done[q[head[m]]]) head[m]++;
    return head[m] < q.length ? q[head[m]] : -1;
  };
  const next = new Int32Array(nJobs);
  const jobReady = new Float64Array(nJobs);
  const workLeft = new Float64Array(nJobs);
  const machReady = new Float64Array(nMachines);
  let remaining = 0;
  for (let j = 0; j < nJobs; j++) {
    next[j] = jobFirst[j];
    jobReady[j] = p.release[j];
    for (let o = jobFirst[j]; o < jobFirst[j + 1]; o++) {
      if (!anchored[o]) {
        workLeft[j] += minDuration[o];
        remaining++;
      }
    }
  }
  const skipAnchors = (j: number) => {
    while (next[j] < jobFirst[j + 1] && anchored[next[j]]) {
      const a = next[j];
      jobReady[j] = Math.max(jobReady[j], anchorStart[a] + optDuration[anchorOption[a]]);
      next[j]++;
    }
  };
  for (let j = 0; j < nJobs; j++) skipAnchors(j);
  while (remaining > 0) {
    let bestJ = -1;
    let bestR = -1;
    let bestKey = 0;
    let bestFree = 0;
    let bestEnd = 0;
    let bestWork = 0;
    const consider = (j: number, r: number, k: number, free: number, c: number) => {
      if (
        bestJ < 0 ||
        k < bestKey ||
        (k === bestKey && (free < bestFree || (free === bestFree && (c < bestEnd || (c === bestEnd && -workLeft[j] < bestWork)))))
      ) {
        bestJ = j;
        bestR = r;
        bestKey = k;
        bestFree = free;
        bestEnd = c;
        bestWork = -workLeft[j];
      }
    };
    for (let j = 0; j < nJobs; j++) {
      const o = next[j];
      if (o >= jobFirst[j + 1]) continue;
      if (bound[o] >= 0) {
        const r = bound[o];
        const m = optMachine[r];
        if (headOf(m) !== o) continue; // waits for the reference operations before it on its machine
        const d = optDuration[r];
        const st = earliestFit(p, m, Math.max(jobReady[j], machReady[m]), d);
        consider(j, r, Math.max(st, ref.start[o]), 0, st + d);
        continue;
      }
      for (let r = optFirst[o]; r < optFirst[o + 1]; r++) {
        const m = optMachine[r];
        const d = optDuration[r];
        const st = earliestFit(p, m, Math.max(jobReady[j], machReady[m]), d);
        const h = headOf(m);
        // before the machine's next reference operation only if it ends by that one's reference start
        const k = h >= 0 && st + d > ref.start[h] ? Math.max(st, ref.start[h] + optDuration[bound[h]]) : st;
        consider(j, r, k, 1, st + d);
      }
    }
    if (bestJ < 0) {
      // every job waits for a reference operation that waits for it (a reference order contradicting a routing):
      // dispatch the waiting operation with the earliest reference start out of its machine's order
      for (let j = 0; j < nJobs; j++) {
        const o = next[j];
        if (o >= jobFirst[j + 1]) continue;
        if (bestJ < 0 || ref.start[o] < bestKey) {
          bestJ = j;
          bestR = bound[o];
          bestKey = ref.start[o];
        }
      }
    }
    const o = next[bestJ];
    const m = optMachine[bestR];
    const d = optDuration[bestR];
    const st = earliestFit(p, m, Math.max(jobReady[bestJ], machReady[m]), d);
    linkAfter(p, s, o, bestR, s.mLast[m]);
    done[o] = 1;
    machReady[m] = st + d;
    jobReady[bestJ] = st + d;
    workLeft[bestJ] -= minDuration[o];
    next[bestJ]++;
    remaining--;
    skipAnchors(bestJ);
  }
  return s;
}
