import { echo, Problems } from '../core/errors.ts';
import { NAME_MAX } from '../core/validate.ts';
import { intArray, textArray } from '../db/arrays.ts';
import type { Queryable } from '../db/client.ts';
import { metricProblem } from '../telemetry/input.ts';
import { nextDownMsSql, statusAtSql, trailingWindowSql } from '../telemetry/windows.ts';
import { machineAttributesSql } from '../twin/queries.ts';

/**
 * Features from the twin: an aggregate of a metric over a trailing window (at − windowSeconds, at], or an attribute
 * of the machine. Datasets built from the twin record their definitions and models trained on them carry them, and
 * serving computes them with the same statement (`featureRows`) as training did, for all machines at once.
 */

export const AGGREGATES = ['latest', 'mean', 'min', 'max', 'std', 'slope'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

/** Machine attributes a feature may be, with the kind of value each gives. */
export const MACHINE_ATTRIBUTES = {
  'machine.kind': 'categorical',
  'machine.idealCycleSeconds': 'numeric',
  'machine.line': 'categorical',
} as const;
export type MachineAttribute = keyof typeof MACHINE_ATTRIBUTES;

export interface TelemetryFeature {
  name: string;
  metric: string;
  aggregate: Aggregate;
  windowSeconds: number;
}
export interface AttributeFeature {
  name: string;
  attribute: MachineAttribute;
}
export type FeatureDefinition = TelemetryFeature | AttributeFeature;

/** A definition as callers write it: a metric with aggregate and window, or an attribute; `name` is optional. */
export interface FeatureDefinitionInput {
  name?: string | null;
  metric?: string | null;
  aggregate?: string | null;
  windowSeconds?: number | null;
  attribute?: string | null;
}

export const FEATURE_LIMITS = { definitions: 100, windowSeconds: 7 * 86_400 } as const;

export const isTelemetryFeature = (d: FeatureDefinition): d is TelemetryFeature => 'metric' in d;

export function featureKind(d: FeatureDefinition): 'numeric' | 'categorical' {
  return isTelemetryFeature(d) ? 'numeric' : MACHINE_ATTRIBUTES[d.attribute];
}

/**
 * Checks feature definitions and fills in default names (`temperature_mean_600s`, `machine.kind`). Every problem is
 * reported at its path (`definitions[2].windowSeconds`); names must be unique and not in `reserved`.
 */
export function checkFeatureDefinitions(input: readonly FeatureDefinitionInput[], path = 'definitions', reserved: readonly string[] = []): FeatureDefinition[] {
  const p = new Problems();
  if (!Array.isArray(input) || input.length === 0) p.add(path, 'at least one feature definition is needed');
  else if (input.length > FEATURE_LIMITS.definitions) p.add(path, `at most ${FEATURE_LIMITS.definitions} feature definitions`);
  p.throwIfAny();
  const names = new Map<string, number>();
  const out = input.map((d, i): FeatureDefinition => {
    const at = (f: string) => `${path}[${i}].${f}`;
    let def: FeatureDefinition;
    if (d.attribute != null) {
      if (d.metric != null || d.aggregate != null || d.windowSeconds != null)
        p.add(at('attribute'), 'give either attribute or metric, aggregate and windowSeconds');
      if (!(d.attribute in MACHINE_ATTRIBUTES)) p.add(at('attribute'), `must be one of ${Object.keys(MACHINE_ATTRIBUTES).join(', ')}`);
      def = { name: d.name ?? d.attribute, attribute: d.attribute as MachineAttribute };
    } else {
      if (d.metric == null) p.add(at('metric'), 'a metric (or an attribute) is needed');
      else {
        const problem = metricProblem(d.metric);
        if (problem) p.add(at('metric'), problem);
      }
      if (d.aggregate == null || !(AGGREGATES as readonly string[]).includes(d.aggregate)) p.add(at('aggregate'), `must be one of ${AGGREGATES.join(', ')}`);
      const w = d.windowSeconds;
      if (w == null || !Number.isInteger(w) || w < 1 || w > FEATURE_LIMITS.windowSeconds)
        p.add(at('windowSeconds'), `must be a whole number of seconds from 1 to ${FEATURE_LIMITS.windowSeconds.toLocaleString('en-US')}`);
      const metric = d.metric ?? '';
      def = { name: d.name ?? `${metric}_${d.aggregate}_${w}s`, metric, aggregate: d.aggregate as Aggregate, windowSeconds: w ?? 0 };
    }
    const name = def.name;
    if (name.trim() === '' || name.length > NAME_MAX || /[\u0000-\u001f\u007f]/.test(name)) p.add(at('name'), `must be 1 to ${NAME_MAX} printable characters`);
    else if (reserved.includes(name)) p.add(at('name'), `${echo(name)} is reserved (${reserved.join(', ')} are columns of every twin dataset)`);
    else if (names.has(name)) p.add(at('name'), `duplicate feature name ${echo(name)} (also ${path}[${names.get(name)}])`);
    else names.set(name, i);
    return def;
  });
  p.throwIfAny();
  return out;
}

export type FeatureValue = number | string | null;

/** Why one feature of a machine has no value at an instant. */
export interface FeatureProblem {
  feature: string;
  message: string;
  /** The message without the instant (the same for every step a twin dataset leaves out for it). */
  cause: string;
}

export type MachineFeatures =
  | { machineId: number; ok: true; values: FeatureValue[] }
  | { machineId: number; ok: false; reason: string; problems: FeatureProblem[] };

/** One machine at one instant: its feature values, or why some are missing; with labels, what they need. */
export interface FeatureRow {
  machineId: number;
  /** Index into the instants asked for. */
  step: number;
  at: Date;
  /** null for a machine that does not exist. */
  machineName: string | null;
  values: FeatureValue[] | null;
  problems: FeatureProblem[];
  /** With `states`: the status in force at the instant, and the first DOWN after it (epoch ms, within `downWithinSeconds`). */
  statusAt?: string | null;
  nextDownMs?: number | null;
}

type Window = { metric: string; seconds: number; latest: boolean };

function windowsOf(defs: readonly FeatureDefinition[]): { windows: Window[]; windowOf: number[] } {
  const keys = new Map<string, number>();
  const windows: Window[] = [];
  const windowOf = defs.map((d) => {
    if (!isTelemetryFeature(d)) return -1;
    const key = `${d.windowSeconds}\u0000${d.metric}`;
    let k = keys.get(key);
    if (k === undefined) {
      k = windows.length;
      keys.set(key, k);
      windows.push({ metric: d.metric, seconds: d.windowSeconds, latest: false });
    }
    if (d.aggregate === 'latest') windows[k].latest = true;
    return k;
  });
  return { windows, windowOf };
}

/** The one statement behind every feature read: machines × instants × distinct (metric, window) pairs. */
function featureSql(windows: readonly Window[], states: { downWithinSeconds: number | null } | null): string {
  const latest = windows.some((w) => w.latest);
  const stateColumns = states
    ? `, ${statusAtSql('m.id', 'step.at')} as status_at, ${nextDownMsSql('m.id', 'step.at', states.downWithinSeconds === null ? null : '$5::int')} as next_down_ms`
    : '';
  return `with m as materialized (${machineAttributesSql('$1::text::int[]')}),
    step as (select u.at, u.i::int as step from unnest($2::text::timestamptz[]) with ordinality u(at, i)),
    w as (select u.metric, u.seconds, u.k::int as win from unnest($3::text::text[], $4::text::int[]) with ordinality u(metric, seconds, k)),
    ms as materialized (select m.id, m.name, m.kind, m.ideal_cycle_seconds, m.line, step.at, step.step${stateColumns} from m cross join step)
    select ms.id as machine_id, ms.name, ms.kind, ms.ideal_cycle_seconds, ms.line, ms.step${states ? ', ms.status_at, ms.next_down_ms' : ''},
      w.win, a.n, a.mean, a.min, a.max, a.std, a.slope, a.latest
    from ms left join w on true
    left join lateral (${trailingWindowSql({ machineId: 'ms.id', metric: 'w.metric', at: 'ms.at', seconds: 'w.seconds', latest })}) a on w.win is not null`;
}

type SqlRow = {
  machine_id: number;
  name: string;
  kind: string | null;
  ideal_cycle_seconds: number | null;
  line: string;
  step: number;
  status_at?: string | null;
  next_down_ms?: number | null;
  win: number | null;
  n: number | null;
  mean: number | null;
  min: number | null;
  max: number | null;
  std: number | null;
  slope: number | null;
  latest: number | null;
};

/** Why a telemetry feature has no value: `head` and `tail` go around " before <instant>" in the message. */
type Missing = { head: string; tail: string };

function featureValue(d: FeatureDefinition, r: SqlRow, w: SqlRow | undefined): { value: FeatureValue } | { missing: Missing } {
  if (!isTelemetryFeature(d)) {
    if (d.attribute === 'machine.kind') return { value: r.kind };
    if (d.attribute === 'machine.line') return { value: r.line };
    return { value: r.ideal_cycle_seconds === null ? null : Number(r.ideal_cycle_seconds) };
  }
  const n = Number(w?.n ?? 0);
  const window = `the ${d.windowSeconds.toLocaleString('en-US')} s`;
  if (n === 0) return { missing: { head: `no ${echo(d.metric)} telemetry in ${window}`, tail: '' } };
  if (d.aggregate === 'slope' && n < 2) return { missing: { head: `only 1 point of ${echo(d.metric)} in ${window}`, tail: ': the slope needs at least 2' } };
  const v = w![d.aggregate];
  return v === null ? { missing: { head: `no ${d.aggregate} of ${echo(d.metric)} in ${window}`, tail: '' } } : { value: Number(v) };
}

/**
 * Every feature of every machine at every instant, in one statement (machines × instants × distinct metric windows
 * lateral subqueries, so keep that product bounded: see TWIN_DATASET_LIMITS). Rows come ordered by instant, then
 * machine in the order given; unknown machines get a row with machineName null and a problem. With `states`, each row
 * also carries the status at the instant and the next DOWN (what twin dataset labels need).
 */
export async function featureRows(
  q: Queryable,
  opts: { machineIds: readonly number[]; definitions: readonly FeatureDefinition[]; steps: readonly Date[]; states?: { downWithinSeconds: number | null } },
): Promise<FeatureRow[]> {
  const ids = [...new Set(opts.machineIds)];
  const { windows, windowOf } = windowsOf(opts.definitions);
  if (ids.length === 0 || opts.steps.length === 0) return [];
  const params: unknown[] = [
    intArray(ids),
    textArray(opts.steps.map((s) => s.toISOString())),
    textArray(windows.map((w) => w.metric)),
    intArray(windows.map((w) => w.seconds)),
  ];
  if (opts.states && opts.states.downWithinSeconds !== null) params.push(opts.states.downWithinSeconds);
  const rows = await q.query<SqlRow>(featureSql(windows, opts.states ?? null), params);
  // (machine, step) -> the row of each window
  const byKey = new Map<string, { first: SqlRow; wins: (SqlRow | undefined)[] }>();
  for (const r of rows) {
    const key = `${r.machine_id}:${r.step}`;
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { first: r, wins: new Array(windows.length) }));
    if (r.win !== null) e.wins[r.win - 1] = r;
  }
  const out: FeatureRow[] = [];
  opts.steps.forEach((at, s) => {
    for (const machineId of ids) {
      const e = byKey.get(`${machineId}:${s + 1}`);
      if (!e) {
        out.push({
          machineId,
          step: s,
          at,
          machineName: null,
          values: null,
          problems: [{ feature: '*', message: 'unknown machine', cause: 'unknown machine' }],
        });
        continue;
      }
      const problems: FeatureProblem[] = [];
      const values = opts.definitions.map((d, i) => {
        const v = featureValue(d, e.first, windowOf[i] < 0 ? undefined : e.wins[windowOf[i]]);
        if ('missing' in v) {
          const { head, tail } = v.missing;
          problems.push({ feature: d.name, message: `${head} before ${at.toISOString()}${tail}`, cause: `${head}${tail}` });
          return null;
        }
        return v.value;
      });
      const row: FeatureRow = { machineId, step: s, at, machineName: e.first.name, values: problems.length ? null : values, problems };
      if (opts.states) {
        row.statusAt = e.first.status_at ?? null;
        row.nextDownMs = e.first.next_down_ms === null || e.first.next_down_ms === undefined ? null : Number(e.first.next_down_ms);
      }
      out.push(row);
    }
  });
  return out;
}

/**
 * The features of the machines at `at` (default now), in one SQL statement however many machines and definitions:
 * per machine (in the order given, each once) the values in definition order, or, for a machine without the needed
 * telemetry in a window (or an unknown machine), the reason naming each metric and window. Never a silent zero.
 */
export async function computeFeatures(
  q: Queryable,
  opts: { machineIds: readonly number[]; definitions: readonly FeatureDefinitionInput[] | readonly FeatureDefinition[]; at?: Date },
): Promise<MachineFeatures[]> {
  const definitions = checkFeatureDefinitions(opts.definitions as FeatureDefinitionInput[]);
  const rows = await featureRows(q, { machineIds: opts.machineIds, definitions, steps: [opts.at ?? new Date()] });
  return rows.map((r) =>
    r.values
      ? { machineId: r.machineId, ok: true, values: r.values }
      : {
          machineId: r.machineId,
          ok: false,
          reason: r.problems.map((p) => (p.feature === '*' ? p.message : `${p.feature}: ${p.message}`)).join('; '),
          problems: r.problems,
        },
  );
}
