/**
 * Schedules as a service: `optimizeSchedule` queues a job that reads the plant's problem through the TwinSnapshot
 * (from-twin.ts), solves it in a worker thread (progress: the best objective so far), checks the answer with the
 * independent checker again in this thread, explains it (bottlenecks, late orders) and stores it in one transaction.
 * A schedule becomes the plant's current one when asked to (`activate`) or when the plant has none;
 * `activateSchedule` switches it later. Whenever the current schedule changes, ORDER_LATE rules are evaluated.
 */
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import { canSeePlant, type PlantScope } from '../core/scope.ts';
import type { Database, Queryable } from '../db/client.ts';
import { intArray } from '../db/arrays.ts';
import type { AlertService } from '../alerts/service.ts';
import type { JobService } from '../jobs/service.ts';
import type { PredictionService } from '../predict/service.ts';
import { liveTwin, type TwinSnapshot } from '../twin/snapshot.ts';
import type { JobContext } from '../jobs/definition.ts';
import {
  checkSchedule,
  compileProblem,
  ScheduleCheckError,
  type ScheduleObjective,
  type ScheduleProblem,
  type SolveOptions,
  type SolveResult,
} from './schedule/index.ts';
import { explainSchedule } from './schedule/explain.ts';
import { type OperationPin, type StartedOperation, type TwinProblemIndex, twinScheduleProblem } from './schedule/from-twin.ts';
import { SCHEDULE_WORKER, type ScheduleTask } from './schedule/task.ts';

export const SCHEDULE_JOB = 'optimize-schedule';

export const SCHEDULE_LIMITS = { maxSeconds: 600, defaultSeconds: 10, maxRepairMinutes: 7 * 24 * 60, maxOperations: 100_000 } as const;

export interface ScheduleJobParams {
  plantId: number;
  objective: ScheduleObjective;
  timeLimitSeconds: number;
  seed: number;
  /** ISO time zero of the plan (default: when the job runs). */
  start: string | null;
  repairMinutes: number | null;
  activate: boolean;
  maxIterations: number | null;
  risk: { threshold: number; mode: 'AVOID' | 'DERATE'; byMachine: Record<string, number> } | null;
  /**
   * Plan stability: charge `penalty` objective units (default: the mean operation length) per operation moved or
   * moved to another machine against the plant's current schedule. null: a plain re-plan.
   */
  stability?: { penalty: number | null } | null;
}

/** Where a run's schedule goes: the live plan (may become current), or a scenario's (never current). */
export interface ScheduleTarget {
  twin: TwinSnapshot;
  scenarioId: number | null;
  /** Stored with the schedule's options (a scenario's revision). */
  extraOptions?: Record<string, unknown>;
}

export interface ScheduleJobResult {
  scheduleId: number;
  status: string;
  objectiveValue: number;
  makespanMinutes: number;
  lowerBound: number;
  gap: number;
  operations: number;
  current: boolean;
  /** Against the current schedule, with `stability`. */
  changes?: { moved: number; reassigned: number; changed: number };
}

export interface ScheduleServiceDeps {
  database: Database;
  alerts: AlertService;
}

/** Checks the parameters (ValidationError with `input.` paths). */
export function checkScheduleParams(p: ScheduleJobParams): void {
  const problems: { path: string; message: string }[] = [];
  if (!(p.timeLimitSeconds >= 0 && p.timeLimitSeconds <= SCHEDULE_LIMITS.maxSeconds))
    problems.push({ path: 'input.timeLimitSeconds', message: `must be from 0 to ${SCHEDULE_LIMITS.maxSeconds} seconds` });
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 2 ** 31 - 1)
    problems.push({ path: 'input.seed', message: 'must be a whole number from 0 to 2147483647' });
  if (p.repairMinutes !== null && !(p.repairMinutes >= 0 && p.repairMinutes <= SCHEDULE_LIMITS.maxRepairMinutes))
    problems.push({ path: 'input.repairMinutes', message: `must be from 0 to ${SCHEDULE_LIMITS.maxRepairMinutes} minutes` });
  if (p.maxIterations !== null && !(Number.isInteger(p.maxIterations) && p.maxIterations >= 0 && p.maxIterations <= 100_000_000))
    problems.push({ path: 'input.maxIterations', message: 'must be a whole number from 0 to 100,000,000' });
  if (p.start !== null && Number.isNaN(Date.parse(p.start))) problems.push({ path: 'input.start', message: 'must be a valid date-time' });
  if (p.risk && !(p.risk.threshold >= 0 && p.risk.threshold <= 1)) problems.push({ path: 'input.risk.threshold', message: 'must be from 0 to 1' });
  const penalty = p.stability?.penalty;
  if (penalty != null && !(penalty >= 0 && penalty <= 1e6)) problems.push({ path: 'input.changePenaltyMinutes', message: 'must be from 0 to 1,000,000' });
  if (problems.length) throw new ValidationError(problems);
}

