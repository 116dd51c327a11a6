// Start-up times of issue 10, rounds interleaved in one run: a restart (the embedded database already initialised
// and seeded) of `npm start`'s compiled entry (scripts/start.mjs -> dist/) against the same start through tsx
// (src/main.ts), each until it prints its endpoints; and a port clash of the compiled entry until it exits.
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts: cold_start_seconds is the first start on the
// empty data directory (initialise, migrate, seed), restart_seconds the compiled entry's median restart.
// Usage: npm run bench:startup [-- --rounds 5]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { emitResult, withSpread } from './result.ts';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(opts.rounds);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-startup-')), 'data');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const ENTRIES = {
  compiled: [process.execPath, 'scripts/start.mjs'],
  tsx: [process.execPath, '--import', 'tsx', 'src/main.ts'],
};

/** Milliseconds from spawn to the endpoints line (then the server is stopped), or to exit when `untilExit`. */
function time(argv: string[], env: Record<string, string>, untilExit = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0], argv.slice(1), {
      cwd: root,
      env: { ...process.env, PLANTGRAPH_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn', ...env },
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      if (!untilExit && out.includes('health:')) {
        const ms = performance.now() - started;
        child.once('exit', () => resolve(ms));
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      if (untilExit) resolve(performance.now() - started);
      else if (!out.includes('health:')) reject(new Error(`exited ${code}:\n${out}`));
    });
  });
}

// The first start initialises and seeds the database (and compiles dist/ if src/ changed).
const first = await time(ENTRIES.compiled, { PORT: '0' });
const results: Record<string, number[]> = { compiled: [], tsx: [], clash: [] };
const busy = net.createServer();
await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
const busyPort = String((busy.address() as net.AddressInfo).port);
for (let r = 0; r < rounds; r++) {
  results.compiled.push(await time(ENTRIES.compiled, { PORT: '0' }));
  results.tsx.push(await time(ENTRIES.tsx, { PORT: '0' }));
  results.clash.push(await time(ENTRIES.compiled, { PORT: busyPort }, true));
}
busy.close();
const secs = (v: number[]) => v.map((x) => x / 1000);
fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      first_start_ms: Math.round(first),
      restart_compiled_ms: Math.round(median(results.compiled)),
      restart_tsx_ms: Math.round(median(results.tsx)),
      restart_compiled_over_tsx_ratio: Number((median(results.compiled) / median(results.tsx)).toFixed(2)),
      port_clash_compiled_ms: Math.round(median(results.clash)),
      spread_ms: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, `${Math.round(Math.min(...v))}-${Math.round(Math.max(...v))}`])),
      load_average: Number(os.loadavg()[0].toFixed(2)),
    },
    null,
    2,
  ),
);
emitResult({
  cold_start_seconds: first / 1000,
  ...withSpread('restart_seconds', secs(results.compiled)),
  ...withSpread('restart_tsx_seconds', secs(results.tsx)),
  port_clash_seconds: median(secs(results.clash)),
});
