// GRADIENT_BOOSTING training time on AI4I 2020 (10,000 rows; the five sensor columns plus product Type one-hot: 8
// inputs; 100 trees, sklearn's defaults, no early stopping) against scikit-learn's HistGradientBoostingClassifier
// on the same preprocessed matrix and settings, on this machine, in the same run. Both are timed on the fit alone
// (median of the rounds, after one warm-up fit), wall clock and CPU. Ours is single-threaded; sklearn runs once on
// one thread (OMP_NUM_THREADS=1) and once with its default threads.
// Needs Debian's python3-sklearn: installed with apt-get when missing and running as root.
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts (wall clock, ours over sklearn on one thread).
// Usage: npm run bench:train [-- --rounds 7]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { emitResult } from './result.ts';
import { fitGradientBoosting } from '../src/predict/train/gbdt/boost.ts';
import { applyPrep, fitPrep, labelledRows } from '../src/predict/train/prep.ts';
import { AI4I_FEATURES, loadAi4i } from '../test/train-data.ts';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '7' } } });
const rounds = Number(opts.rounds);
const PYTHON = '/usr/bin/python3';

function ensureSklearn(): void {
  if (spawnSync(PYTHON, ['-c', 'import sklearn']).status === 0) return;
  if (process.getuid?.() !== 0) throw new Error('scikit-learn is missing: apt-get install python3-sklearn (as root)');
  console.log('installing python3-sklearn with apt-get ...');
  execFileSync('apt-get', ['install', '-y', '-q', 'python3-sklearn'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const table = loadAi4i();
const rows = labelledRows(table, 'Machine failure');
const x = applyPrep(fitPrep(table, AI4I_FEATURES, rows), table, rows);
const target = table.columns.find((c) => c.name === 'Machine failure')!.values as Float64Array;
const y = Float64Array.from(rows, (i) => target[i]);
const params = {
  objective: 'binary' as const,
  classes: ['0', '1'],
  learningRate: 0.1,
  maxIter: 100,
  maxLeafNodes: 31,
  maxDepth: 0,
  minSamplesLeaf: 20,
  l2Regularization: 0,
  maxBins: 255,
  earlyStopping: false,
  validationFraction: 0.1,
  nIterNoChange: 10,
  tol: 1e-7,
  seed: 0,
};

const ours = { wall: [] as number[], cpu: [] as number[] };
for (let r = 0; r <= rounds; r++) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const spec = fitGradientBoosting(x, y, params);
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (spec.trees.length !== 100) throw new Error(`expected 100 trees, got ${spec.trees.length}`);
  if (r === 0) continue;
  ours.wall.push(wall);
  ours.cpu.push((used.user + used.system) / 1000);
}

ensureSklearn();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-bench-'));
const csv = path.join(dir, 'ai4i.csv');
fs.writeFileSync(csv, Array.from({ length: x.rows }, (_, i) => [...x.data.subarray(i * x.cols, (i + 1) * x.cols), y[i]].join(',')).join('\n'));
const script = `
import json, sys, time, numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
data = np.loadtxt(sys.argv[1], delimiter=',')
X, y = data[:, :-1], data[:, -1].astype(int)
wall, cpu = [], []
for r in range(int(sys.argv[2]) + 1):
    c0, t0 = time.process_time(), time.perf_counter()
    m = HistGradientBoostingClassifier(learning_rate=0.1, max_iter=100, max_leaf_nodes=31, min_samples_leaf=20,
        l2_regularization=0.0, max_bins=255, early_stopping=False, random_state=0).fit(X, y)
    if r > 0:
        wall.append(1000 * (time.perf_counter() - t0)); cpu.append(1000 * (time.process_time() - c0))
import sklearn
print(json.dumps({"wall": wall, "cpu": cpu, "n_iter": m.n_iter_, "version": sklearn.__version__}))
`;
const sklearn = (threads?: string) => {
  const env = { ...process.env };
  if (threads) env.OMP_NUM_THREADS = threads;
  else delete env.OMP_NUM_THREADS;
  const out = execFileSync(PYTHON, ['-c', script, csv, String(rounds)], { env, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { wall: number[]; cpu: number[]; n_iter: number; version: string };
};
const oneThread = sklearn('1');
const defaultThreads = sklearn();
fs.rmSync(dir, { recursive: true, force: true });

const line = (name: string, t: { wall: number[]; cpu: number[] }) =>
  `${name.padEnd(38)} wall ${median(t.wall).toFixed(0).padStart(5)} ms   cpu ${median(t.cpu).toFixed(0).padStart(5)} ms`;
console.log(
  `AI4I 2020, ${x.rows} rows x ${x.cols} inputs, 100 trees, median of ${rounds} fits; load average ${os.loadavg()[0].toFixed(2)}, ${os.cpus().length} cores`,
);
console.log(line('PlantGraph fitGradientBoosting', ours));
console.log(line(`sklearn ${oneThread.version} (1 thread)`, oneThread));
console.log(line(`sklearn ${defaultThreads.version} (default threads)`, defaultThreads));
const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}x`;
console.log(`ours / sklearn 1 thread: ${ratio(ours.wall, oneThread.wall)} wall, ${ratio(ours.cpu, oneThread.cpu)} cpu (goal: at most 3x)`);
console.log(`ours / sklearn default threads: ${ratio(ours.wall, defaultThreads.wall)} wall (OpenMP threads wait spinning on a busy machine)`);
emitResult({
  training_vs_sklearn_ratio: median(ours.wall) / median(oneThread.wall),
  training_vs_sklearn_cpu_ratio: median(ours.cpu) / median(oneThread.cpu),
  training_vs_sklearn_default_threads_ratio: median(ours.wall) / median(defaultThreads.wall),
  training_ours_ms: median(ours.wall),
  training_ours_ms_min: Math.min(...ours.wall),
  training_ours_ms_max: Math.max(...ours.wall),
  training_sklearn_1thread_ms: median(oneThread.wall),
});
