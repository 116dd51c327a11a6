// Bundles src/ into dist/ (JavaScript ES modules, source maps) with esbuild so `npm start` neither compiles
// TypeScript nor resolves hundreds of module files at every start: a restart loads a handful of files. Run by
// `npm install` (prepare) and by scripts/start.mjs when src/ changed since the last build. Types are checked by
// `npm run typecheck`, not here (the build only strips them).
//
// Entry points: src/main.ts and every worker module (src/**/*-worker.ts), each at the top of dist/ under its own
// name, so workerFile(import.meta.url, './x-worker') finds dist/x-worker.js from any chunk. Dynamic imports stay
// separate chunks (they load when first needed, as under tsx). Packages with native code, WebAssembly, worker
// files or their own module loading stay outside the bundle and load from node_modules.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STAMP = path.join(root, 'dist', '.built');

/** Loaded from node_modules at run time, not bundled (see the module comment). */
export const EXTERNAL = [
  '@electric-sql/pglite',
  'onnxruntime-node',
  'onnx-proto',
  'protobufjs',
  'piscina',
  'pino',
  'mqtt',
  'jose',
  'highs',
  'javascript-lp-solver',
  'pg-native',
  'pg-copy-streams',
  'tsx',
];

/** The newest modification time of the build's inputs (src/, this script, the lock file), in ms. */
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
  for (const f of ['tsconfig.json', 'package-lock.json', 'scripts/build.mjs']) {
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

/** src/main.ts and the worker modules, by output name (see the module comment). */
export function entryPoints() {
  const entries = { main: path.join(root, 'src', 'main.ts') };
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('-worker.ts')) {
        const name = entry.name.slice(0, -'.ts'.length);
        if (entries[name]) throw new Error(`two worker modules are named ${name}.ts (${entries[name]}, ${file}): worker names must be unique`);
        entries[name] = file;
      }
    }
  };
  walk(path.join(root, 'src'));
  return entries;
}

export async function build() {
  const started = newestInput();
  const { build: esbuild } = await import('esbuild');
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  try {
    await esbuild({
      absWorkingDir: root,
      entryPoints: entryPoints(),
      outdir: path.join(root, 'dist'),
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: true,
      external: EXTERNAL,
      // Bundled CommonJS code calls require() for Node's own modules.
      banner: { js: "import { createRequire as __plantgraphRequire } from 'node:module'; const require = __plantgraphRequire(import.meta.url);" },
      logLevel: 'warning',
    });
  } catch {
    console.error('plantgraph: bundling src/ failed (see above)');
    process.exit(1);
  }
  // The stamp carries the inputs' time as seen before building: a file edited during the build makes the next start rebuild.
  fs.writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  fs.utimesSync(STAMP, started / 1000, started / 1000);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await build();
  // The operator console (console/ into console/dist), served at /.
  const { buildConsole } = await import('./build-console.mjs');
  await buildConsole();
}