/** The operations of the plant's current schedule that had started before `start`, and the planner's pins. */
async function planState(q: Queryable, plantId: number, start: Date): Promise<{ started: StartedOperation[]; pins: OperationPin[] }> {
  const started = await q.query<{ order_id: number; step_index: number; machine_id: number; starts_at: Date }>(
    `select so.order_id, so.step_index, so.machine_id, so.starts_at from scheduled_operations so
     join schedules s on s.id = so.schedule_id where s.plant_id = $1 and s.is_current and so.starts_at < $2`,
    [plantId, start.toISOString()],
  );
  const pins = await q.query<{ order_id: number; step_index: number; machine_id: number | null; starts_at: Date | null }>(
    'select order_id, step_index, machine_id, starts_at from operation_pins where plant_id = $1',
    [plantId],
  );
  return {
    started: started.map((r) => ({ orderId: r.order_id, stepIndex: r.step_index, machineId: r.machine_id, startsAt: new Date(r.starts_at) })),
    pins: pins.map((r) => ({ orderId: r.order_id, stepIndex: r.step_index, machineId: r.machine_id, startsAt: r.starts_at ? new Date(r.starts_at) : null })),
  };
}

/** The problem a run would solve (throws InfeasibleProblemError when it cannot be scheduled at all). */
export async function prepareSchedule(database: Database, p: ScheduleJobParams, start: Date, twin: TwinSnapshot = liveTwin(database)) {
  const state = await planState(database, p.plantId, start);
  const built = await twinScheduleProblem(twin, p.plantId, {
    start,
    repairMinutes: p.repairMinutes ?? undefined,
    started: state.started,
    pins: state.pins,
    risk: p.risk
      ? { threshold: p.risk.threshold, mode: p.risk.mode, byMachine: new Map(Object.entries(p.risk.byMachine).map(([k, v]) => [Number(k), v])) }
      : undefined,
  });
  const operations = built.problem.jobs.reduce((n, j) => n + j.operations.length, 0);
  if (operations > SCHEDULE_LIMITS.maxOperations)
    throw ValidationError.single(
      'input.plantId',
      `the plant has ${operations} open operations; at most ${SCHEDULE_LIMITS.maxOperations} are scheduled at once`,
    );
  // Contradictory fixed or pinned operations (a pinned start inside a window, two pins overlapping): InfeasibleProblemError.
  compileProblem(built.problem);
  return built;
}

const at = (start: Date, minutes: number) => new Date(start.getTime() + minutes * 60_000);

