import { shuffle } from '../../../core/random.ts';
import type { Dense } from '../types.ts';

/** At most this many rows are sorted to find a feature's bin edges (sklearn's subsample). */
const BINNING_SUBSAMPLE = 200_000;

/**
 * The bin edges of every feature, as sklearn's HistGradientBoosting: with at most `maxBins` distinct values, the
 * midpoints between consecutive ones; otherwise the (midpoint) quantiles at 1/maxBins, 2/maxBins, ... A value v
 * falls in the first bin b with v <= edges[b] (the last bin when v is above every edge; NaN in bin 0), so a split
 * "bin <= b" is exactly "v <= edges[b]" on real values.
 */
export function findBinEdges(x: Dense, maxBins: number, random: () => number): Float64Array[] {
  const { rows: n, cols } = x;
  let sample: Uint32Array | undefined;
  if (n > BINNING_SUBSAMPLE)
    sample = shuffle(
      Uint32Array.from({ length: n }, (_, i) => i),
      random,
    ).slice(0, BINNING_SUBSAMPLE);
  const edges: Float64Array[] = [];
  for (let f = 0; f < cols; f++) {
    const m = sample ? sample.length : n;
    const values = new Float64Array(m);
    let count = 0;
    for (let k = 0; k < m; k++) {
      const v = x.data[(sample ? sample[k] : k) * cols + f];
      if (!Number.isNaN(v)) values[count++] = v;
    }
    edges.push(edgesOf(values.subarray(0, count).sort(), maxBins));
  }
  return edges;
}

function edgesOf(sorted: Float64Array, maxBins: number): Float64Array {
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]);
  if (distinct.length <= maxBins) {
    const out = new Float64Array(Math.max(0, distinct.length - 1));
    for (let i = 0; i < out.length; i++) out[i] = (distinct[i] + distinct[i + 1]) / 2;
    return out;
  }
  const out = new Float64Array(maxBins - 1);
  const last = sorted.length - 1;
  for (let q = 1; q < maxBins; q++) {
    const position = (q / maxBins) * last;
    out[q - 1] = (sorted[Math.floor(position)] + sorted[Math.ceil(position)]) / 2;
  }
  return out;
}

/** The bins of every value, feature by feature: bins[f * rows + i] (at most 256 bins per feature). */
export function binColumns(x: Dense, edges: Float64Array[]): Uint8Array {
  const { rows: n, cols } = x;
  const bins = new Uint8Array(n * cols);
  for (let f = 0; f < cols; f++) {
    const e = edges[f];
    for (let i = 0; i < n; i++) {
      const v = x.data[i * cols + f];
      if (Number.isNaN(v)) continue;
      let lo = 0;
      let hi = e.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (v <= e[mid]) hi = mid;
        else lo = mid + 1;
      }
      bins[f * n + i] = lo;
    }
  }
  return bins;
}
