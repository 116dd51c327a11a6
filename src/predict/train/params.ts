import { echo, type Problems } from '../../core/errors.ts';

export const ALGORITHMS = ['LINEAR_REGRESSION', 'LOGISTIC_REGRESSION', 'AUTOREGRESSIVE', 'GRADIENT_BOOSTING'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

type ParamDef =
  | { kind: 'number'; default: number | null; min: number; max: number; minExclusive?: boolean; integer?: boolean; nullable?: boolean }
  | { kind: 'choice'; default: string | boolean | null; values: readonly (string | boolean)[] };

const maxCategories: ParamDef = { kind: 'number', default: 100, min: 1, max: 10_000, integer: true };

/** Every parameter each algorithm accepts, with sklearn's names and defaults. */
export const PARAMS: Record<Algorithm, Record<string, ParamDef>> = {
  LINEAR_REGRESSION: {
    alpha: { kind: 'number', default: 1, min: 0, max: 1e12 },
    max_categories: maxCategories,
  },
  LOGISTIC_REGRESSION: {
    C: { kind: 'number', default: 1, min: 0, max: 1e12, minExclusive: true },
    max_iter: { kind: 'number', default: 200, min: 1, max: 10_000, integer: true },
    tol: { kind: 'number', default: 1e-6, min: 0, max: 1, minExclusive: true },
    max_categories: maxCategories,
  },
  AUTOREGRESSIVE: {
    p: { kind: 'number', default: 5, min: 1, max: 1000, integer: true },
    alpha: { kind: 'number', default: 1e-6, min: 0, max: 1e12 },
    max_categories: maxCategories,
  },
  GRADIENT_BOOSTING: {
    task: { kind: 'choice', default: null, values: ['REGRESSION', 'CLASSIFICATION'] },
    learning_rate: { kind: 'number', default: 0.1, min: 0, max: 10, minExclusive: true },
    max_iter: { kind: 'number', default: 100, min: 1, max: 10_000, integer: true },
    max_leaf_nodes: { kind: 'number', default: 31, min: 2, max: 4096, integer: true },
    max_depth: { kind: 'number', default: null, min: 1, max: 1000, integer: true, nullable: true },
    min_samples_leaf: { kind: 'number', default: 20, min: 1, max: 10_000_000, integer: true },
    l2_regularization: { kind: 'number', default: 0, min: 0, max: 1e12 },
    max_bins: { kind: 'number', default: 255, min: 2, max: 255, integer: true },
    early_stopping: { kind: 'choice', default: 'auto', values: ['auto', true, false] },
    validation_fraction: { kind: 'number', default: 0.1, min: 0, max: 0.9, minExclusive: true },
    n_iter_no_change: { kind: 'number', default: 10, min: 1, max: 10_000, integer: true },
    tol: { kind: 'number', default: 1e-7, min: 0, max: 1 },
    max_categories: maxCategories,
  },
};

export type EffectiveParams = Record<string, number | string | boolean | null>;

/**
 * The algorithm's parameters with defaults filled in; unknown names and values out of range are reported under
 * `params.<name>` with what is allowed.
 */
export function resolveParams(problems: Problems, algorithm: Algorithm, given: unknown): EffectiveParams {
  const defs = PARAMS[algorithm];
  const out: EffectiveParams = {};
  for (const [name, def] of Object.entries(defs)) out[name] = def.default;
  if (given === undefined || given === null) return out;
  if (typeof given !== 'object' || Array.isArray(given)) {
    problems.add('params', 'must be an object of parameter names and values');
    return out;
  }
  for (const [name, value] of Object.entries(given)) {
    const def = Object.hasOwn(defs, name) ? defs[name] : undefined;
    const path = `params.${name}`;
    if (!def) {
      problems.add(path, `unknown parameter for ${algorithm}; allowed: ${Object.keys(defs).join(', ')}`);
      continue;
    }
    if (def.kind === 'choice') {
      if (!def.values.includes(value as string | boolean))
        problems.add(path, `must be one of ${def.values.map((v) => JSON.stringify(v)).join(', ')}, not ${echo(value)}`);
      else out[name] = value as string | boolean;
      continue;
    }
    if (value === null && def.nullable) {
      out[name] = null;
      continue;
    }
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (def.minExclusive ? value > def.min : value >= def.min) &&
      value <= def.max &&
      (!def.integer || Number.isInteger(value));
    if (!ok) problems.add(path, `must be ${describeRange(def)}, not ${echo(value)}`);
    else out[name] = value;
  }
  return out;
}

function describeRange(def: Extract<ParamDef, { kind: 'number' }>): string {
  const what = def.integer ? 'a whole number' : 'a number';
  const range = def.minExclusive ? `greater than ${def.min} and at most ${def.max}` : `from ${def.min} to ${def.max}`;
  return `${what} ${range}${def.nullable ? ' or null' : ''}`;
}
