/**
 * Seeded random model generators for benches and tests (src/core/random.ts): the same seed gives the same model.
 */
import { seededRandom } from '../../core/random.ts';
import type { ModelConstraint, ModelVariable, OptimizationModel, Term } from './model.ts';

export interface ProductionPlanningSize {
  products: number;
  periods: number;
  resources: number;
}

/** Products and periods for a production-planning LP of about `variables` variables (3 per product and period). */
export function productionPlanningSize(variables: number, periods = 12, resources = 10): ProductionPlanningSize {
  return { products: Math.max(1, Math.round(variables / (3 * periods))), periods, resources };
}

/**
 * A multi-period production-planning LP: for each product p and period t, make[p,t] (capacity-limited), buy[p,t]
 * (outsourced, dearer) and inv[p,t] (stock carried to the next period); rows bal[p,t] (stock balance meets demand
 * exactly) and cap[r,t] (each resource's hours per period, used by about a third of the products). Minimizes making,
 * buying and holding cost. Always feasible (buying is unlimited) and bounded (all costs positive).
 */
export function productionPlanningLp(size: ProductionPlanningSize, seed = 1): OptimizationModel {
  const random = seededRandom(seed);
  const { products: P, periods: T, resources: R } = size;
  const variables: ModelVariable[] = [];
  const objective: Term[] = [];
  const constraints: ModelConstraint[] = [];
  const use: number[][] = [];
  const demand: number[][] = [];
  for (let p = 0; p < P; p++) {
    use.push(Array.from({ length: R }, () => (random() < 0.3 ? 0.5 + 2 * random() : 0)));
    const base = 20 + 80 * random();
    demand.push(Array.from({ length: T }, () => Math.round(base * (0.5 + random()))));
    const makeCost = 5 + 10 * random();
    for (let t = 0; t < T; t++) {
      variables.push({ name: `make_${p}_${t}`, lower: 0, upper: Infinity, type: 'continuous' });
      variables.push({ name: `buy_${p}_${t}`, lower: 0, upper: Infinity, type: 'continuous' });
      variables.push({ name: `inv_${p}_${t}`, lower: 0, upper: Infinity, type: 'continuous' });
      objective.push({ name: `make_${p}_${t}`, coef: round(makeCost * (0.9 + 0.2 * random())) });
      objective.push({ name: `buy_${p}_${t}`, coef: round(makeCost * (1.5 + random())) });
      objective.push({ name: `inv_${p}_${t}`, coef: round(0.2 + 0.8 * random()) });
      const terms: Term[] = [
        { name: `make_${p}_${t}`, coef: 1 },
        { name: `buy_${p}_${t}`, coef: 1 },
        { name: `inv_${p}_${t}`, coef: -1 },
      ];
      if (t > 0) terms.push({ name: `inv_${p}_${t - 1}`, coef: 1 });
      constraints.push({ name: `bal_${p}_${t}`, terms, lower: demand[p][t], upper: demand[p][t] });
    }
  }
  for (let r = 0; r < R; r++) {
    let load = 0;
    for (let p = 0; p < P; p++) load += use[p][r] * (demand[p].reduce((a, b) => a + b, 0) / T);
    for (let t = 0; t < T; t++) {
      const terms: Term[] = [];
      for (let p = 0; p < P; p++) if (use[p][r] > 0) terms.push({ name: `make_${p}_${t}`, coef: round(use[p][r]) });
      if (terms.length > 0) constraints.push({ name: `cap_${r}_${t}`, terms, lower: -Infinity, upper: Math.round(load * (0.6 + 0.3 * random())) });
    }
  }
  return { name: `production_${P}x${T}x${R}`, variables, constraints, objective: { sense: 'minimize', terms: objective, constant: 0 } };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * A market-split MIP (Cornuéjols and Dawande): `rows` equality rows over 10 * (rows - 1) binaries with coefficients in
 * [0, 99] and right-hand sides half the row sums. With `slack` (default), over/under variables make it always feasible
 * and the objective is their sum; without, it is a pure feasibility problem whose solutions are rare. Branch and bound
 * needs a very long time on these even at small sizes: a solve to abort or to stop by a time limit.
 */
export function marketSplitMip(rows = 4, seed = 1, slack = true): OptimizationModel {
  const random = seededRandom(seed);
  const n = 10 * (rows - 1);
  const variables: ModelVariable[] = [];
  for (let j = 0; j < n; j++) variables.push({ name: `x${j}`, lower: 0, upper: 1, type: 'binary' });
  const constraints: ModelConstraint[] = [];
  const objective: Term[] = [];
  for (let i = 0; i < rows; i++) {
    const coefs = Array.from({ length: n }, () => Math.floor(100 * random()));
    const rhs = Math.floor(coefs.reduce((a, b) => a + b, 0) / 2);
    const terms: Term[] = coefs.map((coef, j) => ({ name: `x${j}`, coef })).filter((t) => t.coef !== 0);
    if (slack) {
      variables.push({ name: `over${i}`, lower: 0, upper: Infinity, type: 'continuous' });
      variables.push({ name: `under${i}`, lower: 0, upper: Infinity, type: 'continuous' });
      objective.push({ name: `over${i}`, coef: 1 }, { name: `under${i}`, coef: 1 });
      terms.push({ name: `over${i}`, coef: -1 }, { name: `under${i}`, coef: 1 });
    }
    constraints.push({ name: `split${i}`, terms, lower: rhs, upper: rhs });
  }
  return { name: `market_split_${rows}`, variables, constraints, objective: { sense: 'minimize', terms: objective, constant: 0 } };
}

/**
 * A small random LP or MIP (2 to `maxVariables` variables, 1 to 5/7 as many rows) mixing every kind of bound (none, free, boxed, fixed, upper
 * only), row (<=, >=, =, range) and both senses; with `boxed`, every variable is also kept within [-50, 50] by a row,
 * so the model is never unbounded. For differential tests of the two solvers.
 */
export function randomSmallModel(seed: number, mip: boolean, boxed = true, maxVariables = 7): OptimizationModel {
  const random = seededRandom(seed);
  const pick = (values: number[]) => values[Math.floor(random() * values.length)];
  const n = 2 + Math.floor(random() * (maxVariables - 1));
  const m = 1 + Math.floor(random() * Math.max(1, Math.round((maxVariables * 5) / 7)));
  const variables: ModelVariable[] = [];
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(random() * 6);
    let lower = 0;
    let upper = Infinity;
    if (kind === 1) lower = -Infinity;
    else if (kind === 2) {
      lower = pick([-5, -2.5, 1, 3]);
      upper = lower + pick([0, 1, 4.5, 10]);
    } else if (kind === 3) {
      lower = -Infinity;
      upper = pick([-1, 0, 6]);
    } else if (kind === 4) upper = pick([1, 7]);
    const integer = mip && random() < 0.5;
    const type = !integer ? 'continuous' : lower === 0 && upper === 1 ? 'binary' : 'integer';
    // free integers only with an upper bound (javascript-lp-solver refuses fully free ones)
    variables.push({ name: `x${i}`, lower, upper: integer && lower === -Infinity && upper === Infinity ? 20 : upper, type });
  }
  const constraints: ModelConstraint[] = [];
  for (let k = 0; k < m; k++) {
    const terms = variables
      .filter(() => random() < 0.7)
      .map((v) => ({ name: v.name, coef: Math.round((random() * 10 - 4) * 2) / 2 }))
      .filter((t) => t.coef !== 0);
    const kind = Math.floor(random() * 4);
    const a = Math.round(random() * 20 - 5);
    const [lower, upper] = kind === 0 ? [-Infinity, a] : kind === 1 ? [a, Infinity] : kind === 2 ? [a, a] : [a, a + Math.round(random() * 10)];
    constraints.push({ name: `c${k}`, terms, lower, upper });
  }
  if (boxed) for (const v of variables) constraints.push({ name: `box_${v.name}`, terms: [{ name: v.name, coef: 1 }], lower: -50, upper: 50 });
  const objective: Term[] = variables.map((v) => ({ name: v.name, coef: Math.round(random() * 10 - 5) }));
  return {
    name: `random_${seed}`,
    variables,
    constraints,
    objective: { sense: random() < 0.5 ? 'minimize' : 'maximize', terms: objective, constant: Math.round(random() * 4) },
  };
}
