/**
 * session.run with typed errors: a failure of onnxruntime (a shape it rejects, a kernel error) is INFERENCE_FAILED
 * with its reason, and checkFinite turns NaN or infinite float outputs into INFERENCE_FAILED naming the rows.
 */
import type * as ort from 'onnxruntime-node';
import { InferenceError } from '../errors.ts';
import type { Feeds } from './feeds.ts';

/** Runs `session`; `outputs` limits the fetched outputs (e.g. to the tensor ones). */
export async function runSession(session: ort.InferenceSession, feeds: Feeds, outputs?: readonly string[]): Promise<Record<string, ort.Tensor>> {
  try {
    return (await (outputs ? session.run(feeds, outputs) : session.run(feeds))) as Record<string, ort.Tensor>;
  } catch (err) {
    throw InferenceError.fromRuntime(err instanceof Error ? err.message : String(err));
  }
}

/** The rows (0-based, along dimension 0) where a float output holds NaN or an infinity. */
export function nonFiniteRows(tensor: ort.Tensor): number[] {
  if (tensor.type !== 'float32' && tensor.type !== 'float64') return [];
  const data = tensor.data as Float32Array | Float64Array;
  const rowSize = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
  const rows: number[] = [];
  for (let r = 0; r * rowSize < data.length; r++) {
    for (let k = r * rowSize; k < (r + 1) * rowSize; k++)
      if (!Number.isFinite(data[k])) {
        rows.push(r);
        break;
      }
  }
  return rows;
}

/** INFERENCE_FAILED naming the rows (0-based) where some float output is NaN or infinite, e.g. from a NaN input. */
export function checkFinite(outputs: Record<string, ort.Tensor>): void {
  const rows = new Set<number>();
  for (const t of Object.values(outputs)) for (const r of nonFiniteRows(t)) rows.add(r);
  if (rows.size === 0) return;
  const sorted = [...rows].sort((a, b) => a - b);
  const listed = sorted.slice(0, 20).join(', ') + (sorted.length > 20 ? `, … (${sorted.length} rows)` : '');
  throw new InferenceError(`The model gave NaN or an infinite value for row${sorted.length > 1 ? 's' : ''} ${listed}`, sorted);
}
