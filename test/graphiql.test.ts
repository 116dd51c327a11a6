import assert from 'node:assert/strict';
import fs from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type RunningServer, startServer } from '../src/graphql/server.ts';
import { after, before, createTestApp, describe, it, makeKey, type TestApp, testBackends, waitFor } from './helpers.ts';

/**
 * GraphiQL in headless Chromium (Debian's /usr/bin/chromium through playwright-core; no browser is downloaded) with
 * every request to another host aborted: the page renders from the server alone, shows no 401 before a key is typed,
 * loads Docs once it is, runs a query with that key and receives an alert on a subscription (SSE, same key).
 */

const CHROMIUM = process.env.PLANTGRAPH_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const INGEST = `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on Error { message } } }`;
const RULE = `mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename ... on Error { message } } }`;

interface Traffic {
  foreign: string[];
  graphql: { method: string; body: string; authorization: string | undefined }[];
  statuses: number[];
}

async function openGraphiQL(browser: Browser, server: RunningServer): Promise<{ page: Page; traffic: Traffic; close(): Promise<void> }> {
  const origin = new URL(server.url).origin;
  const context = await browser.newContext();
  const traffic: Traffic = { foreign: [], graphql: [], statuses: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    traffic.foreign.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname === '/graphql' && (r.method() === 'POST' || url.searchParams.has('query')))
      traffic.graphql.push({ method: r.method(), body: r.postData() ?? url.searchParams.get('query') ?? '', authorization: r.headers().authorization });
  });
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/graphql') traffic.statuses.push(r.status());
  });
  return { page, traffic, close: () => context.close() };
}

/** An editor's visible text (Monaco renders spaces as no-break spaces). */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text, line breaks included, is what the user sees
const editorText = async (page: Page, selector: string) => (await page.locator(selector).innerText()).replace(/\u00a0/g, ' ');

