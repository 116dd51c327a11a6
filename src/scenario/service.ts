/**
 * What-if scenarios as a service: create a copy-on-write branch of a plant's twin (one row; nothing is copied), add
 * and remove validated changes, re-plan it with the scheduler as a job (optionally minimising changes against the
 * live plan), compare it with the live plan or another scenario, and promote it (its changes and its schedule land
 * on the live plant in one transaction, refused with a ConflictError when the live twin changed under what the
 * scenario changed or planned) or discard it. Alarm-triggered re-planning: a MACHINE_STATE rule with `replan` opens
 * and runs a scenario when a machine goes DOWN. Every event goes out on `scenarioUpdates(plantId)`.
 */
import { ConflictError, echo, NotFoundError, Problems, ValidationError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import { encodeId } from '../core/ids.ts';
import { ALL_PLANTS, canSeePlant, type PlantScope } from '../core/scope.ts';
import { checkName } from '../core/validate.ts';
import type { Database, Queryable } from '../db/client.ts';
import { intArray } from '../db/arrays.ts';
import type { AlertService } from '../alerts/service.ts';
import type { EventHub } from '../events/hub.ts';
import type { JobContext } from '../jobs/definition.ts';
import type { JobService } from '../jobs/service.ts';
import type { Logger } from '../logger.ts';
import {
  checkScheduleParams,
  prepareSchedule,
  type ScheduleJobParams,
  type ScheduleJobResult,
  SCHEDULE_LIMITS,
  type ScheduleService,
} from '../optimize/schedules.ts';
import type { PubSub } from '../pubsub/index.ts';
import { DEFAULT_REPAIR_MINUTES } from '../optimize/schedule/from-twin.ts';
import { machineKpis } from '../telemetry/kpis.ts';
import type { MachineStateChange } from '../telemetry/events.ts';
import { basisNames, describeBasisKey, planVersion, type TwinBasis, twinBasis } from '../twin/digest.ts';
import { applyChanges } from '../twin/apply-scenario.ts';
import { addedOrderId, type ScenarioChange, scenarioChanges, scenarioTwin } from '../twin/overlay.ts';
import { liveTwin, type TwinSnapshot } from '../twin/snapshot.ts';
import { CHANGE_FIELD, checkChange, SCENARIO_LIMITS, type ScenarioChangeInput } from './changes.ts';
import { comparePlans, loadPlans, planOrders, type PlanComparison } from './compare.ts';
import { type ScenarioEvent, scenarioUpdatesTopic } from './topics.ts';

export const SCENARIO_JOB = 'run-scenario';

export interface ScenarioServiceDeps {
  database: Database;
  jobs: JobService;
  schedules: ScheduleService;
  alerts: AlertService;
  events: EventHub;
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
}

export interface ScenarioRow {
  id: number;
  plantId: number;
  name: string;
  status: 'OPEN' | 'PROMOTED' | 'DISCARDED';
  revision: number;
  baseVersion: number;
  basis: TwinBasis;
  origin: unknown;
}

export interface ScenarioJobParams extends ScheduleJobParams {
  scenarioId: number;
  /** The scenario's revision the run plans (a later change makes the result stale). */
  revision: number;
}

export interface ScenarioJobResult extends ScheduleJobResult {
  scenarioId: number;
  comparison: { kpis: PlanComparison['kpis']; movedOperations: number; reassignedOperations: number; becameLate: number };
}

export interface RunScenarioInput {
  scenarioId: number;
  /** When given (optimizeSchedule with scenarioId), the scenario must be of this plant. */
  plantId?: number;
  risk?: ScheduleJobParams['risk'];
  objective?: ScheduleJobParams['objective'] | null;
  timeLimitSeconds?: number | null;
  seed?: number | null;
  start?: Date | null;
  maxIterations?: number | null;
  repairMinutes?: number | null;
  /** Plan stability: penalise operations moved or reassigned against the live schedule. */
  minimizeChanges?: boolean | null;
  changePenaltyMinutes?: number | null;
}

/** Who acts: a principal's name and key, or the server itself (alarm-triggered re-planning). */
export interface Actor extends PlantScope {
  name: string;
  keyId?: number | null;
}

const SYSTEM: Actor = { ...ALL_PLANTS, name: 'system:replan', keyId: null };
const shown = (id: number) => encodeId('Scenario', id);

async function loadScenario(q: Queryable, scope: PlantScope, id: number, lock = false): Promise<ScenarioRow> {
  const [r] = await q.query<{
    id: number;
    plant_id: number;
    name: string;
    status: ScenarioRow['status'];
    revision: number;
    base_version: number;
    basis: unknown;
    origin: unknown;
  }>(`select id, plant_id, name, status, revision, base_version, basis, origin from scenarios where id = $1${lock ? ' for update' : ''}`, [id]);
  if (!r || !canSeePlant(scope, Number(r.plant_id))) throw new NotFoundError('Scenario', shown(id));
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return {
    id: Number(r.id),
    plantId: Number(r.plant_id),
    name: r.name,
    status: r.status,
    revision: Number(r.revision),
    baseVersion: Number(r.base_version),
    basis: (json(r.basis) ?? {}) as TwinBasis,
    origin: json(r.origin),
  };
}

function requireOpen(s: ScenarioRow): void {
  if (s.status !== 'OPEN') throw new ConflictError(`scenario ${echo(s.name)} is ${s.status}; only an OPEN scenario changes, runs or is promoted`);
}

/** The newest schedule of each scenario (one statement). */
async function latestSchedules(q: Queryable, scenarioIds: readonly number[]): Promise<Map<number, { id: number; revision: number | null }>> {
  const out = new Map<number, { id: number; revision: number | null }>();
  if (scenarioIds.length === 0) return out;
  const rows = await q.query<{ scenario_id: number; id: number; revision: string | null }>(
    `select distinct on (scenario_id) scenario_id, id, options->>'scenarioRevision' as revision from schedules
     where scenario_id = any($1::text::int[]) order by scenario_id, id desc`,
    [intArray([...new Set(scenarioIds)])],
  );
  for (const r of rows) out.set(Number(r.scenario_id), { id: Number(r.id), revision: r.revision === null ? null : Number(r.revision) });
  return out;
}

export class ScenarioService {
  private unsubscribe: (() => void) | null = null;
  /** Re-planning runs started by alarms, so tests and shutdown can wait for them. */
  readonly replanning = new Set<Promise<unknown>>();

  constructor(private readonly deps: ScenarioServiceDeps) {}

  /** Registers the job kind (every process that runs jobs does this). */
  register(jobs: JobService): void {
    jobs.register<ScenarioJobParams, ScenarioJobResult>(SCENARIO_JOB, { role: 'PLANNER', run: (ctx) => this.runJob(ctx) });
  }

  /** Alarm-triggered re-planning: reacts to machine states once they are committed. */
  start(): void {
    this.unsubscribe ??= this.deps.events.afterCommitOn('machineStatesRecorded', (changes) => {
      const work = this.onStates(changes).catch((err: Error) => this.deps.logger.error({ err: err.message }, 'scenario: alarm-triggered re-planning failed'));
      this.replanning.add(work);
      void work.finally(() => this.replanning.delete(work));
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async create(actor: Actor, input: { plantId: number; name: string; origin?: unknown }, shownPlantId: string): Promise<{ id: number }> {
    const p = new Problems();
    const name = checkName(p, 'input.name', input.name);
    p.throwIfAny();
    if (!canSeePlant(actor, input.plantId)) throw new NotFoundError('Plant', shownPlantId);
    const version = await planVersion(this.deps.database, input.plantId);
    if (version === null) throw new NotFoundError('Plant', shownPlantId);
    const [row] = await this.deps.database.query<{ id: number }>(
      'insert into scenarios (plant_id, name, base_version, created_by, origin) values ($1, $2, $3, $4, $5::jsonb) returning id',
      [input.plantId, name, version, actor.name, input.origin === undefined ? null : JSON.stringify(input.origin)],
    );
    const id = Number(row.id);
    await this.publish({ scenarioId: id, plantId: input.plantId, kind: 'CREATED', name, automatic: input.origin !== undefined });
    return { id };
  }

  /** Adds one validated change; returns the scenario and the change's ID. */
  async addChange(actor: Actor, scenarioId: number, input: ScenarioChangeInput): Promise<{ scenarioId: number; changeId: number }> {
    const now = this.deps.clock.now();
    return this.deps.database.transaction(async (tx) => {
      const s = await loadScenario(tx, actor, scenarioId, true);
      requireOpen(s);
      const [{ n }] = await tx.query<{ n: number }>('select count(*)::int as n from scenario_changes where scenario_id = $1', [scenarioId]);
      if (Number(n) >= SCENARIO_LIMITS.changes) throw ValidationError.single('input', `a scenario holds at most ${SCENARIO_LIMITS.changes} changes`);
      const twin = await scenarioTwin(tx, s, () => now);
      const checked = await checkChange(twin, s.plantId, input, now);
      const [row] = await tx.query<{ id: number }>(
        'insert into scenario_changes (scenario_id, kind, payload, created_by) values ($1, $2, $3::jsonb, $4) returning id',
        [scenarioId, checked.kind, JSON.stringify(checked.payload), actor.name],
      );
      // Remember the live rows it touches as they are now (the first digest of a row wins: what the planner saw).
      const basis = checked.touches.length > 0 ? await twinBasis(liveTwin(tx), s.plantId, now, new Set(checked.touches)) : {};
      await tx.query('update scenarios set revision = revision + 1, basis = $2::jsonb || basis where id = $1', [scenarioId, JSON.stringify(basis)]);
      return { scenarioId, changeId: Number(row.id) };
    });
  }

  /** Removes a change (and the changes that refer to an order it added); the scenario must be OPEN. */
  async removeChange(actor: Actor, changeId: number, shownId: string): Promise<{ scenarioId: number }> {
    return this.deps.database.transaction(async (tx) => {
      const [c] = await tx.query<{ scenario_id: number; kind: string }>('select scenario_id, kind from scenario_changes where id = $1', [changeId]);
      if (!c) throw new NotFoundError('ScenarioChange', shownId);
      const s = await loadScenario(tx, actor, Number(c.scenario_id), true).catch(() => {
        throw new NotFoundError('ScenarioChange', shownId);
      });
      requireOpen(s);
      if (c.kind === 'ADD_ORDER') {
        // Its order's later changes go with it, and the scenario's schedules that planned it (they are stale now).
        await tx.query(`delete from scenario_changes where scenario_id = $1 and (payload->>'orderId')::int = $2`, [s.id, addedOrderId(changeId)]);
        await tx.query('delete from schedules where scenario_id = $1 and id in (select schedule_id from scheduled_operations where scenario_order_id = $2)', [
          s.id,
          changeId,
        ]);
      }
      await tx.query('delete from scenario_changes where id = $1', [changeId]);
      await tx.query('update scenarios set revision = revision + 1 where id = $1', [s.id]);
      return { scenarioId: s.id };
    });
  }

  /** Checks the run and queues it (the problem is built first: an impossible plan is an InfeasibleError now). */
  async run(actor: Actor, input: RunScenarioInput): Promise<{ jobId: number }> {
    const s = await loadScenario(this.deps.database, actor, input.scenarioId);
    if (input.plantId !== undefined && input.plantId !== s.plantId) throw ValidationError.single('input.scenarioId', 'the scenario is of another plant');
    requireOpen(s);
    const params: ScenarioJobParams = {
      plantId: s.plantId,
      scenarioId: s.id,
      revision: s.revision,
      objective: input.objective ?? 'MAKESPAN',
      timeLimitSeconds: input.timeLimitSeconds ?? SCHEDULE_LIMITS.defaultSeconds,
      seed: input.seed ?? 1,
      start: input.start ? input.start.toISOString() : null,
      repairMinutes: input.repairMinutes ?? null,
      activate: false,
      maxIterations: input.maxIterations ?? null,
      risk: input.risk ?? null,
      stability: input.minimizeChanges || input.changePenaltyMinutes != null ? { penalty: input.changePenaltyMinutes ?? null } : null,
    };
    checkScheduleParams(params);
    const start = params.start ? new Date(params.start) : this.deps.clock.now();
    await prepareSchedule(this.deps.database, params, start, await scenarioTwin(this.deps.database, s));
    const job = await this.deps.jobs.enqueue({
      kind: SCENARIO_JOB,
      plantId: s.plantId,
      params,
      createdBy: { name: actor.name, keyId: actor.keyId ?? null },
      maxAttempts: 1,
    });
    return { jobId: job.id };
  }

  private async runJob(ctx: JobContext<ScenarioJobParams>): Promise<ScenarioJobResult> {
    const p = ctx.params;
    const { database } = this.deps;
    const s = await loadScenario(database, ALL_PLANTS, p.scenarioId);
    try {
      requireOpen(s);
      const start = p.start ? new Date(p.start) : this.deps.clock.now();
      const version = await planVersion(database, s.plantId);
      const twin = await scenarioTwin(database, s);
      const result = await this.deps.schedules.run(ctx, { twin, scenarioId: s.id, extraOptions: { scenarioRevision: p.revision } });
      // What the plan was built on, for promote's conflict check.
      const basis = await twinBasis(liveTwin(database), s.plantId, start);
      await database.query('update scenarios set base_version = $2, basis = $3::jsonb where id = $1', [s.id, version, JSON.stringify(basis)]);
      const comparison = await this.comparePlans(database, s, null, result.scheduleId);
      const becameLate = comparison.orders.filter((o) => o.change === 'BECAME_LATE' || (o.change === 'ADDED' && (o.scenarioLateMinutes ?? 0) > 0));
      await this.publish({
        scenarioId: s.id,
        plantId: s.plantId,
        kind: 'RUN_FINISHED',
        name: s.name,
        automatic: s.origin !== null,
        kpis: comparison.kpis,
        lateOrders: becameLate,
        movedOperations: comparison.movedOperations,
      });
      return {
        ...result,
        scenarioId: s.id,
        comparison: {
          kpis: comparison.kpis,
          movedOperations: comparison.movedOperations,
          reassignedOperations: comparison.reassignedOperations,
          becameLate: becameLate.length,
        },
      };
    } catch (err) {
      await this.publish({
        scenarioId: s.id,
        plantId: s.plantId,
        kind: 'RUN_FAILED',
        name: s.name,
        automatic: s.origin !== null,
        error: (err as Error).message,
      });
      throw err;
    }
  }

  /** The plans compared: the scenario's newest schedule against the base scenario's, or the live current schedule. */
  private async comparePlans(q: Queryable, scenario: ScenarioRow, base: ScenarioRow | null, scenarioScheduleId?: number): Promise<PlanComparison> {
    const latest = await latestSchedules(q, base ? [scenario.id, base.id] : [scenario.id]);
    const scenarioPlan = scenarioScheduleId ?? latest.get(scenario.id)?.id ?? null;
    let basePlan: number | null;
    if (base) basePlan = latest.get(base.id)?.id ?? null;
    else {
      const [cur] = await q.query<{ id: number }>('select id from schedules where plant_id = $1 and is_current', [scenario.plantId]);
      basePlan = cur ? Number(cur.id) : null;
    }
    const plans = await loadPlans(
      q,
      [scenarioPlan, basePlan].filter((x): x is number => x !== null),
    );
    const [scenarioOrders, baseOrders] = await Promise.all([
      (await scenarioTwin(q, scenario)).orders(scenario.plantId),
      base ? (await scenarioTwin(q, base)).orders(base.plantId) : liveTwin(q).orders(scenario.plantId),
    ]);
    return comparePlans(
      basePlan === null ? null : (plans.get(basePlan) ?? null),
      scenarioPlan === null ? null : (plans.get(scenarioPlan) ?? null),
      planOrders(baseOrders),
      planOrders(scenarioOrders),
    );
  }

  /** The scenario's overlaid twin, for readers such as planProduction (the scenario must be of `plantId`). */
  async twin(scope: PlantScope, scenarioId: number, plantId: number): Promise<TwinSnapshot> {
    const s = await loadScenario(this.deps.database, scope, scenarioId);
    if (s.plantId !== plantId) throw ValidationError.single('input.scenarioId', 'the scenario is of another plant');
    return scenarioTwin(this.deps.database, s);
  }

  /** compareScenarios: `baseId` null compares with the live plan. Both scenarios must be of one plant. */
  async compare(scope: PlantScope, baseId: number | null, scenarioId: number): Promise<PlanComparison & { plantId: number }> {
    const q = this.deps.database;
    const scenario = await loadScenario(q, scope, scenarioId);
    const base = baseId === null ? null : await loadScenario(q, scope, baseId);
    if (base && base.plantId !== scenario.plantId) throw ValidationError.single('baseScenarioId', 'the two scenarios are of different plants');
    return { ...(await this.comparePlans(q, scenario, base)), plantId: scenario.plantId };
  }

  /**
   * Applies the scenario's changes and its newest schedule to the live plant in one transaction. ConflictError (and
   * nothing changes) when the live twin changed since the scenario's base in a row the scenario changed or planned,
   * when its schedule is older than its last change, or when a change no longer applies.
   */
  async promote(actor: Actor, scenarioId: number): Promise<{ plantId: number; scheduleId: number | null }> {
    const { database } = this.deps;
    const now = this.deps.clock.now();
    const { plantId, scheduleId, publish, name } = await database.transaction(async (tx) => {
      const s = await loadScenario(tx, actor, scenarioId, true);
      requireOpen(s);
      const version = await planVersion(tx, s.plantId, true);
      const changes = await scenarioChanges(tx, s.id);
      const latest = (await latestSchedules(tx, [s.id])).get(s.id) ?? null;
      if (latest && latest.revision !== s.revision)
        throw new ConflictError(`scenario ${echo(s.name)} changed after its last run; run it again before promoting it`);
      if (version !== s.baseVersion) {
        const keys = Object.keys(s.basis);
        const live = await twinBasis(liveTwin(tx), s.plantId, now, new Set(keys));
        const changed = keys.filter((k) => live[k] !== s.basis[k]);
        if (changed.length > 0) throw new ConflictError(await this.describeConflict(tx, s, changed));
      }
      const addedOrders = await applyChanges(tx, s, changes, actor.name, now);
      let scheduleId: number | null = null;
      let publish = async () => {};
      if (latest) {
        const adopted = await this.deps.schedules.adopt(tx, latest.id, addedOrders, actor.name);
        scheduleId = adopted.id;
        publish = adopted.publish;
      }
      await tx.query(`update scenarios set status = 'PROMOTED', closed_at = now(), closed_by = $2 where id = $1`, [s.id, actor.name]);
      return { plantId: s.plantId, scheduleId, publish, name: s.name };
    });
    await publish();
    await this.publish({ scenarioId, plantId, kind: 'PROMOTED', name, automatic: false });
    return { plantId, scheduleId };
  }

  private async describeConflict(q: Queryable, s: ScenarioRow, changed: string[]): Promise<string> {
    const names = await basisNames(q, changed);
    const listed = changed.slice(0, 10).map((k) => describeBasisKey(k, names));
    const more = changed.length > 10 ? ` and ${changed.length - 10} more` : '';
    return `the live plant changed since scenario ${echo(s.name)} was based on it, in what the scenario changed or planned: ${listed.join(', ')}${more}; run the scenario again (or discard it)`;
  }

  async discard(actor: Actor, scenarioId: number): Promise<{ id: number; plantId: number }> {
    const s = await this.deps.database.transaction(async (tx) => {
      const s = await loadScenario(tx, actor, scenarioId, true);
      requireOpen(s);
      await tx.query(`update scenarios set status = 'DISCARDED', closed_at = now(), closed_by = $2 where id = $1`, [s.id, actor.name]);
      return s;
    });
    await this.publish({ scenarioId, plantId: s.plantId, kind: 'DISCARDED', name: s.name, automatic: s.origin !== null });
    return { id: scenarioId, plantId: s.plantId };
  }

  private async publish(e: Partial<ScenarioEvent> & Pick<ScenarioEvent, 'scenarioId' | 'plantId' | 'kind' | 'name' | 'automatic'>): Promise<void> {
    const event: ScenarioEvent = { at: this.deps.clock.now(), kpis: null, lateOrders: null, movedOperations: null, error: null, ...e };
    try {
      await this.deps.pubsub.publish(scenarioUpdatesTopic, event.plantId, event);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, scenario: event.scenarioId }, 'scenario: could not publish an update');
    }
  }

  /**
   * A machine went DOWN: for each enabled MACHINE_STATE rule with `replan` that matches it, open a scenario with the
   * machine out from then for its MTTR over the last 30 days (or the default repair time), and queue its run.
   */
  private async onStates(changes: readonly MachineStateChange[]): Promise<void> {
    const down = changes.filter((c) => c.status === 'DOWN' && c.previous !== 'DOWN');
    if (down.length === 0) return;
    const { database, alerts } = this.deps;
    const rules = (await alerts.rules.forPlants(database, [...new Set(down.map((c) => c.plantId))])).filter(
      (r) => r.kind === 'MACHINE_STATE' && r.enabled && (r as { replan?: boolean }).replan && (r.status ?? 'DOWN') === 'DOWN',
    );
    if (rules.length === 0) return;
    const now = this.deps.clock.now();
    const monthAgo = new Date(now.getTime() - 30 * 86_400_000);
    for (const c of down) {
      const rule = rules.find((r) => r.plantId === c.plantId && (r.machineId === null || r.machineId === c.machineId));
      if (!rule) continue;
      // One open re-planning scenario per machine breakdown.
      const open = await database.query(
        `select 1 from scenarios where plant_id = $1 and status = 'OPEN' and origin->>'machineId' = $2 and origin->>'at' = $3`,
        [c.plantId, String(c.machineId), c.at.toISOString()],
      );
      if (open.length > 0) continue;
      // A DOWN state recorded for the past (a backfill) re-plans nothing unless the machine is DOWN now.
      const [m] = await liveTwin(database).machines({ ids: [c.machineId] });
      if (m?.status !== 'DOWN') continue;
      const kpis = (await machineKpis(database, [c.machineId], monthAgo, now, now)).get(c.machineId);
      const repairSeconds = kpis?.mttrSeconds && kpis.mttrSeconds > 0 ? kpis.mttrSeconds : DEFAULT_REPAIR_MINUTES * 60;
      const from = c.at.getTime() < now.getTime() ? now : c.at;
      const to = new Date(from.getTime() + Math.max(60, repairSeconds) * 1000);
      const { id } = await this.create(
        SYSTEM,
        {
          plantId: c.plantId,
          name: `Replan: ${m?.name ?? c.machineId} down at ${c.at.toISOString()}`,
          origin: { ruleId: rule.id, machineId: c.machineId, at: c.at.toISOString(), repairSeconds },
        },
        String(c.plantId),
      );
      await this.addChange(SYSTEM, id, { machineDown: { machineId: c.machineId, from, to } });
      await this.run(SYSTEM, { scenarioId: id, start: from, repairMinutes: 0 }).catch(async (err: Error) => {
        await this.publish({ scenarioId: id, plantId: c.plantId, kind: 'RUN_FAILED', name: 'replan', automatic: true, error: err.message });
      });
    }
  }
}

export { CHANGE_FIELD };
export type { ScenarioChange };
