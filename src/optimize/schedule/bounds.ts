/**
 * Lower bounds (minutes), valid for the problem with all its constraints, used for the gap and to stop the search
 * when a schedule is provably optimal:
 *
 * - job bound: per job, release then its operations back to back at their minimum duration (delayed only by
 *   unavailability windows, when every eligible machine is down, and by anchored operations' fixed times);
 * - anchored operations' ends;
 * - single-machine relaxation per machine, over the operations that can only run on it (and the anchored ones on it):
 *   heads (job bound up to the operation), tails (minimum work after it), Jackson's preemptive schedule
 *   (max over the preemptive schedule of completion + tail; Carlier's bound);
 * - flexible work bound: earliest possible start + total minimum work / number of machines;
 * - machine-set bound: for each distinct set S of eligible machines (the 512 most frequent), the operations that can
 *   only run on machines of S: their earliest start + their minimum work / |S| + their smallest tail.
 *
 * With integral data the bounds round up. For WEIGHTED_TARDINESS the bound is Σ weight × max(0, job bound − due).
 */
import type { CompiledProblem, ScheduleObjective } from './problem.ts';

/** Earliest end of each operation by its job alone (heads + duration), windows respected. */
export function jobEarliestEnds(p: CompiledProblem): Float64Array {
  const out = new Float64Array(p.nOps);
  for (let j = 0; j < p.nJobs; j++) {
    let t = p.release[j];
    for (let o = p.jobFirst[j]; o < p.jobFirst[j + 1]; o++) {
      if (p.anchored[o]) t = p.anchorStart[o] + p.optDuration[p.anchorOption[o]];
      else {
        let best = Number.POSITIVE_INFINITY;
        for (let r = p.optFirst[o]; r < p.optFirst[o + 1]; r++) {
          const m = p.optMachine[r];
          const d = p.optDuration[r];
          // windows only (not other anchors): a relaxation
          let s = t;
          for (let b = p.windowFirst[m]; b < p.windowFirst[m + 1]; b++) {
            if (p.windowEnd[b] <= s) continue;
            if (s + d <= p.windowStart[b]) break;
            s = p.windowEnd[b];
          }
          best = Math.min(best, s + d);
        }
        t = best;
      }
      out[o] = t;
    }
  }
  return out;
}

/** Jackson's preemptive schedule bound for one machine: max over completions C_i + q_i. */
export function jacksonPreemptive(r: number[], d: number[], q: number[]): number {
  const n = r.length;
  const order = [...r.keys()].sort((a, b) => r[a] - r[b]);
  const left = d.slice();
  const ready: number[] = [];
  let t = 0;
  let k = 0;
  let bound = 0;
  let done = 0;
  while (done < n) {
    if (ready.length === 0 && k < n && r[order[k]] > t) t = r[order[k]];
    while (k < n && r[order[k]] <= t) ready.push(order[k++]);
    // the ready job with the largest tail
    let bi = 0;
    for (let i = 1; i < ready.length; i++) if (q[ready[i]] > q[ready[bi]]) bi = i;
    const job = ready[bi];
    const nextRelease = k < n ? r[order[k]] : Number.POSITIVE_INFINITY;
    const run = Math.min(left[job], nextRelease - t);
    t += run;
    left[job] -= run;
    if (left[job] <= 0) {
      bound = Math.max(bound, t + q[job]);
      ready.splice(bi, 1);
      done++;
    }
  }
  return bound;
}

