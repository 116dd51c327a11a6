import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { gql, type Live, type Role, roleAtLeast, success } from './api.ts';
import { fmtTime, num } from './format.ts';
import type * as schema from './schema.ts';

/** What the feed reads of an alert (FIELDS). */
type Alert = Pick<schema.Alert, 'id' | 'severity' | 'status' | 'message' | 'value' | 'occurrences' | 'openedAt' | 'lastSeenAt' | 'acknowledgedBy'> & {
  rule: Pick<schema.AlertRule, 'name'>;
  machine: Pick<schema.Machine, 'id' | 'name'> | null;
};

const FIELDS = 'id severity status message value occurrences openedAt lastSeenAt acknowledgedBy rule { name } machine { id name }';
const LIST = `query ConsoleAlerts($p: ID!) { alerts(plantId: $p, last: 50) { pageInfo { endCursor } edges { cursor node { ${FIELDS} } } } }`;
const SINCE = `query ConsoleAlertsSince($p: ID!, $after: String) { alerts(plantId: $p, after: $after, first: 100) { pageInfo { endCursor hasNextPage } edges { cursor node { ${FIELDS} } } } }`;
const SUB = `subscription ConsoleAlerts($p: ID!) { alerts(plantId: $p) { kind cursor alert { ${FIELDS} } } }`;
const ACK = `mutation ConsoleAck($id: ID!) { acknowledgeAlert(id: $id) { __typename ... on AlertSuccess { alert { ${FIELDS} } } ... on Error { message } } }`;
const RESOLVE = `mutation ConsoleResolve($id: ID!) { resolveAlert(id: $id) { __typename ... on AlertSuccess { alert { ${FIELDS} } } ... on Error { message } } }`;

const RANK: Record<schema.AlertSeverity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };
const MAX = 200;

export function AlertFeed({ apiKey, plantId, live, role }: { apiKey: string; plantId: string; live: Live; role: Role }) {
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [minSeverity, setMinSeverity] = useState<keyof typeof RANK>('INFO');
  const [showResolved, setShowResolved] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [caughtUp, setCaughtUp] = useState(0);
  const cursor = useRef<string | null>(null);
  const canAct = roleAtLeast(role, 'OPERATOR');

  /** Newest change first; an alert that changed again replaces its older version. */
  const merge = useCallback((incoming: Alert[]) => {
    setAlerts((list) => {
      const byId = new Map(list.map((a) => [a.id, a]));
      for (const a of incoming) byId.set(a.id, a);
      return [...byId.values()].sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt) || b.id.localeCompare(a.id)).slice(0, MAX);
    });
  }, []);

  useEffect(() => {
    let cancelled = false;
    // Subscribe first, then read the list: an event between the two is not lost (merge keeps the newest).
    const off = live.subscribe<any>(SUB, { p: plantId }, (d) => {
      cursor.current = d.alerts.cursor;
      merge([d.alerts.alert]);
    });
    gql<any>(apiKey, LIST, { p: plantId })
      .then((r) => {
        if (cancelled) return;
        cursor.current ??= r.alerts.pageInfo.endCursor;
        merge(r.alerts.edges.map((e: any) => e.node));
      })
      .catch((e: Error) => setError(e.message));
    // After a reconnect: every alert that changed since the last cursor seen (Query.alerts is ordered by last change).
    const catchUp = async () => {
      let after = cursor.current;
      for (let page = 0; page < 20; page++) {
        const r = await gql<any>(apiKey, SINCE, { p: plantId, after });
        if (cancelled) return;
        merge(r.alerts.edges.map((e: any) => e.node));
        if (r.alerts.pageInfo.endCursor) after = cursor.current = r.alerts.pageInfo.endCursor;
        if (!r.alerts.pageInfo.hasNextPage) break;
      }
      setCaughtUp((n) => n + 1);
    };
    const offReconnect = live.onReconnect(() => void catchUp().catch((e: Error) => setError(e.message)));
    return () => {
      cancelled = true;
      off();
      offReconnect();
    };
  }, [apiKey, plantId, live, merge]);

  const act = async (a: Alert, what: 'ack' | 'resolve') => {
    setError(null);
    try {
      const r = await gql<any>(apiKey, what === 'ack' ? ACK : RESOLVE, { id: a.id });
      const res = what === 'ack' ? success(r.acknowledgeAlert, 'AlertSuccess') : success(r.resolveAlert, 'AlertSuccess');
      merge([(res as any).alert]);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const shown = alerts.filter((a) => RANK[a.severity] >= RANK[minSeverity] && (showResolved || a.status !== 'RESOLVED'));

  return (
    <section class="panel alerts" aria-labelledby="alerts-h">
      <h2 id="alerts-h">Alerts</h2>
      <div class="toolbar">
        <label>
          Severity{' '}
          <select data-testid="severity-filter" value={minSeverity} onChange={(e) => setMinSeverity(e.currentTarget.value as keyof typeof RANK)}>
            <option value="INFO">all</option>
            <option value="WARNING">warning and above</option>
            <option value="CRITICAL">critical only</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={showResolved} onChange={(e) => setShowResolved(e.currentTarget.checked)} /> resolved
        </label>
        <span class="muted" data-testid="catch-ups" data-count={caughtUp}>
          {caughtUp > 0 ? `caught up after ${caughtUp} reconnect(s)` : ''}
        </span>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <ul class="feed" data-testid="alert-feed" aria-live="polite">
        {shown.length === 0 && <li class="muted">No alerts.</li>}
        {shown.map((a) => (
          <li key={a.id} data-testid="alert" data-alert-id={a.id} data-status={a.status} data-severity={a.severity} class={`alert sev-${a.severity}`}>
            <div class="ahead">
              <span class={`badge sev-${a.severity}`}>{a.severity}</span>
              <b>{a.rule.name}</b>
              <span class="muted">{a.machine?.name ?? ''}</span>
              <span class={`astatus st-${a.status}`}>{a.status}</span>
            </div>
            <div class="amsg">
              {a.message}
              {a.value !== null ? ` (value ${num(a.value, 2)})` : ''}
            </div>
            <div class="afoot">
              <span class="muted">
                opened {fmtTime(a.openedAt)} · last {fmtTime(a.lastSeenAt)} · ×{a.occurrences}
                {a.acknowledgedBy ? ` · ack by ${a.acknowledgedBy}` : ''}
              </span>
              {canAct && a.status === 'OPEN' && (
                <button type="button" data-testid="acknowledge" onClick={() => act(a, 'ack')}>
                  Acknowledge
                </button>
              )}
              {canAct && a.status !== 'RESOLVED' && (
                <button type="button" data-testid="resolve" onClick={() => act(a, 'resolve')}>
                  Resolve
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
