import { NotFoundError, Problems, ValidationError } from '../core/errors.ts';
import { encodeId } from '../core/ids.ts';
import { ALL_PLANTS, canSeePlant, type PlantScope } from '../core/scope.ts';
import { checkName, checkValidDate } from '../core/validate.ts';
import type { Database, Queryable } from '../db/client.ts';
import { metricsReported, statesRecordedBefore } from '../telemetry/windows.ts';
import { liveTwin } from '../twin/snapshot.ts';
import type { ChunkColumn } from './chunks.ts';
import { ColumnStats } from './columns.ts';
import {
  checkFeatureDefinitions,
  type FeatureDefinition,
  type FeatureDefinitionInput,
  type FeatureRow,
  featureKind,
  featureRows,
  isTelemetryFeature,
} from './features.ts';
import { finishDatasetRow, insertChunk, insertDatasetRow } from './store.ts';

export type TwinLabel = { kind: 'FAILURE_WITHIN'; horizonSeconds: number } | { kind: 'TIME_TO_FAILURE'; capSeconds?: number | null };

export interface TwinDatasetInput {
  plantId: number;
  name: string;
  definitions: readonly FeatureDefinitionInput[];
  stepSeconds: number;
  from: Date;
  to: Date;
  label: TwinLabel;
  createdBy?: string | null;
  scope?: PlantScope;
  /** The end of the known history (default now): labels whose horizon reaches past it are unknown. */
  now?: Date;
}

/** What a twin dataset records about how it was built (`datasets.definition`). */
export interface TwinDatasetDefinition {
  features: FeatureDefinition[];
  stepSeconds: number;
  from: string;
  to: string;
  label: TwinLabel;
  /** Columns every twin dataset has besides its features. */
  groupColumn: 'machine';
  timeColumn: 'time';
  labelColumn: 'label';
  /** FAILURE_WITHIN: rows labelled 1 and 0. */
  labelBalance: { positive: number; negative: number } | null;
  /** Machine and step pairs left out, by reason. */
  skipped: { reason: string; rows: number }[];
}

export const TWIN_DATASET_LIMITS = {
  /** Machines × steps of one dataset. */
  rows: 500_000,
  /** Machines × steps × distinct metric windows evaluated per statement. */
  evaluationsPerStatement: 20_000,
  maxStepSeconds: 7 * 86_400,
  maxHorizonSeconds: 90 * 86_400,
  chunkRows: 8_192,
} as const;

const RESERVED = ['machine', 'time', 'label'];
const DAY = 86_400;

export interface TwinDatasetProgress {
  signal?: AbortSignal;
  /** Called after each statement: the fraction of steps done (0..1) and a message. */
  onProgress?: (fraction: number, message: string) => void;
}

interface Checked {
  name: string;
  definitions: FeatureDefinition[];
  steps: Date[];
}

function check(input: TwinDatasetInput): Checked {
  const p = new Problems();
  const name = checkName(p, 'name', input.name);
  let definitions: FeatureDefinition[] = [];
  try {
    definitions = checkFeatureDefinitions(input.definitions, 'definitions', RESERVED);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    for (const e of err.fieldErrors) p.add(e.path, e.message);
  }
  const s = input.stepSeconds;
  if (!Number.isInteger(s) || s < 1 || s > TWIN_DATASET_LIMITS.maxStepSeconds)
    p.add('stepSeconds', `must be a whole number of seconds from 1 to ${TWIN_DATASET_LIMITS.maxStepSeconds.toLocaleString('en-US')}`);
  checkValidDate(p, 'from', input.from);
  checkValidDate(p, 'to', input.to);
  const now = input.now ?? new Date();
  if (p.empty && input.to.getTime() <= input.from.getTime()) p.add('to', 'must be after from');
  if (p.empty && input.to.getTime() > now.getTime()) p.add('to', 'must not be in the future: the history ends now');
  const label = input.label;
  if (label?.kind === 'FAILURE_WITHIN') {
    const h = label.horizonSeconds;
    if (!Number.isInteger(h) || h < 1 || h > TWIN_DATASET_LIMITS.maxHorizonSeconds)
      p.add('label.horizonSeconds', `must be a whole number of seconds from 1 to ${TWIN_DATASET_LIMITS.maxHorizonSeconds / DAY} days`);
  } else if (label?.kind === 'TIME_TO_FAILURE') {
    const c = label.capSeconds;
    if (c != null && (!Number.isInteger(c) || c < 1 || c > TWIN_DATASET_LIMITS.maxHorizonSeconds))
      p.add('label.capSeconds', `must be a whole number of seconds from 1 to ${TWIN_DATASET_LIMITS.maxHorizonSeconds / DAY} days`);
  } else p.add('label.kind', 'must be FAILURE_WITHIN or TIME_TO_FAILURE');
  p.throwIfAny();
  const steps: Date[] = [];
  const stepCount = Math.ceil((input.to.getTime() - input.from.getTime()) / (s * 1000));
  if (stepCount > TWIN_DATASET_LIMITS.rows)
    p.add('stepSeconds', `${stepCount.toLocaleString('en-US')} steps; at most ${TWIN_DATASET_LIMITS.rows.toLocaleString('en-US')}`);
  p.throwIfAny();
  for (let k = 0; k < stepCount; k++) steps.push(new Date(input.from.getTime() + k * s * 1000));
  return { name, definitions, steps };
}

