/**
 * Predictions for machines of the twin: a model that carries feature definitions (a model trained on a twin dataset,
 * or an uploaded one registered with them) is fed the same features the dataset computed, for every machine of a
 * request at once: one SQL statement for the features and one session.run for the rows (through the batcher, so
 * concurrent requests merge too). A machine without the telemetry a feature needs gets that reason, never a zero.
 */
import { runInBackground } from '../core/background.ts';
import { AppError } from '../core/errors.ts';
import type { Queryable } from '../db/client.ts';
import { computeFeatures, type FeatureDefinition, type FeatureValue } from './features.ts';
import { type Feeds, jsonToFeeds, rowsToFeeds } from './onnx/feeds.ts';
import type { ModelRecord } from './registry.ts';
import type { PredictionService, ScoredRow } from './service.ts';
import { ONNX_NUMERIC_INPUT, type ModelSpec } from './spec.ts';

/** A machine's features could not be computed (no telemetry of a metric in a window, an unknown machine). */
export class MissingFeaturesError extends AppError {
  readonly code = 'FEATURES_MISSING';
}

/** The model has no feature definitions over the twin, so machines cannot be scored with it. */
export class NoTwinFeaturesError extends AppError {
  readonly code = 'NO_TWIN_FEATURES';
  constructor(model: ModelRecord) {
    super(
      `model ${model.name} version ${model.version} has no feature definitions over the twin: train it on a twin dataset, or register it with featureDefinitions; predict(rows or inputs) serves it as it is`,
    );
  }
}

export type MachinePrediction = { machineId: number; ok: true; row: ScoredRow; values: FeatureValue[] } | { machineId: number; ok: false; error: AppError };

/** Feeds for rows of feature values in the model's feature order (numeric and categorical inputs of a trained model, or one float matrix). */
export function featureFeeds(model: ModelRecord, rows: FeatureValue[][]): Feeds {
  const spec = model.spec as ModelSpec | null;
  if (spec?.prep.columns.some((c) => c.kind === 'categorical')) {
    const inputs: Record<string, unknown[][]> = {};
    const numeric: number[][] = rows.map(() => []);
    spec.prep.columns.forEach((c, j) => {
      if (c.kind === 'numeric') for (const [i, r] of rows.entries()) numeric[i].push(typeof r[j] === 'number' ? (r[j] as number) : Number.NaN);
      else inputs[c.name] = rows.map((r) => [r[j] === null ? '' : String(r[j])]);
    });
    if (spec.prep.columns.some((c) => c.kind === 'numeric')) inputs[ONNX_NUMERIC_INPUT] = numeric;
    return jsonToFeeds(inputs, model, { allowNaN: true });
  }
  return rowsToFeeds(
    rows.map((r) => r.map((v) => (typeof v === 'number' ? v : Number.NaN))),
    model,
    { allowNaN: true },
  );
}

/** Scores the machines with one model version (see the module comment); per machine a row or its error. */
export async function predictMachines(
  db: Queryable,
  predictions: PredictionService,
  model: ModelRecord,
  machineIds: readonly number[],
  at?: Date,
): Promise<MachinePrediction[]> {
  const definitions = model.featureDefinitions as FeatureDefinition[] | null;
  if (!definitions || definitions.length === 0) {
    const error = new NoTwinFeaturesError(model);
    return machineIds.map((machineId) => ({ machineId, ok: false, error }));
  }
  const features = await computeFeatures(db, { machineIds, definitions, at });
  const ready = features.filter((f): f is Extract<typeof f, { ok: true }> => f.ok);
  const values = ready.map((f) => f.values);
  // The rows are already merged (one request's machines, or concurrent requests'): no second batching window.
  const scored = ready.length > 0 ? await predictions.score(model, featureFeeds(model, values), { immediate: true }) : [];
  if (ready.length > 0) {
    predictions.monitor.served(model, values);
    // A candidate with the same feature definitions scores the same values (one with others is shadowed by predict()).
    predictions.shadow(
      model,
      scored,
      ready.map((f) => f.machineId),
      (candidate) => {
        if (JSON.stringify(candidate.featureDefinitions) !== JSON.stringify(model.featureDefinitions))
          throw new Error('the candidate has other feature definitions');
        return featureFeeds(candidate, values);
      },
    );
  }
  const byMachine = new Map<number, MachinePrediction>();
  for (const [i, f] of ready.entries()) byMachine.set(f.machineId, { machineId: f.machineId, ok: true, row: scored[i], values: f.values });
  for (const f of features) if (!f.ok) byMachine.set(f.machineId, { machineId: f.machineId, ok: false, error: new MissingFeaturesError(f.reason) });
  return machineIds.map((id) => byMachine.get(id)!);
}

/**
 * Machine predictions merged across concurrent requests: every call for the same model version within `windowMs` of
 * the first becomes one predictMachines (one features statement, one session.run) for all their machines. The merged
 * work runs as background work, on behalf of every caller, and each caller gets its own machines' results.
 */
export class MachineBatcher {
  private open = new Map<
    number,
    { model: ModelRecord; ids: Set<number>; waiters: { ids: readonly number[]; resolve: (r: MachinePrediction[]) => void; reject: (e: unknown) => void }[] }
  >();

  constructor(
    private db: Queryable,
    private predictions: PredictionService,
    private windowMs: number,
    private maxMachines = 10_000,
  ) {}

  predict(model: ModelRecord, machineIds: readonly number[]): Promise<MachinePrediction[]> {
    return new Promise((resolve, reject) => {
      let batch = this.open.get(model.id);
      if (batch && batch.ids.size + machineIds.length > this.maxMachines) {
        this.flush(model.id);
        batch = undefined;
      }
      if (!batch) {
        batch = { model, ids: new Set(), waiters: [] };
        this.open.set(model.id, batch);
        setTimeout(() => this.flush(model.id), this.windowMs);
      }
      for (const id of machineIds) batch.ids.add(id);
      batch.waiters.push({ ids: machineIds, resolve, reject });
    });
  }

  /**
   * The machines of one request, all known at once (look-ahead from a root field, graphql/lookahead.ts): scored now,
   * without waiting for the window, on behalf of the request.
   */
  predictNow(model: ModelRecord, machineIds: readonly number[]): Promise<MachinePrediction[]> {
    return predictMachines(this.db, this.predictions, model, [...new Set(machineIds)]);
  }

  private flush(modelId: number): void {
    const batch = this.open.get(modelId);
    if (!batch) return;
    this.open.delete(modelId);
    runInBackground(() =>
      predictMachines(this.db, this.predictions, batch.model, [...batch.ids]).then(
        (results) => {
          const byId = new Map(results.map((r) => [r.machineId, r]));
          for (const w of batch.waiters) w.resolve(w.ids.map((id) => byId.get(id)!));
        },
        (err) => {
          for (const w of batch.waiters) w.reject(err);
        },
      ),
    );
  }
}
