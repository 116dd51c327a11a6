/**
 * Tabu search on the disjunctive graph (critical-path neighbourhoods), for both objectives.
 *
 * Neighbourhood, per iteration, on the current schedule's critical path (MAKESPAN: the path into the operation that
 * ends last; WEIGHTED_TARDINESS: the paths into the last operations of the two most weighted-late jobs and of one
 * random late job), cut into critical blocks (runs of operations on one machine, each starting when the previous ends):
 * - N5: swap the first two and the last two operations of each block (Nowicki & Smutnicki);
 * - N7-style insertions: move the first or the last operation of a block to every other position inside the block,
 *   and every inner operation to the block's front and back (Zhang et al.);
 * - machine reassignment (flexible operations on the path): move the operation to each other eligible machine, at
 *   the positions around where its job predecessor ends there (Mastrolilli & Gambardella's insertion, restricted).
 *
 * Evaluation: every move gets an estimate from heads and tails of the current schedule (the longest path through the
 * operations whose order changes, recomputed locally: Taillard / Dell'Amico-Trubian for swaps and insertions,
 * Mastrolilli-Gambardella for machine changes; windows respected in the heads). Only the `candidates` (default 6)
 * admissible moves with the best estimates (all moves, when there are no more) are then decoded exactly by the semi-active decoder (which handles releases,
 * windows and anchored operations, where estimates are not exact), with a cut-off: decoding stops as soon as the
 * neighbour cannot beat the best neighbour found so far this iteration (for a tabu move, the best solution found).
 * The exactly best of those is made. Moves are ranked in a seeded random order, which also breaks ties. For
 * WEIGHTED_TARDINESS the estimate (a path length) only ranks the moves; tabu moves are then never candidates.
 *
 * Tabu list: moving u past v forbids restoring the old order of (u, v); moving u off machine m forbids putting it
 * back on m; tenure uniform in [L, 1.5 L], L = 10 + jobs/machines. Aspiration: a tabu move that beats the best is
 * allowed. When every move is tabu, a random one is made. After `stallIterations` iterations without improving the
 * best, the search restarts, alternately from the best schedule and from the current one, perturbed by k random
 * neighbourhood moves (k grows with each restart that found nothing better, up to √operations), with an empty tabu
 * list.
 *
 * Determinism: the search depends only on the problem, the seed and the number of iterations done. The clock, the
 * AbortSignal and the lower bound only decide when to stop. So runs with the same input, seed and `maxIterations`
 * give the same schedule whenever the iteration budget ends the run (not the time limit); a run cut by the time limit
 * returns the best schedule of a prefix of that same deterministic trajectory.
 *
 * Plan stability: with a reference in the decoder (stability.ts) every exact value here is the penalised one
 * (objective + penalty × operations changed against the reference); the neighbourhood and the estimates stay those of
 * the objective. The lower-bound stop stays correct: the penalised value is ≥ the objective ≥ its lower bound, so
 * a penalised value at the bound means the objective at its bound and no change (or a zero penalty): optimal for both.
 */
import { seededRandom } from '../../core/random.ts';
import { Decoder, earliestFit, linkAfter, Solution, unlink } from './decode.ts';
import type { CompiledProblem, ScheduleObjective } from './problem.ts';

export interface SearchProgress {
  /** The objective (without the stability penalty) of the best schedule so far. */
  best: number;
  /** With a reference plan: the best penalised value (objective + penalty × changed operations), which the search minimises. */
  penalised?: number;
  iterations: number;
  elapsedSeconds: number;
}

export interface SearchOptions {
  objective: ScheduleObjective;
  /** Wall-clock cut-off (default 10). */
  timeLimitSeconds?: number;
  /** Iteration budget (default: unlimited); the deterministic stop. */
  maxIterations?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SearchProgress) => void;
  /**
   * Stop as soon as the best (penalised, with a reference) value reaches this (a proven lower bound of the objective,
   * also one of the penalised value, or a caller's target; stop reason TARGET).
   */
  lowerBound?: number;
  /** Neighbours decoded exactly per iteration, the best by estimate (default DEFAULT_CANDIDATES). */
  candidates?: number;
  /** Iterations without a new best before a restart (default max(1000, 10 × operations)). */
  stallIterations?: number;
}

