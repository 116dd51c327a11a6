import { useCallback, useEffect, useState } from 'preact/hooks';
import { gql, type Live, type Role, roleAtLeast, success } from './api.ts';
import { fmtTime, num } from './format.ts';
import type * as schema from './schema.ts';

interface Scenario {
  id: string;
  name: string;
  status: string;
  revision: number;
  stale: boolean;
  createdAt: string;
  changes: { id: string; kind: string; details: unknown }[];
  schedule: { id: string } | null;
}
/** What the panel reads of compareScenarios (COMPARE). */
type Comparison = Pick<schema.ScenarioComparison, 'movedOperations' | 'reassignedOperations' | 'comparedOperations'> & {
  kpis: schema.KpiDelta[];
  becameLate: Pick<schema.OrderDelta, 'code' | 'baseLateMinutes' | 'scenarioLateMinutes'>[];
  orders: Pick<schema.OrderDelta, 'code' | 'change' | 'deltaMinutes'>[];
};

const SC = 'id name status revision stale createdAt changes { id kind details } schedule { id }';
const LIST = `query ConsoleScenarios($p: ID!) { plant(id: $p) { machines { id name } products { id name } } scenarios(plantId: $p, status: OPEN, first: 20) { ${SC} } }`;
const CREATE = `mutation ConsoleCreateScenario($input: CreateScenarioInput!) { createScenario(input: $input) { __typename ... on CreateScenarioSuccess { scenario { ${SC} } } ... on Error { message } } }`;
const CHANGE = `mutation ConsoleScenarioChange($input: ScenarioChangeInput!) { addScenarioChange(input: $input) { __typename ... on AddScenarioChangeSuccess { scenario { ${SC} } } ... on ValidationError { message fieldErrors { path message } } ... on Error { message } } }`;
const RUN = `mutation ConsoleRunScenario($input: RunScenarioInput!) { runScenario(input: $input) { __typename ... on RunScenarioSuccess { job { id status progress } } ... on Error { message } } }`;
const JOB_SUB = `subscription ConsoleJob($id: ID!) { jobUpdates(id: $id) { id status progress message error } }`;
const COMPARE = `query ConsoleCompare($s: ID!) { compareScenarios(scenarioId: $s) { kpis { name base scenario delta } movedOperations reassignedOperations comparedOperations becameLate { code baseLateMinutes scenarioLateMinutes } orders { code change deltaMinutes } } }`;
const PROMOTE = `mutation ConsolePromote($id: ID!) { promoteScenario(id: $id) { __typename ... on PromoteScenarioSuccess { schedule { id } } ... on Error { message } } }`;
const DISCARD = `mutation ConsoleDiscard($id: ID!) { discardScenario(id: $id) { __typename ... on DiscardScenarioSuccess { scenario { id status } } ... on Error { message } } }`;

/** A datetime-local input's value for `d` (local time, minutes). */
const localInput = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};

function describe(c: { kind: string; details: unknown }, machines: { id: string; name: string }[]): string {
  const d = (c.details ?? {}) as Record<string, unknown>;
  if (c.kind === 'MACHINE_DOWN') {
    const m = machines.find((x) => x.id === d.machineId)?.name ?? String(d.machineId ?? '');
    return `${m} down ${fmtTime(d.from as string)} – ${fmtTime(d.to as string)}`;
  }
  if (c.kind === 'ADD_ORDER') return `rush order ${d.code}: ${d.quantity} × ${d.product}, due ${fmtTime(d.dueAt as string)}, priority ${d.priority ?? 0}`;
  return `${c.kind.toLowerCase().replace(/_/g, ' ')} ${JSON.stringify(d)}`;
}

/** Worse in red, better in green: more is better for rates and utilization, less for minutes and late orders. */
function deltaClass(k: schema.KpiDelta): string {
  if (k.delta === null || Math.abs(k.delta) < 0.005) return '';
  const moreIsBetter = /rate|utilization/i.test(k.name);
  return k.delta > 0 === moreIsBetter ? 'better' : 'worse';
}