/** Stores a checked schedule; returns its ID. */
async function storeSchedule(
  q: Queryable,
  p: ScheduleJobParams,
  target: ScheduleTarget,
  jobId: number | null,
  createdBy: string,
  index: TwinProblemIndex,
  result: SolveResult,
  explained: ReturnType<typeof explainSchedule>,
): Promise<number> {
  const { start } = index;
  const kpis = {
    makespanMinutes: result.kpis.makespan,
    totalTardinessMinutes: result.kpis.totalTardiness,
    weightedTardinessMinutes: result.kpis.weightedTardiness,
    onTimeRate: result.kpis.onTimeRate,
    lateOrders: explained.explanation.lateOrders.length,
    utilization: result.kpis.utilization,
  };
  const [row] = await q.query<{ id: number }>(
    `insert into schedules (plant_id, scenario_id, job_id, status, objective, starts_at, horizon_ends_at, makespan_minutes, objective_value, lower_bound, gap,
       solve_seconds, solver, seed, time_limit_seconds, iterations, options, kpis, bottlenecks, explanation, created_by)
     values ($1, $21, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) returning id`,
    [
      p.plantId,
      jobId,
      result.status,
      result.objective,
      start.toISOString(),
      index.horizonEnd.toISOString(),
      result.makespan,
      result.objectiveValue,
      result.lowerBound,
      result.gap,
      result.seconds,
      `tabu search${result.stoppedBy === 'CONSTRUCTIVE' ? ' (constructive only)' : ''}`,
      p.seed,
      p.timeLimitSeconds,
      result.iterations,
      JSON.stringify({
        repairMinutes: p.repairMinutes,
        risk: p.risk,
        maxIterations: p.maxIterations,
        skipped: index.skipped,
        stoppedBy: result.stoppedBy,
        stability: p.stability ?? null,
        changes: result.changes ?? null,
        ...target.extraOptions,
      }),
      JSON.stringify(kpis),
      JSON.stringify(explained.bottlenecks),
      JSON.stringify(explained.explanation),
      createdBy,
      target.scenarioId,
    ],
  );
  const id = Number(row.id);
  const ops = result.operations;
  for (let i = 0; i < ops.length; i += 5_000) {
    const part = ops.slice(i, i + 5_000);
    await q.query(
      `insert into scheduled_operations (schedule_id, order_id, scenario_order_id, step_index, machine_id, starts_at, ends_at, setup_minutes, origin)
       select $1, case when o > 0 then o end, case when o < 0 then -o end, s, m, to_timestamp(b / 1000.0), to_timestamp(e / 1000.0), su, nullif(og, '') from
       unnest($2::text::int[], $3::text::int[], $4::text::int[], $5::text::float8[], $6::text::float8[], $7::text::float8[], $8::text::text[]) as u(o, s, m, b, e, su, og)`,
      [
        id,
        intArray(part.map((o) => Number(o.job))),
        intArray(part.map((o) => index.steps.get(o.job)![o.index])),
        intArray(part.map((o) => Number(o.machine))),
        `{${part.map((o) => at(start, o.start).getTime()).join(',')}}`,
        `{${part.map((o) => at(start, o.end).getTime()).join(',')}}`,
        `{${part.map((o) => index.setups.get(`${o.job}#${index.steps.get(o.job)![o.index]}@${o.machine}`) ?? 0).join(',')}}`,
        `{${part.map((o) => (index.fixed.has(`${o.job}#${o.index}`) ? 'FIXED' : index.pinned.has(`${o.job}#${o.index}`) ? 'PINNED' : '""')).join(',')}}`,
      ],
    );
  }
  return id;
}

/** Makes `scheduleId` its plant's current schedule in `q` (a transaction) and evaluates ORDER_LATE rules. */
async function makeCurrent(q: Queryable, alerts: AlertService, plantId: number, scheduleId: number): Promise<() => Promise<void>> {
  await q.query('update schedules set is_current = false where plant_id = $1 and is_current and id <> $2', [plantId, scheduleId]);
  await q.query('update schedules set is_current = true, activated_at = now() where id = $1', [scheduleId]);
  const late = await q.query<{ order_id: number; code: string; planned_end: Date; minutes_late: number }>(
    `select o.id as order_id, o.code, max(so.ends_at) as planned_end, extract(epoch from (max(so.ends_at) - o.due_at)) / 60 as minutes_late
     from scheduled_operations so join orders o on o.id = so.order_id where so.schedule_id = $1
     group by o.id, o.code, o.due_at having max(so.ends_at) > o.due_at order by o.id`,
    [scheduleId],
  );
  return alerts.evaluateOrderLateness(
    q,
    plantId,
    late.map((r) => ({ orderId: Number(r.order_id), code: r.code, minutesLate: Number(r.minutes_late), plannedEnd: new Date(r.planned_end) })),
  );
}

export class ScheduleService {
  constructor(private readonly deps: ScheduleServiceDeps) {}

  /** Registers the job kind (every process that runs jobs does this). */
  register(jobs: JobService): void {
    jobs.register<ScheduleJobParams, ScheduleJobResult>(SCHEDULE_JOB, {
      role: 'PLANNER',
      run: (ctx) => this.run(ctx, { twin: liveTwin(this.deps.database), scenarioId: null }),
    });
  }

