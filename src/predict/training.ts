/**
 * Training as a job: the dataset is loaded, the model fitted and cross-validated in a worker thread (off the event
 * loop; cancelling terminates the thread), exported to ONNX, and registered with its metrics, features, parameters,
 * dataset and training profile, to be served by onnxruntime like any uploaded model.
 */
import { ValidationError, type FieldError } from '../core/errors.ts';
import type { Database } from '../db/client.ts';
import type { JobService } from '../jobs/service.ts';
import { workerFile } from '../jobs/pool.ts';
import { getDataset, loadDataset } from './datasets.ts';
import { profileOf } from './drift.ts';
import { exportModelSpec } from './onnx/export.ts';
import { checkModelName } from './registry.ts';
import type { PredictionService } from './service.ts';
import { ALL_PLANTS, type PlantScope } from '../core/scope.ts';
import type { FeatureDefinition } from './features.ts';
import type { TrainRequest, TrainResult } from './train/index.ts';

export const TRAIN_JOB = 'train-model';
export const ALGORITHMS = ['LINEAR_REGRESSION', 'LOGISTIC_REGRESSION', 'AUTOREGRESSIVE', 'GRADIENT_BOOSTING'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface TrainJobParams {
  name: string;
  datasetId: number;
  target: string;
  features: string[];
  algorithm: Algorithm;
  folds?: number | null;
  params?: Record<string, unknown> | null;
  group?: string | null;
  time?: string | null;
  seed?: number | null;
}

export interface TrainJobResult {
  modelId: number;
  name: string;
  version: number;
  metrics: Record<string, number>;
}

const TRAIN_WORKER = workerFile(import.meta.url, './train-worker');

/** Checks a training request against its dataset's columns before it is queued; returns the dataset's plant. */
export async function checkTrainRequest(database: Database, scope: PlantScope, p: TrainJobParams): Promise<{ plantId: number | null }> {
  const problems: FieldError[] = [];
  const nameProblem = checkModelName(p.name);
  if (nameProblem) problems.push(nameProblem);
  const dataset = await getDataset(database, scope, p.datasetId).catch(() => null);
  if (!dataset) throw ValidationError.single('datasetId', 'unknown dataset');
  const columns = new Set(dataset.columns.map((c) => c.name));
  const known = (value: string | null | undefined, path: string) => {
    if (value != null && !columns.has(value)) problems.push({ path, message: `the dataset has no column ${JSON.stringify(value)}` });
  };
  known(p.target, 'target');
  if (p.features.length === 0) problems.push({ path: 'features', message: 'name at least one feature column' });
  p.features.forEach((f, i) => {
    known(f, `features[${i}]`);
    if (f === p.target) problems.push({ path: `features[${i}]`, message: 'the target cannot also be a feature' });
  });
  known(p.group, 'group');
  known(p.time, 'time');
  if (p.folds != null && (!Number.isInteger(p.folds) || p.folds < 0 || p.folds > 20)) problems.push({ path: 'folds', message: 'must be 0 (none) to 20' });
  if (problems.length) throw new ValidationError(problems);
  return { plantId: dataset.plantId };
}

/** Registers the training job kind (every process that runs jobs does this). */
export function registerTrainingJob(jobs: JobService, deps: { database: Database; predictions: PredictionService }): void {
  jobs.register<TrainJobParams, TrainJobResult>(TRAIN_JOB, {
    role: 'ENGINEER',
    async run(ctx) {
      const p = ctx.params;
      ctx.progress(0, 'loading the dataset');
      const info = await getDataset(deps.database, ALL_PLANTS, p.datasetId);
      const table = await loadDataset(deps.database, p.datasetId);
      ctx.signal.throwIfAborted();
      const request: TrainRequest = {
        table,
        target: p.target,
        features: p.features,
        algorithm: p.algorithm,
        params: p.params ?? undefined,
        folds: p.folds ?? undefined,
        group: p.group ?? undefined,
        time: p.time ?? undefined,
        seed: p.seed ?? undefined,
      };
      ctx.progress(0.02, `training ${p.algorithm} on ${table.rowCount.toLocaleString('en-US')} rows`);
      const trained = await ctx.pool.runInWorker<TrainResult>(TRAIN_WORKER, request, {
        signal: ctx.signal,
        onProgress: (fraction, message) => ctx.progress(0.02 + 0.93 * fraction, message),
      });
      ctx.progress(0.96, 'exporting to ONNX and registering');
      const bytes = exportModelSpec(trained.spec, { 'plantgraph.algorithm': p.algorithm, 'plantgraph.dataset': String(p.datasetId) });
      const model = await deps.predictions.register({
        name: p.name,
        task: trained.spec.task,
        bytes,
        spec: trained.spec,
        features: trained.spec.features,
        metrics: trained.metrics,
        params: trained.params,
        profile: profileOf(table, trained.spec.features),
        featureDefinitions: twinFeatures(info.definition?.features ?? null, trained.spec.features),
        datasetId: p.datasetId,
        plantId: ctx.job.plantId,
        source: `trained:${p.algorithm}`,
        createdBy: ctx.job.createdBy,
      });
      return { modelId: model.id, name: model.name, version: model.version, metrics: trained.metrics };
    },
  });
}

/**
 * The twin feature definitions behind a model's features, in its feature order, when every feature is one (a model
 * trained on a twin dataset from its feature columns): then machines can be scored from live telemetry. Otherwise
 * null (a CSV dataset, or a model that also uses the dataset's time or machine column).
 */
export function twinFeatures(definitions: readonly FeatureDefinition[] | null, features: readonly string[]): FeatureDefinition[] | null {
  if (!definitions) return null;
  const byName = new Map(definitions.map((d) => [d.name, d]));
  const out = features.map((f) => byName.get(f));
  return out.every((d) => d !== undefined) ? (out as FeatureDefinition[]) : null;
}
