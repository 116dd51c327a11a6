// Scheduling quality against time: solveSchedule (MAKESPAN, seed 1) on JSPLIB instances at several time limits;
// gap = (makespan − optimum) / optimum, with the optimum from test/fixtures/jsplib/instances.json. A run stops early
// when it reaches the known optimum (its result cannot improve), so the bench takes a few minutes, not the sum of
// the limits. Prints a markdown table and the mean gap per limit. One solve at a time, single-threaded.
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts: jsplib_mean_gap_<limit>s (with _min/_max over the
// instances) and schedule_<instance>_<limit>s_gap / _seconds for the chart.
// Usage: npx tsx bench/schedule.ts [--limits 1,10,30] [--instances ft06,ft10,la01,...] [--seed 1]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseJobShop, solveSchedule } from '../src/optimize/schedule/index.ts';
import { emitResult, type Figures } from './result.ts';

const { values: opts } = parseArgs({
  options: {
    limits: { type: 'string', default: '1,10,30' },
    instances: { type: 'string', default: 'ft06,ft10,la01,la02,la03,la04,la05,la06,la07,la08,la09,la10' },
    seed: { type: 'string', default: '1' },
  },
});
const limits = opts.limits.split(',').map(Number);
const names = opts.instances.split(',');
const dir = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'jsplib');
const catalogue: { name: string; optimum: number | null }[] = JSON.parse(fs.readFileSync(path.join(dir, 'instances.json'), 'utf8'));

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const rows: string[] = [];
const gaps = new Map<number, number[]>(limits.map((l) => [l, []]));
const figures: Figures = {};
for (const name of names) {
  const problem = parseJobShop(fs.readFileSync(path.join(dir, `${name}.txt`), 'utf8'));
  const optimum = catalogue.find((c) => c.name === name)?.optimum;
  if (!optimum) throw new Error(`${name}: no known optimum`);
  const cells: string[] = [];
  let lb = 0;
  for (const limit of limits) {
    const r = await solveSchedule(problem, { timeLimitSeconds: limit, seed: Number(opts.seed), target: optimum });
    lb = r.lowerBound;
    const g = (r.makespan - optimum) / optimum;
    gaps.get(limit)!.push(g);
    figures[`schedule_${name}_${limit}s_gap`] = g;
    figures[`schedule_${name}_${limit}s_seconds`] = r.seconds;
    cells.push(`${r.makespan} (${pct(g)}, ${r.seconds.toFixed(1)} s, ${r.iterations} it)`);
    process.stderr.write(`${name} ${limit}s: ${r.makespan} ${r.stoppedBy}\n`);
  }
  rows.push(`| ${name} | ${optimum} | ${lb} | ${cells.join(' | ')} |`);
}
console.log(`| instance | optimum | lower bound | ${limits.map((l) => `${l} s: makespan (gap, time, iterations)`).join(' | ')} |`);
console.log(`|---|---|---|${limits.map(() => '---').join('|')}|`);
for (const r of rows) console.log(r);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`| **mean gap** | | | ${limits.map((l) => `**${pct(mean(gaps.get(l)!))}**`).join(' | ')} |`);
const la = names.map((n, i) => [n, i] as const).filter(([n]) => n.startsWith('la'));
if (la.length > 0) console.log(`| mean gap la01-la10 | | | ${limits.map((l) => pct(mean(la.map(([, i]) => gaps.get(l)![i])))).join(' | ')} |`);
for (const l of limits) {
  const g = gaps.get(l)!;
  Object.assign(figures, { [`jsplib_mean_gap_${l}s`]: mean(g), [`jsplib_mean_gap_${l}s_min`]: Math.min(...g), [`jsplib_mean_gap_${l}s_max`]: Math.max(...g) });
  if (la.length > 0) figures[`jsplib_la_mean_gap_${l}s`] = mean(la.map(([, i]) => g[i]));
}
figures.jsplib_instances = names.length;
emitResult(figures);