/** The label of a row, or why it has none. */
function labelOf(label: TwinLabel, row: FeatureRow, now: number): { value: number } | { skip: string } {
  if (row.statusAt === 'DOWN') return { skip: 'the machine was DOWN at the step' };
  const at = row.at.getTime();
  const down = row.nextDownMs ?? null;
  if (label.kind === 'FAILURE_WITHIN') {
    if (down !== null) return { value: 1 };
    return at + label.horizonSeconds * 1000 <= now ? { value: 0 } : { skip: 'unknown label: the horizon reaches past the end of the history' };
  }
  const cap = label.capSeconds ?? null;
  if (down !== null) return { value: cap === null ? (down - at) / 1000 : Math.min(cap, (down - at) / 1000) };
  if (cap !== null && at + cap * 1000 <= now) return { value: cap };
  return { skip: 'unknown label: no DOWN after the step within the history' };
}

/** Columns: machine (the group column), time (epoch seconds), the features in order, label. */
class TwinRows {
  readonly stats: ColumnStats[];
  private machine: (string | null)[] = [];
  private time: number[] = [];
  private features: FeatureRow['values'][] = [];
  private label: number[] = [];
  constructor(private readonly definitions: readonly FeatureDefinition[]) {
    this.stats = [new ColumnStats('machine'), new ColumnStats('time'), ...definitions.map((d) => new ColumnStats(d.name)), new ColumnStats('label')];
  }
  get pending(): number {
    return this.label.length;
  }
  add(row: FeatureRow, label: number): void {
    const values = row.values!;
    this.machine.push(row.machineName);
    this.time.push(row.at.getTime() / 1000);
    this.features.push(values);
    this.label.push(label);
    this.stats[0].addCategory(row.machineName);
    this.stats[1].addNumber(row.at.getTime() / 1000);
    this.definitions.forEach((d, i) => {
      const v = values[i];
      if (featureKind(d) === 'numeric') this.stats[i + 2].addNumber(v === null ? Number.NaN : Number(v));
      else this.stats[i + 2].addCategory(v === null ? null : String(v));
    });
    this.stats[this.stats.length - 1].addNumber(label);
  }
  /** The pending rows as a chunk, emptied. */
  take(): { rows: number; columns: ChunkColumn[] } {
    const rows = this.label.length;
    const numeric = (get: (r: number) => number) => ({ kind: 'numeric' as const, values: Float64Array.from({ length: rows }, (_, r) => get(r)) });
    const columns: ChunkColumn[] = [
      { kind: 'text', values: this.machine },
      numeric((r) => this.time[r]),
      ...this.definitions.map((d, i): ChunkColumn => {
        if (featureKind(d) === 'numeric') return numeric((r) => (this.features[r]![i] === null ? Number.NaN : Number(this.features[r]![i])));
        return { kind: 'text', values: this.features.map((f) => (f![i] === null ? null : String(f![i]))) };
      }),
      numeric((r) => this.label[r]),
    ];
    this.machine = [];
    this.time = [];
    this.features = [];
    this.label = [];
    return { rows, columns };
  }
  summaries() {
    return this.stats.map((s, i) => {
      const kind = i === 0 ? 'categorical' : i === 1 || i === this.stats.length - 1 ? 'numeric' : featureKind(this.definitions[i - 2]);
      return s.summary(kind);
    });
  }
}

/**
 * A dataset from a plant's own history: one row per machine and step in [from, to) with the feature definitions
 * (computed by the same statement as serving), a `machine` group column, `time` (epoch seconds) and `label`:
 * FAILURE_WITHIN: 1 when the machine went DOWN within horizonSeconds after the step, else 0; TIME_TO_FAILURE: seconds
 * until the next DOWN (capped at capSeconds, when given). Rows are left out (and counted by reason) where a feature has
 * no telemetry in its window, the machine is DOWN at the step, or the label is not known yet. Work is bounded per
 * statement (chunks of steps); `signal` cancels between statements and `onProgress` reports. All in one transaction:
 * a refusal or cancellation stores nothing.
 */
