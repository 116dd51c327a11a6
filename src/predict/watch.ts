/**
 * Predictions for PREDICTION alert rules. The models that enabled PREDICTION rules name are scored for the machines
 * whose telemetry just arrived (after that ingest committed, so ingest never waits for inference) and, every
 * `sweepMs`, for every machine of the rules' plants (features over trailing windows change with time alone). Each
 * round raises a `predictionsMade` write event; the alert evaluator (alerts/kinds/prediction.ts) turns it into alerts
 * through the usual lifecycle. Predict knows nothing of alerts beyond which models the rules name.
 */
import type { Clock } from '../core/clock.ts';
import { runInBackground } from '../core/background.ts';
import { type PeriodicTask, startPeriodic } from '../core/periodic.ts';
import type { Database, Queryable } from '../db/client.ts';
import type { EventHub } from '../events/hub.ts';
import type { Logger } from '../logger.ts';
import type { TelemetryRow } from '../telemetry/events.ts';
import { liveTwin } from '../twin/snapshot.ts';
import { predictMachines } from './machine.ts';
import type { PredictionService } from './service.ts';

/** One model output for one machine, as PREDICTION rules read it. */
export interface PredictionMade {
  plantId: number;
  machineId: number;
  model: string;
  version: number;
  value: number;
  at: Date;
}

declare module '../events/hub.ts' {
  interface WriteEvents {
    predictionsMade: PredictionMade[];
  }
}

const WATCH_TTL_MS = 5_000;

export class PredictionWatcher {
  private watched: { at: number; pairs: { plantId: number; model: string }[] } | null = null;
  private sweeper: PeriodicTask | null = null;
  private unlisten: (() => void) | null = null;
  private queued = new Map<number, Set<number>>();
  private round: Promise<void> | null = null;

  constructor(
    private deps: { database: Database; events: EventHub; predictions: PredictionService; clock: Clock; logger: Logger },
    private sweepMs = 60_000,
  ) {}

  start(): void {
    if (this.unlisten) return;
    this.unlisten = this.deps.events.afterCommitOn('telemetryStored', (rows: TelemetryRow[]) => {
      const byPlant = new Map<number, Set<number>>();
      for (const r of rows) {
        let set = byPlant.get(r.plantId);
        if (!set) byPlant.set(r.plantId, (set = new Set()));
        set.add(r.machineId);
      }
      this.enqueue(byPlant);
    });
    this.sweeper = startPeriodic(
      () => this.sweep(),
      this.sweepMs,
      (err) => this.deps.logger.warn({ err: (err as Error).message }, 'prediction sweep failed'),
    );
  }

  async stop(): Promise<void> {
    this.unlisten?.();
    this.unlisten = null;
    await this.sweeper?.stop();
    this.sweeper = null;
    await this.idle();
  }

  /**
   * Machines whose telemetry arrived, scored after the ingest (which does not wait): while a round runs, further
   * machines are gathered into the next one, so a burst of ingests costs a few rounds, not one per batch.
   */
  private enqueue(byPlant: Map<number, Set<number>>): void {
    for (const [plantId, ids] of byPlant) {
      let set = this.queued.get(plantId);
      if (!set) this.queued.set(plantId, (set = new Set()));
      for (const id of ids) set.add(id);
    }
    if (this.round) return;
    // Background work: not part of the ingest (or request) that triggered it, nor of its statement budget.
    this.round = runInBackground(async () => {
      while (this.queued.size > 0) {
        const batch = this.queued;
        this.queued = new Map();
        await this.score(batch).catch((err) => this.deps.logger.warn({ err: (err as Error).message }, 'predictions for PREDICTION rules failed'));
      }
    }).finally(() => {
      this.round = null;
    });
  }

  /** Resolves when the machines queued so far have been scored (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.round) await this.round;
  }

  /** Scores every machine of the plants that have PREDICTION rules. */
  async sweep(): Promise<number> {
    const pairs = await this.watchedPairs(this.deps.database);
    const plantIds = [...new Set(pairs.map((p) => p.plantId))];
    if (plantIds.length === 0) return 0;
    const byPlant = new Map<number, Set<number>>();
    for (const m of await liveTwin(this.deps.database).machines({ plantIds })) {
      let set = byPlant.get(m.plantId);
      if (!set) byPlant.set(m.plantId, (set = new Set()));
      set.add(m.id);
    }
    return this.score(byPlant);
  }

  /** Scores the given machines (by plant) with the models their plants' rules name; returns the predictions made. */
  async score(machinesByPlant: Map<number, Set<number>>): Promise<number> {
    const pairs = (await this.watchedPairs(this.deps.database)).filter((p) => machinesByPlant.has(p.plantId));
    if (pairs.length === 0) return 0;
    const now = this.deps.clock.now();
    const made: PredictionMade[] = [];
    const byModel = new Map<string, number[]>();
    for (const p of pairs) byModel.set(p.model, [...(byModel.get(p.model) ?? []), p.plantId]);
    for (const [name, plants] of byModel) {
      const model = await this.deps.predictions.resolve(name).catch(() => null);
      if (!model) continue; // a rule naming a model with no active version: nothing to evaluate
      const machineIds = plants.flatMap((plantId) => [...(machinesByPlant.get(plantId) ?? [])]);
      const plantOf = new Map<number, number>();
      for (const plantId of plants) for (const id of machinesByPlant.get(plantId) ?? []) plantOf.set(id, plantId);
      for (const r of await predictMachines(this.deps.database, this.deps.predictions, model, machineIds, now)) {
        if (r.ok && r.row.value !== null)
          made.push({ plantId: plantOf.get(r.machineId)!, machineId: r.machineId, model: name, version: model.version, value: r.row.value, at: now });
      }
    }
    if (made.length === 0) return 0;
    const after = await this.deps.database.transaction((tx) => this.deps.events.run('predictionsMade', made, tx));
    await this.deps.events.afterCommit(after);
    return made.length;
  }

  /** The (plant, model) pairs of enabled PREDICTION rules, cached for a few seconds. */
  private async watchedPairs(q: Queryable): Promise<{ plantId: number; model: string }[]> {
    const now = this.deps.clock.now().getTime();
    if (this.watched && now - this.watched.at < WATCH_TTL_MS) return this.watched.pairs;
    const pairs = await q.query<{ plantId: number; model: string }>(
      `select distinct plant_id as "plantId", model from alert_rules where kind = 'PREDICTION' and enabled and model is not null`,
    );
    this.watched = { at: now, pairs };
    return pairs;
  }

  /** Forget the cached rule list (a rule was created or changed in this process). */
  invalidate(): void {
    this.watched = null;
  }
}
