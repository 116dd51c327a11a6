import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * How a test process runs the server: `source` runs src/main.ts through tsx (what the suite tests); `compiled` runs
 * `npm start`'s entry, scripts/start.mjs, which runs dist/ (compiled at install, rebuilt when src/ changed).
 */
export type Entry = 'source' | 'compiled';

function serverArgv(entry: Entry): string[] {
  const extra = process.env.TEST_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return entry === 'compiled' ? [process.execPath, ...extra, 'scripts/start.mjs'] : [process.execPath, ...extra, '--import', 'tsx', 'src/main.ts'];
}

/** The start-up lines that say where the server listens (pretty format); group 1 is its base URL. */
const LISTENING = /listening on (http:\/\/\S+)\/graphql[\s\S]*metrics: /;

/** Starts the server as a real process and waits for the output that says where it listens (`ready`, group 1: the URL). */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 120_000, entry: Entry = 'source', ready = LISTENING): Promise<ServerProcess> {
  const [node, ...args] = serverArgv(entry);
  const child = spawn(node, args, {
    cwd: root,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A server that starts late must not outlive the test that gave up on it.
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

export interface FinishedProcess {
  code: number | null;
  output: string;
  /** From spawn to exit. */
  ms: number;
}

/**
 * Runs `src/main.ts` to its exit (a start that is expected to fail), killing it after `timeoutMs`. `uid`/`gid` run it
 * as another user; `withoutCapabilities` as this user without capabilities (a root test process uses it to meet real
 * file permissions: another user may not be able to read the checkout).
 */
export async function runServerProcess(
  env: Record<string, string>,
  opts: { timeoutMs?: number; uid?: number; gid?: number; withoutCapabilities?: boolean; entry?: Entry } = {},
): Promise<FinishedProcess> {
  const started = performance.now();
  const node = serverArgv(opts.entry ?? 'source');
  // util-linux setpriv: the same user without any capability (root then meets file permissions like anyone else).
  const argv = opts.withoutCapabilities ? ['/usr/bin/setpriv', '--inh-caps=-all', '--bounding-set=-all', '--', ...node] : node;
  const child = spawn(argv[0], argv.slice(1), {
    cwd: root,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: opts.uid,
    gid: opts.gid,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output: out, ms: Math.round(performance.now() - started) };
}
