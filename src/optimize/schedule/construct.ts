/**
 * Constructive heuristic: priority dispatching that always yields a feasible schedule (when one is reachable by
 * dispatching; see below), fast. Each rule builds a schedule by appending one operation at a time to the end of a
 * machine (the semi-active decoder's rules: after the job predecessor, after the machine's last operation, after the
 * release, around blocked time):
 *
 * - GT_MWKR: Giffler-Thompson active schedule generation. Among all schedulable (operation, machine) pairs take the
 *   earliest completion C* and its machine m*; of the pairs on m* that can start before C*, dispatch the one whose job
 *   has the most work remaining (MWKR, minimum durations), then the earliest completion.
 * - ECT_MWKR: the pair with the earliest completion time (machine choice included), ties by MWKR.
 * - GT_EDD: Giffler-Thompson with earliest due date first (then MWKR); meant for WEIGHTED_TARDINESS.
 *
 * Jobs that must reach an anchored (fixed or start-pinned) operation go first while their slack is the smallest
 * (slack = anchor start − earliest end of the remaining operations before it). `construct` runs every rule and keeps
 * the best objective. If no rule meets every anchored start, it throws an InfeasibleProblemError naming the anchor
 * (a heuristic failure, not a proof).
 *
 * With a reference plan (the decoder's `reference`, see stability.ts) the start built from the reference (REFERENCE)
 * competes too, tried first so that it wins ties, and every candidate is compared by its penalised value.
 */
import { Decoder, earliestFit, linkAfter, Solution } from './decode.ts';
import { type CompiledProblem, InfeasibleProblemError, type ScheduleObjective } from './problem.ts';
import { referenceDispatch } from './stability.ts';

export type DispatchRule = 'GT_MWKR' | 'ECT_MWKR' | 'GT_EDD';
export const DISPATCH_RULES: readonly DispatchRule[] = ['GT_MWKR', 'ECT_MWKR', 'GT_EDD'];

/**
 * Above this many (jobs × operations), construct leaves ECT_MWKR out: its every step looks at every job, so it grows
 * with the square of the plant (the Giffler-Thompson rules look at one machine's candidates per step).
 */
export const ECT_MAX_WORK = 20_000_000;

/** Builds a solution with one dispatching rule; `ok` is false when an anchored start was missed. */
export function dispatch(p: CompiledProblem, rule: DispatchRule): { solution: Solution; ok: boolean } {
  return rule === 'ECT_MWKR' ? dispatchScan(p, rule) : dispatchGT(p, rule);
}

/** What every dispatching rule starts from: anchored operations placed, each job at its first free operation. */
function startDispatch(p: CompiledProblem) {
  const { nJobs, nMachines, jobFirst, optDuration, minDuration, anchored, anchorStart, anchorOption } = p;
  const st = {
    s: new Solution(p),
    next: new Int32Array(nJobs),
    jobReady: new Float64Array(nJobs),
    workLeft: new Float64Array(nJobs),
    machReady: new Float64Array(nMachines),
    /** Operations still to dispatch. */
    remaining: 0,
    /** False once an anchored start was missed. */
    ok: true,
    /** Moves job j past its anchored operations (their times are fixed). */
    skipAnchors(j: number): void {
      const { next, jobReady } = st;
      while (next[j] < jobFirst[j + 1] && anchored[next[j]]) {
        const a = next[j];
        if (jobReady[j] > anchorStart[a]) st.ok = false;
        jobReady[j] = anchorStart[a] + optDuration[anchorOption[a]];
        next[j]++;
      }
    },
    /** Slack of job j to its next anchor when its next operation ends at `ect` (Infinity when none). */
    slack(j: number, ect: number): number {
      let t = ect;
      for (let o = st.next[j] + 1; o < jobFirst[j + 1]; o++) {
        if (anchored[o]) return anchorStart[o] - t;
        t += minDuration[o];
      }
      return Number.POSITIVE_INFINITY;
    },
  };
  for (let j = 0; j < nJobs; j++) {
    st.next[j] = jobFirst[j];
    st.jobReady[j] = p.release[j];
    for (let o = jobFirst[j]; o < jobFirst[j + 1]; o++) {
      if (!anchored[o]) {
        st.workLeft[j] += minDuration[o];
        st.remaining++;
      }
    }
  }
  for (let o = 0; o < p.nOps; o++) if (anchored[o]) st.s.opt[o] = anchorOption[o];
  for (let j = 0; j < nJobs; j++) st.skipAnchors(j);
  return st;
}

/**
 * The Giffler-Thompson rules with candidates kept per machine: each machine remembers the earliest completion among
 * the jobs whose next operation may run on it (recomputed only when the machine or one of those jobs moves on), so a
 * step costs one pass over the machines and one over the chosen machine's candidates, not one over every job. It
 * dispatches exactly what the scan over all jobs (dispatchScan) dispatches: C* and m* are the smallest (completion,
 * job, option) as there, and the candidates on m* are weighed in job order with the same keys.
 */
