/**
 * What serving records for monitoring: served feature values binned on each model version's training profile, per
 * hour (for drift), and shadow outputs (a candidate version's output beside production's for the same rows). Both
 * are kept in memory and written every few seconds in one statement each, off the request path.
 */
import type { Clock } from '../core/clock.ts';
import { type PeriodicTask, startPeriodic } from '../core/periodic.ts';
import type { Queryable } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { countRows, type ModelProfile, psi } from './drift.ts';
import type { ModelRecord } from './registry.ts';
import type { FeatureValue } from './train/prep.ts';

const HOUR = 3_600_000;
/** Shadow rows kept in memory between writes, at most (the rest are dropped and counted). */
const MAX_SHADOW_BUFFER = 50_000;

export interface ShadowRow {
  productionId: number;
  candidateId: number;
  at: Date;
  machineId: number | null;
  production: number | null;
  candidate: number | null;
  productionLabel: string | null;
  candidateLabel: string | null;
}

export class ServingMonitor {
  private bins = new Map<string, { modelId: number; hour: number; feature: string; counts: number[] }>();
  private shadow: ShadowRow[] = [];
  private timer: PeriodicTask | null = null;
  droppedShadowRows = 0;

  constructor(
    private deps: { db: Queryable; clock: Clock; logger: Logger },
    private flushMs = 5_000,
  ) {}

  start(): void {
    this.timer ??= startPeriodic(
      () => this.flush(),
      this.flushMs,
      (err) => this.deps.logger.warn({ err: (err as Error).message }, 'writing serving statistics failed'),
    );
  }

  async stop(): Promise<void> {
    await this.timer?.stop();
    this.timer = null;
    await this.flush();
  }

  /** Counts served rows (feature values in the model's feature order) into the model's profile bins. */
  served(model: ModelRecord, rows: readonly (readonly FeatureValue[])[]): void {
    const profile = model.profile as ModelProfile | null;
    if (!profile?.features?.length || !model.features || rows.length === 0) return;
    const hour = Math.floor(this.deps.clock.now().getTime() / HOUR) * HOUR;
    for (const [feature, counts] of countRows(profile, model.features, rows)) {
      const key = `${model.id}\u0000${hour}\u0000${feature}`;
      const entry = this.bins.get(key);
      if (entry) for (const [i, c] of counts.entries()) entry.counts[i] += c;
      else this.bins.set(key, { modelId: model.id, hour, feature, counts });
    }
  }

  shadowed(rows: ShadowRow[]): void {
    const room = MAX_SHADOW_BUFFER - this.shadow.length;
    if (rows.length > room) this.droppedShadowRows += rows.length - Math.max(0, room);
    if (room > 0) this.shadow.push(...rows.slice(0, room));
  }

  /** Writes what was recorded since the last flush. */
  async flush(): Promise<void> {
    const bins = [...this.bins.values()];
    this.bins.clear();
    const shadow = this.shadow;
    this.shadow = [];
    if (bins.length > 0)
      await this.deps.db.query(
        `insert into model_served_bins (model_id, hour, feature, counts)
         select b.model_id, to_timestamp(b.hour / 1000.0), b.feature, array(select jsonb_array_elements_text(b.counts)::float8)
         from jsonb_to_recordset($1::jsonb) as b(model_id int, hour float8, feature text, counts jsonb)
         on conflict (model_id, hour, feature) do update
           set counts = array(select coalesce(x, 0) + coalesce(y, 0) from unnest(model_served_bins.counts, excluded.counts) as t(x, y))`,
        [JSON.stringify(bins.map((b) => ({ model_id: b.modelId, hour: b.hour, feature: b.feature, counts: b.counts })))],
      );
    if (shadow.length > 0)
      await this.deps.db.query(
        `insert into model_shadow_outputs (production_id, candidate_id, at, machine_id, production, candidate, production_label, candidate_label)
         select s.production_id, s.candidate_id, s.at, s.machine_id, s.production, s.candidate, s.production_label, s.candidate_label
         from jsonb_to_recordset($1::jsonb) as s(production_id int, candidate_id int, at timestamptz, machine_id int, production float8,
           candidate float8, production_label text, candidate_label text)`,
        [
          JSON.stringify(
            shadow.map((r) => ({
              production_id: r.productionId,
              candidate_id: r.candidateId,
              at: r.at.toISOString(),
              machine_id: r.machineId,
              production: r.production,
              candidate: r.candidate,
              production_label: r.productionLabel,
              candidate_label: r.candidateLabel,
            })),
          ),
        ],
      );
  }
}

export interface FeatureDrift {
  feature: string;
  psi: number;
  servedRows: number;
}

/** Drift per feature of each model over the served rows of the last `hours`, against its training profile. */
export async function driftOf(db: Queryable, models: readonly ModelRecord[], since: Date): Promise<Map<number, FeatureDrift[]>> {
  const out = new Map<number, FeatureDrift[]>();
  const profiled = models.filter((m) => (m.profile as ModelProfile | null)?.features?.length);
  if (profiled.length === 0) return out;
  const rows = await db.query<{ model_id: number; feature: string; counts: number[] }>(
    `select model_id, feature, array(select sum(c) from model_served_bins b2, unnest(b2.counts) with ordinality as u(c, i)
        where b2.model_id = b.model_id and b2.feature = b.feature and b2.hour >= $2 group by i order by i) as counts
     from (select distinct model_id, feature from model_served_bins where model_id = any($1::int[]) and hour >= $2) b`,
    [profiled.map((m) => m.id), since],
  );
  for (const m of profiled) {
    const profile = m.profile as ModelProfile;
    const served = new Map(rows.filter((r) => r.model_id === m.id).map((r) => [r.feature, r.counts.map(Number)]));
    out.set(
      m.id,
      profile.features.map((p) => {
        const counts = served.get(p.feature) ?? [];
        return { feature: p.feature, psi: psi(p.shares, counts), servedRows: counts.reduce((a, b) => a + b, 0) };
      }),
    );
  }
  return out;
}

export interface ShadowSummary {
  candidateId: number;
  productionVersion: number | null;
  rows: number;
  /** Classifiers: the share of rows where both gave the same label. */
  labelAgreement: number | null;
  meanAbsoluteDifference: number | null;
  since: Date | null;
}

/** How a candidate's shadow outputs compare with production's, per candidate model. */
export async function shadowSummaries(db: Queryable, candidateIds: readonly number[]): Promise<Map<number, ShadowSummary>> {
  const out = new Map<number, ShadowSummary>();
  if (candidateIds.length === 0) return out;
  const rows = await db.query<Record<string, any>>(
    `select s.candidate_id, max(p.version)::int as production_version, count(*)::int as rows,
        avg(case when s.production_label is null or s.candidate_label is null then null when s.production_label = s.candidate_label then 1.0 else 0.0 end)::float8 as agreement,
        avg(abs(s.production - s.candidate))::float8 as mad, min(s.at) as since
     from model_shadow_outputs s join models p on p.id = s.production_id
     where s.candidate_id = any($1::int[]) group by s.candidate_id`,
    [[...candidateIds]],
  );
  for (const r of rows)
    out.set(r.candidate_id, {
      candidateId: r.candidate_id,
      productionVersion: r.production_version,
      rows: r.rows,
      labelAgreement: r.agreement === null ? null : Number(r.agreement),
      meanAbsoluteDifference: r.mad === null ? null : Number(r.mad),
      since: r.since ? new Date(r.since) : null,
    });
  return out;
}
