/**
 * `explain: true`: per-feature contributions that add up, with a stated base, to the model's output in a stated space.
 * Models trained here are explained exactly from their ModelSpec (linear contributions; TreeSHAP for trees), in
 * margin space (the value for regression, log-odds for binary classification, the class score for multiclass). Any
 * other model is explained by seeded Kernel SHAP over its single float input, in the space of its served value (the
 * regression output, or the probability of the last class), against a background: the rows stored with the model
 * (registerModel's backgroundRows), else one row of zeros.
 */
import { ValidationError } from '../core/errors.ts';
import { type Explanation, explainSpec, kernelShap } from './explain/index.ts';
import { InputMismatchError } from './errors.ts';
import type { ModelRecord } from './registry.ts';
import { ONNX_NUMERIC_INPUT, type ModelSpec } from './spec.ts';
import type { FeatureValue } from './train/prep.ts';

/** Kernel SHAP is costly (samples x background rows model evaluations per row): at most this many rows per request. */
export const MAX_SAMPLED_EXPLANATIONS = 20;
const KERNEL_SAMPLES = 512;
const MAX_BACKGROUND = 20;

export interface RowExplanation extends Explanation {
  features: string[];
}

/** A trained model's feature values per row, from `rows` (all-numeric models) or its named inputs. */
export function specRows(spec: ModelSpec, rows: readonly (readonly number[])[] | null | undefined, inputs: unknown): FeatureValue[][] {
  const columns = spec.prep.columns;
  if (rows) return rows.map((r) => [...r]);
  const given = (inputs ?? {}) as Record<string, unknown>;
  const numeric = (given[ONNX_NUMERIC_INPUT] as unknown[][] | undefined) ?? [];
  const n = numeric.length || (Object.values(given)[0] as unknown[] | undefined)?.length || 0;
  return Array.from({ length: n }, (_, i) => {
    let k = 0;
    return columns.map((c) => {
      if (c.kind === 'numeric') {
        const v = numeric[i]?.[k++];
        return typeof v === 'number' ? v : v == null ? null : Number(v);
      }
      const v = (given[c.name] as unknown[][] | undefined)?.[i]?.[0];
      return v == null || v === '' ? null : String(v);
    });
  });
}

/** Exact explanations of a trained model's rows (for a multiclass model, of each row's predicted class). */
export function explainTrained(model: ModelRecord, rows: FeatureValue[][], predictedClass: (i: number) => number): RowExplanation[] {
  const spec = model.spec as ModelSpec;
  const multiclass = (spec.estimator.kind === 'logistic' || spec.estimator.kind === 'trees') && (spec.estimator.classes?.length ?? 0) > 2;
  return rows.map((row, i) => ({ ...explainSpec(spec, row, multiclass ? predictedClass(i) : 0), features: spec.features }));
}

/** Kernel SHAP explanations of an uploaded model with one float input [N, F]. */
export async function explainSampled(
  model: ModelRecord,
  rows: readonly (readonly number[])[] | null | undefined,
  score: (rows: Float64Array[]) => Promise<Float64Array>,
): Promise<RowExplanation[]> {
  if (!rows) throw InputMismatchError.single('inputs', 'explanations of an uploaded model need rows (a model with one float input [N, features])');
  if (rows.length > MAX_SAMPLED_EXPLANATIONS)
    throw ValidationError.single(
      'explain',
      `an uploaded model is explained by sampling: at most ${MAX_SAMPLED_EXPLANATIONS} rows per request with explain: true`,
    );
  const width = rows[0]?.length ?? 0;
  const stored = ((model.profile as { background?: number[][] } | null)?.background ?? []).filter((r) => r.length === width).slice(0, MAX_BACKGROUND);
  const background = stored.length > 0 ? stored.map((r) => Float64Array.from(r)) : [new Float64Array(width)];
  const features = model.features?.length === width ? model.features : Array.from({ length: width }, (_, i) => `x${i}`);
  const out: RowExplanation[] = [];
  for (const row of rows) {
    const e = await kernelShap(score, Float64Array.from(row), background, { samples: KERNEL_SAMPLES, seed: 1, batchSize: 4096 });
    out.push({ ...e, features });
  }
  return out;
}

/**
 * Kernel SHAP explanations of an uploaded model fed named inputs (see the module comment). Every element of a row's
 * inputs is a feature; a coalition takes the row's value or the background's (0, false or ''), so string and boolean
 * inputs are explained like numbers.
 */
export async function explainSampledInputs(
  model: ModelRecord,
  inputs: unknown,
  score: (inputs: Record<string, unknown[]>) => Promise<Float64Array>,
): Promise<RowExplanation[]> {
  const given = (inputs ?? {}) as Record<string, unknown[]>;
  const names = model.inputs.map((i) => i.name).filter((name) => Array.isArray(given[name]));
  const n = names.length > 0 ? given[names[0]].length : 0;
  if (n > MAX_SAMPLED_EXPLANATIONS)
    throw ValidationError.single(
      'explain',
      `an uploaded model is explained by sampling: at most ${MAX_SAMPLED_EXPLANATIONS} rows per request with explain: true`,
    );
  const out: RowExplanation[] = [];
  for (let i = 0; i < n; i++) {
    const layouts = names.map((name) => {
      const row = given[name][i];
      const type = model.inputs.find((x) => x.name === name)?.type;
      return { name, dims: nestedDims(row), values: flatten(row), kind: type === 'string' ? 'string' : type === 'bool' ? 'bool' : 'number' };
    });
    const features = layouts.flatMap((l) => (l.values.length === 1 ? [l.name] : l.values.map((_, k) => `${l.name}[${k}]`)));
    // Numbers are themselves; a string or boolean element is 1 (this row's value) or 0 (the background's).
    const x = Float64Array.from(layouts.flatMap((l) => l.values.map((v) => (l.kind === 'number' ? Number(v) : 1))));
    const background = [new Float64Array(x.length)];
    const decode = (row: Float64Array): Record<string, unknown[]> => {
      const built: Record<string, unknown[]> = {};
      let j = 0;
      for (const l of layouts) {
        const flat = l.values.map((v) => {
          const z = row[j++];
          if (l.kind === 'string') return z === 1 ? v : '';
          if (l.kind === 'bool') return z === 1 ? v : false;
          return z;
        });
        built[l.name] = [reshape(flat, l.dims)];
      }
      return built;
    };
    const e = await kernelShap(
      async (rows) => {
        const parts = rows.map(decode);
        const merged: Record<string, unknown[]> = {};
        for (const name of names) merged[name] = parts.map((p) => p[name][0]);
        return score(merged);
      },
      x,
      background,
      { samples: KERNEL_SAMPLES, seed: 1, batchSize: 4096 },
    );
    out.push({ ...e, features });
  }
  return out;
}

/** The dimensions of a nested array (one row of an input, without the batch dimension). */
function nestedDims(v: unknown): number[] {
  const dims: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    dims.push(cur.length);
    cur = cur[0];
  }
  return dims;
}

function flatten(v: unknown): unknown[] {
  return Array.isArray(v) ? v.flatMap(flatten) : [v];
}

function reshape(flat: unknown[], dims: readonly number[]): unknown {
  if (dims.length === 0) return flat[0];
  const [d, ...rest] = dims;
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: d }, (_, k) => reshape(flat.slice(k * size, (k + 1) * size), rest));
}
