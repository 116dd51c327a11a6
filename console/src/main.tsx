import { type FunctionComponent, render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { AlertFeed } from './alerts.tsx';
import { ApiError, connectLive, gql, type Live, UNAUTHORIZED_EVENT } from './api.ts';
import { Gantt } from './gantt.tsx';
import { Overview } from './overview.tsx';
import { Scenarios } from './scenarios.tsx';
import type * as schema from './schema.ts';
import './styles.css';

type DetailProps = { apiKey: string; machineId: string; onClose: () => void };
/** The machine detail (with uPlot) loads when first opened: the first paint does not wait for the chart library. */
function LazyMachineDetail(props: DetailProps) {
  const [C, setC] = useState<FunctionComponent<DetailProps> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    import('./machine.tsx').then(
      (m) => setC(() => m.MachineDetail),
      (e: Error) => setError(`The machine detail could not be loaded: ${e.message}`),
    );
  }, []);
  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  return C ? <C {...props} /> : <section class="panel detail">Loading…</section>;
}

const STORAGE_KEY = 'plantgraph.console.key';

export type Viewer = Pick<schema.Viewer, 'name' | 'role' | 'plantIds'>;
export type PlantRef = Pick<schema.Plant, 'id' | 'name'>;

const ME = `query ConsoleMe { me { name role plantIds } plants(first: 100) { edges { node { id name } } } }`;

/** `#key=...` in the address: taken once, then removed from the address bar (and history). */
function keyFromHash(): string | null {
  const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(m[1]);
}

function SignIn({ onKey, error, busy }: { onKey: (k: string) => void; error: string | null; busy: boolean }) {
  const [value, setValue] = useState('');
  return (
    <main class="signin">
      <h1>PlantGraph operator console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onKey(value.trim());
        }}
      >
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <button type="submit" disabled={busy || !value.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {error && (
        <p role="alert" class="error" data-testid="signin-error">
          {error}
        </p>
      )}
      <p class="hint">The key is kept in this tab only (session storage) and sent to this server alone.</p>
    </main>
  );
}

function App() {
  const [key, setKey] = useState<string | null>(() => keyFromHash() ?? sessionStorage.getItem(STORAGE_KEY));
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [plants, setPlants] = useState<PlantRef[]>([]);
  const [plantId, setPlantId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [live, setLive] = useState<Live | null>(null);
  const [connected, setConnected] = useState(false);
  const [machineId, setMachineId] = useState<string | null>(null);
  const [scheduleVersion, setScheduleVersion] = useState(0);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setKey(null);
    setViewer(null);
    setPlants([]);
    setPlantId(null);
    setMachineId(null);
  }, []);

  // The key stopped working while signed in (revoked, expired): back to sign-in, saying why.
  useEffect(() => {
    const onRefused = () => {
      if (!viewer) return;
      signOut();
      setError('The server no longer accepts this key (revoked or expired): sign in with another one.');
    };
    window.addEventListener(UNAUTHORIZED_EVENT, onRefused);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onRefused);
  }, [viewer, signOut]);

  // A `#key=` link opened in a tab that already shows the console (no page load): taken the same way.
  useEffect(() => {
    const onHash = () => {
      const k = keyFromHash();
      if (k) {
        setViewer(null);
        setPlantId(null);
        setKey(k);
      }
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!key) return;
    let cancelled = false;
    setBusy(true);
    gql<{ me: Viewer; plants: { edges: { node: PlantRef }[] } }>(key, ME)
      .then((r) => {
        if (cancelled) return;
        sessionStorage.setItem(STORAGE_KEY, key);
        setViewer(r.me);
        const list = r.plants.edges.map((e) => e.node);
        setPlants(list);
        setPlantId((p) => p ?? list[0]?.id ?? null);
        setError(null);
      })
      .catch((e: unknown) => {
        if (cancelled) return;
        sessionStorage.removeItem(STORAGE_KEY);
        setKey(null);
        const code = e instanceof ApiError ? e.code : undefined;
        setError(
          code === 'UNAUTHENTICATED' || (e instanceof ApiError && e.status === 401)
            ? 'That API key was not accepted: it is unknown, revoked or mistyped.'
            : code === 'RATE_LIMITED'
              ? `Too many failed attempts: ${(e as Error).message}`
              : `Sign-in failed: ${(e as Error).message}`,
        );
      })
      .finally(() => setBusy(false));
    return () => {
      cancelled = true;
    };
  }, [key]);

  useEffect(() => {
    if (!key || !viewer) return;
    const l = connectLive(key);
    const off = l.onState(setConnected);
    setLive(l);
    return () => {
      off();
      l.dispose();
      setLive(null);
      setConnected(false);
    };
  }, [key, viewer]);

  const plant = useMemo(() => plants.find((p) => p.id === plantId) ?? null, [plants, plantId]);

  if (!key || !viewer) return <SignIn onKey={(k) => setKey(k)} error={error} busy={busy} />;

  return (
    <div class="app">
      <header class="top">
        <h1>PlantGraph</h1>
        <div class="who" data-testid="viewer">
          <span data-testid="viewer-name">{viewer.name}</span>
          <span class="role" data-testid="viewer-role">
            {viewer.role}
          </span>
          <span class="muted" data-testid="viewer-plants">
            {viewer.plantIds === null ? 'all plants' : plants.map((p) => p.name).join(', ') || 'no plants'}
          </span>
        </div>
        {plants.length > 1 && (
          <label>
            Plant{' '}
            <select value={plantId ?? ''} onChange={(e) => setPlantId(e.currentTarget.value)}>
              {plants.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <span class={connected ? 'conn on' : 'conn off'} data-testid="connection" data-connected={String(connected)}>
          {connected ? 'live' : 'connecting…'}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      {!plant && <p class="empty">This key sees no plant.</p>}
      {plant && live && (
        <main class="grid" key={plant.id}>
          <Overview apiKey={key} plantId={plant.id} live={live} onSelect={setMachineId} selected={machineId} />
          <AlertFeed apiKey={key} plantId={plant.id} live={live} role={viewer.role} />
          {machineId && <LazyMachineDetail apiKey={key} machineId={machineId} onClose={() => setMachineId(null)} />}
          <Gantt apiKey={key} plantId={plant.id} version={scheduleVersion} />
          <Scenarios apiKey={key} plantId={plant.id} live={live} role={viewer.role} onPromoted={() => setScheduleVersion((v) => v + 1)} />
        </main>
      )}
    </div>
  );
}

render(<App />, document.getElementById('app')!);