export type StopReason = 'ITERATIONS' | 'TIME' | 'ABORTED' | 'TARGET' | 'NO_MOVES';

export interface SearchResult {
  solution: Solution;
  value: number;
  iterations: number;
  seconds: number;
  stoppedBy: StopReason;
}

/** Neighbours decoded exactly per iteration by default (the rest are ranked by estimate only). */
export const DEFAULT_CANDIDATES = 6;

/** Yield to the event loop this often, so an AbortSignal can fire and servers stay responsive. */
const YIELD_MS = 20;

const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

export class TabuSearch {
  readonly decoder: Decoder;
  readonly cur: Solution;
  readonly best: Solution;
  /** The best (penalised, with a reference) value found and the value of the current solution. */
  bestValue = Number.POSITIVE_INFINITY;
  curValue = Number.POSITIVE_INFINITY;
  /** The best solution's objective without the stability penalty (= bestValue without a reference). */
  bestBase = Number.POSITIVE_INFINITY;
  iterations = 0;
  private random: () => number;
  // move buffer: relocate mvU after mvX on the machine of option mvOpt; mvDir +1 forward, -1 backward, 0 other machine
  private cap: number;
  private mvU: Int32Array;
  private mvX: Int32Array;
  private mvOpt: Int32Array;
  private mvDir: Int8Array;
  private order: Int32Array;
  private nMoves = 0;
  private path: Int32Array;
  private pathLen = 0;
  private mark: Int32Array;
  private markStamp = 0;
  private readonly tabuOrder = new Map<number, number>();
  private readonly tabuMachine = new Map<number, number>();
  private readonly tenureBase: number;
  private readonly late: Float64Array;
  /** Per operation: its duration plus the longest path from its end to the sink (current solution). */
  private readonly lengthToSink: Float64Array;
  private readonly headTmp: Float64Array;
  private est: Float64Array;
  /** Neighbours decoded exactly per iteration: the best by estimate (see `candidates`). */
  readonly candidates: number;

  constructor(
    readonly p: CompiledProblem,
    readonly objective: ScheduleObjective,
    initial: Solution,
    seed: number,
    decoder?: Decoder,
    candidates = DEFAULT_CANDIDATES,
  ) {
    this.decoder = decoder ?? new Decoder(p);
    this.cur = new Solution(p);
    this.best = new Solution(p);
    this.cur.copyFrom(initial);
    this.best.copyFrom(initial);
    this.random = seededRandom(seed);
    this.cap = 8 * p.nOps + 16;
    this.mvU = new Int32Array(this.cap);
    this.mvX = new Int32Array(this.cap);
    this.mvOpt = new Int32Array(this.cap);
    this.mvDir = new Int8Array(this.cap);
    this.order = new Int32Array(this.cap);
    this.path = new Int32Array(p.nOps);
    this.mark = new Int32Array(p.nOps);
    this.late = new Float64Array(p.nJobs);
    this.lengthToSink = new Float64Array(p.nOps);
    this.headTmp = new Float64Array(p.nOps);
    this.est = new Float64Array(this.cap);
    this.candidates = candidates;
    this.tenureBase = 10 + Math.floor(p.nJobs / Math.max(1, p.nMachines));
    this.curValue = this.decoder.run(this.cur, objective);
    this.bestValue = this.curValue;
    this.bestBase = this.curValue < Number.POSITIVE_INFINITY ? this.decoder.baseValue : Number.POSITIVE_INFINITY;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.mvU = g32(this.mvU);
    this.mvX = g32(this.mvX);
    this.mvOpt = g32(this.mvOpt);
    const d = new Int8Array(cap);
    d.set(this.mvDir);
    this.mvDir = d;
    this.order = new Int32Array(cap);
    this.est = new Float64Array(cap);
    this.cap = cap;
  }

