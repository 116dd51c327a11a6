import type { Tree } from '../../spec.ts';

export interface GrowerParams {
  maxLeafNodes: number;
  /** 0 = unlimited. */
  maxDepth: number;
  minSamplesLeaf: number;
  l2Regularization: number;
  learningRate: number;
}

/** sklearn's min_hessian_to_split: a child needs at least this much hessian. */
const MIN_HESSIAN = 1e-3;

/**
 * Grows regression trees on binned data leaf-wise (best-first, as sklearn's HistGradientBoosting and LightGBM):
 * the leaf whose best split gains most is split next, until maxLeafNodes leaves. Split gains come from
 * gradient/hessian histograms; a parent's histogram minus its smaller child's is the larger child's (the
 * subtraction trick), so only the smaller child's rows are read. Buffers are allocated once and reused per tree.
 */
export class TreeGrower {
  private readonly offsets: Int32Array;
  private readonly histSize: number;
  private readonly pool: Float64Array[] = [];
  private readonly samples: Uint32Array;
  private readonly scratch: Uint32Array;
  private readonly orderedG: Float64Array;
  private readonly orderedH: Float64Array;
  // Per node (at most 2 * maxLeafNodes - 1).
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly sumG: Float64Array;
  private readonly sumH: Float64Array;
  private readonly depth: Int32Array;
  private readonly hist: (Float64Array | null)[];
  private readonly splitFeature: Int32Array;
  private readonly splitBin: Int32Array;
  private readonly splitGain: Float64Array;
  private readonly leftG: Float64Array;
  private readonly leftH: Float64Array;
  private readonly leftCount: Int32Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private nodeCount = 0;

  constructor(
    private readonly bins: Uint8Array,
    private readonly rows: number,
    /** Bins per feature. */
    private readonly binCounts: Int32Array,
    private readonly params: GrowerParams,
    /** Every hessian is 1 (squared error): histograms skip them and use counts. */
    private readonly unitHessian = false,
  ) {
    const features = binCounts.length;
    this.offsets = new Int32Array(features + 1);
    for (let f = 0; f < features; f++) this.offsets[f + 1] = this.offsets[f] + binCounts[f];
    this.histSize = this.offsets[features] * 3;
    this.samples = new Uint32Array(rows);
    this.scratch = new Uint32Array(rows);
    this.orderedG = new Float64Array(rows);
    this.orderedH = new Float64Array(rows);
    const maxNodes = 2 * params.maxLeafNodes - 1;
    this.start = new Int32Array(maxNodes);
    this.end = new Int32Array(maxNodes);
    this.sumG = new Float64Array(maxNodes);
    this.sumH = new Float64Array(maxNodes);
    this.depth = new Int32Array(maxNodes);
    this.hist = new Array(maxNodes).fill(null);
    this.splitFeature = new Int32Array(maxNodes);
    this.splitBin = new Int32Array(maxNodes);
    this.splitGain = new Float64Array(maxNodes);
    this.leftG = new Float64Array(maxNodes);
    this.leftH = new Float64Array(maxNodes);
    this.leftCount = new Int32Array(maxNodes);
    this.left = new Int32Array(maxNodes);
    this.right = new Int32Array(maxNodes);
  }

  /**
   * One tree fitted to the gradients and hessians of every row. Adds each row's leaf value to raw[i * stride +
   * output] and returns the tree with its bins still as bin indices in `threshold` (see toRealThresholds).
   */
  grow(g: Float64Array, h: Float64Array, raw: Float64Array, stride: number, output: number): Tree {
    const { samples, params } = this;
    for (let i = 0; i < this.rows; i++) samples[i] = i;
    this.nodeCount = 0;
    let totalG = 0;
    let totalH = 0;
    for (let i = 0; i < this.rows; i++) {
      totalG += g[i];
      totalH += h[i];
    }
    const root = this.newNode(0, this.rows, totalG, totalH, 0);
    const open: number[] = [];
    this.hist[root] = this.buildHistogram(root, g, h);
    if (this.prepareSplit(root)) open.push(root);
    let leaves = 1;
    while (open.length > 0 && leaves < params.maxLeafNodes) {
      let pick = 0;
      for (let k = 1; k < open.length; k++) if (this.splitGain[open[k]] > this.splitGain[open[pick]]) pick = k;
      const node = open[pick];
      open.splice(pick, 1);
      const [l, r] = this.split(node);
      leaves++;
      const parentHist = this.hist[node]!;
      this.hist[node] = null;
      const splittable = (child: number) =>
        leaves < params.maxLeafNodes &&
        (params.maxDepth === 0 || this.depth[child] < params.maxDepth) &&
        this.end[child] - this.start[child] >= 2 * params.minSamplesLeaf &&
        this.sumH[child] >= 2 * MIN_HESSIAN;
      if (splittable(l) || splittable(r)) {
        const smaller = this.end[l] - this.start[l] <= this.end[r] - this.start[r] ? l : r;
        const larger = smaller === l ? r : l;
        const small = this.buildHistogram(smaller, g, h);
        for (let j = 0; j < this.histSize; j++) parentHist[j] -= small[j];
        this.hist[smaller] = small;
        this.hist[larger] = parentHist;
        for (const child of [l, r]) {
          if (splittable(child) && this.prepareSplit(child)) open.push(child);
          else this.release(child);
        }
      } else this.pool.push(parentHist);
    }
    for (const node of open) this.release(node);
    return this.finish(raw, stride, output);
  }

  private newNode(start: number, end: number, sumG: number, sumH: number, depth: number): number {
    const node = this.nodeCount++;
    this.start[node] = start;
    this.end[node] = end;
    this.sumG[node] = sumG;
    this.sumH[node] = sumH;
    this.depth[node] = depth;
    this.left[node] = -1;
    this.right[node] = -1;
    return node;
  }

