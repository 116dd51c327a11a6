import { useEffect, useState } from 'preact/hooks';
import { gql, type Live } from './api.ts';
import { fmtSince, fmtTime, num, pct } from './format.ts';

interface MachineRow {
  id: string;
  name: string;
  kind: string | null;
  status: string;
  statusSince: string | null;
  line: { name: string };
  openAlerts: { count: number; highestSeverity: string | null };
}
interface Latest {
  metric: string;
  value: number;
  ts: string;
}

const OVERVIEW = `query ConsoleOverview($p: ID!, $from: DateTime!, $to: DateTime!) {
  plant(id: $p) {
    id name
    metrics { metric machineCount lastAt }
    machines { id name kind status statusSince line { name } openAlerts { count highestSeverity } }
    kpis(from: $from, to: $to) { oee availability performance quality }
    currentSchedule { id kpis { onTimeRate lateOrders } }
  }
  open: alerts(plantId: $p, status: [OPEN, ACKNOWLEDGED], first: 1) { totalCount }
  models(first: 50) { edges { node { name task active } } }
}`;

const OPEN_COUNT = `query ConsoleOpenAlerts($p: ID!) { open: alerts(plantId: $p, status: [OPEN, ACKNOWLEDGED], first: 1) { totalCount } }`;

const STATUS_SUB = `subscription ConsoleMachineStatus($p: ID!) { machineStatus(plantId: $p) { at current status machine { id status statusSince } } }`;
const ALERT_SUB = `subscription ConsoleAlertCount($p: ID!) { alerts(plantId: $p) { kind alert { id machine { id openAlerts { count highestSeverity } } } } }`;

/**
 * The newest value of the plant's three most widely reported metrics on every machine, and its failure risk: one
 * field per metric over all machines (a handful of aliases however many machines the plant has).
 */
const LATEST = `query ConsoleLatest($p: ID!, $m0: String!, $m1: String!, $m2: String!, $model: String!, $risk: Boolean!) {
  plant(id: $p) { machines {
    id
    l0: latest(metric: $m0) { metric value ts }
    l1: latest(metric: $m1) { metric value ts }
    l2: latest(metric: $m2) { metric value ts }
    risk: failureRisk(model: $model) @include(if: $risk)
  } }
}`;