  private push(u: number, x: number, opt: number, dir: number): void {
    if (this.nMoves === this.cap) this.grow();
    const k = this.nMoves++;
    this.mvU[k] = u;
    this.mvX[k] = x;
    this.mvOpt[k] = opt;
    this.mvDir[k] = dir;
  }

  /** Appends the critical path into `end` (stopping after an operation already on a path this iteration). */
  private tracePath(end: number): void {
    const { crit } = this.decoder;
    let len = 0;
    let o = end;
    while (o >= 0) {
      this.path[len++] = o;
      if (this.mark[o] === this.markStamp) break;
      this.mark[o] = this.markStamp;
      o = crit[o];
    }
    // reverse into source → sink order
    for (let i = 0, k = len - 1; i < k; i++, k--) {
      const t = this.path[i];
      this.path[i] = this.path[k];
      this.path[k] = t;
    }
    this.pathLen = len;
  }

  /** Moves of the blocks and flexible operations on the traced path (decoder arrays must describe `cur`). */
  private pathMoves(): void {
    const { p, cur } = this;
    const { mNext, mPrev, opt } = cur;
    const path = this.path;
    const len = this.pathLen;
    let i = 0;
    while (i < len) {
      let k = i;
      while (k + 1 < len && mNext[path[k]] === path[k + 1]) k++;
      if (k > i) {
        const b0 = path[i];
        const bk = path[k];
        this.push(b0, path[i + 1], opt[b0], 1); // swap first pair
        if (k - i >= 2) {
          this.push(path[k - 1], bk, opt[path[k - 1]], 1); // swap last pair
          for (let t = i + 2; t <= k; t++) this.push(b0, path[t], opt[b0], 1); // first op later
          for (let t = i; t <= k - 2; t++) this.push(bk, mPrev[path[t]], opt[bk], -1); // last op earlier
          for (let t = i + 1; t < k; t++) {
            const u = path[t];
            this.push(u, mPrev[b0], opt[u], -1); // inner op to the front
            this.push(u, bk, opt[u], 1); // inner op to the back
          }
        }
      }
      i = k + 1;
    }
    // machine reassignment of flexible operations on the path
    const { start, end } = this.decoder;
    for (let t = 0; t < len; t++) {
      const u = path[t];
      if (p.anchored[u] || p.optFirst[u + 1] - p.optFirst[u] < 2) continue;
      const j = p.opJob[u];
      const ready = u === p.jobFirst[j] ? p.release[j] : end[u - 1];
      const curM = p.optMachine[opt[u]];
      for (let r = p.optFirst[u]; r < p.optFirst[u + 1]; r++) {
        const m = p.optMachine[r];
        if (m === curM) continue;
        // x1: the last operation on m starting before `ready`
        let x1 = -1;
        for (let y = cur.mFirst[m]; y >= 0 && start[y] < ready; y = mNext[y]) x1 = y;
        const x0 = x1 >= 0 ? mPrev[x1] : -2;
        const x2 = x1 >= 0 ? mNext[x1] : cur.mFirst[m];
        if (x0 !== -2) this.push(u, x0, r, 0);
        this.push(u, x1, r, 0);
        if (x2 >= 0) this.push(u, x2, r, 0);
      }
    }
  }