  private release(node: number): void {
    const hist = this.hist[node];
    if (hist) this.pool.push(hist);
    this.hist[node] = null;
  }

  private buildHistogram(node: number, g: Float64Array, h: Float64Array): Float64Array {
    const hist = this.pool.pop() ?? new Float64Array(this.histSize);
    hist.fill(0);
    const { samples, orderedG, orderedH, bins, rows, offsets, binCounts, unitHessian } = this;
    const start = this.start[node];
    const m = this.end[node] - start;
    // The root holds every row in order: read the gradients and bins directly.
    const whole = m === rows;
    if (!whole) {
      for (let k = 0; k < m; k++) {
        const i = samples[start + k];
        orderedG[k] = g[i];
        orderedH[k] = h[i];
      }
    }
    const gs = whole ? g : orderedG;
    const hs = whole ? h : orderedH;
    for (let f = 0; f < binCounts.length; f++) {
      // A feature with one bin cannot be split on.
      if (binCounts[f] < 2) continue;
      const base = f * rows;
      const offset = offsets[f] * 3;
      if (whole && unitHessian) {
        for (let k = 0; k < m; k++) {
          const j = offset + bins[base + k] * 3;
          hist[j] += gs[k];
          hist[j + 2] += 1;
        }
      } else if (whole) {
        for (let k = 0; k < m; k++) {
          const j = offset + bins[base + k] * 3;
          hist[j] += gs[k];
          hist[j + 1] += hs[k];
          hist[j + 2] += 1;
        }
      } else if (unitHessian) {
        for (let k = 0; k < m; k++) {
          const j = offset + bins[base + samples[start + k]] * 3;
          hist[j] += gs[k];
          hist[j + 2] += 1;
        }
      } else {
        for (let k = 0; k < m; k++) {
          const j = offset + bins[base + samples[start + k]] * 3;
          hist[j] += gs[k];
          hist[j + 1] += hs[k];
          hist[j + 2] += 1;
        }
      }
    }
    // With every hessian 1 (squared error), a bin's hessian sum is its count.
    if (unitHessian) for (let j = 0; j < this.histSize; j += 3) hist[j + 1] = hist[j + 2];
    return hist;
  }

  /** Finds the node's best split; false when no split gains anything. */
  private prepareSplit(node: number): boolean {
    const hist = this.hist[node]!;
    const { minSamplesLeaf, l2Regularization: lambda } = this.params;
    const G = this.sumG[node];
    const H = this.sumH[node];
    const count = this.end[node] - this.start[node];
    const parentScore = (G * G) / (H + lambda);
    let bestGain = 0;
    let bestFeature = -1;
    for (let f = 0; f < this.binCounts.length; f++) {
      const offset = this.offsets[f] * 3;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < this.binCounts[f] - 1; b++) {
        const j = offset + b * 3;
        gl += hist[j];
        hl += hist[j + 1];
        cl += hist[j + 2];
        if (cl < minSamplesLeaf) continue;
        if (count - cl < minSamplesLeaf) break;
        const hr = H - hl;
        if (hl < MIN_HESSIAN) continue;
        if (hr < MIN_HESSIAN) break;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          this.splitBin[node] = b;
          this.leftG[node] = gl;
          this.leftH[node] = hl;
          this.leftCount[node] = cl;
        }
      }
    }
    this.splitFeature[node] = bestFeature;
    this.splitGain[node] = bestGain;
    return bestFeature >= 0;
  }

  /** Partitions the node's rows (stable) and creates its two children. */
  private split(node: number): [number, number] {
    const { samples, scratch } = this;
    const start = this.start[node];
    const end = this.end[node];
    const base = this.splitFeature[node] * this.rows;
    const bin = this.splitBin[node];
    let nl = 0;
    let nr = 0;
    for (let k = start; k < end; k++) {
      const i = samples[k];
      if (this.bins[base + i] <= bin) samples[start + nl++] = i;
      else scratch[nr++] = i;
    }
    samples.set(scratch.subarray(0, nr), start + nl);
    const depth = this.depth[node] + 1;
    const l = this.newNode(start, start + nl, this.leftG[node], this.leftH[node], depth);
    const r = this.newNode(start + nl, end, this.sumG[node] - this.leftG[node], this.sumH[node] - this.leftH[node], depth);
    this.left[node] = l;
    this.right[node] = r;
    return [l, r];
  }

  private finish(raw: Float64Array, stride: number, output: number): Tree {
    const n = this.nodeCount;
    const tree: Tree = {
      feature: new Array(n),
      threshold: new Array(n),
      left: new Array(n),
      right: new Array(n),
      missingLeft: new Array(n).fill(true),
      value: new Array(n),
      cover: new Array(n),
    };
    const { learningRate, l2Regularization } = this.params;
    for (let node = 0; node < n; node++) {
      const isLeaf = this.left[node] < 0;
      tree.left[node] = this.left[node];
      tree.right[node] = this.right[node];
      tree.feature[node] = isLeaf ? 0 : this.splitFeature[node];
      tree.threshold[node] = isLeaf ? 0 : this.splitBin[node];
      tree.cover[node] = this.end[node] - this.start[node];
      const value = isLeaf ? (-learningRate * this.sumG[node]) / (this.sumH[node] + l2Regularization + 1e-15) : 0;
      tree.value[node] = value;
      if (isLeaf && value !== 0) for (let k = this.start[node]; k < this.end[node]; k++) raw[this.samples[k] * stride + output] += value;
    }
    return tree;
  }
}
