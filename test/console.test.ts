import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ensureConsole } from '../scripts/build-console.mjs';
import { consoleTypes, TYPES_FILE } from '../scripts/console-types.mjs';
import { alertTopic } from '../src/alerts/service.ts';
import { type RunningServer, startServer } from '../src/graphql/server.ts';
import { seedDemoHistory } from '../src/sim/demo-history.ts';
import { machineStatusTopic } from '../src/telemetry/events.ts';
import { after, before, createTestApp, describe, it, makeKey, type TestApp, testBackends, waitFor } from './helpers.ts';

/**
 * The operator console (console/, served at /) in headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core) against the demo plant, with every request to another origin aborted (no CDN), and no console
 * error, page error or failed response allowed: sign-in, live machine status, a breaching point's alert and its
 * acknowledgement, the Gantt of a fresh schedule, a machine-down scenario, and what a VIEWER does not see.
 */

const CHROMIUM = process.env.PLANTGRAPH_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.resolve('test-artifacts');
const INGEST = `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on Error { message } } }`;
const RULE = `mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename ... on Error { message } } }`;

interface Traffic {
  foreign: string[];
  /** Console messages of type error, uncaught page errors, failed requests and responses of 400 and above. */
  problems: string[];
  /** Request and response bodies of the failed responses (for the assertion message). */
  details: string[];
}

interface Opened {
  page: Page;
  traffic: Traffic;
  close(): Promise<void>;
}

async function openConsole(browser: Browser, server: RunningServer, hash = '', keepSockets = false): Promise<Opened> {
  const origin = new URL(server.url).origin;
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const traffic: Traffic = { foreign: [], problems: [], details: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    traffic.foreign.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  // Keeps the page's WebSockets in window.__sockets, so a test can drop them.
  if (keepSockets)
    await page.addInitScript(() => {
      const Native = window.WebSocket;
      const sockets: WebSocket[] = [];
      (window as any).__sockets = sockets;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          sockets.push(this);
        }
      };
    });
  page.on('console', (m) => {
    if (m.type() === 'error') traffic.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => traffic.problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A fetch the page itself gave up when the test navigated (reload, goto) is ERR_ABORTED: not a failed request.
    // Requests to other hosts are counted in `foreign` (the route aborts them as blockedbyclient).
    if (r.failure()?.errorText === 'net::ERR_ABORTED') return;
    traffic.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    traffic.problems.push(`response ${r.status()}: ${r.url()}`);
    // What was refused, for the failure message.
    void r
      .text()
      .then((body) => traffic.details.push(`${r.status()} ${r.request().postData()?.slice(0, 300)} -> ${body.slice(0, 500)}`))
      .catch(() => {});
  });
  await page.goto(`${server.url}/${hash}`);
  return { page, traffic, close: () => context.close() };
}

/** Signed in through `#key=`: waits until the page shows the key's name and its subscriptions are connected. */
async function signedIn(browser: Browser, server: RunningServer, key: string, keepSockets = false): Promise<Opened> {
  const o = await openConsole(browser, server, `#key=${encodeURIComponent(key)}`, keepSockets);
  await o.page.locator('[data-testid="connection"][data-connected="true"]').waitFor({ timeout: 30_000 });
  await o.page.locator('[data-testid="machine"]').first().waitFor({ timeout: 30_000 });
  return o;
}

async function clean(o: Opened) {
  const shown = await o.page.getByRole('alert').allTextContents();
  assert.deepEqual(shown, [], 'no error message on the page');
  assert.deepEqual(o.traffic.foreign, [], 'no request left the server');
  assert.deepEqual(o.traffic.problems, [], `no console error, page error or failed request: ${o.traffic.details.join('\n')}`);
}

async function screenshot(page: Page, name: string) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const plantNumber = (id: string) => Number(Buffer.from(id, 'base64').toString().split(':')[1]);

const chromiumMissing = !fs.existsSync(CHROMIUM);

describe('operator console sources', () => {
  it('console/src/schema.ts holds the types of schema/schema.graphql as it is now (npm run build:console regenerates it)', () => {
    assert.equal(fs.readFileSync(TYPES_FILE, 'utf8'), consoleTypes(fs.readFileSync(path.resolve('schema', 'schema.graphql'), 'utf8')));
  });
});

