// `npm start`: runs the compiled server from dist/, compiling src/ first when it changed since the last build.
import module from 'node:module';
import { build, isStale } from './build.mjs';

// Node 22.1 and later keep compiled code between starts (a no-op on Node 20, which lacks it).
module.enableCompileCache?.();

if (isStale()) {
  console.log('plantgraph: compiling src/ (it changed since the last build)');
  await build();
}
const { consoleStale, buildConsole } = await import('./build-console.mjs');
if (consoleStale()) {
  console.log('plantgraph: building the operator console (console/ changed since the last build)');
  await buildConsole({ quiet: true });
}
await import('../dist/main.js');