  /** Generates the neighbourhood of `cur`; the decoder's arrays must describe `cur`. */
  private neighbourhood(): void {
    const { p, decoder } = this;
    this.nMoves = 0;
    this.markStamp++;
    if (this.objective === 'MAKESPAN') {
      let endOp = -1;
      let mk = Number.NEGATIVE_INFINITY;
      for (let o = 0; o < p.nOps; o++) {
        if (!p.anchored[o] && decoder.end[o] > mk) {
          mk = decoder.end[o];
          endOp = o;
        }
      }
      if (endOp < 0) return;
      this.tracePath(endOp);
      this.pathMoves();
      return;
    }
    // weighted tardiness: the two most weighted-late jobs and one random late job
    let nLate = 0;
    for (let j = 0; j < p.nJobs; j++) {
      const last = p.jobFirst[j + 1] - 1;
      const e = decoder.end[last];
      this.late[j] = e > p.due[j] && !p.anchored[last] ? p.weight[j] * (e - p.due[j]) : 0;
      if (this.late[j] > 0) nLate++;
    }
    if (nLate === 0) return;
    let a = -1;
    let b = -1;
    for (let j = 0; j < p.nJobs; j++) {
      if (this.late[j] <= 0) continue;
      if (a < 0 || this.late[j] > this.late[a]) {
        b = a;
        a = j;
      } else if (b < 0 || this.late[j] > this.late[b]) b = j;
    }
    let pick = Math.floor(this.random() * nLate);
    let c = -1;
    for (let j = 0; j < p.nJobs; j++) if (this.late[j] > 0 && pick-- === 0) c = j;
    for (let i = 0; i < 3; i++) {
      const j = i === 0 ? a : i === 1 ? b : c;
      if (j < 0) continue;
      const last = p.jobFirst[j + 1] - 1;
      if (this.mark[last] === this.markStamp) continue;
      this.tracePath(last);
      this.pathMoves();
    }
  }

  /** lengthToSink for the current solution, in reverse topological order (the decoder's arrays describe `cur`). */
  private computeTails(): void {
    const { p, cur, decoder } = this;
    const { anchored, jobFirst, opJob, optDuration } = p;
    const L = this.lengthToSink;
    const topo = decoder.topo;
    for (let i = decoder.nFree - 1; i >= 0; i--) {
      const o = topo[i];
      let q = 0;
      if (o + 1 < jobFirst[opJob[o] + 1] && !anchored[o + 1]) q = L[o + 1];
      const ms = cur.mNext[o];
      if (ms >= 0 && L[ms] > q) q = L[ms];
      L[o] = optDuration[cur.opt[o]] + q;
    }
  }

  /**
   * Estimated objective of move k (before applying it): the longest path through the operations whose order changes,
   * with heads recomputed forward in the new order (windows respected) and tails backward, the rest of the graph as it
   * is (Taillard; Dell'Amico & Trubian for insertions; Mastrolilli & Gambardella for machine changes).
   */
  private predEnd(o: number): number {
    const p = this.p;
    const j = p.opJob[o];
    return o === p.jobFirst[j] ? p.release[j] : this.decoder.end[o - 1];
  }

  private succLength(o: number): number {
    const p = this.p;
    return o + 1 < p.jobFirst[p.opJob[o] + 1] && !p.anchored[o + 1] ? this.lengthToSink[o + 1] : 0;
  }

