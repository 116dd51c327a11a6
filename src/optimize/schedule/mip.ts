/**
 * Optional optimality proof for small classic job shops with HiGHS (the `highs` WebAssembly package): the
 * disjunctive MIP (Manne) with big-M = the known upper bound, asked whether a makespan ≤ upperBound − step exists.
 * Infeasible ⇒ the upper bound is optimal. Only for problems where every operation has one eligible machine, with no
 * unavailability windows and no anchored operations (else `applicable` is false). HiGHS runs synchronously (it blocks
 * the thread for up to `timeLimitSeconds`): call it for small instances only (tens of operations).
 */
import { type CompiledProblem, compileProblem, type ScheduleProblem } from './problem.ts';

export interface MakespanProof {
  applicable: boolean;
  /** PROVED: no schedule beats upperBound; IMPROVABLE: one does (HiGHS found it); UNKNOWN: time limit or not applicable. */
  result: 'PROVED' | 'IMPROVABLE' | 'UNKNOWN';
  seconds: number;
}

/** Whether the proof applies: a classic job shop (one machine per operation), no windows, no anchored operations. */
export function proofApplicable(p: CompiledProblem): boolean {
  if (p.windowStart.length > 0) return false;
  for (let o = 0; o < p.nOps; o++) if (p.anchored[o] || p.optFirst[o + 1] - p.optFirst[o] !== 1) return false;
  return true;
}

/** The LP-format model: is there a schedule with makespan ≤ limit? */
export function disjunctiveModel(p: CompiledProblem, limit: number): string {
  const lines: string[] = ['Minimize', ' obj: cmax', 'Subject To'];
  const d = (o: number) => p.optDuration[p.optFirst[o]];
  const M = limit;
  let row = 0;
  for (let j = 0; j < p.nJobs; j++) {
    for (let o = p.jobFirst[j]; o < p.jobFirst[j + 1]; o++) {
      if (o > p.jobFirst[j]) lines.push(` r${row++}: s${o} - s${o - 1} >= ${d(o - 1)}`);
    }
    const last = p.jobFirst[j + 1] - 1;
    lines.push(` r${row++}: cmax - s${last} >= ${d(last)}`);
  }
  const binaries: string[] = [];
  for (let m = 0; m < p.nMachines; m++) {
    const ops: number[] = [];
    for (let o = 0; o < p.nOps; o++) if (p.optMachine[p.optFirst[o]] === m) ops.push(o);
    for (let a = 0; a < ops.length; a++) {
      for (let b = a + 1; b < ops.length; b++) {
        const x = ops[a];
        const y = ops[b];
        const z = `y${x}_${y}`;
        binaries.push(z);
        // z = 1: x before y; z = 0: y before x
        lines.push(` r${row++}: s${y} - s${x} - ${M} ${z} >= ${d(x) - M}`);
        lines.push(` r${row++}: s${x} - s${y} + ${M} ${z} >= ${d(y)}`);
      }
    }
  }
  lines.push(` r${row++}: cmax <= ${limit}`);
  lines.push('Bounds');
  for (let o = 0; o < p.nOps; o++) lines.push(` ${p.release[p.opJob[o]]} <= s${o} <= ${limit - d(o)}`);
  lines.push('Binary');
  for (let i = 0; i < binaries.length; i += 20) lines.push(` ${binaries.slice(i, i + 20).join(' ')}`);
  lines.push('End');
  return lines.join('\n');
}

/**
 * Tries to prove that no schedule has a makespan below `upperBound` (integral data: below means ≤ upperBound − 1;
 * otherwise ≤ upperBound − 1e-6).
 */
export async function proveMakespan(problem: ScheduleProblem, upperBound: number, timeLimitSeconds = 10): Promise<MakespanProof> {
  const started = performance.now();
  const p = compileProblem(problem);
  if (!proofApplicable(p)) return { applicable: false, result: 'UNKNOWN', seconds: 0 };
  // the package's ESM build exports the loader as default; its CommonJS-style typings confuse NodeNext
  const loader = (await import('highs')).default as unknown as () => Promise<{ solve(model: string, options: object): { Status: string } }>;
  const highs = await loader();
  const limit = p.integral ? upperBound - 1 : upperBound - 1e-6;
  const solution = highs.solve(disjunctiveModel(p, limit), { time_limit: timeLimitSeconds, mip_rel_gap: 0, output_flag: false });
  const seconds = (performance.now() - started) / 1000;
  if (solution.Status === 'Infeasible') return { applicable: true, result: 'PROVED', seconds };
  if (solution.Status === 'Optimal') return { applicable: true, result: 'IMPROVABLE', seconds };
  return { applicable: true, result: 'UNKNOWN', seconds };
}
