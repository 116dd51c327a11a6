/**
 * One session.run for many callers. Every request for the same model version that arrives within `windowMs` of the
 * first (and while the batch has fewer than `maxRows` rows) is merged: feeds concatenated along dimension 0, one run,
 * outputs split back by row counts. A batch whose run fails is retried caller by caller, so an error (a NaN row, a
 * shape onnxruntime refuses) reaches only the callers it concerns.
 */
import type * as ort from 'onnxruntime-node';
import type { Feeds } from './onnx/feeds.ts';
import { concatFeeds, rowCount, splitOutputs } from './onnx/batch.ts';
import { runSession } from './onnx/run.ts';

export interface BatchTarget {
  /** The cache key: one model version. */
  modelId: number;
  session: () => Promise<ort.InferenceSession>;
  /** False for models whose inputs or outputs have a fixed first dimension: each call runs alone. */
  batchable: boolean;
  /** Outputs to fetch (tensor ones only). */
  outputs: readonly string[];
}

export interface BatcherOptions {
  windowMs: number;
  maxRows: number;
  /** Called once per session.run with its row count and duration. */
  onRun?: (modelId: number, rows: number, seconds: number) => void;
}

interface Pending {
  feeds: Feeds;
  rows: number;
  resolve: (outputs: Record<string, ort.Tensor>) => void;
  reject: (err: unknown) => void;
}

interface Batch {
  target: BatchTarget;
  items: Pending[];
  rows: number;
  timer: NodeJS.Timeout | null;
}

export class InferenceBatcher {
  private open = new Map<number, Batch>();
  /** session.run calls made, for tests. */
  runs = 0;

  constructor(private options: BatcherOptions) {}

  /**
   * `immediate`: the rows are already a merged batch (every machine of a request, or of concurrent requests): they
   * join a batch already open for the model, which then runs at once, and never wait for the window.
   */
  run(target: BatchTarget, feeds: Feeds, opts: { immediate?: boolean } = {}): Promise<Record<string, ort.Tensor>> {
    const rows = rowCount(feeds);
    if (!target.batchable) return this.runOnce(target, feeds, rows);
    if (opts.immediate) {
      const open = this.open.get(target.modelId);
      if (!open || open.rows + rows > this.options.maxRows) return this.runOnce(target, feeds, rows);
      return new Promise((resolve, reject) => {
        open.items.push({ feeds, rows, resolve, reject });
        open.rows += rows;
        this.flush(open);
      });
    }
    return new Promise((resolve, reject) => {
      let batch = this.open.get(target.modelId);
      if (batch && batch.rows + rows > this.options.maxRows) {
        this.flush(batch);
        batch = undefined;
      }
      if (!batch) {
        batch = { target, items: [], rows: 0, timer: null };
        this.open.set(target.modelId, batch);
        const b = batch;
        b.timer = setTimeout(() => this.flush(b), this.options.windowMs);
      }
      batch.items.push({ feeds, rows, resolve, reject });
      batch.rows += rows;
      if (batch.rows >= this.options.maxRows) this.flush(batch);
    });
  }

  private flush(batch: Batch): void {
    if (this.open.get(batch.target.modelId) === batch) this.open.delete(batch.target.modelId);
    if (batch.timer) clearTimeout(batch.timer);
    batch.timer = null;
    void this.execute(batch);
  }

  private async execute(batch: Batch): Promise<void> {
    const { items, target } = batch;
    if (items.length === 1) {
      const [only] = items;
      await this.runOnce(target, only.feeds, only.rows).then(only.resolve, only.reject);
      return;
    }
    let parts: Record<string, ort.Tensor>[];
    try {
      const { feeds, counts } = concatFeeds(items.map((i) => i.feeds));
      const outputs = await this.runOnce(target, feeds, batch.rows);
      parts = splitOutputs(outputs, counts);
    } catch {
      // One caller's rows may be what failed: run each alone so the error reaches only its caller.
      await Promise.all(items.map((item) => this.runOnce(target, item.feeds, item.rows).then(item.resolve, item.reject)));
      return;
    }
    items.forEach((item, i) => {
      item.resolve(parts[i]);
    });
  }

  private async runOnce(target: BatchTarget, feeds: Feeds, rows: number): Promise<Record<string, ort.Tensor>> {
    const session = await target.session();
    const started = performance.now();
    this.runs++;
    try {
      return await runSession(session, feeds, target.outputs);
    } finally {
      this.options.onRun?.(target.modelId, rows, (performance.now() - started) / 1000);
    }
  }
}
