// HiGHS (WebAssembly) against javascript-lp-solver on production-planning LPs of growing size (seeded generator,
// src/optimize/solver/generators.ts), through solveModel (translation, solver run and the independent check), in this
// process. One warm-up solve per solver first; then rounds interleaved: each round solves every size with both
// solvers, alternating which goes first. Prints median and min-max seconds of each, the speed-up (JSLP / HiGHS) and
// whether the objectives agree. javascript-lp-solver is skipped above --jslp-max variables (its dense tableau made
// 4,000 variables take over 4 minutes). JSLP_AUTO_MAX_VARIABLES in src/optimize/solver/solve.ts comes from this.
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts: highs_vs_jslp_speedup_<variables> (median of the
// per-round JSLP / HiGHS ratios, with _min/_max) and highs_jslp_objectives_agree_<variables> (1 or 0);
// auto_choice_vs_fastest_ratio_<variables>: the median time of the solver AUTO picks (chooseSolver, the deterministic
// rule solveModel applies) over the faster of the two medians.
// Usage: npx tsx bench/solvers.ts [--rounds 5] [--sizes 50,100,150,200,300,400,1000,4000,14000] [--jslp-max 1100]
import { parseArgs } from 'node:util';
import { productionPlanningLp, productionPlanningSize } from '../src/optimize/solver/generators.ts';
import type { OptimizationModel } from '../src/optimize/solver/model.ts';
import { chooseSolver, solveModel } from '../src/optimize/solver/solve.ts';
import { emitResult, type Figures, withSpread } from './result.ts';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '50,100,150,200,300,400,1000,4000,14000' },
    'jslp-max': { type: 'string', default: '1100' },
  },
});
const rounds = Number(opts.rounds);
const sizes = opts.sizes.split(',').map(Number);
const jslpMax = Number(opts['jslp-max']);

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (s: number) => (s < 0.01 ? `${(s * 1000).toFixed(2)} ms` : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);

interface Cell {
  seconds: number[];
  objective: number | null;
}

const models: OptimizationModel[] = sizes.map((n) => productionPlanningLp(productionPlanningSize(n), 42));
const results = models.map(() => ({ HIGHS: { seconds: [], objective: null } as Cell, JSLP: { seconds: [], objective: null } as Cell }));

async function timed(model: OptimizationModel, solver: 'HIGHS' | 'JSLP', cell: Cell): Promise<void> {
  const started = performance.now();
  const outcome = await solveModel(model, { solver });
  const seconds = (performance.now() - started) / 1000;
  if (outcome.status !== 'OPTIMAL') throw new Error(`${solver} on ${model.name}: ${outcome.status} ${outcome.message}`);
  cell.seconds.push(seconds);
  cell.objective = outcome.objective;
}

// warm-up: loads and compiles the HiGHS Wasm module, JIT-warms both
await timed(models[0], 'HIGHS', { seconds: [], objective: null });
await timed(models[0], 'JSLP', { seconds: [], objective: null });

for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < models.length; i++) {
    const order: ('HIGHS' | 'JSLP')[] = (r + i) % 2 === 0 ? ['HIGHS', 'JSLP'] : ['JSLP', 'HIGHS'];
    for (const solver of order) {
      if (solver === 'JSLP' && models[i].variables.length > jslpMax) continue;
      await timed(models[i], solver, results[i][solver]);
    }
  }
  console.error(`round ${r + 1}/${rounds} done`);
}

console.log(`\nProduction-planning LPs (seed 42, 12 periods, 10 resources), ${rounds} rounds interleaved, solveModel wall time\n`);
console.log('| variables | rows | nonzeros | HiGHS median (min-max) | JSLP median (min-max) | JSLP / HiGHS | objectives agree |');
console.log('|---:|---:|---:|---|---|---:|---|');
models.forEach((m, i) => {
  const h = results[i].HIGHS;
  const j = results[i].JSLP;
  const nz = m.constraints.reduce((a, c) => a + c.terms.length, 0);
  const hText = `${fmt(median(h.seconds))} (${fmt(Math.min(...h.seconds))}-${fmt(Math.max(...h.seconds))})`;
  let jText = `skipped (> ${jslpMax} variables)`;
  let ratio = '-';
  let agree = '-';
  if (j.seconds.length > 0) {
    jText = `${fmt(median(j.seconds))} (${fmt(Math.min(...j.seconds))}-${fmt(Math.max(...j.seconds))})`;
    ratio = `${(median(j.seconds) / median(h.seconds)).toFixed(2)}x`;
    const rel = Math.abs(h.objective! - j.objective!) / Math.max(1, Math.abs(h.objective!));
    agree = rel <= 1e-6 ? `yes (rel. diff ${rel.toExponential(1)})` : `NO (rel. diff ${rel.toExponential(1)})`;
  }
  console.log(`| ${m.variables.length} | ${m.constraints.length} | ${nz} | ${hText} | ${jText} | ${ratio} | ${agree} |`);
});
const figures: Figures = {};
models.forEach((m, i) => {
  const h = results[i].HIGHS;
  const j = results[i].JSLP;
  const n = m.variables.length;
  figures[`highs_seconds_${n}`] = median(h.seconds);
  if (j.seconds.length === 0) return;
  // Per round: both solvers ran the same model in the same round, so their ratio is the paired figure.
  Object.assign(
    figures,
    withSpread(
      `highs_vs_jslp_speedup_${n}`,
      j.seconds.map((s, r) => s / h.seconds[r]),
    ),
  );
  figures[`jslp_seconds_${n}`] = median(j.seconds);
  const rel = Math.abs(h.objective! - j.objective!) / Math.max(1, Math.abs(h.objective!));
  figures[`highs_jslp_objectives_agree_${n}`] = rel <= 1e-6 ? 1 : 0;
  const chosen = chooseSolver(m) === 'JSLP' ? j : h;
  figures[`auto_choice_vs_fastest_ratio_${n}`] = median(chosen.seconds) / Math.min(median(h.seconds), median(j.seconds));
});
emitResult(figures);
