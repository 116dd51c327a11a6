/**
 * The in-memory optimization model every solver adapter reads and every parser produces: variables with bounds and a
 * domain, linear constraints as sparse term lists with a lower and an upper bound (equality when they are equal, a
 * range when both are finite), and a linear objective with a constant offset. It is plain data (structured-clone and
 * worker safe); for JSON, use modelToJson / modelFromJson, which spell ±Infinity as "-inf" / "+inf".
 */
import { AppError } from '../../core/errors.ts';

export type VariableType = 'continuous' | 'integer' | 'binary';
export type ObjectiveSense = 'minimize' | 'maximize';
export type ConstraintSense = '<=' | '>=' | '=';

export interface ModelVariable {
  name: string;
  /** -Infinity for no lower bound. */
  lower: number;
  /** +Infinity for no upper bound. */
  upper: number;
  /** 'binary' is an integer variable whose bounds lie within [0, 1]. */
  type: VariableType;
}

/** One coefficient of a row or of the objective, by variable name. */
export interface Term {
  name: string;
  coef: number;
}

export interface ModelConstraint {
  name: string;
  terms: Term[];
  /** -Infinity when the row has no lower bound. */
  lower: number;
  /** +Infinity when the row has no upper bound. */
  upper: number;
}

export interface Objective {
  sense: ObjectiveSense;
  terms: Term[];
  /** Constant added to the objective value. */
  constant: number;
  /** The objective row's name in the source file, if any. */
  name?: string;
}

export interface OptimizationModel {
  name?: string;
  variables: ModelVariable[];
  constraints: ModelConstraint[];
  objective: Objective;
}

/** One problem found by validateModel; `path` locates it ("variables[3].lower"). */
export interface ModelProblem {
  path: string;
  message: string;
}