  /**
   * One scheduling run inside a job: reads the problem through `target.twin`, solves it in a worker thread, checks
   * it again here, and stores it (a scenario's schedule is never current). Scenario jobs call this with the overlay.
   */
  async run(ctx: JobContext<ScheduleJobParams>, target: ScheduleTarget): Promise<ScheduleJobResult> {
    const p = ctx.params;
    const start = p.start ? new Date(p.start) : new Date();
    ctx.progress(0, 'reading the plant');
    const { problem, index } = await prepareSchedule(this.deps.database, p, start, target.twin);
    const reference = p.stability ? await stabilityReference(this.deps.database, p.plantId, index, problem, p.stability.penalty) : undefined;
    ctx.signal.throwIfAborted();
    const task: ScheduleTask = {
      problem,
      options: {
        objective: p.objective,
        timeLimitSeconds: p.timeLimitSeconds,
        seed: p.seed,
        maxIterations: p.maxIterations ?? undefined,
        mipProofSeconds: reference ? 0 : 5,
        reference,
      },
    };
    ctx.progress(0.01, `scheduling ${problem.jobs.length} orders on ${problem.machines.length} machines`);
    const result = await ctx.pool.runInWorker<SolveResult>(SCHEDULE_WORKER, task, {
      signal: ctx.signal,
      onProgress: (fraction, message) => {
        const m = message ? (JSON.parse(message) as { best: number; iterations: number }) : null;
        ctx.progress(
          fraction,
          m ? `best ${p.objective === 'MAKESPAN' ? 'makespan' : 'weighted tardiness'} ${round(m.best)} min after ${m.iterations} iterations` : undefined,
        );
      },
    });
    // The independent checker again, in this thread, on what is about to be stored.
    const check = checkSchedule(problem, result.operations);
    if (check.violations.length > 0) throw new ScheduleCheckError(check.violations);
    const explained = explainSchedule(problem, result.operations);
    ctx.progress(0.97, 'storing the schedule');
    const { id, current, publish } = await this.deps.database.transaction(async (tx) => {
      const id = await storeSchedule(tx, p, target, ctx.job.id, ctx.job.createdBy, index, result, explained);
      if (target.scenarioId !== null) return { id, current: false, publish: async () => {} };
      const [{ n }] = await tx.query<{ n: number }>('select count(*)::int as n from schedules where plant_id = $1 and is_current', [p.plantId]);
      const current = p.activate || Number(n) === 0;
      const publish = current ? await makeCurrent(tx, this.deps.alerts, p.plantId, id) : async () => {};
      return { id, current, publish };
    });
    await publish();
    return {
      scheduleId: id,
      status: result.status,
      objectiveValue: result.objectiveValue,
      makespanMinutes: result.makespan,
      lowerBound: result.lowerBound,
      gap: result.gap,
      operations: result.operations.length,
      current,
      ...(result.changes ? { changes: result.changes } : {}),
    };
  }

  /**
   * Copies a scenario's schedule into the live plan inside `tx` (promoteScenario) and makes the copy current. Orders
   * the scenario added are mapped to the live orders promote created (`addedOrders`: change ID → order ID).
   */
  async adopt(
    tx: Queryable,
    scheduleId: number,
    addedOrders: ReadonlyMap<number, number>,
    createdBy: string,
  ): Promise<{ id: number; publish: () => Promise<void> }> {
    const [row] = await tx.query<{ id: number; plant_id: number }>(
      `insert into schedules (plant_id, scenario_id, job_id, status, objective, starts_at, horizon_ends_at, makespan_minutes, objective_value, lower_bound, gap,
         solve_seconds, solver, seed, time_limit_seconds, iterations, options, kpis, bottlenecks, explanation, created_by)
       select plant_id, null, job_id, status, objective, starts_at, horizon_ends_at, makespan_minutes, objective_value, lower_bound, gap,
         solve_seconds, solver, seed, time_limit_seconds, iterations, options || jsonb_build_object('promotedFrom', id, 'scenarioId', scenario_id), kpis, bottlenecks, explanation, $2
       from schedules where id = $1 returning id, plant_id`,
      [scheduleId, createdBy],
    );
    const id = Number(row.id);
    await tx.query(
      `insert into scheduled_operations (schedule_id, order_id, scenario_order_id, step_index, machine_id, starts_at, ends_at, setup_minutes, origin)
       select $2, coalesce(so.order_id, m.order_id), null, so.step_index, so.machine_id, so.starts_at, so.ends_at, so.setup_minutes, so.origin
       from scheduled_operations so left join unnest($3::text::int[], $4::text::int[]) as m(change_id, order_id) on m.change_id = so.scenario_order_id
       where so.schedule_id = $1`,
      [scheduleId, id, intArray([...addedOrders.keys()]), intArray([...addedOrders.values()])],
    );
    return { id, publish: await makeCurrent(tx, this.deps.alerts, Number(row.plant_id), id) };
  }

