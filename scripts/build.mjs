// Compiles src/ to dist/ (JavaScript, source maps) so `npm start` runs without compiling TypeScript at every start.
// Run by `npm install` (prepare) and by scripts/start.mjs when src/ changed since the last build. Types are checked
// by `npm run typecheck`, not here (the build only strips them).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STAMP = path.join(root, 'dist', '.built');

/** The newest modification time of the build's inputs (src/ and the tsconfig files), in ms. */
export function newestInput() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else newest = Math.max(newest, fs.statSync(file).mtimeMs);
    }
  };
  walk(path.join(root, 'src'));
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json']) {
    const file = path.join(root, f);
    if (fs.existsSync(file)) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

/** True when dist/ is missing or older than any input. */
export function isStale() {
  if (!fs.existsSync(STAMP)) return true;
  return fs.statSync(STAMP).mtimeMs + 1 < newestInput();
}

export function build() {
  const started = newestInput();
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error('plantgraph: compiling src/ failed (see above)');
    process.exit(r.status ?? 1);
  }
  // The stamp carries the inputs' time as seen before compiling: a file edited during the build makes the next start rebuild.
  fs.writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  fs.utimesSync(STAMP, started / 1000, started / 1000);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) build();