export function Scenarios({ apiKey, plantId, live, role, onPromoted }: { apiKey: string; plantId: string; live: Live; role: Role; onPromoted: () => void }) {
  const planner = roleAtLeast(role, 'PLANNER');
  const [machines, setMachines] = useState<{ id: string; name: string }[]>([]);
  const [products, setProducts] = useState<{ id: string; name: string }[]>([]);
  const [rush, setRush] = useState({ code: 'RUSH-1', product: '', quantity: 10, dueAt: localInput(new Date(Date.now() + 24 * 3600_000)), priority: 5 });
  const [list, setList] = useState<Scenario[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [name, setName] = useState('What if');
  const [machineId, setMachineId] = useState('');
  const start = new Date(Math.ceil(Date.now() / 3600_000) * 3600_000);
  const [from, setFrom] = useState(localInput(start));
  const [to, setTo] = useState(localInput(new Date(start.getTime() + 4 * 3600_000)));
  const [job, setJob] = useState<{ id: string; status: string; progress: number; message: string | null; error: string | null } | null>(null);
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    const r = await gql<any>(apiKey, LIST, { p: plantId });
    setMachines(r.plant.machines);
    setProducts(r.plant.products);
    setRush((x) => (x.product ? x : { ...x, product: r.plant.products[0]?.name ?? '' }));
    setMachineId((m) => m || r.plant.machines[0]?.id || '');
    setList(r.scenarios);
  }, [apiKey, plantId]);

  useEffect(() => {
    load().catch((e: Error) => setError(e.message));
  }, [load]);

  const scenario = list.find((s) => s.id === selected) ?? null;
  const upsert = (s: Scenario) => setList((l) => [s, ...l.filter((x) => x.id !== s.id)]);

  const run = async <T,>(fn: () => Promise<T>) => {
    setError(null);
    setNotice(null);
    setBusy(true);
    try {
      return await fn();
    } catch (e) {
      setError((e as Error).message);
      return undefined;
    } finally {
      setBusy(false);
    }
  };

  const create = () =>
    run(async () => {
      const r = await gql<any>(apiKey, CREATE, { input: { plantId, name } });
      const s = success(r.createScenario, 'CreateScenarioSuccess') as any;
      upsert(s.scenario);
      setSelected(s.scenario.id);
      setComparison(null);
      setJob(null);
    });

  const addDown = () =>
    run(async () => {
      const r = await gql<any>(apiKey, CHANGE, {
        input: { scenarioId: selected, machineDown: { machineId, from: new Date(from).toISOString(), to: new Date(to).toISOString() } },
      });
      const res = r.addScenarioChange;
      if (res.__typename === 'ValidationError')
        throw new Error(
          `${res.message}${res.fieldErrors?.length ? `: ${res.fieldErrors.map((f: any) => `${f.path.join?.('.') ?? f.path} ${f.message}`).join('; ')}` : ''}`,
        );
      upsert((success(res, 'AddScenarioChangeSuccess') as any).scenario);
    });

  const addRush = () =>
    run(async () => {
      const r = await gql<any>(apiKey, CHANGE, {
        input: {
          scenarioId: selected,
          addOrder: { ...rush, dueAt: new Date(rush.dueAt).toISOString(), quantity: Number(rush.quantity), priority: Number(rush.priority) },
        },
      });
      const res = r.addScenarioChange;
      if (res.__typename === 'ValidationError')
        throw new Error(
          `${res.message}${res.fieldErrors?.length ? `: ${res.fieldErrors.map((f: any) => `${f.path.join?.('.') ?? f.path} ${f.message}`).join('; ')}` : ''}`,
        );
      upsert((success(res, 'AddScenarioChangeSuccess') as any).scenario);
    });

  const compare = async (id: string) => {
    const r = await gql<any>(apiKey, COMPARE, { s: id });
    setComparison(r.compareScenarios);
  };

  const runIt = () =>
    run(async () => {
      const id = selected!;
      const r = await gql<any>(apiKey, RUN, { input: { scenarioId: id, timeLimitSeconds: 2 } });
      const started = (success(r.runScenario, 'RunScenarioSuccess') as any).job;
      setJob({ ...started, message: null, error: null });
      setComparison(null);
      await new Promise<void>((resolve, reject) => {
        const off = live.subscribe<any>(
          JOB_SUB,
          { id: started.id },
          (d) => {
            const j = d.jobUpdates;
            setJob(j);
            if (j.status === 'SUCCEEDED') {
              off();
              resolve();
            } else if (j.status === 'FAILED' || j.status === 'CANCELLED') {
              off();
              reject(new Error(`The run ${j.status.toLowerCase()}: ${j.error ?? j.message ?? ''}`));
            }
          },
          (e) => reject(new Error(`Lost the job's updates: ${String((e as Error)?.message ?? e)}`)),
        );
      });
      await compare(id);
      await load();
    });

  const promote = () =>
    run(async () => {
      const r = await gql<any>(apiKey, PROMOTE, { id: selected });
      success(r.promoteScenario, 'PromoteScenarioSuccess');
      setNotice('Promoted: its plan is now the live schedule.');
      setSelected(null);
      setComparison(null);
      setJob(null);
      await load();
      onPromoted();
    });

  const discard = () =>
    run(async () => {
      const r = await gql<any>(apiKey, DISCARD, { id: selected });
      success(r.discardScenario, 'DiscardScenarioSuccess');
      setNotice('Discarded.');
      setSelected(null);
      setComparison(null);
      setJob(null);
      await load();
    });

  return (
    <section class="panel scenarios" aria-labelledby="sc-h" data-testid="scenarios">
      <h2 id="sc-h">What-if scenarios</h2>
      {!planner && <p class="muted">Creating, running and promoting scenarios needs a PLANNER key; this key may only look.</p>}
      {error && (
        <p role="alert" class="error" data-testid="scenario-error">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <div class="sc-cols">
        <div>
          {planner && (
            <form
              class="row"
              onSubmit={(e) => {
                e.preventDefault();
                void create();
              }}
            >
              <label>
                Name <input name="scenario-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required maxLength={200} />
              </label>
              <button type="submit" disabled={busy} data-testid="create-scenario">
                Create scenario
              </button>
            </form>
          )}
          <ul class="sc-list" data-testid="scenario-list">
            {list.length === 0 && <li class="muted">No open scenarios.</li>}
            {list.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  class={s.id === selected ? 'linkish sel' : 'linkish'}
                  aria-pressed={s.id === selected}
                  onClick={() => {
                    setSelected(s.id);
                    setComparison(null);
                    setJob(null);
                    if (s.schedule && !s.stale) void compare(s.id).catch((e: Error) => setError(e.message));
                  }}
                >
                  {s.name}
                </button>{' '}
                <span class="muted">
                  {s.changes.length} change(s){s.schedule ? (s.stale ? ' · stale run' : ' · run') : ''}
                </span>
              </li>
            ))}
          </ul>
        </div>
        {scenario && (
          <div class="sc-detail" data-testid="scenario" data-scenario-id={scenario.id}>
            <h3>{scenario.name}</h3>
            <ul class="changes" data-testid="scenario-changes">
              {scenario.changes.map((c) => (
                <li key={c.id} data-kind={c.kind}>
                  {describe(c, machines)}
                </li>
              ))}
            </ul>
            {planner && (
              <fieldset>
                <legend>Machine down</legend>
                <label>
                  Machine{' '}
                  <select name="down-machine" value={machineId} onChange={(e) => setMachineId(e.currentTarget.value)}>
                    {machines.map((m) => (
                      <option key={m.id} value={m.id}>
                        {m.name}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  From <input type="datetime-local" name="down-from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
                </label>
                <label>
                  To <input type="datetime-local" name="down-to" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
                </label>
                <button type="button" disabled={busy} onClick={addDown} data-testid="add-machine-down">
                  Add
                </button>
              </fieldset>
            )}
            {planner && (
              <fieldset>
                <legend>Rush order</legend>
                <label>
                  Code <input name="rush-code" size={10} value={rush.code} onInput={(e) => setRush({ ...rush, code: e.currentTarget.value })} />
                </label>
                <label>
                  Product{' '}
                  <select name="rush-product" value={rush.product} onChange={(e) => setRush({ ...rush, product: e.currentTarget.value })}>
                    {products.map((p) => (
                      <option key={p.id} value={p.name}>
                        {p.name}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  Quantity{' '}
                  <input
                    name="rush-quantity"
                    type="number"
                    min={1}
                    style={{ width: '5rem' }}
                    value={rush.quantity}
                    onInput={(e) => setRush({ ...rush, quantity: Number(e.currentTarget.value) })}
                  />
                </label>
                <label>
                  Due <input type="datetime-local" name="rush-due" value={rush.dueAt} onInput={(e) => setRush({ ...rush, dueAt: e.currentTarget.value })} />
                </label>
                <label>
                  Priority{' '}
                  <input
                    name="rush-priority"
                    type="number"
                    style={{ width: '4rem' }}
                    value={rush.priority}
                    onInput={(e) => setRush({ ...rush, priority: Number(e.currentTarget.value) })}
                  />
                </label>
                <button type="button" disabled={busy || !rush.product} onClick={addRush} data-testid="add-rush-order">
                  Add
                </button>
              </fieldset>
            )}
            {planner && (
              <div class="row">
                <button type="button" disabled={busy || scenario.changes.length === 0} onClick={runIt} data-testid="run-scenario">
                  Run
                </button>
                {job && (
                  <span data-testid="job" data-status={job.status}>
                    <progress max={1} value={job.progress} aria-label="Run progress" /> {job.status.toLowerCase()}{' '}
                    {job.message ? <span class="muted">{job.message}</span> : null}
                  </span>
                )}
              </div>
            )}
            {comparison && (
              <div data-testid="comparison">
                <table class="deltas">
                  <caption>Against the live plan</caption>
                  <thead>
                    <tr>
                      <th scope="col">KPI</th>
                      <th scope="col">live</th>
                      <th scope="col">scenario</th>
                      <th scope="col">delta</th>
                    </tr>
                  </thead>
                  <tbody>
                    {comparison.kpis.map((k) => (
                      <tr key={k.name} data-kpi={k.name}>
                        <th scope="row">{k.name}</th>
                        <td>{num(k.base, 2)}</td>
                        <td>{num(k.scenario, 2)}</td>
                        <td class={deltaClass(k)}>{num(k.delta, 2)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <p class="muted">
                  {comparison.movedOperations} of {comparison.comparedOperations} operations moved, {comparison.reassignedOperations} changed machine.
                </p>
                <p data-testid="became-late">
                  {comparison.becameLate.length === 0
                    ? 'No order becomes late.'
                    : `Become late: ${comparison.becameLate.map((o) => `${o.code} (${Math.round(o.scenarioLateMinutes ?? 0)} min)`).join(', ')}`}
                </p>
              </div>
            )}
            {planner && (
              <div class="row">
                <button type="button" disabled={busy || !scenario.schedule || scenario.stale} onClick={promote} data-testid="promote">
                  Promote
                </button>
                <button type="button" disabled={busy} onClick={discard} data-testid="discard">
                  Discard
                </button>
              </div>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
