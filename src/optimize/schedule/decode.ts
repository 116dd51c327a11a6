/**
 * The solver's solution representation and its semi-active decoder (shared by construct.ts and search.ts; the checker
 * does not use it). A solution is a machine choice per operation plus, per machine, the order of its non-anchored
 * operations as a doubly linked list. Anchored operations (fixed or pinned to a start) are not in the lists: the
 * problem compiles them into blocked time on their machine, like unavailability windows.
 *
 * Decoding computes every start as the earliest time ≥ the job predecessor's end, the machine predecessor's end and
 * the job's release where the operation fits between blocked intervals (non-preemptive), in a topological order of the
 * disjunctive graph. A cycle, or a predecessor of an anchored operation ending after the anchor's start, makes the
 * solution infeasible (objective Infinity).
 *
 * With a reference plan (plan stability, stability.ts) the decoder adds `penalty` per operation that is changed against
 * the reference (moved: |start − reference start| > tolerance, or on another machine) to the objective, so the
 * constructive phase and the search compare penalised values; `baseValue` and `changed` keep the two parts apart.
 */
import type { CompiledProblem, ScheduleObjective } from './problem.ts';
import type { CompiledReference } from './stability.ts';

export class Solution {
  /** Chosen option per operation (an index into optMachine/optDuration). */
  readonly opt: Int32Array;
  readonly mPrev: Int32Array;
  readonly mNext: Int32Array;
  readonly mFirst: Int32Array;
  readonly mLast: Int32Array;
  constructor(p: CompiledProblem) {
    this.opt = new Int32Array(p.nOps);
    this.mPrev = new Int32Array(p.nOps).fill(-1);
    this.mNext = new Int32Array(p.nOps).fill(-1);
    this.mFirst = new Int32Array(p.nMachines).fill(-1);
    this.mLast = new Int32Array(p.nMachines).fill(-1);
  }
  copyFrom(s: Solution): void {
    this.opt.set(s.opt);
    this.mPrev.set(s.mPrev);
    this.mNext.set(s.mNext);
    this.mFirst.set(s.mFirst);
    this.mLast.set(s.mLast);
  }
  sameAs(s: Solution): boolean {
    for (let i = 0; i < this.opt.length; i++) if (this.opt[i] !== s.opt[i] || this.mNext[i] !== s.mNext[i]) return false;
    for (let m = 0; m < this.mFirst.length; m++) if (this.mFirst[m] !== s.mFirst[m]) return false;
    return true;
  }
}

/** Takes operation u out of its machine list. */
export function unlink(p: CompiledProblem, s: Solution, u: number): void {
  const m = p.optMachine[s.opt[u]];
  const a = s.mPrev[u];
  const b = s.mNext[u];
  if (a >= 0) s.mNext[a] = b;
  else s.mFirst[m] = b;
  if (b >= 0) s.mPrev[b] = a;
  else s.mLast[m] = a;
  s.mPrev[u] = -1;
  s.mNext[u] = -1;
}

/** Puts the unlinked operation u on the machine of option `opt`, right after x (x = -1: first). */
export function linkAfter(p: CompiledProblem, s: Solution, u: number, opt: number, x: number): void {
  const m = p.optMachine[opt];
  s.opt[u] = opt;
  const b = x < 0 ? s.mFirst[m] : s.mNext[x];
  if (x < 0) s.mFirst[m] = u;
  else s.mNext[x] = u;
  s.mPrev[u] = x;
  s.mNext[u] = b;
  if (b >= 0) s.mPrev[b] = u;
  else s.mLast[m] = u;
}

/** Earliest t ≥ ready where [t, t+d) fits between the blocked intervals of machine m. */
export function earliestFit(p: CompiledProblem, m: number, ready: number, d: number): number {
  let t = ready;
  const bs = p.blockStart;
  const be = p.blockEnd;
  for (let b = p.blockFirst[m], z = p.blockFirst[m + 1]; b < z; b++) {
    if (be[b] <= t) continue;
    if (t + d <= bs[b]) break;
    t = be[b];
  }
  return t;
}

