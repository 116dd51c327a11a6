import fs from 'node:fs';
import path from 'node:path';

/** A start-up failure that is the user's to fix, said in one line (no stack trace). */
export class StartupError extends Error {}

/** The lock file inside a PGlite data directory: the PID of the one process that uses the directory. */
export const LOCK_FILE = 'plantgraph.lock';

export interface DirLock {
  readonly file: string;
  release(): void;
}

function describe(err: NodeJS.ErrnoException, dir: string): StartupError | NodeJS.ErrnoException {
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return new StartupError(`cannot use the data directory ${dir}: permission denied (set PLANTGRAPH_DATA_DIR or fix its permissions)`);
    case 'EROFS':
      return new StartupError(`cannot use the data directory ${dir}: read-only file system (set PLANTGRAPH_DATA_DIR)`);
    case 'ENOTDIR':
    case 'EEXIST':
      return new StartupError(`cannot use the data directory ${dir}: it or one of its parents is not a directory (set PLANTGRAPH_DATA_DIR)`);
    case 'ENOSPC':
      return new StartupError(`cannot use the data directory ${dir}: no space left on the device`);
    default:
      return err;
  }
}

/** True when a process with this PID exists (EPERM: it exists but belongs to another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | null {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/**
 * Takes the data directory for this process: creates it if needed, checks that it is writable, and creates the lock
 * file exclusively with this PID. A lock held by a live process refuses the start (StartupError naming the directory
 * and the PID); a lock left by a dead process (or an empty/garbled one) is taken over. The lock is released on
 * release() and, should the process exit without it, on 'exit'.
 */
export function lockDataDir(dir: string): DirLock {
  const abs = path.resolve(dir);
  try {
    fs.mkdirSync(abs, { recursive: true });
    if (!fs.statSync(abs).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    fs.accessSync(abs, fs.constants.W_OK | fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    throw describe(err as NodeJS.ErrnoException, abs);
  }
  const file = path.join(abs, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
      try {
        fs.writeSync(fd, `${process.pid}\n`);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'EEXIST') throw describe(e, abs);
      const holder = readPid(file);
      if (holder !== null && holder !== process.pid && alive(holder))
        throw new StartupError(
          `the data directory ${abs} is in use by another PlantGraph process (PID ${holder}); stop it, or set PLANTGRAPH_DATA_DIR to another directory (if no process ${holder} is PlantGraph, delete ${file})`,
        );
      // A writer may be between creating the file and writing its PID: look again before calling it stale.
      if (holder === null && attempt === 0) {
        const until = Date.now() + 200;
        while (Date.now() < until && readPid(file) === null) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        if (readPid(file) !== null) continue;
      }
      if (attempt >= 3) throw new StartupError(`could not take the lock ${file}: another process keeps replacing it`);
      // Stale: its owner is dead. Remove it and try again (an exclusive create decides between two takers).
      fs.rmSync(file, { force: true });
    }
  }
  const onExit = () => release();
  let released = false;
  function release(): void {
    if (released) return;
    released = true;
    process.off('exit', onExit);
    if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
  }
  process.on('exit', onExit);
  return { file, release };
}
