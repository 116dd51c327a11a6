// The benchmark suite of issue 15: `npm run bench` (full parameters) or `npm run bench -- --quick` (small rounds and
// sizes, a few minutes). Starts PostgreSQL when it is down, runs every bench/*.ts as its own child process (one after
// another, so they do not load each other), reads the `RESULT {...}` line each prints last (bench/result.ts), and
// writes bench/results/latest.json (flat keys, numbers), bench/results/latest.md (goal, figure, spread, PASS or
// SHORT, what failed and what no bench measures yet), bench/results/scheduler-gap.svg and bench/results/latency.svg.
// Each child's full output goes to bench/results/logs/<bench>.log. A bench that fails or times out is reported as
// failed with its error; the others still run.
// train-gbdt needs Debian's python3-sklearn for /usr/bin/python3 (as bench/train-gbdt.ts uses): the quick mode skips it when
// missing, the full mode lets train-gbdt install it.
// Usage: npm run bench [-- --quick] [--only dashboard,ingest] [--skip train-gbdt]
import { execFileSync, execSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    skip: { type: 'string' },
  },
});
const quick = opts.quick;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'bench', 'results');
const logDir = path.join(outDir, 'logs');
fs.mkdirSync(logDir, { recursive: true });
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/* ---------- PostgreSQL ---------- */

function ensurePostgres(): string {
  try {
    execSync('pg_isready -h 127.0.0.1 -p 5432 -q', { stdio: 'ignore' });
    return 'already running';
  } catch {}
  execSync('pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start', { stdio: 'inherit', shell: '/bin/bash' });
  for (let i = 0; i < 30; i++) {
    try {
      execSync('pg_isready -h 127.0.0.1 -p 5432 -q', { stdio: 'ignore' });
      return 'started by bench/run.ts';
    } catch {
      execSync('sleep 1');
    }
  }
  throw new Error('PostgreSQL did not become ready at 127.0.0.1:5432');
}

/* ---------- the benches ---------- */

interface Bench {
  name: string;
  script: string;
  args: string[];
  production?: boolean;
  timeoutSeconds: number;
  /** A reason not to run it, decided before the run (e.g. a missing dependency in quick mode). */
  skip?: string;
}

const hasSklearn = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const jsplibQuickOut = path.join(os.tmpdir(), `plantgraph-jsplib-api-quick-${process.pid}.json`);

const q = (quickArgs: string[], fullArgs: string[]) => (quick ? quickArgs : fullArgs);
const BENCHES: Bench[] = [
  {
    name: 'dashboard',
    script: 'bench/dashboard.ts',
    production: true,
    args: q(['--duration', '2', '--rounds', '3', '--warmup', '1'], ['--duration', '10', '--rounds', '3', '--warmup', '2']),
    timeoutSeconds: quick ? 240 : 900,
  },
  {
    name: 'ingest',
    script: 'bench/ingest.ts',
    production: true,
    args: q(['--rounds', '5', '--batch', '20000', '--trials', '1'], []),
    timeoutSeconds: quick ? 180 : 1200,
  },
  {
    name: 'mqtt',
    script: 'bench/mqtt-ingest.ts',
    production: true,
    args: q(['--rate', '2000', '--seconds', '5'], ['--rate', '5000', '--seconds', '20']),
    timeoutSeconds: 300,
  },
  {
    name: 'alerts-fanout',
    script: 'bench/alerts-fanout.ts',
    args: q(['200', '20', '1'], ['1000', '40', '1']),
    timeoutSeconds: quick ? 180 : 600,
  },
  {
    name: 'alerts-fanout-4proc',
    script: 'bench/alerts-fanout.ts',
    args: ['10000', '20', '4', '4'],
    timeoutSeconds: 900,
    skip: quick ? '10,000 subscribers over 4 server processes runs in full runs only' : undefined,
  },
  {
    name: 'predict',
    script: 'bench/predict.ts',
    production: true,
    args: q(['--rounds', '2', '--only', 'risk,batch'], []),
    timeoutSeconds: quick ? 240 : 1800,
  },
  {
    name: 'train-gbdt',
    script: 'bench/train-gbdt.ts',
    args: q(['--rounds', '1'], []),
    timeoutSeconds: quick ? 180 : 1800,
    skip: quick && !hasSklearn ? 'python3-sklearn is not installed (the full run installs it with apt-get when root)' : undefined,
  },
  {
    name: 'solvers',
    script: 'bench/solvers.ts',
    args: q(['--rounds', '2', '--sizes', '50,200,400'], ['--rounds', '5', '--sizes', '100,400,1000,4000,14000']),
    timeoutSeconds: quick ? 180 : 1800,
  },
  {
    name: 'schedule',
    script: 'bench/schedule.ts',
    args: q(['--limits', '1,10', '--instances', 'ft06,la01,la02,la03,la05,ft10'], ['--limits', '1,10,30']),
    timeoutSeconds: quick ? 180 : 1800,
  },
  {
    name: 'jsplib-api',
    script: 'bench/jsplib-api.ts',
    production: true,
    args: q(['--instances', 'ft06,la01', '--out', jsplibQuickOut], []),
    timeoutSeconds: quick ? 120 : 900,
  },
  {
    name: 'solve-latency',
    script: 'bench/solve-latency.ts',
    production: true,
    args: q(['--seconds', '10', '--train'], ['--seconds', '30', '--train']),
    timeoutSeconds: quick ? 180 : 900,
  },
  {
    name: 'scenario',
    script: 'bench/scenario.ts',
    production: true,
    args: q(['--rounds', '3', '--orders', '5000'], []),
    timeoutSeconds: quick ? 240 : 1800,
  },
  {
    name: 'soak',
    script: 'bench/soak.ts',
    args: ['--minutes', '10'],
    timeoutSeconds: 900,
    skip: quick ? 'the 10-minute soak runs in full runs only (npm run bench:soak -- --minutes 1 for a short one)' : undefined,
  },
  {
    name: 'startup',
    script: 'bench/startup.ts',
    args: q(['--rounds', '1'], ['--rounds', '5']),
    timeoutSeconds: quick ? 180 : 900,
  },
];