/** Replaces the text of one of GraphiQL's Monaco editors (insertText: no auto-closed brackets or quotes). */
async function setEditor(page: Page, uriSuffix: string, text: string): Promise<void> {
  await page.locator(`[data-uri$="${uriSuffix}"] .view-lines`).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

/** Replaces the operation and waits until GraphiQL has taken it in (the tab is named after it), then runs it. */
async function runOperation(page: Page, name: string, text: string): Promise<void> {
  await setEditor(page, 'operation.graphql', text);
  await page.locator('.graphiql-tab', { hasText: name }).waitFor({ timeout: 30_000 });
  await page.locator('[aria-label="Execute query (Ctrl-Enter)"]').click();
}

const responseText = (page: Page) => editorText(page, '.graphiql-response');

const chromiumMissing = !fs.existsSync(CHROMIUM);

for (const backend of testBackends()) {
  describe(`GraphiQL offline in a browser [${backend}]`, () => {
    let app: TestApp;
    let server: RunningServer;
    let browser: Browser;
    before(async () => {
      assert.ok(!chromiumMissing, `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
      app = await createTestApp(backend);
      server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      await app?.close();
    });

    it('renders with no other host, holds the schema fetch until a key is typed, runs a query and receives an alert', async (t) => {
      const { key } = await makeKey(app, `graphiql-${backend}`, 'VIEWER');
      const plant = (await app.gql(`{ plants { edges { node { id name machines { id } } } } }`)).body.data.plants.edges[0].node;
      const rule = await app.gql(RULE, {
        input: { plantId: plant.id, name: 'GraphiQL hot', kind: 'THRESHOLD', severity: 'CRITICAL', metric: 'graphiql-temp', comparator: 'GT', threshold: 80 },
      });
      assert.equal(rule.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess', JSON.stringify(rule.body));

      const { page, traffic, close } = await openGraphiQL(browser, server);
      try {
        const started = Date.now();
        await page.goto(`${server.url}/graphql`);
        await page.locator('[data-uri$="request-headers.json"] .view-lines').waitFor({ timeout: 60_000 });
        const renderedMs = Date.now() - started;
        assert.equal(await page.title(), 'PlantGraph');
        assert.match(await editorText(page, '[data-uri$="operation.graphql"]'), /query Plants/);
        assert.deepEqual(traffic.foreign, [], 'no request left the server');

        // Before a key: no GraphQL request went out, so no 401 anywhere and nothing in the result pane.
        await page.locator('[aria-label="Show Documentation Explorer"]').click();
        assert.equal(traffic.graphql.length, 0, 'no GraphQL request before a key');
        assert.doesNotMatch(await responseText(page), /UNAUTHENTICATED|401|error/i);

        // A key typed into the Headers tab: the schema is fetched with it and Docs fill in by themselves.
        await setEditor(page, 'request-headers.json', `{"Authorization": "Bearer ${key}"}`);
        await page.locator('.graphiql-plugin').getByText('Root Types').waitFor({ timeout: 30_000 });
        const introspections = traffic.graphql.filter((r) => r.body.includes('__schema'));
        assert.equal(introspections.length, 1, 'one introspection, with the key');
        assert.equal(introspections[0].authorization, `Bearer ${key}`);

        // A query with the key.
        await runOperation(page, 'Names', 'query Names { plants { totalCount edges { node { name } } } }');
        let pane = '';
        await waitFor(async () => (pane = await responseText(page)).includes(plant.name), {
          timeoutMs: 30_000,
          message: () => `the query result, not ${pane}`,
        });
        assert.match(await responseText(page), /"totalCount": 1/);

        // A subscription on the plant's alerts (SSE, the same key), then a breach of the rule.
        await page.getByText('Variables', { exact: true }).click();
        await setEditor(page, 'variables.json', JSON.stringify({ p: plant.id }));
        await runOperation(page, 'Hot', 'subscription Hot($p: ID!) { alerts(plantId: $p) { kind alert { severity value rule { name } } } }');
        await waitFor(() => traffic.graphql.some((r) => r.body.includes('subscription Hot') && r.authorization === `Bearer ${key}`), {
          message: 'the subscription request with the key',
        });
        let value = 80;
        let ingests = 0;
        // Each breach opens or updates the alert (one event each); keep raising it until the stream is live.
        await waitFor(
          async () => {
            value += 1;
            ingests += 1;
            const r = await app.gql(INGEST, {
              input: { points: [{ machineId: plant.machines[0].id, metric: 'graphiql-temp', ts: new Date().toISOString(), value }] },
            });
            assert.equal(r.body.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess', JSON.stringify(r.body));
            return (pane = await responseText(page)).includes('GraphiQL hot');
          },
          { timeoutMs: 60_000, intervalMs: 300, message: () => `the alert in the result pane, not ${pane}` },
        );
        pane = await responseText(page);
        assert.match(pane, /"severity": "CRITICAL"/);
        assert.match(pane, /"kind": "(OPENED|UPDATED)"/);

        assert.deepEqual(traffic.foreign, [], 'no request left the server');
        assert.ok(!traffic.statuses.includes(401), `no 401: ${traffic.statuses.join(',')}`);
        t.diagnostic(`rendered in ${renderedMs} ms; ${ingests} ingest(s) until the alert showed; /graphql statuses ${traffic.statuses.join(',')}`);
      } finally {
        await close();
      }
    });

    it('a wrong key shows its 401 once; the right key typed after it loads Docs without a re-fetch click', async () => {
      const { key } = await makeKey(app, `graphiql-retry-${backend}`, 'VIEWER');
      const { page, traffic, close } = await openGraphiQL(browser, server);
      try {
        await page.goto(`${server.url}/graphql`);
        await page.locator('[data-uri$="request-headers.json"] .view-lines').waitFor({ timeout: 60_000 });
        await page.locator('[aria-label="Show Documentation Explorer"]').click();
        await setEditor(page, 'request-headers.json', '{"Authorization": "Bearer pgk_not-a-key-of-this-server"}');
        let pane = '';
        await waitFor(async () => /UNAUTHENTICATED|Unknown|invalid/i.test((pane = await editorText(page, 'body'))), {
          message: () => `the 401 on the page, not ${pane}`,
        });
        await setEditor(page, 'request-headers.json', `{"Authorization": "Bearer ${key}"}`);
        await page.locator('.graphiql-plugin').getByText('Root Types').waitFor({ timeout: 30_000 });
        const tried = traffic.graphql.filter((r) => r.body.includes('__schema')).map((r) => r.authorization);
        assert.deepEqual(tried, ['Bearer pgk_not-a-key-of-this-server', `Bearer ${key}`], 'each key tried once');
        assert.deepEqual(traffic.foreign, []);
      } finally {
        await close();
      }
    });

    it('serves each asset from the server with an ETag, and nothing else under /graphql/assets', async () => {
      const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      const html = await page.text();
      assert.doesNotMatch(html, /https?:\/\//, 'the page names no other host');
      const assets = [...html.matchAll(/(?:src|href)="(\/graphql\/assets\/[^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(assets.sort(), [
        '/graphql/assets/favicon.ico',
        '/graphql/assets/graphiql.css',
        '/graphql/assets/graphiql.js',
        '/graphql/assets/page.js',
      ]);
      for (const asset of assets) {
        const r = await fetch(`${server.url}${asset}`);
        assert.equal(r.status, 200, asset);
        const etag = r.headers.get('etag');
        assert.ok(etag, asset);
        await r.arrayBuffer();
        const again = await fetch(`${server.url}${asset}`, { headers: { 'if-none-match': etag } });
        assert.equal(again.status, 304, asset);
      }
      const missing = await fetch(`${server.url}/graphql/assets/..%2Fpackage.json`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as any).errors[0].extensions.code, 'NOT_FOUND');
    });

    it('with GraphiQL off (production), neither the page nor its assets are served without a key', async () => {
      const prod = await createTestApp(backend, { seed: false, env: { NODE_ENV: 'production' } });
      try {
        const page = await prod.yoga.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });
        assert.doesNotMatch(await page.text(), /graphiql/i);
        const asset = await prod.yoga.fetch('http://localhost/graphql/assets/graphiql.js');
        assert.equal(asset.status, 401);
        assert.equal(((await asset.json()) as any).errors[0].extensions.code, 'UNAUTHENTICATED');
      } finally {
        await prod.close();
      }
    });
  });
}
