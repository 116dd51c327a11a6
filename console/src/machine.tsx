import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { gql } from './api.ts';
import { fmtTime, num, pct } from './format.ts';

const DETAIL = `query ConsoleMachine($id: ID!, $from: DateTime!, $to: DateTime!) {
  node(id: $id) { ... on Machine {
    id name kind status statusSince
    metrics { metric lastAt }
    oee(from: $from, to: $to) { oee availability performance quality runningSeconds downSeconds }
    states(from: $from, to: $to, first: 500) { edges { node { at status } } }
  } }
  models(first: 50) { edges { node { name task active } } }
}`;
const SERIES = `query ConsoleTelemetry($id: ID!, $metric: String!, $from: DateTime!, $to: DateTime!, $b: Int) {
  node(id: $id) { ... on Machine { telemetry(metric: $metric, from: $from, to: $to, bucketSeconds: $b) { start avg min max count } } }
}`;
const PREDICT = `query ConsolePredict($id: ID!, $model: String!) {
  node(id: $id) { ... on Machine { predict(model: $model) { __typename ... on Prediction { label value probabilities { label probability } explanation { feature contribution } model { name version } } ... on Error { message } } } }
}`;

const WINDOWS = [
  { label: '1 h', ms: 3600_000 },
  { label: '6 h', ms: 6 * 3600_000 },
  { label: '24 h', ms: 24 * 3600_000 },
];

export function MachineDetail({ apiKey, machineId, onClose }: { apiKey: string; machineId: string; onClose: () => void }) {
  const [win, setWin] = useState(WINDOWS[1].ms);
  const [m, setM] = useState<any>(null);
  const [metric, setMetric] = useState('');
  const [prediction, setPrediction] = useState<any>(null);
  const [error, setError] = useState<string | null>(null);
  const [points, setPoints] = useState(0);
  const chart = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let cancelled = false;
    const to = new Date();
    const from = new Date(to.getTime() - win);
    gql<any>(apiKey, DETAIL, { id: machineId, from: from.toISOString(), to: to.toISOString() }, { partial: true })
      .then(async (r) => {
        if (cancelled) return;
        setM(r.node);
        setMetric((x) => (x && r.node.metrics.some((k: any) => k.metric === x) ? x : (r.node.metrics[0]?.metric ?? '')));
        const model = (r.models?.edges ?? []).map((e: any) => e.node).find((x: any) => x.active && x.task === 'CLASSIFICATION');
        if (model) {
          const p = await gql<any>(apiKey, PREDICT, { id: machineId, model: model.name }, { partial: true });
          if (!cancelled) setPrediction(p.node?.predict ?? null);
        } else setPrediction(null);
      })
      .catch((e: Error) => !cancelled && setError(e.message));
    return () => {
      cancelled = true;
    };
  }, [apiKey, machineId, win]);

  useEffect(() => {
    if (!metric || !chart.current) return;
    let cancelled = false;
    let plot: uPlot | undefined;
    const to = new Date();
    const from = new Date(to.getTime() - win);
    gql<any>(apiKey, SERIES, { id: machineId, metric, from: from.toISOString(), to: to.toISOString(), b: Math.max(10, Math.round(win / 1000 / 120)) })
      .then((r) => {
        if (cancelled || !chart.current) return;
        const b: { start: string; avg: number | null; min: number | null; max: number | null; count: number }[] = r.node?.telemetry ?? [];
        setPoints(b.reduce((n, x) => n + x.count, 0));
        const data: uPlot.AlignedData = [b.map((x) => Date.parse(x.start) / 1000), b.map((x) => x.avg), b.map((x) => x.min), b.map((x) => x.max)];
        chart.current.textContent = '';
        plot = new uPlot(
          {
            width: Math.max(300, chart.current.clientWidth),
            height: 200,
            series: [
              {},
              { label: `${metric} avg`, stroke: '#1f5fbf', width: 2 },
              { label: 'min', stroke: '#7d8794', dash: [4, 4] },
              { label: 'max', stroke: '#b3261e', dash: [4, 4] },
            ],
            axes: [{}, { size: 60 }],
          },
          data,
          chart.current,
        );
      })
      .catch((e: Error) => !cancelled && setError(e.message));
    return () => {
      cancelled = true;
      plot?.destroy();
    };
  }, [apiKey, machineId, metric, win]);

  const states: { at: string; status: string }[] = (m?.states.edges ?? []).map((e: any) => e.node).reverse();
  const t1 = Date.now();
  const t0 = t1 - win;
  return (
    <section class="panel detail" aria-labelledby="detail-h" data-testid="machine-detail">
      <div class="toolbar">
        <h2 id="detail-h">{m ? `${m.name} (${m.status})` : 'Machine'}</h2>
        <span class="spacer" />
        <label>
          Metric{' '}
          <select value={metric} onChange={(e) => setMetric(e.currentTarget.value)} disabled={!m?.metrics.length}>
            {m?.metrics.map((x: any) => (
              <option key={x.metric} value={x.metric}>
                {x.metric}
              </option>
            ))}
          </select>
        </label>
        <label>
          Window{' '}
          <select value={String(win)} onChange={(e) => setWin(Number(e.currentTarget.value))}>
            {WINDOWS.map((w) => (
              <option key={w.ms} value={String(w.ms)}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {m && (
        <dl class="kpis small">
          <div>
            <dt>OEE</dt>
            <dd>{pct(m.oee.oee)}</dd>
          </div>
          <div>
            <dt>Availability</dt>
            <dd>{pct(m.oee.availability)}</dd>
          </div>
          <div>
            <dt>Performance</dt>
            <dd>{pct(m.oee.performance)}</dd>
          </div>
          <div>
            <dt>Quality</dt>
            <dd>{pct(m.oee.quality)}</dd>
          </div>
        </dl>
      )}
      <div class="timeline" role="img" aria-label="State timeline">
        {states.map((s, i) => {
          const a = Math.max(t0, Date.parse(s.at));
          const b = i + 1 < states.length ? Date.parse(states[i + 1].at) : t1;
          return (
            <span
              key={s.at}
              class={`seg s-${s.status}`}
              style={{ left: `${((a - t0) / win) * 100}%`, width: `${((b - a) / win) * 100}%` }}
              title={`${s.status} from ${fmtTime(s.at)}`}
            />
          );
        })}
      </div>
      {metric ? <p class="muted">{points} point(s) in the window</p> : <p class="muted">No telemetry for this machine.</p>}
      <div ref={chart} class="chart" data-testid="telemetry-chart" />
      {prediction && prediction.__typename === 'Prediction' && (
        <div class="prediction">
          <h3>
            Prediction ({prediction.model.name} v{prediction.model.version}): {prediction.label ?? num(prediction.value, 3)}
          </h3>
          <ul>
            {(prediction.explanation ?? [])
              .slice()
              .sort((a: any, b: any) => Math.abs(b.contribution) - Math.abs(a.contribution))
              .slice(0, 5)
              .map((f: any) => (
                <li key={f.feature}>
                  {f.feature}: {num(f.contribution, 3)}
                </li>
              ))}
          </ul>
        </div>
      )}
      {prediction && prediction.__typename !== 'Prediction' && <p class="muted">No prediction: {prediction.message}</p>}
    </section>
  );
}
