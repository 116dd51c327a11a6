import { useEffect, useMemo, useState } from 'preact/hooks';
import { gql } from './api.ts';
import { fmtTime, pct } from './format.ts';

interface Op {
  start: string;
  end: string;
  step: number;
  orderCode: string;
  setupMinutes: number;
  machine: { id: string };
  order: { id: string; code: string; dueAt: string; priority: number; quantity: number; product: { name: string } } | null;
}
interface Row {
  id: string;
  name: string;
  status: string;
  statusSince: string | null;
  maintenanceWindows: { start: string; end: string; reason: string | null }[];
}

const OP = 'start end step orderCode setupMinutes machine { id } order { id code dueAt priority quantity product { name } }';
/** Operations per request: a page stays well inside the server's query cost limit. */
const PAGE = 2000;
const GANTT = `query ConsoleGantt($p: ID!, $n: Int!) {
  plant(id: $p) {
    machines { id name status statusSince maintenanceWindows { start end reason } }
    currentSchedule {
      id start horizonEnd makespanMinutes createdAt
      kpis { lateOrders onTimeRate }
      operations(first: $n) { ${OP} }
    }
  }
}`;

const MORE = `query ConsoleGanttPage($s: ID!, $n: Int!, $o: Int!) { schedule(id: $s) { operations(first: $n, offset: $o) { ${OP} } } }`;

const HOUR = 3600_000;
/** Statuses in which a machine is out now (the scheduler keeps it out for repairMinutes from the start). */
const OUT = new Set(['DOWN', 'MAINTENANCE', 'OFFLINE']);

/** Tick spacing for a view of `span` ms: about 8 labelled ticks. */
function tickStep(span: number): number {
  const steps = [15 * 60_000, 30 * 60_000, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 7 * 24 * HOUR];
  return steps.find((s) => span / s <= 10) ?? steps[steps.length - 1];
}

