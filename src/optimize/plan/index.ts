/**
 * Capacity planning: a multi-period LP over the twin. For each product p and period t, x[p,t] units are finished;
 * every routing step s of p makes the same x[p,t] units, split over its eligible machines (y[p,s,m,t]); each machine's
 * hours in a period (minutes per unit / 60 / rateFactor) stay within its available hours (the period less maintenance
 * windows and current downtime). Inventory and backlog carry demand between periods; the objective is
 * holdingCost * sum inv + backlogCost * sum back. Backlog variables make every such model feasible.
 */
import { InfeasibleError, NotFoundError, Problems } from '../../core/errors.ts';
import { encodeId } from '../../core/ids.ts';
import { canSeePlant, type PlantScope } from '../../core/scope.ts';
import type { Database } from '../../db/client.ts';
import type { WorkerPool } from '../../jobs/pool.ts';
import { liveTwin, type TwinSnapshot } from '../../twin/snapshot.ts';
import { writeLp } from '../solver/lp-format.ts';
import { type ModelConstraint, type ModelVariable, makeConstraint, makeVariable, type OptimizationModel, type Term } from '../solver/model.ts';
import type { SolveStatus } from '../solver/outcome.ts';
import { type SolverChoice, solveModelInWorker } from '../solver/solve.ts';

export const PLAN_LIMITS = { maxPeriods: 104, maxPeriodHours: 744, maxSeconds: 120, defaultSeconds: 10 };
const HOUR_MS = 3_600_000;
const OPEN = ['PLANNED', 'RELEASED', 'IN_PROGRESS'] as const;

export interface PlanStep {
  /** Eligible machines with their own minutes per unit. */
  machines: { machineId: number; minutesPerUnit: number }[];
}
export interface PlanProduct {
  id: number;
  name: string;
  steps: PlanStep[];
}
export interface PlanMachine {
  id: number;
  name: string;
  rateFactor: number;
}
export interface PlanOrder {
  productId: number;
  quantity: number;
  dueAt: Date;
}
export interface PlanModelInput {
  products: PlanProduct[];
  machines: PlanMachine[];
  orders: PlanOrder[];
  maintenanceWindows: { machineId: number; startsAt: Date; endsAt: Date }[];
  /** Machines unavailable from `start` for `downtimeHours`. */
  downtime: { machineId: number }[];
  downtimeHours: number;
  start: Date;
  periods: number;
  periodHours: number;
  holdingCost: number;
  backlogCost: number;
}

export interface PlanNames {
  /** LP column name of y -> what it is. */
  allocations: Map<string, { product: string; machine: string; period: number; hoursPerUnit: number }>;
  production: Map<string, { product: string; period: number }>;
  backlog: Map<string, { product: string; period: number }>;
  /** LP row name of a capacity row -> machine and period. */
  capacity: Map<string, { machine: string; period: number; availableHours: number }>;
  /** demand[product][t]. */
  demand: Map<string, number[]>;
  /** Open orders due after the last period (not planned). */
  outsideHorizon: { product: string; quantity: number; dueAt: Date }[];
}

/** Hours of [from, to) covered by the union of `intervals`. */
function coveredHours(intervals: [number, number][], from: number, to: number): number {
  const clipped = intervals
    .map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((u, v) => u[0] - v[0]);
  let total = 0;
  let curA = Number.NaN;
  let curB = Number.NaN;
  for (const [a, b] of clipped) {
    if (Number.isNaN(curA) || a > curB) {
      if (!Number.isNaN(curA)) total += curB - curA;
      curA = a;
      curB = b;
    } else curB = Math.max(curB, b);
  }
  if (!Number.isNaN(curA)) total += curB - curA;
  return total / HOUR_MS;
}

