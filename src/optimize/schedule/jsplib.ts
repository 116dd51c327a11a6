/**
 * Parsers for the two standard benchmark text formats, into a ScheduleProblem (machines `M0`.., jobs `J0`..).
 *
 * Job shop (JSPLIB / OR-Library): lines starting with `#` are comments; the first data line is `n m` (jobs,
 * machines); then n lines, each with m pairs `machine duration` in routing order, machines 0-based.
 *
 * Flexible job shop ("Brandimarte" format, also used by the Hurink and Dauzère-Pérès sets): the first line is
 * `n m [average machines per operation]`; then one line per job: the number of operations, then per operation the
 * number k of eligible machines followed by k pairs `machine duration`, machines 1-based (`M0` is machine 1). Blank
 * lines are ignored.
 */
import type { ScheduleProblem } from './problem.ts';
import type { PlantImport } from '../../twin/import.ts';

function numbers(line: string, what: string): number[] {
  const out = line.trim().split(/\s+/).map(Number);
  if (out.some((x) => !Number.isFinite(x))) throw new Error(`${what}: not a list of numbers: ${JSON.stringify(line.slice(0, 80))}`);
  return out;
}

function dataLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Parses the standard job-shop format. */
export function parseJobShop(text: string): ScheduleProblem {
  const lines = dataLines(text);
  if (lines.length === 0) throw new Error('job shop: empty input');
  const [n, m] = numbers(lines[0], 'job shop header');
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m < 1) throw new Error(`job shop: bad header ${JSON.stringify(lines[0])}`);
  if (lines.length < n + 1) throw new Error(`job shop: ${n} jobs announced, ${lines.length - 1} lines found`);
  const machines = Array.from({ length: m }, (_, i) => ({ id: `M${i}` }));
  const jobs = Array.from({ length: n }, (_, j) => {
    const row = numbers(lines[j + 1], `job shop job ${j}`);
    if (row.length !== 2 * m) throw new Error(`job shop: job ${j} has ${row.length} numbers, expected ${2 * m}`);
    const operations = [];
    for (let k = 0; k < m; k++) {
      const machine = row[2 * k];
      if (!Number.isInteger(machine) || machine < 0 || machine >= m) throw new Error(`job shop: job ${j} operation ${k}: bad machine ${machine}`);
      operations.push({ options: [{ machine: `M${machine}`, duration: row[2 * k + 1] }] });
    }
    return { id: `J${j}`, operations };
  });
  return { machines, jobs };
}

/** Parses the flexible job-shop (Brandimarte) format. */
export function parseFlexibleJobShop(text: string): ScheduleProblem {
  const lines = dataLines(text);
  if (lines.length === 0) throw new Error('flexible job shop: empty input');
  const [n, m] = numbers(lines[0], 'flexible job shop header');
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m < 1) throw new Error(`flexible job shop: bad header ${JSON.stringify(lines[0])}`);
  if (lines.length < n + 1) throw new Error(`flexible job shop: ${n} jobs announced, ${lines.length - 1} lines found`);
  const machines = Array.from({ length: m }, (_, i) => ({ id: `M${i}` }));
  const jobs = Array.from({ length: n }, (_, j) => {
    const row = numbers(lines[j + 1], `flexible job shop job ${j}`);
    let at = 0;
    const take = () => {
      if (at >= row.length) throw new Error(`flexible job shop: job ${j}: line ends early`);
      return row[at++];
    };
    const count = take();
    const operations = [];
    for (let k = 0; k < count; k++) {
      const options = [];
      const eligible = take();
      for (let e = 0; e < eligible; e++) {
        const machine = take();
        const duration = take();
        if (!Number.isInteger(machine) || machine < 1 || machine > m) throw new Error(`flexible job shop: job ${j} operation ${k}: bad machine ${machine}`);
        options.push({ machine: `M${machine - 1}`, duration });
      }
      operations.push({ options });
    }
    if (at !== row.length) throw new Error(`flexible job shop: job ${j}: ${row.length - at} numbers left over`);
    return { id: `J${j}`, operations };
  });
  return { machines, jobs };
}

/**
 * A scheduling problem as a plant document for importPlant (JSPLIB instances through the API): one line with the
 * machines, one product per job whose routing lists its operations (eligible machines with their own minutes per
 * unit when they differ), and one order of quantity 1 per job, released at `start`, due `dueMinutes` after it.
 */
export function problemToPlantImport(problem: ScheduleProblem, name: string, start: Date, dueMinutes = 10 * 365 * 24 * 60): PlantImport {
  return {
    name,
    planningHorizonHours: 8_784,
    lines: [{ name: 'shop', machines: problem.machines.map((m) => ({ name: m.id })) }],
    products: problem.jobs.map((j) => ({
      name: j.id,
      routing: j.operations.map((op) => {
        const base = op.options[0];
        return {
          machines: op.options.map((o) => o.machine),
          minutesPerUnit: base.duration,
          setupMinutes: base.setup ?? 0,
          machineTimes: op.options
            .slice(1)
            .filter((o) => o.duration !== base.duration || (o.setup ?? 0) !== (base.setup ?? 0))
            .map((o) => ({ machine: o.machine, minutesPerUnit: o.duration, setupMinutes: o.setup ?? 0 })),
        };
      }),
    })),
    orders: problem.jobs.map((j) => ({
      code: j.id,
      product: j.id,
      quantity: 1,
      releaseAt: new Date(start.getTime() + (j.release ?? 0) * 60_000),
      dueAt: new Date(start.getTime() + (j.due ?? dueMinutes) * 60_000),
    })),
  };
}
