/**
 * Predictions as a service: the registry, sessions and the inference batcher behind one object, which owns its side
 * effects (alias events published to every process, sessions dropped when a version loses an alias anywhere,
 * per-version counts and run times on /metrics).
 */
import type * as ort from 'onnxruntime-node';
import type { Clock } from '../core/clock.ts';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { defineTopic, type PubSub, reviveDates } from '../pubsub/index.ts';
import { InferenceBatcher } from './batcher.ts';
import { InferenceError } from './errors.ts';
import { isBatchable } from './onnx/batch.ts';
import { type Feeds, jsonToFeeds, rowsToFeeds } from './onnx/feeds.ts';
import { nonFiniteRows } from './onnx/run.ts';
import * as registry from './registry.ts';
import type { AliasEvent, ModelRecord, RegisterInput } from './registry.ts';
import { SessionCache } from './sessions.ts';
import { ServingMonitor } from './monitor.ts';
import { MachineBatcher } from './machine.ts';
import { runInBackground } from '../core/background.ts';
import { explainSampled, explainSampledInputs, explainTrained, type RowExplanation, specRows } from './explanations.ts';
import type { ModelSpec } from './spec.ts';

/** Alias moves, to every server process (sessions are dropped) and to `modelRegistry` subscribers. */
export const modelAliasTopic = defineTopic<AliasEvent>('modelAliases', { shared: true, revive: (p) => reviveDates(p as AliasEvent, ['at']) });
export const REGISTRY_KEY = 0;
/** How long the active version of a name is trusted without an alias event. */
const RESOLVE_TTL_MS = 2000;

export interface PredictConfig {
  /** Requests for one version within this many ms share one session.run. */
  batchWindowMs: number;
  /** A merged batch holds at most this many rows. */
  batchMaxRows: number;
  /** Largest model accepted (bytes). */
  maxModelBytes: number;
  /** Most rows one predict call may score. */
  maxRows: number;
}

export interface ClassProbability {
  label: string;
  probability: number;
}

/** One scored row: a value (regression; for classification the probability of the positive class), or an error. */
export interface ScoredRow {
  value: number | null;
  label: string | null;
  probabilities: ClassProbability[] | null;
  explanation?: RowExplanation;
}

export interface PredictRequest {
  model: string;
  version?: number | null;
  rows?: readonly (readonly number[])[] | null;
  inputs?: unknown;
  explain?: boolean | null;
}

export interface PredictionServiceDeps {
  database: Database;
  pubsub: PubSub;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  config: PredictConfig;
}

export class PredictionService {
  readonly sessions: SessionCache;
  readonly batcher: InferenceBatcher;
  /** Machine predictions merged across concurrent requests (one features statement and one run per window). */
  readonly machines: MachineBatcher;
  /** Served feature bins (drift) and shadow outputs, written every few seconds. */
  readonly monitor: ServingMonitor;
  private unsubscribe: AbortController | null = null;
  private versions = new Map<number, { name: string; version: string }>();
  private resolved = new Map<string, { model: ModelRecord; at: number }>();
  /** Lookups under way, by the resolved map's key: concurrent requests for a name share one. */
  private resolving = new Map<string, Promise<ModelRecord>>();
  /** Bumped when an alias moves, so a lookup that started before does not cache what it found. */
  private generation = 0;

  constructor(private deps: PredictionServiceDeps) {
    this.sessions = new SessionCache(deps.database);
    this.monitor = new ServingMonitor({ db: deps.database, clock: deps.clock, logger: deps.logger });
    this.machines = new MachineBatcher(deps.database, this, deps.config.batchWindowMs, deps.config.batchMaxRows);
    this.batcher = new InferenceBatcher({
      windowMs: deps.config.batchWindowMs,
      maxRows: deps.config.batchMaxRows,
      onRun: (modelId, _rows, seconds) => {
        const labels = this.versions.get(modelId);
        if (!labels) return;
        deps.metrics.modelRuns.inc({ model: labels.name, version: labels.version });
        deps.metrics.modelRunSeconds.observe({ model: labels.name, version: labels.version }, seconds);
      },
    });
  }