export function Overview({
  apiKey,
  plantId,
  live,
  onSelect,
  selected,
}: {
  apiKey: string;
  plantId: string;
  live: Live;
  onSelect: (id: string) => void;
  selected: string | null;
}) {
  const [machines, setMachines] = useState<MachineRow[] | null>(null);
  const [kpis, setKpis] = useState<{ oee: number | null; availability: number | null; onTimeRate: number | null; open: number } | null>(null);
  const [latest, setLatest] = useState<Record<string, { values: Latest[]; risk: number | null }>>({});
  const [model, setModel] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(t);
  }, []);

  useEffect(() => {
    let cancelled = false;
    const to = new Date();
    const from = new Date(to.getTime() - 24 * 3600_000);
    gql<any>(apiKey, OVERVIEW, { p: plantId, from: from.toISOString(), to: to.toISOString() }, { partial: true })
      .then(async (r) => {
        if (cancelled || !r.plant) return;
        const ms: MachineRow[] = r.plant.machines;
        setMachines(ms);
        setKpis({
          oee: r.plant.kpis?.oee ?? null,
          availability: r.plant.kpis?.availability ?? null,
          onTimeRate: r.plant.currentSchedule?.kpis.onTimeRate ?? null,
          open: r.open?.totalCount ?? 0,
        });
        const active = (r.models?.edges ?? []).map((e: any) => e.node).find((m: any) => m.active && m.task === 'CLASSIFICATION');
        const name: string | null = active?.name ?? null;
        setModel(name);
        const metrics: string[] = [...(r.plant.metrics as { metric: string; machineCount: number; lastAt: string }[])]
          .sort((a, b) => b.machineCount - a.machineCount || b.lastAt.localeCompare(a.lastAt))
          .slice(0, 3)
          .map((m) => m.metric);
        if (metrics.length === 0 && !name) return;
        const [m0 = '', m1 = m0, m2 = m1] = metrics;
        const l = await gql<any>(apiKey, LATEST, { p: plantId, m0, m1, m2, model: name ?? '', risk: !!name }, { partial: true });
        if (cancelled || !l.plant) return;
        const out: Record<string, { values: Latest[]; risk: number | null }> = {};
        for (const n of l.plant.machines) {
          const values = [n.l0, n.l1, n.l2].filter((v, i, all) => v && all.findIndex((w) => w?.metric === v.metric) === i);
          out[n.id] = { values, risk: typeof n.risk === 'number' ? n.risk : null };
        }
        setLatest(out);
      })
      .catch((e: Error) => !cancelled && setError(e.message));
    return () => {
      cancelled = true;
    };
  }, [apiKey, plantId]);

  useEffect(() => {
    const offStatus = live.subscribe<any>(STATUS_SUB, { p: plantId }, (d) => {
      const ev = d.machineStatus;
      setMachines((ms) => ms?.map((m) => (m.id === ev.machine.id ? { ...m, status: ev.machine.status, statusSince: ev.machine.statusSince } : m)) ?? null);
    });
    const refreshCount = () =>
      gql<any>(apiKey, OPEN_COUNT, { p: plantId })
        .then((r) => setKpis((k) => k && { ...k, open: r.open.totalCount }))
        .catch(() => {});
    const offAlerts = live.subscribe<any>(ALERT_SUB, { p: plantId }, (d) => {
      const m = d.alerts.alert.machine;
      if (m) setMachines((ms) => ms?.map((x) => (x.id === m.id ? { ...x, openAlerts: m.openAlerts } : x)) ?? null);
      refreshCount();
    });
    const offReconnect = live.onReconnect(refreshCount);
    return () => {
      offStatus();
      offAlerts();
      offReconnect();
    };
  }, [live, apiKey, plantId]);

  return (
    <section class="panel overview" aria-labelledby="overview-h">
      <h2 id="overview-h">Plant overview</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <dl class="kpis" data-testid="kpi-panel">
        <div>
          <dt>OEE (24 h)</dt>
          <dd data-kpi="oee">{pct(kpis?.oee)}</dd>
        </div>
        <div>
          <dt>Availability</dt>
          <dd data-kpi="availability">{pct(kpis?.availability)}</dd>
        </div>
        <div>
          <dt>On-time rate</dt>
          <dd data-kpi="on-time">{pct(kpis?.onTimeRate)}</dd>
        </div>
        <div>
          <dt>Open alerts</dt>
          <dd data-kpi="open-alerts" data-testid="open-alerts">
            {kpis ? kpis.open : '–'}
          </dd>
        </div>
      </dl>
      <ul class="machines" data-testid="machine-list" aria-busy={machines === null}>
        {machines?.map((m) => {
          const l = latest[m.id];
          return (
            <li
              key={m.id}
              data-testid="machine"
              data-machine-id={m.id}
              data-status={m.status}
              class={`machine s-${m.status}${selected === m.id ? ' sel' : ''}`}
            >
              <button type="button" class="machine-btn" onClick={() => onSelect(m.id)} aria-label={`${m.name}: ${m.status}, details`}>
                <span class="dot" aria-hidden="true" />
                <span class="mname">{m.name}</span>
                <span class="status" data-testid="machine-status">
                  {m.status}
                </span>
              </button>
              <div class="mmeta">
                <span title={fmtTime(m.statusSince)}>{m.statusSince ? `for ${fmtSince(m.statusSince, now)}` : 'no state recorded'}</span>
                <span class="muted">
                  {m.line.name}
                  {m.kind ? ` · ${m.kind}` : ''}
                </span>
                {m.openAlerts.count > 0 && <span class={`badge sev-${m.openAlerts.highestSeverity}`}>{m.openAlerts.count} alert(s)</span>}
              </div>
              <div class="mvals">
                {l?.values.map((v) => (
                  <span key={v.metric} title={fmtTime(v.ts)}>
                    {v.metric} <b>{num(v.value, 2)}</b>
                  </span>
                ))}
                {model && l && (
                  <span data-testid="failure-risk" title={`model ${model}`}>
                    risk <b>{l.risk === null ? '–' : pct(l.risk)}</b>
                  </span>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