interface Outcome {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  seconds: number;
  figures: Record<string, number>;
  error?: string;
  command: string;
}

function runBench(b: Bench): Promise<Outcome> {
  const argv = ['--import', 'tsx', b.script, ...b.args];
  const command = `${b.production ? 'NODE_ENV=production ' : ''}tsx ${b.script} ${b.args.join(' ')}`.trim();
  if (b.skip) return Promise.resolve({ name: b.name, status: 'skipped', seconds: 0, figures: {}, error: b.skip, command });
  const env: NodeJS.ProcessEnv = { ...process.env, TEST_DATABASE_URL: DATABASE_URL };
  if (b.production) env.NODE_ENV = 'production';
  else delete env.NODE_ENV;
  const log = fs.createWriteStream(path.join(logDir, `${b.name}.log`));
  log.write(`$ ${command}\n`);
  const started = performance.now();
  return new Promise((resolve) => {
    // Its own process group, so that a timeout also ends what it started (server processes, load generators).
    const child = spawn(process.execPath, argv, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      log.write(d);
      process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      log.write(d);
      process.stderr.write(d);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, b.timeoutSeconds * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log.end();
      const seconds = (performance.now() - started) / 1000;
      const line = stdout
        .split('\n')
        .filter((l) => l.startsWith('RESULT '))
        .at(-1);
      let figures: Record<string, number> = {};
      let error: string | undefined;
      if (line) {
        try {
          figures = JSON.parse(line.slice('RESULT '.length));
        } catch (e) {
          error = `unreadable RESULT line: ${(e as Error).message}`;
        }
      }
      const text = (stderr.trim() || stdout.trim()).split('\n');
      // The first line that names an error, then the last lines (where the stack and cause end).
      const first = text.find((l) => /\b\w*Error\b|error:/i.test(l));
      const tail = [...(first && !text.slice(-6).includes(first) ? [first, '...'] : []), ...text.slice(-6)].join('\n');
      if (timedOut) error = `timed out after ${b.timeoutSeconds} s\n${tail}`;
      else if (code !== 0) error = `exited with ${code ?? signal}\n${tail}`;
      else if (!line) error = `no RESULT line\n${tail}`;
      // A bench that printed its RESULT and then failed (e.g. in its teardown) keeps its figures, and is reported failed.
      if (error && line && Object.keys(figures).length > 0) error = `after printing its RESULT line (its figures are kept): ${error}`;
      resolve({ name: b.name, status: error ? 'failed' : 'ok', seconds, figures, error, command });
    });
  });
}

/* ---------- run ---------- */