  /** Listens for alias moves from every process (sessions of versions that lost an alias are dropped). */
  start(): void {
    if (this.unsubscribe) return;
    this.monitor.start();
    const controller = new AbortController();
    this.unsubscribe = controller;
    const events = this.deps.pubsub.subscribe(modelAliasTopic, REGISTRY_KEY, { signal: controller.signal, maxQueue: 10_000 });
    void (async () => {
      try {
        for await (const event of events) this.forget(event);
      } catch (err) {
        if (!controller.signal.aborted) this.deps.logger.warn({ err: (err as Error).message }, 'model alias events stopped');
      }
    })();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.abort();
    this.unsubscribe = null;
    await this.monitor.stop();
    await this.sessions.close();
  }

  async register(input: RegisterInput): Promise<ModelRecord> {
    const { model, event } = await registry.registerModel(this.deps.database, input, { maxBytes: this.deps.config.maxModelBytes, now: this.deps.clock.now() });
    if (event) await this.publish(event);
    return model;
  }

  /** Makes a version the one served by name (the `production` alias). */
  async activate(modelId: number, by: string): Promise<ModelRecord> {
    return this.setAlias(modelId, registry.PRODUCTION, by);
  }

  async setAlias(modelId: number, alias: string, by: string): Promise<ModelRecord> {
    const { model, event } = await registry.setAlias(this.deps.database, modelId, alias, by, this.deps.clock.now());
    if (event) await this.publish(event);
    return model;
  }

  async removeAlias(name: string, alias: string): Promise<AliasEvent> {
    const event = await registry.removeAlias(this.deps.database, name, alias, this.deps.clock.now());
    await this.publish(event);
    return event;
  }

  /** An alias moved: the active version of its name is looked up again, the previous holder's session dropped. */
  private forget(event: AliasEvent): void {
    this.generation++;
    this.resolving.delete(`${event.name}\u0000`);
    this.resolving.delete(`${event.name}\u0000candidate`);
    this.resolved.delete(`${event.name}\u0000`);
    this.resolved.delete(`${event.name}\u0000candidate`);
    if (event.previousModelId !== null) this.sessions.drop(event.previousModelId);
  }

  private async publish(event: AliasEvent): Promise<void> {
    this.forget(event);
    await this.deps.pubsub.publish(modelAliasTopic, REGISTRY_KEY, event);
  }

  /**
   * The version a request names: its version, or the active one; NOT_FOUND otherwise. Versions never change, so they
   * are cached; which version is active is cached until an alias of the name moves (an event from any process) or
   * for RESOLVE_TTL_MS at most (an event lost while a LISTEN connection reconnects).
   */
  /** resolve's answer when it is cached and fresh (no statement, no wait), else undefined. */
  peek(name: string, version?: number | null): ModelRecord | undefined {
    const hit = this.resolved.get(`${name}\u0000${version ?? ''}`);
    return hit && (version != null || this.deps.clock.now().getTime() - hit.at < RESOLVE_TTL_MS) ? hit.model : undefined;
  }

  async resolve(name: string, version?: number | null): Promise<ModelRecord> {
    const key = `${name}\u0000${version ?? ''}`;
    const hit = this.resolved.get(key);
    if (hit && (version != null || this.deps.clock.now().getTime() - hit.at < RESOLVE_TTL_MS)) return hit.model;
    let pending = this.resolving.get(key);
    if (!pending) {
      pending = this.lookup(key, name, version, hit?.model ?? null);
      this.resolving.set(key, pending);
      const mine = pending;
      const done = () => {
        if (this.resolving.get(key) === mine) this.resolving.delete(key);
      };
      pending.then(done, done);
    }
    return pending;
  }