/** The model is malformed (duplicate names, NaN, unknown variable in a row ...); `problems` lists every problem found. */
export class ModelValidationError extends AppError {
  readonly code = 'MODEL_INVALID';
  constructor(readonly problems: ModelProblem[]) {
    super(
      `invalid model: ${problems
        .slice(0, 5)
        .map((p) => `${p.path}: ${p.message}`)
        .join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
    );
    this.name = 'ModelValidationError';
  }
}

/** Bounds and right-hand sides at or beyond this magnitude in LP/MPS text mean infinity (as in HiGHS and CPLEX). */
export const INFINITE_BOUND = 1e20;

/** `x`, or ±Infinity when |x| >= INFINITE_BOUND. */
export function asBound(x: number): number {
  return x >= INFINITE_BOUND ? Infinity : x <= -INFINITE_BOUND ? -Infinity : x;
}

/** The lower/upper pair of a row written as `expr sense rhs`. */
export function senseBounds(sense: ConstraintSense, rhs: number): { lower: number; upper: number } {
  if (sense === '<=') return { lower: -Infinity, upper: rhs };
  if (sense === '>=') return { lower: rhs, upper: Infinity };
  return { lower: rhs, upper: rhs };
}

/** A constraint from a sense and right-hand side (`x + y <= 4`) or from explicit lower/upper bounds (ranges). */
export function makeConstraint(
  spec: { name: string; terms: Term[] } & ({ sense: ConstraintSense; rhs: number } | { lower?: number; upper?: number }),
): ModelConstraint {
  if ('sense' in spec) return { name: spec.name, terms: spec.terms, ...senseBounds(spec.sense, spec.rhs) };
  return { name: spec.name, terms: spec.terms, lower: spec.lower ?? -Infinity, upper: spec.upper ?? Infinity };
}

/** A variable with the usual defaults: continuous, [0, +inf); binary gets [0, 1]. */
export function makeVariable(name: string, opts: { lower?: number; upper?: number; type?: VariableType } = {}): ModelVariable {
  const type = opts.type ?? 'continuous';
  return { name, lower: opts.lower ?? 0, upper: opts.upper ?? (type === 'binary' ? 1 : Infinity), type };
}

/** Whether the model has integer or binary variables. */
export function isMip(model: OptimizationModel): boolean {
  return model.variables.some((v) => v.type !== 'continuous');
}

/** Number of nonzero coefficients in the constraint rows. */
export function nonzeroCount(model: OptimizationModel): number {
  let n = 0;
  for (const c of model.constraints) n += c.terms.length;
  return n;
}

function checkTerms(terms: Term[], path: string, known: Set<string>, problems: ModelProblem[]): void {
  if (!Array.isArray(terms)) {
    problems.push({ path, message: 'terms must be an array' });
    return;
  }
  const seen = new Set<string>();
  terms.forEach((t, i) => {
    if (typeof t?.name !== 'string' || !known.has(t.name)) problems.push({ path: `${path}[${i}]`, message: `unknown variable ${JSON.stringify(t?.name)}` });
    else if (seen.has(t.name)) problems.push({ path: `${path}[${i}]`, message: `variable ${JSON.stringify(t.name)} appears twice` });
    else seen.add(t.name);
    if (typeof t?.coef !== 'number' || !Number.isFinite(t.coef))
      problems.push({ path: `${path}[${i}].coef`, message: `coefficient must be a finite number, got ${t?.coef}` });
  });
}

/**
 * Every structural problem of `model`: empty or duplicate names, NaN or non-number bounds, a lower bound of +inf or an
 * upper bound of -inf, non-finite coefficients or constant, unknown or repeated variables in a row, binary variables
 * with bounds outside [0, 1]. Bounds with lower > upper are not a problem here: such a model is valid and infeasible.
 */
export function modelProblems(model: OptimizationModel): ModelProblem[] {
  const problems: ModelProblem[] = [];
  if (!model || !Array.isArray(model.variables) || !Array.isArray(model.constraints) || !model.objective) {
    return [{ path: '', message: 'a model needs variables, constraints and objective' }];
  }
  const names = new Set<string>();
  model.variables.forEach((v, i) => {
    const p = `variables[${i}]`;
    if (typeof v?.name !== 'string' || v.name === '') problems.push({ path: `${p}.name`, message: 'name must be a non-empty string' });
    else if (names.has(v.name)) problems.push({ path: `${p}.name`, message: `duplicate variable name ${JSON.stringify(v.name)}` });
    else names.add(v.name);
    if (typeof v?.lower !== 'number' || Number.isNaN(v.lower) || v.lower === Infinity)
      problems.push({ path: `${p}.lower`, message: `lower bound must be a number below +inf, got ${v?.lower}` });
    if (typeof v?.upper !== 'number' || Number.isNaN(v.upper) || v.upper === -Infinity)
      problems.push({ path: `${p}.upper`, message: `upper bound must be a number above -inf, got ${v?.upper}` });
    if (v?.type !== 'continuous' && v?.type !== 'integer' && v?.type !== 'binary')
      problems.push({ path: `${p}.type`, message: `unknown type ${JSON.stringify(v?.type)}` });
    if (v?.type === 'binary' && (v.lower < 0 || v.upper > 1))
      problems.push({ path: p, message: `binary variable bounds [${v.lower}, ${v.upper}] exceed [0, 1]` });
  });
  const rowNames = new Set<string>();
  model.constraints.forEach((c, i) => {
    const p = `constraints[${i}]`;
    if (typeof c?.name !== 'string' || c.name === '') problems.push({ path: `${p}.name`, message: 'name must be a non-empty string' });
    else if (rowNames.has(c.name)) problems.push({ path: `${p}.name`, message: `duplicate constraint name ${JSON.stringify(c.name)}` });
    else rowNames.add(c.name);
    if (typeof c?.lower !== 'number' || Number.isNaN(c.lower) || c.lower === Infinity)
      problems.push({ path: `${p}.lower`, message: `lower bound must be a number below +inf, got ${c?.lower}` });
    if (typeof c?.upper !== 'number' || Number.isNaN(c.upper) || c.upper === -Infinity)
      problems.push({ path: `${p}.upper`, message: `upper bound must be a number above -inf, got ${c?.upper}` });
    checkTerms(c?.terms, `${p}.terms`, names, problems);
  });
  const o = model.objective;
  if (o.sense !== 'minimize' && o.sense !== 'maximize')
    problems.push({ path: 'objective.sense', message: `sense must be minimize or maximize, got ${JSON.stringify(o.sense)}` });
  if (typeof o.constant !== 'number' || !Number.isFinite(o.constant))
    problems.push({ path: 'objective.constant', message: `constant must be a finite number, got ${o.constant}` });
  checkTerms(o.terms, 'objective.terms', names, problems);
  return problems;
}

/** Throws ModelValidationError listing every problem of `model` (see modelProblems); returns the model otherwise. */
export function validateModel<M extends OptimizationModel>(model: M): M {
  const problems = modelProblems(model);
  if (problems.length > 0) throw new ModelValidationError(problems);
  return model;
}

type JsonBound = number | '-inf' | '+inf';

function boundToJson(x: number): JsonBound {
  return x === Infinity ? '+inf' : x === -Infinity ? '-inf' : x;
}

function boundFromJson(x: unknown): number {
  if (x === '+inf' || x === 'inf' || x === 'Infinity' || x === '+Infinity') return Infinity;
  if (x === '-inf' || x === '-Infinity') return -Infinity;
  return typeof x === 'number' ? x : Number.NaN;
}

/** The model as JSON-safe data: infinite bounds become "-inf" / "+inf" (JSON.stringify would turn them into null). */
export function modelToJson(model: OptimizationModel): unknown {
  return {
    ...model,
    variables: model.variables.map((v) => ({ ...v, lower: boundToJson(v.lower), upper: boundToJson(v.upper) })),
    constraints: model.constraints.map((c) => ({ ...c, lower: boundToJson(c.lower), upper: boundToJson(c.upper) })),
  };
}

/** Inverse of modelToJson (also accepts plain numbers for every bound), validated: throws ModelValidationError. */
export function modelFromJson(json: any): OptimizationModel {
  const model: OptimizationModel = {
    ...json,
    variables: (json?.variables ?? []).map((v: any) => ({ ...v, lower: boundFromJson(v?.lower), upper: boundFromJson(v?.upper) })),
    constraints: (json?.constraints ?? []).map((c: any) => ({ ...c, lower: boundFromJson(c?.lower), upper: boundFromJson(c?.upper) })),
  };
  return validateModel(model);
}