export function Gantt({ apiKey, plantId, version }: { apiKey: string; plantId: string; version: number }) {
  const [data, setData] = useState<{ rows: Row[]; schedule: any | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [view, setView] = useState<[number, number] | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let cancelled = false;
    gql<any>(apiKey, GANTT, { p: plantId, n: PAGE })
      .then(async (r) => {
        const schedule = r.plant.currentSchedule;
        // The rest of a large schedule, page by page.
        for (let page = schedule?.operations ?? []; schedule && page.length === PAGE && !cancelled; ) {
          const next = await gql<any>(apiKey, MORE, { s: schedule.id, n: PAGE, o: schedule.operations.length });
          page = next.schedule?.operations ?? [];
          schedule.operations = schedule.operations.concat(page);
        }
        if (cancelled) return;
        setData({ rows: r.plant.machines, schedule });
        setView(null);
        setError(null);
      })
      .catch((e: Error) => !cancelled && setError(e.message));
    return () => {
      cancelled = true;
    };
  }, [apiKey, plantId, version, reload]);

  const ops: Op[] = data?.schedule?.operations ?? [];
  const full = useMemo<[number, number]>(() => {
    if (!ops.length) return [Date.now(), Date.now() + 8 * HOUR];
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const o of ops) {
      lo = Math.min(lo, Date.parse(o.start));
      hi = Math.max(hi, Date.parse(o.end));
    }
    const pad = (hi - lo) * 0.02;
    return [lo - pad, hi + pad];
  }, [ops]);
  const [t0, t1] = view ?? full;
  const span = t1 - t0;
  const x = (t: number) => ((t - t0) / span) * 100;

  /** Orders planned to finish after their due date. */
  const late = useMemo(() => {
    const end = new Map<string, number>();
    const due = new Map<string, number>();
    for (const o of ops) {
      if (!o.order) continue;
      end.set(o.order.id, Math.max(end.get(o.order.id) ?? 0, Date.parse(o.end)));
      due.set(o.order.id, Date.parse(o.order.dueAt));
    }
    return new Set([...end].filter(([id, e]) => e > (due.get(id) ?? Number.POSITIVE_INFINITY)).map(([id]) => id));
  }, [ops]);

  const zoom = (f: number) => {
    const mid = (t0 + t1) / 2;
    const half = Math.max(15 * 60_000, (span * f) / 2);
    setView([mid - half, mid + half]);
  };
  const pan = (f: number) => setView([t0 + span * f, t1 + span * f]);

  const ticks: number[] = [];
  const step = tickStep(span);
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  const now = Date.now();

  return (
    <section class="panel gantt-panel" aria-labelledby="gantt-h">
      <h2 id="gantt-h">Current schedule</h2>
      <div class="toolbar">
        {data?.schedule ? (
          <span class="muted" data-testid="schedule-summary">
            {ops.length} operations · makespan {Math.round(data.schedule.makespanMinutes)} min · on time {pct(data.schedule.kpis.onTimeRate)} · late orders{' '}
            {data.schedule.kpis.lateOrders} · planned {fmtTime(data.schedule.createdAt)}
          </span>
        ) : (
          <span class="muted">{data ? 'No schedule yet (optimizeSchedule makes one).' : 'Loading…'}</span>
        )}
        <span class="spacer" />
        <button type="button" onClick={() => zoom(0.5)} aria-label="Zoom in">
          +
        </button>
        <button type="button" onClick={() => zoom(2)} aria-label="Zoom out">
          −
        </button>
        <button type="button" onClick={() => pan(-0.25)} aria-label="Earlier">
          ◀
        </button>
        <button type="button" onClick={() => pan(0.25)} aria-label="Later">
          ▶
        </button>
        <button type="button" onClick={() => setView(null)}>
          Fit
        </button>
        <button type="button" onClick={() => setReload((n) => n + 1)} data-testid="gantt-reload">
          Reload
        </button>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div
        class="gantt"
        data-testid="gantt"
        data-schedule-id={data?.schedule?.id ?? ''}
        data-operations={ops.length}
        onWheel={(e) => {
          if (!e.ctrlKey && !e.shiftKey) return;
          e.preventDefault();
          if (e.ctrlKey) zoom(e.deltaY > 0 ? 1.25 : 0.8);
          else pan(e.deltaY > 0 ? 0.1 : -0.1);
        }}
      >
        <div class="axis" aria-hidden="true">
          {ticks.map((t) => (
            <span key={t} class="tick" style={{ left: `${x(t)}%` }}>
              {new Date(t).toLocaleString(
                undefined,
                step >= 24 * HOUR ? { month: 'short', day: 'numeric' } : { weekday: 'short', hour: '2-digit', minute: '2-digit' },
              )}
            </span>
          ))}
        </div>
        {data?.rows.map((m) => (
          <div class="grow" key={m.id} data-row-machine={m.id}>
            <div class={OUT.has(m.status) ? 'glabel out' : 'glabel'} title={OUT.has(m.status) ? `${m.status} now` : undefined}>
              {m.name}
            </div>
            <div class="gtrack">
              {ticks.map((t) => (
                <span key={t} class="gridline" style={{ left: `${x(t)}%` }} />
              ))}
              {now > t0 && now < t1 && <span class="now" style={{ left: `${x(now)}%` }} title="now" />}
              {OUT.has(m.status) && m.statusSince && Date.parse(m.statusSince) < t1 && now > t0 && (
                <span
                  class="downtime"
                  data-testid="downtime"
                  style={{
                    left: `${x(Math.max(t0, Date.parse(m.statusSince)))}%`,
                    width: `${((Math.min(t1, now) - Math.max(t0, Date.parse(m.statusSince))) / span) * 100}%`,
                  }}
                  title={`${m.status} since ${fmtTime(m.statusSince)}`}
                />
              )}
              {m.maintenanceWindows.map((w) => (
                <span
                  key={w.start}
                  class="window"
                  data-testid="maintenance"
                  style={{ left: `${x(Date.parse(w.start))}%`, width: `${((Date.parse(w.end) - Date.parse(w.start)) / span) * 100}%` }}
                  title={`Maintenance ${fmtTime(w.start)} – ${fmtTime(w.end)}${w.reason ? `: ${w.reason}` : ''}`}
                />
              ))}
              {ops
                .filter((o) => o.machine.id === m.id)
                .map((o) => {
                  const s = Date.parse(o.start);
                  const e = Date.parse(o.end);
                  const isLate = !!o.order && late.has(o.order.id);
                  const title = [
                    `Order ${o.orderCode} step ${o.step}${isLate ? ' (LATE)' : ''}`,
                    o.order ? `${o.order.quantity} × ${o.order.product.name}, priority ${o.order.priority}` : '',
                    `${fmtTime(o.start)} – ${fmtTime(o.end)}${o.setupMinutes ? `, setup ${Math.round(o.setupMinutes)} min` : ''}`,
                    o.order ? `due ${fmtTime(o.order.dueAt)}` : '',
                  ]
                    .filter(Boolean)
                    .join('\n');
                  return (
                    <span
                      key={`${o.orderCode}-${o.step}`}
                      class={isLate ? 'op late' : 'op'}
                      data-order={o.orderCode}
                      data-machine={o.machine.id}
                      data-late={String(isLate)}
                      style={{ left: `${x(s)}%`, width: `${Math.max(0.15, ((e - s) / span) * 100)}%` }}
                      title={title}
                    >
                      {o.orderCode}
                    </span>
                  );
                })}
            </div>
          </div>
        ))}
      </div>
      <p class="legend muted">
        <span class="op sample" /> operation <span class="op late sample" /> late order <span class="window sample" /> maintenance{' '}
        <span class="downtime sample" /> down now · Ctrl+wheel zooms, Shift+wheel pans
      </p>
    </section>
  );
}