export async function createTwinDataset(database: Database, input: TwinDatasetInput, progress: TwinDatasetProgress = {}): Promise<number> {
  const scope = input.scope ?? ALL_PLANTS;
  const { name, definitions, steps } = check(input);
  const now = (input.now ?? new Date()).getTime();
  return database.transaction(async (tx) => {
    const [plant] = await liveTwin(tx).plants([input.plantId]);
    if (!plant || !canSeePlant(scope, input.plantId)) throw new NotFoundError('Plant', encodeId('Plant', input.plantId));
    const machines = await liveTwin(tx).machines({ plantIds: [input.plantId] });
    if (machines.length === 0) throw ValidationError.single('plantId', 'the plant has no machines');
    const ids = machines.map((m) => m.id);
    if (ids.length * steps.length > TWIN_DATASET_LIMITS.rows)
      throw ValidationError.single(
        'stepSeconds',
        `${ids.length} machines × ${steps.length.toLocaleString('en-US')} steps is more than ${TWIN_DATASET_LIMITS.rows.toLocaleString('en-US')} rows: use a larger step or a shorter range`,
      );
    await requireHistory(tx, ids, definitions, input);

    const id = await insertDatasetRow(tx, { name, plantId: input.plantId, source: 'TWIN', createdBy: input.createdBy ?? null });
    const windows = new Set(definitions.filter(isTelemetryFeature).map((d) => `${d.metric}\u0000${d.windowSeconds}`)).size;
    const perStatement = Math.max(1, Math.floor(TWIN_DATASET_LIMITS.evaluationsPerStatement / (ids.length * Math.max(1, windows))));
    const downWithin = input.label.kind === 'FAILURE_WITHIN' ? input.label.horizonSeconds : (input.label.capSeconds ?? null);
    const rows = new TwinRows(definitions);
    const skipped = new Map<string, number>();
    const skip = (reason: string) => skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
    let positive = 0;
    let total = 0;
    let seq = 0;
    for (let s = 0; s < steps.length; s += perStatement) {
      progress.signal?.throwIfAborted();
      const part = steps.slice(s, s + perStatement);
      for (const row of await featureRows(tx, { machineIds: ids, definitions, steps: part, states: { downWithinSeconds: downWithin } })) {
        if (!row.values) {
          skip(row.problems.map((p) => (p.feature === '*' ? p.cause : `${p.feature}: ${p.cause}`)).join('; '));
          continue;
        }
        const l = labelOf(input.label, row, now);
        if ('skip' in l) {
          skip(l.skip);
          continue;
        }
        rows.add(row, l.value);
        total++;
        if (l.value === 1) positive++;
        if (rows.pending === TWIN_DATASET_LIMITS.chunkRows) await insertChunk(tx, id, seq++, rows.take());
      }
      const done = Math.min(steps.length, s + perStatement);
      progress.onProgress?.(
        done / steps.length,
        `${done.toLocaleString('en-US')} of ${steps.length.toLocaleString('en-US')} steps, ${total.toLocaleString('en-US')} rows`,
      );
    }
    const skippedList = [...skipped].map(([reason, n]) => ({ reason, rows: n })).sort((a, b) => b.rows - a.rows);
    if (total === 0)
      throw ValidationError.single(
        'from',
        `no rows between ${input.from.toISOString()} and ${input.to.toISOString()}: ${skippedList.map((x) => `${x.rows} × ${x.reason}`).join('; ')}`,
      );
    if (rows.pending > 0) await insertChunk(tx, id, seq++, rows.take());
    const definition: TwinDatasetDefinition = {
      features: definitions,
      stepSeconds: input.stepSeconds,
      from: input.from.toISOString(),
      to: input.to.toISOString(),
      label:
        input.label.kind === 'FAILURE_WITHIN'
          ? { kind: 'FAILURE_WITHIN', horizonSeconds: input.label.horizonSeconds }
          : { kind: 'TIME_TO_FAILURE', capSeconds: input.label.capSeconds ?? null },
      groupColumn: 'machine',
      timeColumn: 'time',
      labelColumn: 'label',
      labelBalance: input.label.kind === 'FAILURE_WITHIN' ? { positive, negative: total - positive } : null,
      skipped: skippedList,
    };
    await finishDatasetRow(tx, id, rows.summaries(), total, definition);
    return id;
  });
}

/** Refuses a range in which the plant has none of a metric, or no state history at all (labels come from it). */
async function requireHistory(q: Queryable, ids: number[], definitions: FeatureDefinition[], input: TwinDatasetInput): Promise<void> {
  const p = new Problems();
  const telemetry = definitions.filter(isTelemetryFeature);
  const longest = Math.max(0, ...telemetry.map((d) => d.windowSeconds));
  const from = new Date(input.from.getTime() - longest * 1000);
  const reported = await metricsReported(q, ids, [...new Set(telemetry.map((d) => d.metric))], from, input.to);
  definitions.forEach((d, i) => {
    if (isTelemetryFeature(d) && !reported.has(d.metric))
      p.add(`definitions[${i}].metric`, `no machine of the plant reported "${d.metric}" between ${from.toISOString()} and ${input.to.toISOString()}`);
  });
  if (!(await statesRecordedBefore(q, ids, input.to)))
    p.add('label', `no machine of the plant has a recorded state before ${input.to.toISOString()}: labels come from the state history`);
  p.throwIfAny();
}
