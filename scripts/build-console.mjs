// Builds the operator console (console/, Vite + Preact) into console/dist: index.html and content-hashed files under
// console/dist/assets, which the server serves at / (see src/graphql/endpoints.ts, useConsole). Run by `npm install`
// (prepare, through scripts/build.mjs) and by scripts/start.mjs and test/console.test.ts when console/ changed since
// the last build. Everything the page loads is in console/dist: no CDN at run time.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_DIR = path.join(root, 'console');
export const CONSOLE_DIST = path.join(CONSOLE_DIR, 'dist');
const STAMP = path.join(CONSOLE_DIST, '.built');

/** The newest modification time of the console's inputs (console/ but its dist, this script, the lock file), in ms. */
function newestInput() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (file === CONSOLE_DIST || entry.name.startsWith('.dist-') || entry.name === 'node_modules') continue;
      if (entry.isDirectory()) walk(file);
      else newest = Math.max(newest, fs.statSync(file).mtimeMs);
    }
  };
  walk(CONSOLE_DIR);
  for (const f of ['package-lock.json', 'scripts/build-console.mjs', 'scripts/console-types.mjs', 'schema/schema.graphql']) {
    const file = path.join(root, f);
    if (fs.existsSync(file)) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

/** True when console/dist is missing or older than any input. */
export function consoleStale() {
  if (!fs.existsSync(STAMP)) return true;
  return fs.statSync(STAMP).mtimeMs + 1 < newestInput();
}

/** Builds console/dist with Vite (a devDependency: without it, e.g. `npm ci --omit=dev`, the console is skipped). */
export async function buildConsole({ quiet = false } = {}) {
  // The TypeScript types of the schema the console is written against (committed; regenerated when it changed).
  const { writeConsoleTypes } = await import('./console-types.mjs');
  writeConsoleTypes();
  const started = newestInput();
  let vite;
  try {
    vite = await import('vite');
  } catch {
    console.warn('plantgraph: vite is not installed (npm ci --omit=dev?); the operator console at / is not built');
    return false;
  }
  // Built next to console/dist and swapped in, so a server reading console/dist never sees a half-written build.
  const out = path.join(CONSOLE_DIR, `.dist-${process.pid}`);
  await vite.build({
    root: CONSOLE_DIR,
    configFile: false,
    base: '/',
    logLevel: quiet ? 'warn' : 'info',
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
    build: {
      outDir: out,
      emptyOutDir: true,
      assetsDir: 'assets',
      target: 'es2022',
      sourcemap: false,
      // Everything is a file under assets/ (no data: URLs the page's CSP would have to allow).
      assetsInlineLimit: 0,
      reportCompressedSize: !quiet,
    },
  });
  const stamp = path.join(out, '.built');
  fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
  fs.utimesSync(stamp, started / 1000, started / 1000);
  fs.rmSync(CONSOLE_DIST, { recursive: true, force: true });
  try {
    fs.renameSync(out, CONSOLE_DIST);
  } catch (err) {
    // Another build swapped its own in meanwhile (same inputs): keep that one.
    fs.rmSync(out, { recursive: true, force: true });
    if (!fs.existsSync(CONSOLE_DIST)) throw err;
  }
  return true;
}

/** Builds the console when it is missing or stale. */
export async function ensureConsole(opts) {
  if (consoleStale()) await buildConsole(opts);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildConsole();