  private estimate(k: number): number {
    const { p, cur, decoder } = this;
    const { optDuration, optMachine } = p;
    const { mNext, mPrev, opt } = cur;
    const E = decoder.end;
    const L = this.lengthToSink;
    const h = this.headTmp;
    const u = this.mvU[k];
    const x = this.mvX[k];
    const dir = this.mvDir[k];
    const NEG = Number.NEGATIVE_INFINITY;
    if (dir === 0) {
      const r = this.mvOpt[k];
      const m = optMachine[r];
      const d = optDuration[r];
      const ready = Math.max(this.predEnd(u), x >= 0 ? E[x] : NEG);
      const st = earliestFit(p, m, ready, d);
      const y = x >= 0 ? mNext[x] : cur.mFirst[m];
      return st + d + Math.max(y >= 0 ? L[y] : 0, this.succLength(u));
    }
    const m = optMachine[opt[u]];
    let t: number;
    let first: number;
    let last: number;
    let after: number;
    if (dir > 0) {
      // new order: mNext[u] .. x, u
      t = mPrev[u] >= 0 ? E[mPrev[u]] : NEG;
      first = mNext[u];
      after = mNext[x];
      for (let v = first; ; v = mNext[v]) {
        const d = optDuration[opt[v]];
        const st = earliestFit(p, m, Math.max(t, this.predEnd(v)), d);
        h[v] = st;
        t = st + d;
        if (v === x) break;
      }
      {
        const d = optDuration[opt[u]];
        const st = earliestFit(p, m, Math.max(t, this.predEnd(u)), d);
        h[u] = st;
      }
      // tails backward: u, x .. first
      let tq = after >= 0 ? L[after] : 0;
      let val = NEG;
      {
        const q = Math.max(tq, this.succLength(u));
        val = h[u] + optDuration[opt[u]] + q;
        tq = optDuration[opt[u]] + q;
      }
      for (let v = x; ; v = mPrev[v]) {
        const q = Math.max(tq, this.succLength(v));
        const d = optDuration[opt[v]];
        if (h[v] + d + q > val) val = h[v] + d + q;
        tq = d + q;
        if (v === first) break;
      }
      return val;
    }
    // backward: new order u, first .. mPrev[u]
    t = x >= 0 ? E[x] : NEG;
    first = x >= 0 ? mNext[x] : cur.mFirst[m];
    last = mPrev[u];
    after = mNext[u];
    {
      const d = optDuration[opt[u]];
      const st = earliestFit(p, m, Math.max(t, this.predEnd(u)), d);
      h[u] = st;
      t = st + d;
    }
    for (let v = first; ; v = mNext[v]) {
      const d = optDuration[opt[v]];
      const st = earliestFit(p, m, Math.max(t, this.predEnd(v)), d);
      h[v] = st;
      t = st + d;
      if (v === last) break;
    }
    let tq = after >= 0 ? L[after] : 0;
    let val = NEG;
    for (let v = last; ; v = mPrev[v]) {
      const q = Math.max(tq, this.succLength(v));
      const d = optDuration[opt[v]];
      if (h[v] + d + q > val) val = h[v] + d + q;
      tq = d + q;
      if (v === first) break;
    }
    {
      const q = Math.max(tq, this.succLength(u));
      const d = optDuration[opt[u]];
      if (h[u] + d + q > val) val = h[u] + d + q;
    }
    return val;
  }

  private applyMove(k: number): void {
    const u = this.mvU[k];
    unlink(this.p, this.cur, u);
    linkAfter(this.p, this.cur, u, this.mvOpt[k], this.mvX[k]);
  }

  /** Is move k tabu? Must be called before applying it. */
  private isTabu(k: number): boolean {
    const { p, cur } = this;
    const u = this.mvU[k];
    const n = p.nOps;
    const dir = this.mvDir[k];
    if (dir === 0) return (this.tabuMachine.get(u * p.nMachines + p.optMachine[this.mvOpt[k]]) ?? 0) > this.iterations;
    if (dir > 0) {
      const x = this.mvX[k];
      for (let v = cur.mNext[u]; v >= 0; v = cur.mNext[v]) {
        if ((this.tabuOrder.get(v * n + u) ?? 0) > this.iterations) return true;
        if (v === x) break;
      }
      return false;
    }
    const x = this.mvX[k];
    for (let v = cur.mPrev[u]; v >= 0 && v !== x; v = cur.mPrev[v]) if ((this.tabuOrder.get(u * n + v) ?? 0) > this.iterations) return true;
    return false;
  }

  /** Records the tabu attributes of move k; must be called before applying it. */
  private makeTabu(k: number): void {
    const { p, cur } = this;
    const u = this.mvU[k];
    const n = p.nOps;
    const dir = this.mvDir[k];
    const L = this.tenureBase;
    const until = this.iterations + L + Math.floor(this.random() * (L / 2 + 1));
    if (dir === 0) {
      this.tabuMachine.set(u * p.nMachines + p.optMachine[cur.opt[u]], until);
      return;
    }
    if (dir > 0) {
      const x = this.mvX[k];
      for (let v = cur.mNext[u]; v >= 0; v = cur.mNext[v]) {
        this.tabuOrder.set(u * n + v, until);
        if (v === x) break;
      }
      return;
    }
    const x = this.mvX[k];
    for (let v = cur.mPrev[u]; v >= 0 && v !== x; v = cur.mPrev[v]) this.tabuOrder.set(v * n + u, until);
  }