const only = opts.only ? new Set(opts.only.split(',')) : null;
const skip = new Set((opts.skip ?? '').split(',').filter(Boolean));
const selected = BENCHES.filter((b) => (!only || only.has(b.name)) && !skip.has(b.name));
const pg = ensurePostgres();
const loadStart = os.loadavg();
const startedAt = new Date();
const t0 = performance.now();
const outcomes: Outcome[] = [];
for (const b of selected) {
  console.log(`\n=== ${b.name} (${quick ? 'quick' : 'full'})`);
  const o = await runBench(b);
  console.log(`=== ${b.name}: ${o.status} in ${o.seconds.toFixed(1)} s${o.error ? `: ${o.error.split('\n')[0]}` : ''}`);
  outcomes.push(o);
}
const loadEnd = os.loadavg();
const totalSeconds = (performance.now() - t0) / 1000;

/* ---------- figures ---------- */

const fig: Record<string, number> = {};
for (const o of outcomes) Object.assign(fig, o.figures);
// Headline figures derived from the benches' own keys.
const pick = (key: string, from: string[], agg: 'max' | 'min') => {
  const keys = from.filter((k) => fig[k] !== undefined);
  if (keys.length === 0) return;
  const f = agg === 'max' ? Math.max : Math.min;
  fig[key] = f(...keys.map((k) => fig[k]));
  const mins = keys.map((k) => fig[`${k}_min`]).filter((x) => x !== undefined);
  const maxs = keys.map((k) => fig[`${k}_max`]).filter((x) => x !== undefined);
  if (mins.length) fig[`${key}_min`] = Math.min(...mins);
  if (maxs.length) fig[`${key}_max`] = Math.max(...maxs);
};
// Both predict models must meet the goal: the worse of the two is the figure.
pick('inference_overhead_ratio', ['failure_risk_lr1_vs_baseline_ratio', 'failure_risk_gbdt5_vs_baseline_ratio'], 'max');
pick('batching_speedup', ['batching_lr1_speedup', 'batching_gbdt5_speedup'], 'min');
fig.load_average_1m_start = loadStart[0];
fig.load_average_1m_end = loadEnd[0];
fig.cpus = os.availableParallelism();
fig.quick = quick ? 1 : 0;
fig.suite_seconds = totalSeconds;
fig.run_unix_time = Math.round(startedAt.getTime() / 1000);
for (const o of outcomes) {
  fig[`bench_${o.name.replaceAll('-', '_')}_ok`] = o.status === 'ok' ? 1 : 0;
  fig[`bench_${o.name.replaceAll('-', '_')}_seconds`] = Number(o.seconds.toFixed(1));
}
const rounded: Record<string, number> = {};
for (const k of Object.keys(fig).sort()) if (Number.isFinite(fig[k])) rounded[k] = Number(fig[k].toPrecision(6));
fs.writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(rounded, null, 2)}\n`);

/* ---------- table ---------- */

interface Goal {
  key: string;
  label: string;
  goal: string;
  /** undefined: reported, no goal. */
  ok?: (v: number) => boolean;
  unit?: string;
  /** Text added to the figure when the run's parameters differ from the goal's. */
  note?: () => string | undefined;
}
const subs = fig.alert_fanout_subscribers;
const orders = fig.scenario_orders;
const solveS = fig.solve_seconds_requested;
const GOALS: Goal[] = [
  { key: 'soak_errors', label: 'soak (10 min mixed load): errors', goal: '0', ok: (v) => v === 0 },
  { key: 'soak_rss_growth_after_warmup', label: 'soak: RSS growth after warm-up', goal: '< 0.10', ok: (v) => v < 0.1 },
  { key: 'dashboard_vs_sql_ratio', label: 'dashboard req/s, GraphQL over hand-written SQL handler (500 machines)', goal: '≥ 0.5', ok: (v) => v >= 0.5 },
  { key: 'sql_statements_per_dashboard_query', label: 'SQL statements per dashboard query', goal: '≤ 5', ok: (v) => v <= 5 },
  { key: 'dashboard_vs_sql_ratio_viewer', label: 'the same with a plant-scoped VIEWER key', goal: '≥ 0.5', ok: (v) => v >= 0.5 },
  { key: 'sql_statements_per_dashboard_query_viewer', label: 'SQL statements per dashboard query, VIEWER key', goal: '≤ 5', ok: (v) => v <= 5 },
  { key: 'dashboard_viewer_over_admin_ratio', label: 'authorization cost: ADMIN req/s over VIEWER req/s', goal: '≤ 1.10', ok: (v) => v <= 1.1 },
  { key: 'detail_vs_sql_ratio', label: 'machine detail req/s, GraphQL over SQL handler', goal: '≥ 0.5', ok: (v) => v >= 0.5 },
  { key: 'ingest_vs_copy_ratio', label: 'ingestTelemetry points/s over the fastest raw COPY', goal: '≥ 0.6', ok: (v) => v >= 0.6 },
  {
    key: 'inference_overhead_ratio',
    label: 'failureRisk (1,000 machines) over a hand-written baseline, worse of lr1/gbdt5',
    goal: '≤ 1.2',
    ok: (v) => v <= 1.2,
  },
  { key: 'batching_speedup', label: '200 concurrent predictions, batching on over off, worse of lr1/gbdt5', goal: '≥ 3', ok: (v) => v >= 3 },
  { key: 'training_vs_sklearn_ratio', label: 'GBDT fit wall time over scikit-learn (1 thread)', goal: '≤ 3', ok: (v) => v <= 3 },
  {
    key: 'alert_fanout_p50_ms',
    label: 'alert fan-out p50, ingest → WebSocket delivery',
    goal: '(reported)',
    unit: 'ms',
    note: () => (subs !== undefined ? `at ${subs} subscribers` : undefined),
  },
  {
    key: 'alert_fanout_p99_ms_10000_4proc',
    label: 'alert fan-out p99 at 10,000 subscribers over 4 server processes',
    goal: '≤ 250 ms',
    ok: (v) => v <= 250,
    unit: 'ms',
  },
  {
    key: 'alert_fanout_delivered_fraction_10000_4proc',
    label: 'alert deliveries at 10,000 subscribers over 4 server processes, of those expected',
    goal: '1',
    ok: (v) => v === 1,
  },
  {
    key: 'alert_fanout_delivered_fraction',
    label: 'alert deliveries of those expected (the 1,000-subscriber run)',
    goal: '1',
    ok: (v) => v === 1,
  },
  {
    key: 'alert_fanout_p99_ms',
    label: 'alert fan-out p99 at 1,000 subscribers',
    goal: '≤ 100 ms',
    ok: (v) => v <= 100,
    unit: 'ms',
    note: () => (subs !== undefined && subs !== 1000 ? `at ${subs} subscribers (quick), not 1,000` : undefined),
  },
  ...Object.keys(fig)
    .filter((k) => /^highs_vs_jslp_speedup_\d+$/.test(k))
    .sort((a, b) => Number(a.split('_').at(-1)) - Number(b.split('_').at(-1)))
    .map((k): Goal => {
      const n = k.split('_').at(-1);
      return {
        key: k,
        label: `HiGHS speed-up (JSLP time over HiGHS time), ${n}-variable planning LP`,
        goal: 'objectives agree',
        ok: () => fig[`highs_jslp_objectives_agree_${n}`] === 1,
        unit: '×',
      };
    }),
  ...Object.keys(fig)
    .filter((k) => /^auto_choice_vs_fastest_ratio_\d+$/.test(k))
    .sort((a, b) => Number(a.split('_').at(-1)) - Number(b.split('_').at(-1)))
    .map(
      (k): Goal => ({
        key: k,
        label: `AUTO's solver choice over the faster of HiGHS and JSLP, ${k.split('_').at(-1)}-variable LP`,
        goal: '≤ 1.10',
        ok: (v) => v <= 1.1,
        unit: '×',
      }),
    ),
  ...Object.keys(fig)
    .filter((k) => /^jsplib_mean_gap_\d+s$/.test(k))
    .sort((a, b) => Number.parseInt(a.slice(16), 10) - Number.parseInt(b.slice(16), 10))
    .map(
      (k): Goal => ({ key: k, label: `JSPLIB mean gap at ${k.slice(16)} (solver level, ${fig.jsplib_instances} instances)`, goal: '(reported)', unit: '%' }),
    ),
  { key: 'jsplib_api_gap_ft06_1s', label: 'JSPLIB through the API: ft06 gap at 1 s', goal: '0 % (optimum 55)', ok: (v) => v === 0, unit: '%' },
  { key: 'jsplib_api_gap_la01_10s', label: 'JSPLIB through the API: la01 gap at 10 s', goal: '(reported)', unit: '%' },
  { key: 'jsplib_api_la_mean_gap', label: 'JSPLIB through the API: la01-la10 mean gap at 10 s', goal: '≤ 1 %', ok: (v) => v <= 0.01, unit: '%' },
  { key: 'jsplib_api_gap_ft10_30s', label: 'JSPLIB through the API: ft10 gap at 30 s', goal: '≤ 3 %', ok: (v) => v <= 0.03, unit: '%' },
  {
    key: 'scenario_create_ms',
    label: 'createScenario, 500 machines, 20,000 orders',
    goal: '≤ 100 ms',
    ok: (v) => v <= 100,
    unit: 'ms',
    note: () => (orders !== undefined && orders !== 20000 ? `at ${orders} orders (quick)` : undefined),
  },
  {
    key: 'scenario_compare_ms',
    label: 'compareScenarios against the live plan',
    goal: '(reported)',
    unit: 'ms',
    note: () => (orders !== undefined && orders !== 20000 ? `at ${orders} orders (quick)` : undefined),
  },
  {
    key: 'small_query_p99_under_solve_ratio',
    label: 'small query p99 during a 30 s solve and a training job, over idle p99',
    goal: '≤ 2',
    ok: (v) => v <= 2,
    note: () =>
      [solveS !== undefined && solveS !== 30 ? `${solveS} s solve (quick)` : '', fig.training_during_solve === 0 ? 'training job did not succeed' : '']
        .filter(Boolean)
        .join('; ') || undefined,
  },
  { key: 'cold_start_seconds', label: 'cold start on an empty PGlite directory (compiled entry)', goal: '≤ 10 s', ok: (v) => v <= 10, unit: 's' },
  { key: 'restart_seconds', label: 'restart (compiled entry, database initialised)', goal: '≤ 2 s', ok: (v) => v <= 2, unit: 's' },
  {
    key: 'mqtt_points_per_second',
    label: 'MQTT bridge: points stored per second (one point per message, QoS 1)',
    goal: '(reported)',
    note: () => (fig.mqtt_message_rate !== undefined ? `at ${fig.mqtt_message_rate} messages/s offered` : undefined),
  },
  { key: 'rss_mb_idle', label: 'server RSS idle (tsx entry, PostgreSQL; fan-out bench before subscribing)', goal: '(reported)', unit: 'MB' },
  {
    key: 'rss_mb_after_1m_points',
    label: 'RSS after the API ingested one million points (server in the ingest bench process)',
    goal: '(reported)',
    unit: 'MB',
  },
  { key: 'rss_mb_after_ingest', label: 'RSS after the ingest bench (server in the bench process)', goal: '(reported)', unit: 'MB' },
  { key: 'ws_idle_kb_per_connection', label: 'memory per idle WebSocket (soak)', goal: '(reported)', unit: 'KB' },
  ...Object.keys(fig)
    .filter((k) => /^rss_mb_after_\d+_subscribers$/.test(k))
    .map((k): Goal => ({ key: k, label: `server RSS with ${k.split('_')[3]} subscribers connected`, goal: '(reported)', unit: 'MB' })),
];

