/**
 * One session.run for many callers: their feeds are concatenated along dimension 0, the outputs split back by the
 * callers' row counts. Only models whose inputs and tensor outputs all have a dynamic first dimension can be batched.
 */
import * as ort from 'onnxruntime-node';
import { InferenceError } from '../errors.ts';
import type { Feeds } from './feeds.ts';
import type { ModelInfo, ValueInfo } from './inspect.ts';

const dynamicFirst = (v: ValueInfo) => v.kind === 'tensor' && v.shape !== null && v.shape.length > 0 && typeof v.shape[0] !== 'number';

/** Whether rows of several callers can share one run: every input and output has a dynamic batch dimension. */
export const isBatchable = (info: Pick<ModelInfo, 'inputs' | 'outputs'>): boolean => info.inputs.every(dynamicFirst) && info.outputs.every(dynamicFirst);

/** The rows of a feed: dimension 0 of its inputs (which must agree). */
export function rowCount(feeds: Feeds): number {
  const counts = new Set(Object.values(feeds).map((t) => t.dims[0] ?? 1));
  if (counts.size !== 1) throw new InferenceError(`the inputs of one feed have different first dimensions (${[...counts].join(', ')})`);
  return [...counts][0];
}

/** `parts` concatenated along dimension 0 (same input names, types and trailing dimensions), with each part's row count. */
export function concatFeeds(parts: Feeds[]): { feeds: Feeds; counts: number[] } {
  if (parts.length === 0) throw new InferenceError('nothing to batch');
  const counts = parts.map(rowCount);
  if (parts.length === 1) return { feeds: parts[0], counts };
  const total = counts.reduce((a, b) => a + b, 0);
  const feeds: Feeds = {};
  for (const [name, first] of Object.entries(parts[0])) {
    const tail = first.dims.slice(1).join(',');
    const tensors = parts.map((part) => part[name]);
    if (tensors.some((t) => !t || t.type !== first.type || t.dims.slice(1).join(',') !== tail))
      throw new InferenceError(`input ${name} differs between the feeds to batch`);
    const rowSize = first.dims.slice(1).reduce((a, b) => a * b, 1);
    let data: any;
    if (first.type === 'string') data = tensors.flatMap((t) => t.data as string[]);
    else {
      data = new (first.data.constructor as any)(total * rowSize);
      let at = 0;
      for (const t of tensors) {
        data.set(t.data, at);
        at += t.data.length;
      }
    }
    feeds[name] = new ort.Tensor(first.type, data, [total, ...first.dims.slice(1)]);
  }
  return { feeds, counts };
}

/** `outputs` of a batched run cut into one result per part, by the parts' row counts. */
export function splitOutputs(outputs: Record<string, ort.Tensor>, counts: number[]): Record<string, ort.Tensor>[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const results: Record<string, ort.Tensor>[] = counts.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.dims[0] !== total)
      throw new InferenceError(`output ${name} has ${tensor.dims[0] ?? 'no'} rows for ${total} input rows; it cannot be split by row`);
    const rowSize = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
    let start = 0;
    counts.forEach((count, i) => {
      const data = (tensor.data as any).slice(start * rowSize, (start + count) * rowSize);
      results[i][name] = new ort.Tensor(tensor.type, data, [count, ...tensor.dims.slice(1)]);
      start += count;
    });
  }
  return results;
}