  /** One tabu iteration; false when the neighbourhood is empty. */
  step(): boolean {
    const { p, cur, decoder, objective } = this;
    this.iterations++;
    this.neighbourhood();
    const nm = this.nMoves;
    if (nm === 0) return false;
    const order = this.order;
    for (let i = 0; i < nm; i++) order[i] = i;
    for (let i = nm - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    let chosen = -1;
    let chosenValue = Number.POSITIVE_INFINITY;
    // rank by estimate; decode exactly only the `candidates` best admissible ones (all when there are few moves)
    let pool = nm;
    if (nm > this.candidates) {
      this.computeTails();
      const est = this.est;
      let kept = 0;
      for (let i = 0; i < nm; i++) {
        const k = order[i];
        const u = this.mvU[k];
        if (this.mvX[k] === cur.mPrev[u] && this.mvOpt[k] === cur.opt[u]) continue; // no-op
        const e = this.estimate(k);
        // a tabu move is admissible only if it could beat the best (aspiration)
        // (for WEIGHTED_TARDINESS the estimate is a path length, not comparable: no aspiration for tabu moves)
        if (this.isTabu(k) && !(objective === 'MAKESPAN' && e < this.bestValue)) continue;
        est[k] = e;
        order[kept++] = k;
      }
      // partial selection sort of the `candidates` lowest estimates (stable on the shuffled order)
      const c = Math.min(this.candidates, kept);
      for (let a = 0; a < c; a++) {
        let b = a;
        for (let i = a + 1; i < kept; i++) if (est[order[i]] < est[order[b]]) b = i;
        const k = order[b];
        for (let i = b; i > a; i--) order[i] = order[i - 1];
        order[a] = k;
      }
      pool = c;
    }
    for (let i = 0; i < pool; i++) {
      const k = order[i];
      const tabu = this.isTabu(k);
      const cutoff = tabu ? Math.min(chosenValue, this.bestValue) : chosenValue;
      const u = this.mvU[k];
      const oldOpt = cur.opt[u];
      const oldPrev = cur.mPrev[u];
      if (this.mvX[k] === oldPrev && this.mvOpt[k] === oldOpt) continue; // no-op
      this.applyMove(k);
      const v = decoder.run(cur, objective, cutoff);
      unlink(p, cur, u);
      linkAfter(p, cur, u, oldOpt, oldPrev);
      if (v < cutoff) {
        chosen = k;
        chosenValue = v;
      }
    }
    if (chosen < 0) {
      // every move tabu (or infeasible): make a random feasible one
      for (let tries = 0; tries < nm && chosen < 0; tries++) {
        const k = order[Math.floor(this.random() * nm)];
        const u = this.mvU[k];
        const oldOpt = cur.opt[u];
        const oldPrev = cur.mPrev[u];
        if (this.mvX[k] === oldPrev && this.mvOpt[k] === oldOpt) continue;
        this.applyMove(k);
        const v = decoder.run(cur, objective);
        unlink(p, cur, u);
        linkAfter(p, cur, u, oldOpt, oldPrev);
        if (v < Number.POSITIVE_INFINITY) chosen = k;
      }
      if (chosen < 0) return false;
    }
    this.makeTabu(chosen);
    this.applyMove(chosen);
    this.curValue = decoder.run(cur, objective);
    if (this.curValue < this.bestValue) {
      this.bestValue = this.curValue;
      this.bestBase = decoder.baseValue;
      this.best.copyFrom(cur);
      return true;
    }
    return true;
  }

  /** Restarts from the best (or the current) schedule with `moves` random feasible neighbourhood moves and an empty tabu list. */
  perturb(moves: number, fromBest = true): void {
    const { p, cur, decoder, objective } = this;
    if (fromBest) cur.copyFrom(this.best);
    this.curValue = decoder.run(cur, objective);
    this.tabuOrder.clear();
    this.tabuMachine.clear();
    for (let i = 0; i < moves; i++) {
      this.neighbourhood();
      if (this.nMoves === 0) break;
      const k = Math.floor(this.random() * this.nMoves);
      const u = this.mvU[k];
      const oldOpt = cur.opt[u];
      const oldPrev = cur.mPrev[u];
      this.applyMove(k);
      const v = decoder.run(cur, objective);
      if (v === Number.POSITIVE_INFINITY) {
        unlink(p, cur, u);
        linkAfter(p, cur, u, oldOpt, oldPrev);
      }
      this.curValue = decoder.run(cur, objective);
    }
    if (this.curValue < this.bestValue) {
      // the last decode was of cur, complete
      this.bestValue = this.curValue;
      this.bestBase = decoder.baseValue;
      this.best.copyFrom(cur);
    }
  }

  nextRandom(): number {
    return this.random();
  }
}

/** Improves `initial` until the iteration budget, the time limit, the signal or the lower bound stops it. */
export async function improve(p: CompiledProblem, initial: Solution, options: SearchOptions, decoder?: Decoder): Promise<SearchResult> {
  const started = performance.now();
  const timeLimitMs = (options.timeLimitSeconds ?? 10) * 1000;
  const maxIterations = options.maxIterations ?? Number.POSITIVE_INFINITY;
  const lb = options.lowerBound ?? Number.NEGATIVE_INFINITY;
  const stallLimit = options.stallIterations ?? Math.max(1000, 10 * p.nOps);
  const ts = new TabuSearch(p, options.objective, initial, options.seed ?? 1, decoder, options.candidates);
  const elapsed = () => (performance.now() - started) / 1000;
  const report = () =>
    options.onProgress?.({
      best: ts.bestBase,
      ...(ts.decoder.reference ? { penalised: ts.bestValue } : {}),
      iterations: ts.iterations,
      elapsedSeconds: elapsed(),
    });
  let stoppedBy: StopReason = 'ITERATIONS';
  let lastYield = performance.now();
  let stall = 0;
  let failedRestarts = 0;
  let lastBest = ts.bestValue;
  report();
  for (;;) {
    if (ts.bestValue <= lb) {
      stoppedBy = 'TARGET';
      break;
    }
    if (ts.iterations >= maxIterations) {
      stoppedBy = 'ITERATIONS';
      break;
    }
    if (options.signal?.aborted) {
      stoppedBy = 'ABORTED';
      break;
    }
    const now = performance.now();
    if (now - started >= timeLimitMs) {
      stoppedBy = 'TIME';
      break;
    }
    if (now - lastYield >= YIELD_MS) {
      await yieldNow();
      lastYield = performance.now();
      continue;
    }
    if (!ts.step()) {
      // empty neighbourhood: the critical path has no block to change; perturb from the best or stop
      ts.perturb(2);
      if (ts.bestValue === lastBest && ts.curValue === ts.bestValue && ts.cur.sameAs(ts.best)) {
        stoppedBy = 'NO_MOVES';
        break;
      }
      stall = 0;
      continue;
    }
    if (ts.bestValue < lastBest) {
      lastBest = ts.bestValue;
      stall = 0;
      failedRestarts = 0;
      report();
    } else if (++stall >= stallLimit) {
      stall = 0;
      // stronger perturbations after restarts that found nothing better
      failedRestarts++;
      const k = 1 + Math.min(failedRestarts, Math.ceil(Math.sqrt(p.nOps))) + Math.floor(ts.nextRandom() * 2);
      // alternate: from the best, then from where the search wandered (diversification)
      ts.perturb(k, failedRestarts % 2 === 1);
      if (ts.bestValue < lastBest) {
        lastBest = ts.bestValue;
        report();
      }
    }
  }
  report();
  return { solution: ts.best, value: ts.bestValue, iterations: ts.iterations, seconds: elapsed(), stoppedBy };
}
