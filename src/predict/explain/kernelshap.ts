import { Matrix, solve } from 'ml-matrix';
import { seededRandom } from '../../core/random.ts';
import type { Explanation } from './types.ts';

/** Scores rows; one output per row. May be async (an onnxruntime session). */
export type PredictFunction = (rows: Float64Array[]) => Promise<Float64Array> | Float64Array;

export interface KernelShapOptions {
  /** Coalitions to evaluate (default 2048); when 2^M - 2 fit, all are enumerated and the answer is exact. */
  samples?: number;
  seed?: number;
  /** Rows per predict call (default 8192). */
  batchSize?: number;
}

/**
 * Kernel SHAP (Lundberg and Lee 2017) for any model: the Shapley values of v(S) = mean over the background rows of
 * f(x on S, background elsewhere), estimated by a weighted least-squares fit over coalitions S with the efficiency
 * constraint built in, so base + Σ contributions = f(x) exactly, base = mean f(background). With at most `samples`
 * proper coalitions all are used with their Shapley kernel weights (exact); otherwise seeded coalitions are drawn
 * with the kernel's size distribution, each with its complement (paired sampling).
 */
export async function kernelShap(predict: PredictFunction, x: Float64Array, background: Float64Array[], opts: KernelShapOptions = {}): Promise<Explanation> {
  const m = x.length;
  if (background.length === 0) throw new RangeError('Kernel SHAP needs at least one background row');
  for (const row of background) if (row.length !== m) throw new RangeError(`background rows must have ${m} values like x`);
  const samples = opts.samples ?? 2048;
  const batchSize = opts.batchSize ?? 8192;
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError('samples must be a whole number of at least 1');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a whole number of at least 1');
  const fx = (await predict([x]))[0];
  const base = mean(await predict(background));
  if (m <= 1) return { space: 'model_output', base, contributions: m === 1 ? [fx - base] : [] };

  const { masks, weights } = coalitions(m, samples, seededRandom(opts.seed ?? 0));
  const values = await coalitionValues(predict, x, background, masks, m, batchSize);
  // Efficiency: φ_last = (fx - base) - Σ others, so fit the others on v - base - z_last·(fx - base).
  const last = m - 1;
  const total = fx - base;
  const count = weights.length;
  const a = new Matrix(count, last);
  const b = new Matrix(count, 1);
  for (let c = 0; c < count; c++) {
    const s = Math.sqrt(weights[c]);
    const zLast = masks[c * m + last];
    for (let i = 0; i < last; i++) a.set(c, i, s * (masks[c * m + i] - zLast));
    b.set(c, 0, s * (values[c] - base - zLast * total));
  }
  const phi = solve(a, b, true).getColumn(0);
  phi.push(total - phi.reduce((sum, v) => sum + v, 0));
  return { space: 'model_output', base, contributions: phi };
}

/** The coalitions (0/1 masks, m per coalition) and their regression weights. */
function coalitions(m: number, samples: number, random: () => number): { masks: Uint8Array; weights: number[] } {
  const proper = m < 31 ? 2 ** m - 2 : Number.POSITIVE_INFINITY;
  if (proper <= samples) {
    const masks = new Uint8Array(proper * m);
    const weights: number[] = [];
    for (let code = 1; code <= proper; code++) {
      let size = 0;
      for (let i = 0; i < m; i++) {
        if ((code >> i) & 1) {
          masks[(code - 1) * m + i] = 1;
          size++;
        }
      }
      weights.push((m - 1) / (binomial(m, size) * size * (m - size)));
    }
    return { masks, weights };
  }
  // Sizes drawn in proportion to the total kernel weight of each size, (m - 1) / (s (m - s)).
  const sizeWeights = Array.from({ length: m - 1 }, (_, k) => 1 / ((k + 1) * (m - k - 1)));
  const totalWeight = sizeWeights.reduce((s, w) => s + w, 0);
  const pairs = Math.max(1, Math.floor(samples / 2));
  const masks = new Uint8Array(pairs * 2 * m);
  const order = Array.from({ length: m }, (_, i) => i);
  for (let p = 0; p < pairs; p++) {
    let r = random() * totalWeight;
    let size = 1;
    while (size < m - 1 && r > sizeWeights[size - 1]) {
      r -= sizeWeights[size - 1];
      size++;
    }
    for (let i = 0; i < size; i++) {
      const j = i + Math.floor(random() * (m - i));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const first = 2 * p * m;
    masks.fill(1, first + m, first + 2 * m);
    for (let i = 0; i < size; i++) {
      masks[first + order[i]] = 1;
      masks[first + m + order[i]] = 0;
    }
  }
  return { masks, weights: new Array<number>(pairs * 2).fill(1) };
}

/** v(S) per coalition: the mean prediction over the background with the coalition's features taken from x. */
async function coalitionValues(predict: PredictFunction, x: Float64Array, background: Float64Array[], masks: Uint8Array, m: number, batchSize: number) {
  const count = masks.length / m;
  const values = new Float64Array(count);
  const perCoalition = background.length;
  let batch: Float64Array[] = [];
  let first = 0;
  const flush = async () => {
    const out = await predict(batch);
    for (let r = 0; r < batch.length; r++) values[first + Math.floor(r / perCoalition)] += out[r] / perCoalition;
    first += batch.length / perCoalition;
    batch = [];
  };
  const coalitionsPerBatch = Math.max(1, Math.floor(batchSize / perCoalition));
  for (let c = 0; c < count; c++) {
    for (const row of background) {
      const mixed = Float64Array.from(row);
      for (let i = 0; i < m; i++) if (masks[c * m + i]) mixed[i] = x[i];
      batch.push(mixed);
    }
    if ((c + 1) % coalitionsPerBatch === 0) await flush();
  }
  if (batch.length > 0) await flush();
  return values;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

function mean(values: Float64Array): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