  /**
   * resolve's database lookup. When the cached active version is only stale, a small statement checks whether it is
   * still the one holding the alias (the whole row, with a trained model's spec, is read only when it changed).
   */
  private async lookup(key: string, name: string, version: number | null | undefined, stale: ModelRecord | null): Promise<ModelRecord> {
    const generation = this.generation;
    const keep = (model: ModelRecord) => {
      if (generation !== this.generation) return;
      if (this.resolved.size >= 10_000) this.resolved.clear();
      this.resolved.set(key, { model, at: this.deps.clock.now().getTime() });
    };
    if (stale && version == null && (await registry.aliasHolder(this.deps.database, name)) === stale.id) {
      keep(stale);
      return stale;
    }
    const model = await registry.resolveModel(this.deps.database, name, version);
    if (model) {
      keep(model);
      return model;
    }
    if (version != null) throw new NotFoundError('Model', `${name} version ${version}`);
    const any = await registry.listModels(this.deps.database, { name, limit: 1 });
    if (any.length > 0) throw new NotFoundError('Model', `${name} (no version is active: activate one or give a version)`);
    throw new NotFoundError('Model', name);
  }

  /** Scores rows or named inputs with one model version. */
  async predict(request: PredictRequest): Promise<{ model: ModelRecord; rows: ScoredRow[] }> {
    const hasRows = request.rows != null;
    const hasInputs = request.inputs != null;
    if (hasRows === hasInputs) throw ValidationError.single(hasRows ? 'inputs' : 'rows', 'give exactly one of rows and inputs');
    if (hasRows && request.rows!.length > this.deps.config.maxRows)
      throw ValidationError.single(
        'rows',
        `at most ${this.deps.config.maxRows.toLocaleString('en-US')} rows per call; got ${request.rows!.length.toLocaleString('en-US')}`,
      );
    const model = await this.resolve(request.model, request.version);
    const feeds = hasRows ? rowsToFeeds(request.rows!, model) : jsonToFeeds(request.inputs, model);
    const n = firstDimension(feeds);
    if (n > this.deps.config.maxRows)
      throw ValidationError.single('inputs', `at most ${this.deps.config.maxRows.toLocaleString('en-US')} rows per call; got ${n.toLocaleString('en-US')}`);
    const rows = await this.score(model, feeds);
    if (request.explain) await this.explain(model, request, rows);
    if (model.profile)
      this.monitor.served(model, model.spec ? specRows(model.spec as ModelSpec, request.rows, request.inputs) : (request.rows ?? []).map((r) => [...r]));
    if (request.version == null)
      this.shadow(model, rows, null, (candidate) => (hasRows ? rowsToFeeds(request.rows!, candidate) : jsonToFeeds(request.inputs, candidate)));
    return { model, rows };
  }

  /** The version holding `candidate` for a name, if any (cached like the active version). */
  async candidateOf(name: string): Promise<ModelRecord | null> {
    const key = `${name}\u0000candidate`;
    const hit = this.resolved.get(key);
    if (hit && this.deps.clock.now().getTime() - hit.at < RESOLVE_TTL_MS) return hit.model;
    const found = await registry.resolveModel(this.deps.database, name, null, registry.CANDIDATE);
    this.resolved.set(key, { model: found as ModelRecord, at: this.deps.clock.now().getTime() });
    return found;
  }

  /**
   * Shadow mode: when a name has a `candidate` version, it scores the same rows as production, detached from the
   * request (its outputs are stored for comparison, never returned or acted on). `machineIds` name the rows' machines.
   */
  shadow(production: ModelRecord, rows: ScoredRow[], machineIds: readonly number[] | null, feedsFor: (candidate: ModelRecord) => Feeds): void {
    runInBackground(() => {
      void (async () => {
        const candidate = await this.candidateOf(production.name);
        if (!candidate || candidate.id === production.id) return;
        const scored = await this.score(candidate, feedsFor(candidate));
        const at = this.deps.clock.now();
        this.monitor.shadowed(
          rows.map((r, i) => ({
            productionId: production.id,
            candidateId: candidate.id,
            at,
            machineId: machineIds?.[i] ?? null,
            production: r.value,
            candidate: scored[i]?.value ?? null,
            productionLabel: r.label,
            candidateLabel: scored[i]?.label ?? null,
          })),
        );
      })().catch((err) => this.deps.logger.debug({ err: (err as Error).message, model: production.name }, 'shadow scoring failed'));
    });
  }