  /** Makes a stored schedule its plant's current one (PLANNER). NotFoundError when unknown or not visible. */
  async activate(scope: PlantScope, scheduleId: number, shownId: string): Promise<{ id: number; plantId: number }> {
    const { plantId, publish } = await this.deps.database.transaction(async (tx) => {
      const [row] = await tx.query<{ plant_id: number; is_current: boolean }>('select plant_id, is_current from schedules where id = $1 for update', [
        scheduleId,
      ]);
      if (!row || !canSeePlant(scope, Number(row.plant_id))) throw new NotFoundError('Schedule', shownId);
      const plantId = Number(row.plant_id);
      if (row.is_current) throw new ConflictError(`Schedule ${shownId} is already the plant's current schedule.`);
      return { plantId, publish: await makeCurrent(tx, this.deps.alerts, plantId, scheduleId) };
    });
    await publish();
    return { id: scheduleId, plantId };
  }
}

/**
 * Failure risk per machine of a plant for risk-aware planning: the named model (visible to `scope`) scored on each
 * machine's live features. Machines it cannot score are left out (planned as usual). Throws for an unknown model.
 */
export async function machineRisks(
  predictions: PredictionService,
  database: Database,
  scope: PlantScope,
  plantId: number,
  modelName: string,
): Promise<Record<string, number>> {
  const model = await predictions.resolve(modelName);
  if (model.plantId !== null && !canSeePlant(scope, model.plantId)) throw new NotFoundError('Model', modelName);
  const machines = await liveTwin(database).machines({ plantIds: [plantId] });
  const scored = await predictions.machines.predict(
    model,
    machines.map((m) => m.id),
  );
  const out: Record<string, number> = {};
  for (const s of scored) if (s.ok && typeof s.row.value === 'number' && Number.isFinite(s.row.value)) out[String(s.machineId)] = s.row.value;
  return out;
}

const round = (x: number) => Math.round(x * 100) / 100;

/**
 * The plant's current schedule as the reference of a stability run: each operation of it that is still in the
 * problem, with its machine and start in minutes from the new start. The default penalty per changed operation is
 * the mean operation length of the problem (moving one costs about as much as running one).
 */
async function stabilityReference(
  q: Queryable,
  plantId: number,
  index: TwinProblemIndex,
  problem: ScheduleProblem,
  penalty: number | null,
): Promise<NonNullable<SolveOptions['reference']>> {
  const rows = await q.query<{ order_id: number; step_index: number; machine_id: number; starts_at: Date }>(
    `select so.order_id, so.step_index, so.machine_id, so.starts_at from scheduled_operations so
     join schedules s on s.id = so.schedule_id where s.plant_id = $1 and s.is_current and so.order_id is not null`,
    [plantId],
  );
  const operations: NonNullable<SolveOptions['reference']>['operations'][number][] = [];
  for (const r of rows) {
    const job = String(r.order_id);
    const i = index.steps.get(job)?.indexOf(r.step_index) ?? -1;
    if (i < 0) continue;
    operations.push({ job, index: i, machine: String(r.machine_id), start: (new Date(r.starts_at).getTime() - index.start.getTime()) / 60_000 });
  }
  let total = 0;
  let n = 0;
  for (const j of problem.jobs)
    for (const o of j.operations) {
      total += o.options.reduce((a, x) => a + x.duration + (x.setup ?? 0), 0) / Math.max(1, o.options.length);
      n++;
    }
  return { operations, penalty: penalty ?? (n > 0 ? total / n : 1) };
}