const fmtValue = (v: number, unit?: string) => {
  if (unit === '%') return `${(v * 100).toFixed(2)} %`;
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)}${unit ? (unit === '×' ? '×' : ` ${unit}`) : ''}`;
};
const rows: string[] = [];
let pass = 0;
let short = 0;
for (const g of GOALS) {
  const v = fig[g.key];
  if (v === undefined) continue;
  const lo = fig[`${g.key}_min`];
  const hi = fig[`${g.key}_max`];
  const spread = lo !== undefined && hi !== undefined ? `${fmtValue(lo, g.unit)} – ${fmtValue(hi, g.unit)}` : '–';
  const note = g.note?.();
  let verdict = '–';
  if (g.ok) {
    const ok = g.ok(v);
    verdict = ok ? 'PASS' : 'SHORT';
    if (ok) pass++;
    else short++;
    if (note) verdict += '*';
  }
  rows.push(`| ${g.label} | \`${g.key}\` | ${g.goal} | ${fmtValue(v, g.unit)}${note ? ` (${note})` : ''} | ${spread} | ${verdict} |`);
}

// Which bench produces a goal's figure, to say why it is absent.
const SOURCE: [RegExp, string][] = [
  [/^(dashboard|detail|sql_statements)/, 'dashboard'],
  [/^ingest/, 'ingest'],
  [/^(inference|batching)/, 'predict'],
  [/^training_vs/, 'train-gbdt'],
  [/^alert_fanout.*_4proc$/, 'alerts-fanout-4proc'],
  [/^alert_fanout/, 'alerts-fanout'],
  [/^jsplib_api/, 'jsplib-api'],
  [/^jsplib_mean/, 'schedule'],
  [/^scenario/, 'scenario'],
  [/^small_query/, 'solve-latency'],
  [/^(cold_start|restart)/, 'startup'],
  [/^rss_mb_after_(1m_points|ingest)/, 'ingest'],
  [/^(soak|ws_idle)/, 'soak'],
  [/^mqtt/, 'mqtt'],
];
const why = (key: string) => {
  const name = SOURCE.find(([re]) => re.test(key))?.[1];
  const o = outcomes.find((x) => x.name === name);
  if (!name) return '';
  if (!o) return ` (bench ${name} not selected)`;
  if (o.status === 'failed') return ` (bench ${name} failed)`;
  if (o.status === 'skipped') return ` (bench ${name} skipped: ${o.error})`;
  return quick ? ` (not measured at the quick parameters of ${name})` : ` (${name} ran but did not report it)`;
};
const MISSING: { key: string; what: string; when?: () => boolean }[] = [
  {
    key: 'rss_mb_after_1000_subscribers',
    what: `server RSS after 1,000 subscribers${quick ? ' (the quick run connects 200)' : why('alert_fanout_p99_ms')}`,
    when: () => fig.rss_mb_after_1000_subscribers === undefined,
  },
  {
    key: 'rss_mb_after_1m_points',
    what: `RSS after ingesting one million points${quick ? ' (the quick ingest run sends fewer; see rss_mb_after_ingest)' : why('ingest_vs_copy_ratio')}`,
    when: () => fig.rss_mb_after_1m_points === undefined,
  },
  {
    key: 'training_vs_sklearn_ratio',
    what: `GBDT training over scikit-learn${why('training_vs_sklearn_ratio')}`,
    when: () => fig.training_vs_sklearn_ratio === undefined,
  },
];
for (const g of GOALS)
  if (g.ok && fig[g.key] === undefined && !MISSING.some((m) => m.key === g.key)) MISSING.push({ key: g.key, what: `${g.label}${why(g.key)}` });