export class Decoder {
  readonly start: Float64Array;
  readonly end: Float64Array;
  /** The predecessor that fixed each start (machine predecessor preferred), -1 when a release or a block did. */
  readonly crit: Int32Array;
  /** The non-anchored operations in the topological order of the last complete decode (first `nFree` entries). */
  readonly topo: Int32Array;
  private readonly indeg: Int32Array;
  private readonly stack: Int32Array;
  /** Makespan part and weighted tardiness part due to anchored operations alone. */
  private readonly anchorMakespan: number;
  private readonly anchorTardiness: number;
  readonly nFree: number;
  /** The objective without the stability penalty, of the last complete decode. */
  baseValue = Number.POSITIVE_INFINITY;
  /** Operations changed against the reference (0 without one), of the last complete decode. */
  changed = 0;
  constructor(
    readonly p: CompiledProblem,
    /** Plan stability: the objective gets `penalty` per operation changed against this reference. */
    readonly reference?: CompiledReference,
  ) {
    const n = p.nOps;
    this.start = new Float64Array(n);
    this.end = new Float64Array(n);
    this.crit = new Int32Array(n).fill(-1);
    this.topo = new Int32Array(n);
    this.indeg = new Int32Array(n);
    this.stack = new Int32Array(n);
    let mk = 0;
    let wt = 0;
    let free = 0;
    for (let o = 0; o < n; o++) {
      if (!p.anchored[o]) {
        free++;
        continue;
      }
      this.start[o] = p.anchorStart[o];
      this.end[o] = p.anchorStart[o] + p.optDuration[p.anchorOption[o]];
      mk = Math.max(mk, this.end[o]);
      const j = p.opJob[o];
      if (o === p.jobFirst[j + 1] - 1 && this.end[o] > p.due[j]) wt += p.weight[j] * (this.end[o] - p.due[j]);
    }
    this.anchorMakespan = mk;
    this.anchorTardiness = wt;
    this.nFree = free;
  }

  /**
   * Decodes `s` and returns its objective (plus the stability penalty, with a reference), or Infinity when it is
   * infeasible or (cutoff given) when that value is ≥ cutoff: decoding stops as soon as that is certain (both parts
   * only grow while decoding), so start/end are then partial.
   */
  run(s: Solution, objective: ScheduleObjective, cutoff = Number.POSITIVE_INFINITY): number {
    const p = this.p;
    const { anchored, jobFirst, opJob, optMachine, optDuration, release, anchorStart } = p;
    const { start, end, crit, indeg, stack, topo } = this;
    const { mPrev, mNext, opt } = s;
    const n = p.nOps;
    const makespan = objective === 'MAKESPAN';
    let top = 0;
    for (let o = 0; o < n; o++) {
      if (anchored[o]) continue;
      let d = mPrev[o] >= 0 ? 1 : 0;
      if (o > jobFirst[opJob[o]] && !anchored[o - 1]) d++;
      indeg[o] = d;
      if (d === 0) stack[top++] = o;
    }
    let value = makespan ? this.anchorMakespan : this.anchorTardiness;
    const ref = this.reference;
    let changed = ref ? ref.anchoredChanged : 0;
    // the penalty part so far (penalty × changed)
    let extra = ref ? ref.penalty * changed : 0;
    if (value + extra >= cutoff) return Number.POSITIVE_INFINITY;
    let done = 0;
    while (top > 0) {
      const o = stack[--top];
      topo[done++] = o;
      const j = opJob[o];
      const first = o === jobFirst[j];
      const last = o === jobFirst[j + 1] - 1;
      const mp = mPrev[o];
      let ready = first ? release[j] : end[o - 1];
      let c = first || anchored[o - 1] ? -1 : o - 1;
      if (mp >= 0 && end[mp] >= ready) {
        ready = end[mp];
        c = mp;
      }
      const r = opt[o];
      const d = optDuration[r];
      const t = earliestFit(p, optMachine[r], ready, d);
      if (t > ready) c = -1;
      start[o] = t;
      const e = t + d;
      end[o] = e;
      crit[o] = c;
      if (ref?.has[o] && (ref.machine[o] !== optMachine[r] || Math.abs(t - ref.start[o]) > ref.tolerance)) {
        changed++;
        extra = ref.penalty * changed;
        if (value + extra >= cutoff) return Number.POSITIVE_INFINITY;
      }
      if (makespan) {
        if (e > value) {
          value = e;
          if (value + extra >= cutoff) return Number.POSITIVE_INFINITY;
        }
      } else if (last && e > p.due[j]) {
        value += p.weight[j] * (e - p.due[j]);
        if (value + extra >= cutoff) return Number.POSITIVE_INFINITY;
      }
      if (!last) {
        if (anchored[o + 1]) {
          if (e > anchorStart[o + 1]) return Number.POSITIVE_INFINITY;
        } else if (--indeg[o + 1] === 0) stack[top++] = o + 1;
      }
      const ms = mNext[o];
      if (ms >= 0 && --indeg[ms] === 0) stack[top++] = ms;
    }
    if (done < this.nFree) return Number.POSITIVE_INFINITY;
    this.baseValue = value;
    this.changed = changed;
    return value + extra;
  }
}