for (const backend of testBackends()) {
  describe(`operator console in a browser [${backend}]`, () => {
    let app: TestApp;
    let server: RunningServer;
    let browser: Browser;
    let plant: { id: string; name: string; machines: { id: string; name: string; status: string }[] };
    let planner: { key: string; name: string };
    let viewer: { key: string; name: string };

    before(async () => {
      assert.ok(!chromiumMissing, `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
      await ensureConsole({ quiet: true });
      app = await createTestApp(backend);
      app.services.jobs.start();
      server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
      plant = (await app.gql(`{ plants { edges { node { id name machines { id name status } } } } }`)).body.data.plants.edges[0].node;
      // The demo's last 24 hours (states, telemetry, production, the alerts they raised), as on a first start.
      await seedDemoHistory(app.services, plantNumber(plant.id));
      planner = { name: `console-planner-${backend}`, key: '' };
      planner.key = (await makeKey(app, planner.name, 'PLANNER', [plant.id])).key;
      viewer = { name: `console-viewer-${backend}`, key: '' };
      viewer.key = (await makeKey(app, viewer.name, 'VIEWER', [plant.id])).key;
      // A fresh schedule (the plant's first becomes its current one) for the Gantt and the scenarios.
      const r = await app.gql(
        `mutation($p: ID!) { optimizeSchedule(input: { plantId: $p, timeLimitSeconds: 0, seed: 1 }) { __typename ... on OptimizeScheduleSuccess { job { id } } ... on Error { message } } }`,
        { p: plant.id },
      );
      assert.equal(r.body.data.optimizeSchedule.__typename, 'OptimizeScheduleSuccess', JSON.stringify(r.body));
      const jobId = r.body.data.optimizeSchedule.job.id;
      await waitFor(
        async () => {
          const j = (await app.gql(`query($id: ID!) { job(id: $id) { status error } }`, { id: jobId })).body.data.job;
          assert.ok(j.status !== 'FAILED' && j.status !== 'CANCELLED', JSON.stringify(j));
          return j.status === 'SUCCEEDED';
        },
        { timeoutMs: 60_000, intervalMs: 100, message: 'the schedule job' },
      );
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      await app?.services.jobs.stop();
      await app?.close();
    });

    it('serves the page with no-cache and its hashed assets as immutable, naming no other host', async () => {
      const res = await fetch(`${server.url}/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const html = await res.text();
      assert.doesNotMatch(html, /https?:\/\//, 'the page names no other host');
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
      assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), html);
      for (const a of assets) {
        const r = await fetch(`${server.url}${a}`);
        assert.equal(r.status, 200, a);
        assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable', a);
        assert.doesNotMatch(await r.text(), /https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\/[^\s"']*\.(js|css|woff2?)/i, `${a} loads nothing from a CDN`);
      }
      assert.equal((await fetch(`${server.url}/assets/..%2Fpackage.json`)).status, 404);
      assert.equal((await fetch(`${server.url}/assets/nope.js`)).status, 404);
      // GraphiQL keeps its page at /graphql.
      const graphiql = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      assert.match(await graphiql.text(), /graphiql/i);
    });

    it('signs in with a good key (name, role, plants), refuses a wrong one with a clear message, takes #key= once and signs out', async () => {
      const o = await openConsole(browser, server);
      try {
        const { page } = o;
        await page.getByLabel('API key').fill('pgk_not-a-key-of-this-server');
        await page.getByRole('button', { name: 'Sign in' }).click();
        const alert = page.getByRole('alert');
        await alert.waitFor({ timeout: 15_000 });
        assert.match((await alert.textContent()) ?? '', /not accepted/);
        // The wrong key's one 401 is the only failed response (and Chromium's console line for it).
        assert.equal(o.traffic.problems.filter((p) => p.startsWith('response 401')).length, 1, o.traffic.problems.join('\n'));
        assert.ok(
          o.traffic.problems.every((p) => p.startsWith('response 401') || /Failed to load resource.*401/.test(p)),
          o.traffic.problems.join('\n'),
        );
        o.traffic.problems.length = 0;
        await screenshot(page, `console-signin-error-${backend}`);

        await page.getByLabel('API key').fill(planner.key);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByTestId('viewer-name').waitFor({ timeout: 15_000 });
        assert.equal((await page.getByTestId('viewer-name').textContent()) ?? '', planner.name);
        assert.equal((await page.getByTestId('viewer-role').textContent()) ?? '', 'PLANNER');
        assert.equal((await page.getByTestId('viewer-plants').textContent()) ?? '', plant.name);
        assert.equal(await page.evaluate(() => sessionStorage.getItem('plantgraph.console.key')), planner.key);
        // A reload keeps the session (session storage), without asking again.
        await page.reload();
        await page.getByTestId('viewer-name').waitFor({ timeout: 15_000 });
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByLabel('API key').waitFor();
        assert.equal(await page.evaluate(() => sessionStorage.getItem('plantgraph.console.key')), null);

        // #key= signs in and leaves the address bar.
        await page.goto(`${server.url}/#key=${encodeURIComponent(viewer.key)}`);
        await page.getByTestId('viewer-name').waitFor({ timeout: 15_000 });
        assert.equal((await page.getByTestId('viewer-role').textContent()) ?? '', 'VIEWER');
        assert.equal(await page.evaluate(() => location.hash), '');
        assert.equal(await page.evaluate(() => location.href), `${server.url}/`);
        await clean(o);
      } finally {
        await o.close();
      }
    });

    it('returns to sign-in with a message when its key is revoked while signed in', async () => {
      const name = `console-revoked-${backend}`;
      const { key, id } = await makeKey(app, name, 'OPERATOR', [plant.id]);
      const o = await signedIn(browser, server, key);
      try {
        const { page } = o;
        const r = await app.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id });
        assert.equal(r.body.data.revokeApiKey.__typename, 'RevokeApiKeySuccess', JSON.stringify(r.body));
        // The server closes the page's WebSocket (4403); the page forgets the key.
        await page.getByLabel('API key').waitFor({ timeout: 15_000 });
        assert.match((await page.getByRole('alert').textContent()) ?? '', /no longer accepts this key/);
        assert.equal(await page.evaluate(() => sessionStorage.getItem('plantgraph.console.key')), null);
        assert.deepEqual(o.traffic.foreign, []);
        assert.ok(
          o.traffic.problems.every((p) => p.startsWith('response 401') || /Failed to load resource.*401/.test(p)),
          o.traffic.problems.join('\n'),
        );
      } finally {
        await o.close();
      }
    });

    it('renders every machine with its status, the KPIs, and a status change live without reload', async () => {
      const o = await signedIn(browser, server, planner.key);
      try {
        const { page } = o;
        const api = (await app.gql(`query($p: ID!) { plant(id: $p) { machines { id status } } }`, { p: plant.id })).body.data.plant.machines;
        const rows = page.locator('[data-testid="machine-list"] [data-testid="machine"]');
        assert.equal(await rows.count(), api.length);
        for (const m of api) assert.equal(await page.locator(`[data-testid="machine"][data-machine-id="${m.id}"]`).getAttribute('data-status'), m.status, m.id);
        const kpis = (await page.getByTestId('kpi-panel').textContent()) ?? '';
        assert.match(kpis, /OEE/);
        assert.match(kpis, /Availability/);
        assert.match(kpis, /On-time rate/);
        assert.match(kpis, /Open alerts/);

        // A state recorded through the API reaches the page over machineStatus.
        const topic = machineStatusTopic.channel(plantNumber(plant.id));
        await waitFor(() => app.services.pubsub.subscriberCount(topic) >= 1, { message: 'the page subscribed to machineStatus' });
        const target = api.find((m: { status: string }) => m.status !== 'DOWN') ?? api[0];
        const r = await app.gql(`mutation($input: MachineStateInput!) { recordMachineState(input: $input) { __typename ... on Error { message } } }`, {
          input: { machineId: target.id, status: 'DOWN', at: new Date().toISOString() },
        });
        assert.equal(r.body.data.recordMachineState.__typename, 'RecordMachineStateSuccess', JSON.stringify(r.body));
        await page.locator(`[data-testid="machine"][data-machine-id="${target.id}"][data-status="DOWN"]`).waitFor({ timeout: 5_000 });
        // The demo history's latest values are on the cards.
        await page.locator('[data-testid="machine"] .mvals b').first().waitFor({ timeout: 15_000 });
        await screenshot(page, `console-overview-${backend}`);

        // Machine detail (loaded on first use): the telemetry chart (uPlot) of its first metric, its state timeline.
        await page.locator(`[data-testid="machine"][data-machine-id="${target.id}"] button`).click();
        const detail = page.getByTestId('machine-detail');
        await detail.locator('[data-testid="telemetry-chart"] canvas').waitFor({ timeout: 15_000 });
        assert.match((await detail.locator('h2').textContent()) ?? '', /DOWN/);
        await detail.scrollIntoViewIfNeeded();
        await screenshot(page, `console-machine-${backend}`);
        await clean(o);
      } finally {
        await o.close();
      }
    });

    it('shows the alert of a breaching point within 5 s without reload, and acknowledging it on the page updates the server', async (t) => {
      const metric = `console-temp-${backend}`;
      const rule = await app.gql(RULE, {
        input: { plantId: plant.id, name: 'Console hot', kind: 'THRESHOLD', severity: 'CRITICAL', metric, comparator: 'GT', threshold: 80 },
      });
      assert.equal(rule.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess', JSON.stringify(rule.body));
      const topic = alertTopic.channel(plantNumber(plant.id));
      // Pages of earlier tests have gone (their subscriptions with them), so the count below is this page's.
      await waitFor(() => app.services.pubsub.subscriberCount(topic) === 0, { message: 'no alert subscriber left from before' });
      const o = await signedIn(browser, server, planner.key);
      try {
        const { page } = o;
        // The feed's and the overview's subscriptions are both live on the server: nothing published now is missed.
        await waitFor(() => app.services.pubsub.subscriberCount(topic) >= 2, { message: 'the page subscribed to alerts' });
        const machine = plant.machines[0];
        const sent = Date.now();
        const r = await app.gql(INGEST, { input: { points: [{ machineId: machine.id, metric, ts: new Date().toISOString(), value: 95 }] } });
        assert.equal(r.body.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess', JSON.stringify(r.body));
        const item = page.locator('[data-testid="alert-feed"] [data-testid="alert"]', { hasText: 'Console hot' });
        await item.waitFor({ timeout: 5_000 });
        const shownMs = Date.now() - sent;
        assert.equal(await item.getAttribute('data-status'), 'OPEN');
        assert.equal(await item.getAttribute('data-severity'), 'CRITICAL');
        const id = await item.getAttribute('data-alert-id');
        await screenshot(page, `console-alert-${backend}`);

        await item.getByRole('button', { name: 'Acknowledge' }).click();
        await page.locator(`[data-testid="alert"][data-alert-id="${id}"][data-status="ACKNOWLEDGED"]`).waitFor({ timeout: 5_000 });
        const server_ = (await app.gql(`query($id: ID!) { node(id: $id) { ... on Alert { status acknowledgedBy } } }`, { id })).body.data.node;
        assert.deepEqual(server_, { status: 'ACKNOWLEDGED', acknowledgedBy: planner.name });
        // Still one entry for it, and the severity filter keeps a CRITICAL alert at "critical only".
        assert.equal(await page.locator(`[data-testid="alert"][data-alert-id="${id}"]`).count(), 1);
        await page.getByTestId('severity-filter').selectOption('CRITICAL');
        await page.locator(`[data-testid="alert"][data-alert-id="${id}"]`).waitFor();
        t.diagnostic(`alert shown ${shownMs} ms after the ingest`);
        await clean(o);
      } finally {
        await o.close();
      }
    });

    it('catches up by cursor on the alerts missed while its WebSocket was down', async () => {
      const metric = `console-gap-${backend}`;
      const rule = await app.gql(RULE, {
        input: { plantId: plant.id, name: 'Console gap', kind: 'THRESHOLD', severity: 'WARNING', metric, comparator: 'GT', threshold: 1 },
      });
      assert.equal(rule.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess', JSON.stringify(rule.body));
      const topic = alertTopic.channel(plantNumber(plant.id));
      await waitFor(() => app.services.pubsub.subscriberCount(topic) === 0, { message: 'no alert subscriber left from before' });
      const o = await signedIn(browser, server, planner.key, true);
      try {
        const { page } = o;
        await waitFor(() => app.services.pubsub.subscriberCount(topic) >= 2, { message: 'the page subscribed to alerts' });
        // The page's socket closes (as a network drop would); graphql-ws reconnects after its back-off (over a second).
        await page.evaluate(() => {
          for (const s of (window as any).__sockets as WebSocket[]) s.close(3000, 'test drop');
        });
        await waitFor(() => app.services.pubsub.subscriberCount(topic) === 0, { message: 'the subscriptions ended on the server' });
        const r = await app.gql(INGEST, { input: { points: [{ machineId: plant.machines[2].id, metric, ts: new Date().toISOString(), value: 5 }] } });
        assert.equal(r.body.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess', JSON.stringify(r.body));
        assert.equal(app.services.pubsub.subscriberCount(topic), 0, 'the alert was raised while the page was not subscribed');
        await page.locator('[data-testid="alert"]', { hasText: 'Console gap' }).waitFor({ timeout: 15_000 });
        assert.ok(Number(await page.getByTestId('catch-ups').getAttribute('data-count')) >= 1, 'it came from the catch-up read');
        await page.locator('[data-testid="connection"][data-connected="true"]').waitFor();
        await clean(o);
      } finally {
        await o.close();
      }
    });

    it("draws every operation of the current schedule in the Gantt, one row per machine (count equals the API's)", async () => {
      const api = (
        await app.gql(`query($p: ID!) { plant(id: $p) { machines { id } currentSchedule { id operations(first: 5000) { orderCode step machine { id } } } } }`, {
          p: plant.id,
        })
      ).body.data.plant;
      assert.ok(
        api.currentSchedule.operations.length > 0 && api.currentSchedule.operations.length < 5000,
        'the fresh schedule has operations, all of them here',
      );
      // A maintenance window on the first machine, to be shaded in its row.
      const start = new Date(Date.now() + 2 * 3600_000).toISOString();
      const end = new Date(Date.now() + 6 * 3600_000).toISOString();
      const w = await app.gql(
        `mutation($input: CreateMaintenanceWindowInput!) { createMaintenanceWindow(input: $input) { __typename ... on Error { message } } }`,
        { input: { machineId: api.machines[0].id, start, end, reason: `console test ${backend}` } },
      );
      assert.equal(w.body.data.createMaintenanceWindow.__typename, 'CreateMaintenanceWindowSuccess', JSON.stringify(w.body));
      const o = await signedIn(browser, server, planner.key);
      try {
        const { page } = o;
        const gantt = page.getByTestId('gantt');
        await page.locator(`[data-testid="gantt"][data-schedule-id="${api.currentSchedule.id}"]`).waitFor({ timeout: 15_000 });
        const ops = gantt.locator('[data-order]');
        assert.equal(await ops.count(), api.currentSchedule.operations.length);
        const drawn = await ops.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-order')}@${e.getAttribute('data-machine')}`).sort());
        const expected = api.currentSchedule.operations.map((x: any) => `${x.orderCode}@${x.machine.id}`).sort();
        assert.deepEqual(drawn, expected);
        assert.equal(await gantt.locator('[data-row-machine]').count(), api.machines.length);
        const shaded = gantt.locator(`[data-row-machine="${api.machines[0].id}"] [data-testid="maintenance"]`);
        assert.equal(await shaded.count(), 1);
        assert.match((await shaded.getAttribute('title')) ?? '', new RegExp(`console test ${backend}`));
        assert.match((await ops.first().getAttribute('title')) ?? '', /Order .* step \d/);
        // Zoom in and back: still every operation.
        await page.getByRole('button', { name: 'Zoom in' }).click();
        await page.getByRole('button', { name: 'Fit' }).click();
        assert.equal(await ops.count(), api.currentSchedule.operations.length);
        await gantt.scrollIntoViewIfNeeded();
        await screenshot(page, `console-gantt-${backend}`);
        await clean(o);
      } finally {
        await o.close();
      }
    });

    it('creates a machine-down and rush-order scenario, runs it with progress and shows its comparison with the live plan, then discards it', async () => {
      const o = await signedIn(browser, server, planner.key);
      try {
        const { page } = o;
        const panel = page.getByTestId('scenarios');
        const name = `Console what-if ${backend}`;
        await panel.getByLabel('Name').fill(name);
        await panel.getByTestId('create-scenario').click();
        const detail = panel.getByTestId('scenario');
        await detail.waitFor({ timeout: 15_000 });
        const scenarioId = (await detail.getAttribute('data-scenario-id'))!;
        const machine = plant.machines[1];
        await detail.getByLabel('Machine').selectOption(machine.id);
        await detail.getByTestId('add-machine-down').click();
        await detail.locator('[data-testid="scenario-changes"] [data-kind="MACHINE_DOWN"]').waitFor({ timeout: 15_000 });
        // And a rush order of the first product (the form's defaults: 10 units due in a day).
        await detail.getByLabel('Code').fill(`RUSH-${backend}`);
        await detail.getByTestId('add-rush-order').click();
        await detail.locator('[data-testid="scenario-changes"] [data-kind="ADD_ORDER"]').waitFor({ timeout: 15_000 });
        await detail.getByTestId('run-scenario').click();
        await detail.locator('[data-testid="job"][data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 });
        await detail.getByTestId('comparison').waitFor({ timeout: 15_000 });

        const api = (
          await app.gql(
            `query($s: ID!) { scenario(id: $s) { name status changes { kind details } } compareScenarios(scenarioId: $s) { kpis { name } becameLate { code } } }`,
            { s: scenarioId },
          )
        ).body.data;
        assert.equal(api.scenario.name, name);
        assert.deepEqual(
          api.scenario.changes.map((c: any) => c.kind),
          ['MACHINE_DOWN', 'ADD_ORDER'],
        );
        assert.equal(api.scenario.changes[0].details.machineId, machine.id);
        assert.equal(api.scenario.changes[1].details.code, `RUSH-${backend}`);
        const rows = await detail.locator('table.deltas tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-kpi')));
        assert.deepEqual(
          rows,
          api.compareScenarios.kpis.map((k: any) => k.name),
        );
        const late = (await detail.getByTestId('became-late').textContent()) ?? '';
        for (const o_ of api.compareScenarios.becameLate) assert.ok(late.includes(o_.code), late);
        assert.ok(await detail.getByTestId('promote').isEnabled(), 'a PLANNER may promote the run scenario');
        await screenshot(page, `console-scenario-${backend}`);

        await detail.getByTestId('discard').click();
        await panel.getByRole('status').waitFor({ timeout: 15_000 });
        const after_ = (await app.gql(`query($s: ID!) { scenario(id: $s) { status } }`, { s: scenarioId })).body.data.scenario;
        assert.equal(after_.status, 'DISCARDED');
        await clean(o);
      } finally {
        await o.close();
      }
    });

    it('shows a VIEWER the alerts and scenarios without acknowledge, resolve, create or promote buttons', async () => {
      const metric = `console-viewer-${backend}`;
      const rule = await app.gql(RULE, {
        input: { plantId: plant.id, name: 'Console viewer check', kind: 'THRESHOLD', severity: 'WARNING', metric, comparator: 'GT', threshold: 10 },
      });
      assert.equal(rule.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess', JSON.stringify(rule.body));
      const r = await app.gql(INGEST, { input: { points: [{ machineId: plant.machines[0].id, metric, ts: new Date().toISOString(), value: 50 }] } });
      assert.equal(r.body.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess', JSON.stringify(r.body));
      // A run scenario, which a PLANNER could promote.
      const sc = await app.gql(
        `mutation($p: ID!) { createScenario(input: { plantId: $p, name: "Viewer sees" }) { ... on CreateScenarioSuccess { scenario { id } } } }`,
        {
          p: plant.id,
        },
      );
      assert.ok(sc.body.data.createScenario.scenario.id, JSON.stringify(sc.body));

      const o = await signedIn(browser, server, viewer.key);
      try {
        const { page } = o;
        await page.locator('[data-testid="alert"]', { hasText: 'Console viewer check' }).waitFor({ timeout: 15_000 });
        await page.getByTestId('scenario-list').getByRole('button', { name: 'Viewer sees' }).click();
        await page.getByTestId('scenario').waitFor();
        assert.equal(await page.getByTestId('acknowledge').count(), 0);
        assert.equal(await page.getByTestId('resolve').count(), 0);
        assert.equal(await page.getByTestId('promote').count(), 0);
        assert.equal(await page.getByTestId('discard').count(), 0);
        assert.equal(await page.getByTestId('create-scenario').count(), 0);
        assert.equal(await page.getByTestId('run-scenario').count(), 0);
        await screenshot(page, `console-viewer-${backend}`);
        await clean(o);
      } finally {
        await o.close();
      }
    });
  });
}