let commit = 'unknown';
let dirty = false;
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench', 'test', 'scripts', 'package.json'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .some((l) => l.trim() && !l.includes('bench/results/'));
} catch {}
const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
const md = [
  `# Benchmark suite: ${quick ? 'quick' : 'full'} run`,
  '',
  `- date: ${startedAt.toISOString()}; took ${(totalSeconds / 60).toFixed(1)} min`,
  `- commit: ${commit}${dirty ? ' (with uncommitted changes)' : ''}; node ${process.version}; ${os.availableParallelism()} CPUs; PostgreSQL at ${DATABASE_URL.replace(/\/\/[^@]*@/, '//')} (${pg})`,
  `- load average (1, 5, 15 min): ${la(loadStart)} at the start, ${la(loadEnd)} at the end (the machine is shared)`,
  '- figures are medians of the rounds where the bench has rounds; the spread is min – max over rounds (instances for the JSPLIB means, models for the predict figures).',
  quick ? '- quick mode: fewer and shorter rounds and smaller sizes than the goals state; `*` marks a verdict taken at other parameters than the goal.' : '',
  '',
  `${pass} PASS, ${short} SHORT.`,
  '',
  '| what | key | goal | figure | spread | verdict |',
  '|---|---|---|---|---|---|',
  ...rows,
  '',
  '## Benches',
  '',
  '| bench | status | seconds | command |',
  '|---|---|---:|---|',
  ...outcomes.map((o) => `| ${o.name} | ${o.status === 'ok' ? 'ok' : o.status.toUpperCase()} | ${o.seconds.toFixed(1)} | \`${o.command}\` |`),
  '',
  ...outcomes.filter((o) => o.error).flatMap((o) => [`### ${o.name}: ${o.status}`, '', '```', o.error!.trim(), '```', '']),
  '## Missing: figures of issue 15 that no bench produced in this run',
  '',
  ...MISSING.filter((m) => !m.when || m.when()).map((m) => `- \`${m.key}\`: ${m.what}`),
  '',
  'Every figure is in latest.json (flat keys); charts: scheduler-gap.svg, latency.svg; logs of each bench in logs/ (git-ignored).',
  '',
];
fs.writeFileSync(path.join(outDir, 'latest.md'), md.filter((l, i) => l !== '' || md[i - 1] !== '').join('\n'));
// The repository's formatter aligns markdown tables; let it, so that `biome check .` stays clean.
try {
  execFileSync(path.join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', path.join(outDir, 'latest.md'), path.join(outDir, 'latest.json')], {
    cwd: root,
    stdio: 'ignore',
  });
} catch {}