/** The plan LP for plain data; throws InfeasibleError for a product with demand and a step no machine can do. */
export function buildPlanModel(input: PlanModelInput): { model: OptimizationModel; names: PlanNames } {
  const T = input.periods;
  const start = input.start.getTime();
  const periodMs = input.periodHours * HOUR_MS;
  const machineIndex = new Map(input.machines.map((m, j) => [m.id, j]));
  const names: PlanNames = {
    allocations: new Map(),
    production: new Map(),
    backlog: new Map(),
    capacity: new Map(),
    demand: new Map(),
    outsideHorizon: [],
  };
  const productById = new Map(input.products.map((p) => [p.id, p]));
  const demand = new Map<number, number[]>();
  for (const o of input.orders) {
    const p = productById.get(o.productId);
    if (!p || !(o.quantity > 0)) continue;
    const t = Math.max(0, Math.floor((o.dueAt.getTime() - start) / periodMs));
    if (t >= T) {
      names.outsideHorizon.push({ product: p.name, quantity: o.quantity, dueAt: o.dueAt });
      continue;
    }
    const d = demand.get(p.id) ?? new Array(T).fill(0);
    d[t] += o.quantity;
    demand.set(p.id, d);
  }
  const variables: ModelVariable[] = [];
  const constraints: ModelConstraint[] = [];
  const objective: Term[] = [];
  const capTerms: Term[][][] = input.machines.map(() => Array.from({ length: T }, () => []));
  input.products.forEach((p, i) => {
    const d = demand.get(p.id);
    if (!d) return; // no demand in the horizon: nothing to plan
    names.demand.set(p.name, d);
    p.steps.forEach((s, k) => {
      if (!s.machines.some((m) => machineIndex.has(m.machineId)))
        throw new InfeasibleError(`product ${JSON.stringify(p.name)} has demand, but step ${k + 1} of its routing has no eligible machine`);
    });
    for (let t = 0; t < T; t++) {
      const x = `x_p${i}_t${t}`;
      const inv = `inv_p${i}_t${t}`;
      const back = `back_p${i}_t${t}`;
      variables.push(makeVariable(x), makeVariable(inv), makeVariable(back));
      names.production.set(x, { product: p.name, period: t });
      names.backlog.set(back, { product: p.name, period: t });
      if (input.holdingCost !== 0) objective.push({ name: inv, coef: input.holdingCost });
      if (input.backlogCost !== 0) objective.push({ name: back, coef: input.backlogCost });
      // inv[t-1] - back[t-1] + x[t] - inv[t] + back[t] = d[t]
      const terms: Term[] = [
        { name: x, coef: 1 },
        { name: inv, coef: -1 },
        { name: back, coef: 1 },
      ];
      if (t > 0) terms.push({ name: `inv_p${i}_t${t - 1}`, coef: 1 }, { name: `back_p${i}_t${t - 1}`, coef: -1 });
      constraints.push(makeConstraint({ name: `bal_p${i}_t${t}`, terms, sense: '=', rhs: d[t] }));
      p.steps.forEach((s, k) => {
        const stepTerms: Term[] = [{ name: x, coef: -1 }];
        for (const sm of s.machines) {
          const j = machineIndex.get(sm.machineId);
          if (j === undefined) continue;
          const m = input.machines[j];
          const y = `y_p${i}_s${k}_m${j}_t${t}`;
          const hoursPerUnit = sm.minutesPerUnit / 60 / m.rateFactor;
          variables.push(makeVariable(y));
          stepTerms.push({ name: y, coef: 1 });
          capTerms[j][t].push({ name: y, coef: hoursPerUnit });
          names.allocations.set(y, { product: p.name, machine: m.name, period: t, hoursPerUnit });
        }
        constraints.push(makeConstraint({ name: `step_p${i}_s${k}_t${t}`, terms: stepTerms, sense: '=', rhs: 0 }));
      });
    }
  });
  const down = new Set(input.downtime.map((d) => d.machineId));
  input.machines.forEach((m, j) => {
    const intervals: [number, number][] = input.maintenanceWindows.filter((w) => w.machineId === m.id).map((w) => [w.startsAt.getTime(), w.endsAt.getTime()]);
    if (down.has(m.id) && input.downtimeHours > 0) intervals.push([start, start + input.downtimeHours * HOUR_MS]);
    for (let t = 0; t < T; t++) {
      if (capTerms[j][t].length === 0) continue;
      const from = start + t * periodMs;
      const available = Math.max(0, input.periodHours - coveredHours(intervals, from, from + periodMs));
      const name = `cap_m${j}_t${t}`;
      constraints.push(makeConstraint({ name, terms: capTerms[j][t], sense: '<=', rhs: available }));
      names.capacity.set(name, { machine: m.name, period: t, availableHours: available });
    }
  });
  return { model: { name: 'plan', variables, constraints, objective: { sense: 'minimize', terms: objective, constant: 0, name: 'cost' } }, names };
}

export interface PlanProductionInput {
  plantId: number;
  start?: Date | null;
  periods?: number | null;
  periodHours?: number | null;
  holdingCost?: number | null;
  backlogCost?: number | null;
  downtimeHours?: number | null;
  solver?: SolverChoice | null;
  timeLimitSeconds?: number | null;
}

export interface ProductionPlan {
  status: SolveStatus;
  objective: number | null;
  solver: string;
  solveSeconds: number;
  message: string | null;
  allocations: { product: string; machine: string; period: number; periodStart: Date; quantity: number; hours: number }[];
  production: { product: string; period: number; quantity: number }[];
  backlog: { product: string; period: number; quantity: number }[];
  shadowPrices: { name: string; value: number }[];
  bottlenecks: { machine: string; period: number; periodStart: Date; availableHours: number; shadowPrice: number }[];
  outsideHorizon: { product: string; quantity: number; dueAt: Date }[];
  modelLp: string;
}

const EPS = 1e-9;

