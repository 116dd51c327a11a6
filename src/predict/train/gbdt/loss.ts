export type Objective = 'regression' | 'binary' | 'multiclass';

/** Probabilities are kept within [EPS, 1 - EPS] for the baseline and for log-losses. */
const EPS = 1e-15;

/** The constant raw score boosting starts from: the mean, the log-odds of the positive share, or centred log priors. */
export function baseline(objective: Objective, y: Float64Array, outputs: number): Float64Array {
  const n = y.length || 1;
  if (objective === 'regression') return Float64Array.of(y.reduce((s, v) => s + v, 0) / n);
  if (objective === 'binary') {
    const p = clip(y.reduce((s, v) => s + v, 0) / n);
    return Float64Array.of(Math.log(p / (1 - p)));
  }
  const counts = new Float64Array(outputs);
  for (const v of y) counts[v]++;
  const logs = counts.map((c) => Math.log(clip(c / n)));
  const mean = logs.reduce((s, v) => s + v, 0) / outputs;
  return logs.map((v) => v - mean);
}

function clip(p: number): number {
  return Math.min(1 - EPS, Math.max(EPS, p));
}

/** Gradients and hessians of the loss at the raw scores (n x outputs, row-major), per output. */
export function gradients(objective: Objective, y: Float64Array, raw: Float64Array, outputs: number, g: Float64Array[], h: Float64Array[]): void {
  const n = y.length;
  if (objective === 'regression') {
    const g0 = g[0];
    for (let i = 0; i < n; i++) g0[i] = raw[i] - y[i];
    h[0].fill(1);
  } else if (objective === 'binary') {
    const g0 = g[0];
    const h0 = h[0];
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-raw[i]));
      g0[i] = p - y[i];
      h0[i] = p * (1 - p);
    }
  } else {
    for (let i = 0; i < n; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < outputs; k++) max = Math.max(max, raw[i * outputs + k]);
      let total = 0;
      for (let k = 0; k < outputs; k++) total += Math.exp(raw[i * outputs + k] - max);
      for (let k = 0; k < outputs; k++) {
        const p = Math.exp(raw[i * outputs + k] - max) / total;
        g[k][i] = p - (y[i] === k ? 1 : 0);
        h[k][i] = p * (1 - p);
      }
    }
  }
}

/** The mean loss (half squared error, log loss or softmax log loss) at the raw scores. */
export function meanLoss(objective: Objective, y: Float64Array, raw: Float64Array, outputs: number): number {
  const n = y.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (objective === 'regression') sum += 0.5 * (raw[i] - y[i]) ** 2;
    else if (objective === 'binary') {
      const z = raw[i];
      sum += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i] * z;
    } else {
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < outputs; k++) max = Math.max(max, raw[i * outputs + k]);
      let total = 0;
      for (let k = 0; k < outputs; k++) total += Math.exp(raw[i * outputs + k] - max);
      sum += max + Math.log(total) - raw[i * outputs + y[i]];
    }
  }
  return sum / (n || 1);
}