export function makespanLowerBound(p: CompiledProblem): number {
  const ends = jobEarliestEnds(p);
  let lb = 0;
  for (let o = 0; o < p.nOps; o++) lb = Math.max(lb, ends[o]);
  // tails: minimum work after each operation in its job
  const tail = new Float64Array(p.nOps);
  for (let j = 0; j < p.nJobs; j++) {
    let w = 0;
    for (let o = p.jobFirst[j + 1] - 1; o >= p.jobFirst[j]; o--) {
      tail[o] = w;
      w += p.minDuration[o];
    }
  }
  for (let m = 0; m < p.nMachines; m++) {
    const r: number[] = [];
    const d: number[] = [];
    const q: number[] = [];
    for (let o = 0; o < p.nOps; o++) {
      const only = p.anchored[o] ? p.anchorOption[o] : p.optFirst[o + 1] - p.optFirst[o] === 1 ? p.optFirst[o] : -1;
      if (only < 0 || p.optMachine[only] !== m) continue;
      const dur = p.optDuration[only];
      r.push(p.anchored[o] ? p.anchorStart[o] : ends[o] - dur);
      d.push(dur);
      q.push(tail[o]);
    }
    if (r.length > 0) lb = Math.max(lb, jacksonPreemptive(r, d, q));
  }
  let total = 0;
  let earliest = Number.POSITIVE_INFINITY;
  for (let o = 0; o < p.nOps; o++) {
    total += p.minDuration[o];
    earliest = Math.min(earliest, p.anchored[o] ? p.anchorStart[o] : p.release[p.opJob[o]]);
  }
  if (p.nMachines > 0 && p.nOps > 0) lb = Math.max(lb, earliest + total / p.nMachines);
  lb = Math.max(lb, machineSetBound(p, ends, tail));
  return p.integral ? Math.ceil(lb - 1e-9) : lb;
}

/** The machine-set bound (see the module comment); `ends` from jobEarliestEnds, `tail` the minimum work after each operation. */
export function machineSetBound(p: CompiledProblem, ends: Float64Array, tail: Float64Array): number {
  const sets = new Map<string, { machines: number[]; count: number }>();
  for (let o = 0; o < p.nOps; o++) {
    const ms: number[] = [];
    if (p.anchored[o]) ms.push(p.optMachine[p.anchorOption[o]]);
    else for (let r = p.optFirst[o]; r < p.optFirst[o + 1]; r++) ms.push(p.optMachine[r]);
    ms.sort((a, b) => a - b);
    const key = ms.join(',');
    const s = sets.get(key);
    if (s) s.count++;
    else sets.set(key, { machines: ms, count: 1 });
  }
  const chosen = [...sets.values()].sort((a, b) => b.count - a.count).slice(0, 512);
  const inSet = new Uint8Array(p.nMachines);
  const head = (o: number) => {
    if (p.anchored[o]) return p.anchorStart[o];
    const j = p.opJob[o];
    return o === p.jobFirst[j] ? p.release[j] : ends[o - 1];
  };
  let lb = 0;
  for (const set of chosen) {
    inSet.fill(0);
    for (const m of set.machines) inSet[m] = 1;
    let work = 0;
    let h = Number.POSITIVE_INFINITY;
    let q = Number.POSITIVE_INFINITY;
    for (let o = 0; o < p.nOps; o++) {
      let inside = true;
      if (p.anchored[o]) inside = inSet[p.optMachine[p.anchorOption[o]]] === 1;
      else for (let r = p.optFirst[o]; r < p.optFirst[o + 1] && inside; r++) inside = inSet[p.optMachine[r]] === 1;
      if (!inside) continue;
      work += p.anchored[o] ? p.optDuration[p.anchorOption[o]] : p.minDuration[o];
      h = Math.min(h, head(o));
      q = Math.min(q, tail[o]);
    }
    if (work > 0) lb = Math.max(lb, h + work / set.machines.length + q);
  }
  return lb;
}

export function lowerBound(p: CompiledProblem, objective: ScheduleObjective): number {
  if (objective === 'MAKESPAN') return makespanLowerBound(p);
  const ends = jobEarliestEnds(p);
  let lb = 0;
  for (let j = 0; j < p.nJobs; j++) {
    const e = ends[p.jobFirst[j + 1] - 1];
    if (e > p.due[j]) lb += p.weight[j] * (e - p.due[j]);
  }
  return lb;
}

/** (best − lb) / best, 0 when best is 0. */
export function gap(best: number, lb: number): number {
  return best > 0 ? Math.max(0, (best - lb) / best) : 0;
}