/** Plans production for a plant the caller may see (read-only: it writes nothing). */
export async function planProduction(
  deps: { database: Database; pool: WorkerPool; twin?: TwinSnapshot },
  scope: PlantScope,
  input: PlanProductionInput,
): Promise<ProductionPlan> {
  const periods = input.periods ?? 4;
  const periodHours = input.periodHours ?? 24;
  const holdingCost = input.holdingCost ?? 1;
  const backlogCost = input.backlogCost ?? 10;
  const downtimeHours = input.downtimeHours ?? 4;
  const solver = input.solver ?? 'HIGHS';
  const timeLimitSeconds = input.timeLimitSeconds ?? PLAN_LIMITS.defaultSeconds;
  const start = input.start ?? new Date();
  const p = new Problems();
  if (!(start instanceof Date) || Number.isNaN(start.getTime())) p.add('input.start', 'must be a valid date');
  if (!Number.isInteger(periods) || periods < 1 || periods > PLAN_LIMITS.maxPeriods)
    p.add('input.periods', `must be an integer from 1 to ${PLAN_LIMITS.maxPeriods}`);
  if (!(Number.isFinite(periodHours) && periodHours > 0 && periodHours <= PLAN_LIMITS.maxPeriodHours))
    p.add('input.periodHours', `must be more than 0 and at most ${PLAN_LIMITS.maxPeriodHours}`);
  if (!(Number.isFinite(holdingCost) && holdingCost >= 0)) p.add('input.holdingCost', 'must be a finite number of at least 0');
  if (!(Number.isFinite(backlogCost) && backlogCost >= 0)) p.add('input.backlogCost', 'must be a finite number of at least 0');
  if (!(Number.isFinite(downtimeHours) && downtimeHours >= 0)) p.add('input.downtimeHours', 'must be a finite number of at least 0');
  if (!['AUTO', 'HIGHS', 'JSLP'].includes(solver)) p.add('input.solver', 'must be AUTO, HIGHS or JSLP');
  if (!(timeLimitSeconds > 0 && timeLimitSeconds <= PLAN_LIMITS.maxSeconds))
    p.add('input.timeLimitSeconds', `must be more than 0 and at most ${PLAN_LIMITS.maxSeconds} seconds`);
  p.throwIfAny();

  const twin = deps.twin ?? liveTwin(deps.database);
  const [plant] = await twin.plants([input.plantId]);
  if (!plant || !canSeePlant(scope, plant.id)) throw new NotFoundError('Plant', encodeId('Plant', input.plantId));
  const end = new Date(start.getTime() + periods * periodHours * HOUR_MS);
  const [machines, products, orders, windows, downtime] = await Promise.all([
    twin.machines({ plantIds: [plant.id] }),
    twin.products(plant.id),
    twin.orders(plant.id, OPEN),
    twin.maintenanceWindows(plant.id, start, end),
    twin.downtime(plant.id),
  ]);
  const { model, names } = buildPlanModel({
    products: products.map((pr) => ({
      id: pr.id,
      name: pr.name,
      steps: pr.routing.map((s) => ({
        machines: s.machineIds.map((machineId) => ({
          machineId,
          minutesPerUnit: s.machineTimes.find((mt) => mt.machineId === machineId)?.minutesPerUnit ?? s.minutesPerUnit,
        })),
      })),
    })),
    machines: machines.map((m) => ({ id: m.id, name: m.name, rateFactor: m.rateFactor })),
    orders: orders.map((o) => ({ productId: o.productId, quantity: o.quantity, dueAt: o.dueAt })),
    maintenanceWindows: windows,
    downtime,
    downtimeHours,
    start,
    periods,
    periodHours,
    holdingCost,
    backlogCost,
  });
  const modelLp = writeLp(model);
  const outcome = await solveModelInWorker(deps.pool, model, { solver, timeLimitSeconds });
  const values = outcome.values ?? {};
  const periodStart = (t: number) => new Date(start.getTime() + t * periodHours * HOUR_MS);
  const allocations: ProductionPlan['allocations'] = [];
  for (const [col, a] of names.allocations) {
    const q = values[col] ?? 0;
    if (q > EPS)
      allocations.push({
        product: a.product,
        machine: a.machine,
        period: a.period,
        periodStart: periodStart(a.period),
        quantity: q,
        hours: q * a.hoursPerUnit,
      });
  }
  const listOf = (map: Map<string, { product: string; period: number }>) => {
    const out: { product: string; period: number; quantity: number }[] = [];
    for (const [col, v] of map) {
      const q = values[col] ?? 0;
      if (q > EPS) out.push({ product: v.product, period: v.period, quantity: q });
    }
    return out;
  };
  const shadowPrices: ProductionPlan['shadowPrices'] = [];
  const bottlenecks: ProductionPlan['bottlenecks'] = [];
  if (outcome.duals) {
    for (const [row, c] of names.capacity) {
      const value = outcome.duals[row] ?? 0;
      shadowPrices.push({ name: `cap_${c.machine}_${c.period}`, value });
      if (Math.abs(value) > EPS)
        bottlenecks.push({ machine: c.machine, period: c.period, periodStart: periodStart(c.period), availableHours: c.availableHours, shadowPrice: value });
    }
  }
  return {
    status: outcome.status,
    objective: outcome.objective,
    solver: outcome.solver,
    solveSeconds: outcome.seconds,
    message: outcome.message,
    allocations,
    production: listOf(names.production),
    backlog: listOf(names.backlog),
    shadowPrices,
    bottlenecks,
    outsideHorizon: names.outsideHorizon,
    modelLp,
  };
}