function dispatchGT(p: CompiledProblem, rule: DispatchRule): { solution: Solution; ok: boolean } {
  const { nJobs, nMachines, jobFirst, optFirst, optMachine, optDuration, minDuration } = p;
  const ds = startDispatch(p);
  const { s, next, jobReady, workLeft, machReady, skipAnchors, slack } = ds;
  // Candidate jobs per machine (a job is listed once per machine its next operation may use).
  const cand: Set<number>[] = Array.from({ length: nMachines }, () => new Set<number>());
  const enlist = (j: number, add: boolean) => {
    const o = next[j];
    if (o >= jobFirst[j + 1]) return;
    for (let r = optFirst[o]; r < optFirst[o + 1]; r++) {
      const m = optMachine[r];
      if (add) cand[m].add(j);
      else cand[m].delete(j);
      dirty[m] = 1;
    }
  };
  const dirty = new Uint8Array(nMachines).fill(1);
  const minC = new Float64Array(nMachines);
  const minJ = new Int32Array(nMachines);
  const minR = new Int32Array(nMachines);
  for (let j = 0; j < nJobs; j++) enlist(j, true);
  const recompute = (m: number) => {
    let c0 = Number.POSITIVE_INFINITY;
    let j0 = -1;
    let r0 = -1;
    for (const j of cand[m]) {
      const o = next[j];
      for (let r = optFirst[o]; r < optFirst[o + 1]; r++) {
        if (optMachine[r] !== m) continue;
        const d = optDuration[r];
        const c = earliestFit(p, m, Math.max(jobReady[j], machReady[m]), d) + d;
        if (c < c0 || (c === c0 && (j < j0 || (j === j0 && r < r0)))) {
          c0 = c;
          j0 = j;
          r0 = r;
        }
      }
    }
    minC[m] = c0;
    minJ[m] = j0;
    minR[m] = r0;
    dirty[m] = 0;
  };
  const jobs: number[] = [];
  while (ds.remaining > 0) {
    let cStar = Number.POSITIVE_INFINITY;
    let mStar = -1;
    for (let m = 0; m < nMachines; m++) {
      if (dirty[m]) recompute(m);
      if (minJ[m] < 0) continue;
      if (minC[m] < cStar || (minC[m] === cStar && (minJ[m] < minJ[mStar] || (minJ[m] === minJ[mStar] && minR[m] < minR[mStar])))) {
        cStar = minC[m];
        mStar = m;
      }
    }
    let bestJ = -1;
    let bestR = -1;
    let bestKey0 = 0;
    let bestKey1 = 0;
    let bestKey2 = 0;
    jobs.length = 0;
    for (const j of cand[mStar]) jobs.push(j);
    jobs.sort((a, b) => a - b);
    for (const j of jobs) {
      const o = next[j];
      for (let r = optFirst[o]; r < optFirst[o + 1]; r++) {
        const m = optMachine[r];
        if (m !== mStar) continue;
        const d = optDuration[r];
        const st = earliestFit(p, m, Math.max(jobReady[j], machReady[m]), d);
        if (st >= cStar && !(d === 0 && st === cStar)) continue;
        const c = st + d;
        const k0 = slack(j, c);
        const k1 = rule === 'GT_MWKR' ? -workLeft[j] : p.due[j];
        const k2 = rule === 'GT_MWKR' ? c : -workLeft[j];
        if (
          bestJ < 0 ||
          k0 < bestKey0 ||
          (k0 === bestKey0 && (k1 < bestKey1 || (k1 === bestKey1 && (k2 < bestKey2 || (k2 === bestKey2 && optDuration[r] < optDuration[bestR])))))
        ) {
          bestJ = j;
          bestR = r;
          bestKey0 = k0;
          bestKey1 = k1;
          bestKey2 = k2;
        }
      }
    }
    const o = next[bestJ];
    const m = optMachine[bestR];
    const d = optDuration[bestR];
    const st = earliestFit(p, m, Math.max(jobReady[bestJ], machReady[m]), d);
    enlist(bestJ, false);
    linkAfter(p, s, o, bestR, s.mLast[m]);
    machReady[m] = st + d;
    dirty[m] = 1;
    jobReady[bestJ] = st + d;
    workLeft[bestJ] -= minDuration[o];
    next[bestJ]++;
    ds.remaining--;
    skipAnchors(bestJ);
    enlist(bestJ, true);
  }
  return { solution: s, ok: ds.ok };
}