/* ---------- charts ---------- */

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939'];

function gapChart(): string {
  const series = new Map<string, { limit: number; gap: number }[]>();
  for (const [k, v] of Object.entries(fig)) {
    const m = /^schedule_(.+)_(\d+)s_gap$/.exec(k);
    if (m) (series.get(m[1]) ?? series.set(m[1], []).get(m[1])!).push({ limit: Number(m[2]), gap: v });
  }
  const W = 720;
  const H = 420;
  const L = 70;
  const R = 150;
  const T = 40;
  const B = 50;
  const parts: string[] = [];
  if (series.size === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no schedule.ts figures in this run</text>`);
  } else {
    const limits = [...new Set([...series.values()].flat().map((p) => p.limit))].sort((a, b) => a - b);
    const maxGap = Math.max(0.01, ...[...series.values()].flat().map((p) => p.gap));
    const yMax = Math.ceil((maxGap * 100) / 2) * 2 || 2;
    const lx = (l: number) => Math.log10(l);
    const x0 = lx(Math.min(...limits)) - 0.1;
    const x1 = lx(Math.max(...limits)) + 0.1;
    const X = (l: number) => L + ((lx(l) - x0) / (x1 - x0 || 1)) * (W - L - R);
    const Y = (g: number) => T + (1 - (g * 100) / yMax) * (H - T - B);
    for (let t = 0; t <= yMax; t += Math.max(1, Math.round(yMax / 6))) {
      parts.push(`<line x1="${L}" x2="${W - R}" y1="${Y(t / 100)}" y2="${Y(t / 100)}" stroke="#ddd"/>`);
      parts.push(`<text x="${L - 6}" y="${Y(t / 100) + 4}" text-anchor="end" font-size="11">${t} %</text>`);
    }
    for (const l of limits) {
      parts.push(`<line x1="${X(l)}" x2="${X(l)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
      parts.push(`<text x="${X(l)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${l} s</text>`);
    }
    parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle" font-size="12">time limit (log scale)</text>`);
    parts.push(
      `<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${(T + H - B) / 2})">gap to the optimum</text>`,
    );
    let i = 0;
    for (const [name, pts] of series) {
      pts.sort((a, b) => a.limit - b.limit);
      const c = COLORS[i % COLORS.length];
      parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.map((p) => `${X(p.limit)},${Y(p.gap)}`).join(' ')}"/>`);
      for (const p of pts)
        parts.push(
          `<circle cx="${X(p.limit)}" cy="${Y(p.gap)}" r="3" fill="${c}"><title>${esc(name)} ${p.limit} s: ${(p.gap * 100).toFixed(2)} %</title></circle>`,
        );
      parts.push(`<rect x="${W - R + 14}" y="${T + i * 18}" width="12" height="3" fill="${c}"/>`);
      parts.push(`<text x="${W - R + 32}" y="${T + i * 18 + 5}" font-size="11">${esc(name)}</text>`);
      i++;
    }
    const means = limits.filter((l) => fig[`jsplib_mean_gap_${l}s`] !== undefined);
    if (means.length) {
      parts.push(
        `<polyline fill="none" stroke="#000" stroke-width="3" stroke-dasharray="6 3" points="${means.map((l) => `${X(l)},${Y(fig[`jsplib_mean_gap_${l}s`])}`).join(' ')}"/>`,
      );
      parts.push(`<rect x="${W - R + 14}" y="${T + i * 18}" width="12" height="3" fill="#000"/>`);
      parts.push(`<text x="${W - R + 32}" y="${T + i * 18 + 5}" font-size="11" font-weight="bold">mean</text>`);
    }
  }
  return svg(W, H, `JSPLIB gap against time limit (solveSchedule, seed 1), ${quick ? 'quick' : 'full'} run ${commit}`, parts);
}