  /** Adds each row's explanation (see explanations.ts for the methods and their spaces). */
  private async explain(model: ModelRecord, request: PredictRequest, rows: ScoredRow[]): Promise<void> {
    let explanations: RowExplanation[];
    if (model.spec) {
      const classes = model.serving.classes ?? [];
      const values = specRows(model.spec as ModelSpec, request.rows, request.inputs);
      explanations = explainTrained(model, values, (i) => Math.max(0, classes.indexOf(rows[i].label ?? '')));
    } else if (request.rows == null && request.inputs != null) {
      explanations = await explainSampledInputs(model, request.inputs, async (inputs) => {
        const scored = await this.score(model, jsonToFeeds(inputs, model));
        return Float64Array.from(scored, (r) => r.value ?? Number.NaN);
      });
    } else {
      explanations = await explainSampled(model, request.rows, async (batch) => {
        const scored = await this.score(
          model,
          rowsToFeeds(
            batch.map((r) => Array.from(r)),
            model,
          ),
        );
        return Float64Array.from(scored, (r) => r.value ?? Number.NaN);
      });
    }
    rows.forEach((row, i) => {
      row.explanation = explanations[i];
    });
  }

  /** Runs the feeds through the batcher and reads the outputs as the task says. */
  async score(model: ModelRecord, feeds: Feeds, opts: { immediate?: boolean } = {}): Promise<ScoredRow[]> {
    this.versions.set(model.id, { name: model.name, version: String(model.version) });
    const outputs = await this.batcher.run(
      {
        modelId: model.id,
        session: () => this.sessions.get(model.id),
        batchable: isBatchable(model),
        outputs: model.outputs.filter((o) => o.kind === 'tensor').map((o) => o.name),
      },
      feeds,
      opts,
    );
    const rows = interpret(model, outputs, firstDimension(feeds));
    this.deps.metrics.predictions.inc({ model: model.name, version: String(model.version) }, rows.length);
    return rows;
  }
}

function firstDimension(feeds: Feeds): number {
  const first = Object.values(feeds)[0];
  return first?.dims[0] ?? 0;
}

/** The task's reading of a run's outputs, one entry per input row. */
export function interpret(model: ModelRecord, outputs: Record<string, ort.Tensor>, n: number): ScoredRow[] {
  const serving = model.serving;
  if (model.task !== 'CLASSIFICATION') {
    const tensor = outputs[serving.value!];
    const bad = nonFiniteRows(tensor);
    if (bad.length) throw new InferenceError(`the model gave a non-finite value for rows ${bad.slice(0, 20).join(', ')}`, bad);
    const width = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = tensor.data as Float32Array | Float64Array;
    return Array.from({ length: n }, (_, i) => ({ value: Number(data[i * width]), label: null, probabilities: null }));
  }
  const probs = outputs[serving.probabilities!];
  const bad = nonFiniteRows(probs);
  if (bad.length) throw new InferenceError(`the model gave non-finite probabilities for rows ${bad.slice(0, 20).join(', ')}`, bad);
  const k = probs.dims.length > 1 ? probs.dims[probs.dims.length - 1] : 1;
  const labels = serving.label ? outputs[serving.label] : undefined;
  const data = probs.data as Float32Array | Float64Array;
  // One column: the probability of the positive class of a binary classifier (a sigmoid output).
  const columns = k === 1 ? 2 : k;
  const classes = serving.classes?.length === columns ? serving.classes : Array.from({ length: columns }, (_, i) => String(i));
  const probabilityAt =
    k === 1 ? (i: number, j: number) => (j === 1 ? Number(data[i]) : 1 - Number(data[i])) : (i: number, j: number) => Number(data[i * k + j]);
  return Array.from({ length: n }, (_, i) => {
    const probabilities = classes.map((label, j) => ({ label, probability: probabilityAt(i, j) }));
    let best = 0;
    for (let j = 1; j < columns; j++) if (probabilities[j].probability > probabilities[best].probability) best = j;
    const label = labels ? String(labels.data[i]) : classes[best];
    // The value of a classifier is the probability of its last class: the positive one of a binary classifier (failure risk).
    return { value: probabilities[columns - 1]?.probability ?? null, label, probabilities };
  });
}