/** A dispatching rule by a scan over every job at each step (ECT_MWKR, and the reference the GT path is tested against). */
export function dispatchScan(p: CompiledProblem, rule: DispatchRule): { solution: Solution; ok: boolean } {
  const { nJobs, jobFirst, optFirst, optMachine, optDuration, minDuration } = p;
  const ds = startDispatch(p);
  const { s, next, jobReady, workLeft, machReady, skipAnchors, slack } = ds;
  const gt = rule !== 'ECT_MWKR';
  while (ds.remaining > 0) {
    // earliest completion over all pairs
    let cStar = Number.POSITIVE_INFINITY;
    let mStar = -1;
    let bestJ = -1;
    let bestR = -1;
    let bestKey0 = 0;
    let bestKey1 = 0;
    let bestKey2 = 0;
    for (let j = 0; j < nJobs; j++) {
      const o = next[j];
      if (o >= jobFirst[j + 1]) continue;
      for (let r = optFirst[o]; r < optFirst[o + 1]; r++) {
        const m = optMachine[r];
        const d = optDuration[r];
        const c = earliestFit(p, m, Math.max(jobReady[j], machReady[m]), d) + d;
        if (c < cStar) {
          cStar = c;
          mStar = m;
        }
      }
    }
    for (let j = 0; j < nJobs; j++) {
      const o = next[j];
      if (o >= jobFirst[j + 1]) continue;
      for (let r = optFirst[o]; r < optFirst[o + 1]; r++) {
        const m = optMachine[r];
        if (gt && m !== mStar) continue;
        const d = optDuration[r];
        const st = earliestFit(p, m, Math.max(jobReady[j], machReady[m]), d);
        if (gt && st >= cStar && !(d === 0 && st === cStar)) continue;
        const c = st + d;
        // keys, smaller first: urgent anchors, then the rule's priority, then completion
        const k0 = slack(j, c);
        let k1: number;
        let k2: number;
        if (rule === 'GT_MWKR') {
          k1 = -workLeft[j];
          k2 = c;
        } else if (rule === 'ECT_MWKR') {
          k1 = c;
          k2 = -workLeft[j];
        } else {
          k1 = p.due[j];
          k2 = -workLeft[j];
        }
        if (
          bestJ < 0 ||
          k0 < bestKey0 ||
          (k0 === bestKey0 && (k1 < bestKey1 || (k1 === bestKey1 && (k2 < bestKey2 || (k2 === bestKey2 && optDuration[r] < optDuration[bestR])))))
        ) {
          bestJ = j;
          bestR = r;
          bestKey0 = k0;
          bestKey1 = k1;
          bestKey2 = k2;
        }
      }
    }
    const o = next[bestJ];
    const m = optMachine[bestR];
    const d = optDuration[bestR];
    const st = earliestFit(p, m, Math.max(jobReady[bestJ], machReady[m]), d);
    linkAfter(p, s, o, bestR, s.mLast[m]);
    machReady[m] = st + d;
    jobReady[bestJ] = st + d;
    workLeft[bestJ] -= minDuration[o];
    next[bestJ]++;
    ds.remaining--;
    skipAnchors(bestJ);
  }
  return { solution: s, ok: ds.ok };
}

/**
 * Runs every dispatching rule (and, when the decoder has a reference, the reference start first) and returns the best
 * feasible solution with its objective value (penalised, with a reference).
 */
export function construct(
  p: CompiledProblem,
  objective: ScheduleObjective,
  decoder = new Decoder(p),
): { solution: Solution; value: number; rule: DispatchRule | 'REFERENCE' } {
  let best: { solution: Solution; value: number; rule: DispatchRule | 'REFERENCE' } | undefined;
  if (decoder.reference) {
    const solution = referenceDispatch(p, decoder.reference);
    const value = decoder.run(solution, objective);
    if (value < Number.POSITIVE_INFINITY) best = { solution, value, rule: 'REFERENCE' };
  }
  for (const rule of DISPATCH_RULES) {
    if (rule === 'ECT_MWKR' && p.nJobs * p.nOps > ECT_MAX_WORK) continue;
    const { solution } = dispatch(p, rule);
    const value = decoder.run(solution, objective);
    if (value < Number.POSITIVE_INFINITY && (!best || value < best.value)) best = { solution, value, rule };
  }
  if (!best) {
    const missed: number[] = [];
    const { solution } = dispatch(p, 'GT_MWKR');
    decoder.run(solution, objective);
    for (let o = 0; o < p.nOps; o++) {
      if (p.anchored[o] && o > p.jobFirst[p.opJob[o]] && !p.anchored[o - 1] && decoder.end[o - 1] > p.anchorStart[o]) missed.push(o);
    }
    const ops = missed.length ? missed : [...p.anchored.keys()].filter((o) => p.anchored[o]);
    throw new InfeasibleProblemError(
      `no dispatching rule meets the start of ${ops.map((o) => p.opIds[o]).join(', ')}: the operations before it cannot all end in time`,
      [...new Set(ops.map((o) => p.jobIds[p.opJob[o]]))],
      ops.map((o) => p.opIds[o]),
      [...new Set(ops.map((o) => p.machineIds[p.optMachine[p.anchorOption[o]]]))],
    );
  }
  // decode the winner again so the decoder's arrays describe it
  decoder.run(best.solution, objective);
  return best;
}