function latencyChart(): string {
  const bars: { label: string; p50?: number; p99?: number }[] = [];
  const add = (label: string, p50: string, p99: string) => {
    if (fig[p50] !== undefined || fig[p99] !== undefined) bars.push({ label, p50: fig[p50], p99: fig[p99] });
  };
  for (const q of ['dashboard', 'detail'])
    for (const side of ['handler', 'graphql', 'viewer'])
      add(
        `${q}: ${side === 'handler' ? 'SQL handler' : side === 'viewer' ? 'GraphQL, VIEWER' : 'GraphQL, ADMIN'}`,
        `${q}_${side}_p50_ms`,
        `${q}_${side}_p99_ms`,
      );
  add(`alert fan-out (${subs ?? '?'} subscribers)`, 'alert_fanout_p50_ms', 'alert_fanout_p99_ms');
  add('small query, idle', 'small_query_idle_p50_ms', 'small_query_idle_p99_ms');
  add(`small query, during ${solveS ?? '?'} s solve + training`, 'small_query_under_solve_p50_ms', 'small_query_under_solve_p99_ms');
  const W = 760;
  const rowH = 30;
  const L = 260;
  const R = 60;
  const T = 64;
  const H = T + Math.max(1, bars.length) * rowH + 50;
  const parts: string[] = [];
  if (bars.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no latency figures in this run</text>`);
  } else {
    const vals = bars.flatMap((b) => [b.p50, b.p99]).filter((x): x is number => x !== undefined && x > 0);
    const lo = Math.floor(Math.log10(Math.max(0.1, Math.min(...vals))));
    const hi = Math.ceil(Math.log10(Math.max(...vals)));
    const X = (v: number) => L + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1)) * (W - L - R);
    for (let e = lo; e <= hi; e++) {
      parts.push(`<line x1="${X(10 ** e)}" x2="${X(10 ** e)}" y1="${T - 6}" y2="${H - 40}" stroke="#ddd"/>`);
      parts.push(`<text x="${X(10 ** e)}" y="${H - 26}" text-anchor="middle" font-size="11">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)} ms</text>`);
    }
    parts.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">latency (log scale)</text>`);
    bars.forEach((b, i) => {
      const y = T + i * rowH;
      parts.push(`<text x="${L - 8}" y="${y + 16}" text-anchor="end" font-size="12">${esc(b.label)}</text>`);
      if (b.p99 !== undefined)
        parts.push(`<rect x="${L}" y="${y + 4}" width="${Math.max(1, X(b.p99) - L)}" height="9" fill="#d62728"><title>p99 ${b.p99} ms</title></rect>`);
      if (b.p50 !== undefined)
        parts.push(`<rect x="${L}" y="${y + 14}" width="${Math.max(1, X(b.p50) - L)}" height="9" fill="#1f77b4"><title>p50 ${b.p50} ms</title></rect>`);
      const text = [b.p50 !== undefined ? `p50 ${fmtValue(b.p50)}` : '', b.p99 !== undefined ? `p99 ${fmtValue(b.p99)}` : ''].filter(Boolean).join(' / ');
      parts.push(`<text x="${Math.max(X(b.p99 ?? 0), X(b.p50 ?? 0)) + 4}" y="${y + 17}" font-size="10">${text}</text>`);
    });
    parts.push(`<rect x="${L}" y="${T - 28}" width="12" height="9" fill="#1f77b4"/><text x="${L + 16}" y="${T - 20}" font-size="11">p50</text>`);
    parts.push(`<rect x="${L + 60}" y="${T - 28}" width="12" height="9" fill="#d62728"/><text x="${L + 76}" y="${T - 20}" font-size="11">p99</text>`);
    const conn = fig.dashboard_connections;
    if (conn !== undefined)
      parts.push(`<text x="${L + 120}" y="${T - 20}" font-size="11">dashboard and detail: ${conn} concurrent connections (autocannon)</text>`);
  }
  return svg(W, H, `Latency percentiles (ms), ${quick ? 'quick' : 'full'} run ${commit}, load ${loadStart[0].toFixed(1)}–${loadEnd[0].toFixed(1)}`, parts);
}

function svg(w: number, h: number, title: string, parts: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

fs.writeFileSync(path.join(outDir, 'scheduler-gap.svg'), gapChart());
fs.writeFileSync(path.join(outDir, 'latency.svg'), latencyChart());
fs.rmSync(jsplibQuickOut, { force: true });
console.log(`\n${fs.readFileSync(path.join(outDir, 'latest.md'), 'utf8')}`);
console.log(`written: ${['latest.json', 'latest.md', 'scheduler-gap.svg', 'latency.svg'].map((f) => path.join('bench/results', f)).join(', ')}`);
process.exit(outcomes.some((o) => o.status === 'failed') ? 1 : 0);
