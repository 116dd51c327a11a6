/**
 * Shadow outputs against what happened later: a candidate's and production's outputs on the same machine predictions,
 * each scored against the label the twin's history gives once it is known, and the difference (the candidate's
 * metric minus production's). Labels come from machine states, as a twin dataset's do (twin-dataset.ts):
 * FAILURE_WITHIN h — 1 when the machine went DOWN within h seconds after the prediction, 0 when the h seconds passed
 * without; TIME_TO_FAILURE — seconds to the next DOWN, capped. Rows whose label is not known yet, rows of a machine
 * that was DOWN when predicted, and rows of predict(rows|inputs) (no machine) are left out.
 */
import type { Queryable } from '../db/client.ts';
import { accuracy, logLoss, mae, rmse, rocAuc } from './train/metrics.ts';
import type { TwinLabel } from './twin-dataset.ts';

export interface OutcomeMetric {
  name: string;
  production: number;
  candidate: number;
  /** candidate − production (for auc and accuracy higher is better; for logloss, rmse and mae lower is). */
  delta: number;
}

export interface ShadowOutcomes {
  label: TwinLabel;
  /** Rows with a known label (the most recent OUTCOME_ROWS at most). */
  rows: number;
  metrics: OutcomeMetric[];
}

/** The most recent shadow rows scored per candidate. */
export const OUTCOME_ROWS = 100_000;

type Row = { candidate_id: number; production: number | null; candidate: number | null; y: number | null };

/**
 * Per candidate version: its shadow rows' outcomes under `label`, or, when none is given, under the label of the twin
 * dataset production was trained on (candidates whose production has none are left out).
 */
export async function shadowOutcomes(
  db: Queryable,
  candidateIds: readonly number[],
  opts: { label?: TwinLabel | null; now: Date },
): Promise<Map<number, ShadowOutcomes>> {
  const out = new Map<number, ShadowOutcomes>();
  if (candidateIds.length === 0) return out;
  const tasks = await db.query<{ candidate_id: number; task: string; definition: unknown }>(
    `select c.id as candidate_id, c.task, d.definition
     from models c
     left join lateral (select s.production_id from model_shadow_outputs s where s.candidate_id = c.id order by s.id desc limit 1) last on true
     left join models p on p.id = last.production_id
     left join datasets d on d.id = p.dataset_id
     where c.id = any($1::int[])`,
    [[...candidateIds]],
  );
  const byLabel = new Map<string, { label: TwinLabel; ids: number[]; classify: Map<number, boolean> }>();
  for (const t of tasks) {
    const definition = typeof t.definition === 'string' ? JSON.parse(t.definition) : t.definition;
    const label = opts.label ?? ((definition as { label?: TwinLabel } | null)?.label || null);
    if (!label) continue;
    const key = JSON.stringify(label);
    let group = byLabel.get(key);
    if (!group) byLabel.set(key, (group = { label, ids: [], classify: new Map() }));
    group.ids.push(t.candidate_id);
    group.classify.set(t.candidate_id, t.task === 'CLASSIFICATION');
  }
  for (const { label, ids, classify } of byLabel.values()) {
    const rows = await db.query<Row>(labelledSql(label), [[...ids], opts.now.toISOString(), OUTCOME_ROWS, ...labelParams(label)]);
    const perCandidate = new Map<number, Row[]>();
    for (const r of rows) {
      if (r.y === null || r.production === null || r.candidate === null) continue;
      let list = perCandidate.get(r.candidate_id);
      if (!list) perCandidate.set(r.candidate_id, (list = []));
      list.push(r);
    }
    for (const id of ids) {
      const list = perCandidate.get(id) ?? [];
      out.set(id, {
        label,
        rows: list.length,
        metrics: list.length === 0 ? [] : metricsOf(list, classify.get(id) === true && label.kind === 'FAILURE_WITHIN'),
      });
    }
  }
  return out;
}

function labelParams(label: TwinLabel): unknown[] {
  return label.kind === 'FAILURE_WITHIN' ? [label.horizonSeconds] : [label.capSeconds ?? null];
}

/** $1 candidates, $2 now, $3 row cap, $4 horizon or cap (seconds). */
function labelledSql(label: TwinLabel): string {
  const nextDown = `(select min(st.at) from machine_states st where st.machine_id = s.machine_id and st.status = 'DOWN' and st.at > s.at)`;
  const downAt = `(select st.status::text from machine_states st where st.machine_id = s.machine_id and st.at <= s.at order by st.at desc limit 1)`;
  const y =
    label.kind === 'FAILURE_WITHIN'
      ? `case when nd.at is not null and nd.at <= s.at + $4::int * interval '1 second' then 1
              when s.at + $4::int * interval '1 second' <= $2::timestamptz then 0 end`
      : `case when nd.at is not null and nd.at <= $2::timestamptz then
                case when $4::int is null then extract(epoch from nd.at - s.at) else least($4::int, extract(epoch from nd.at - s.at)) end
              when $4::int is not null and s.at + $4::int * interval '1 second' <= $2::timestamptz then $4::int end`;
  return `select r.candidate_id, r.production, r.candidate, r.y::float8 as y from (
      select s.candidate_id, s.production, s.candidate, ${y} as y, row_number() over (partition by s.candidate_id order by s.at desc, s.id desc) as k
      from model_shadow_outputs s
      left join lateral (select ${nextDown} as at) nd on true
      where s.candidate_id = any($1::int[]) and s.machine_id is not null and s.at <= $2::timestamptz
        and coalesce(${downAt}, '') <> 'DOWN'
    ) r where r.y is not null and r.k <= $3`;
}

function metricsOf(rows: Row[], classification: boolean): OutcomeMetric[] {
  const y = rows.map((r) => r.y as number);
  const p = rows.map((r) => r.production as number);
  const c = rows.map((r) => r.candidate as number);
  const pair = (name: string, f: (score: number[]) => number): OutcomeMetric | null => {
    const production = f(p);
    const candidate = f(c);
    return Number.isFinite(production) && Number.isFinite(candidate) ? { name, production, candidate, delta: candidate - production } : null;
  };
  const list: (OutcomeMetric | null)[] = [];
  if (classification) {
    const positives = y.filter((v) => v === 1).length;
    if (positives > 0 && positives < y.length) list.push(pair('auc', (s) => rocAuc(y, s)));
    list.push(
      pair('logloss', (s) =>
        logLoss(
          y,
          s.flatMap((v) => [1 - v, v]),
          2,
        ),
      ),
    );
    list.push(
      pair('accuracy', (s) =>
        accuracy(
          y,
          s.map((v) => (v >= 0.5 ? 1 : 0)),
        ),
      ),
    );
  } else {
    list.push(pair('rmse', (s) => rmse(y, s)));
    list.push(pair('mae', (s) => mae(y, s)));
  }
  return list.filter((m): m is OutcomeMetric => m !== null);
}
