import assert from 'node:assert/strict';
import { after, before, createTestApp, describe, it, type TestApp, testBackends } from './helpers.ts';

// The operational endpoints are yoga plugins, so they answer through yoga.fetch without a server or credentials.
for (const backend of testBackends()) {
  describe(`health, readiness and metrics endpoints [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false });
    });
    after(() => app.close());

    const get = (path: string) => app.yoga.fetch(`http://localhost${path}`);
    const counter = (text: string, labels: string) => {
      const m = new RegExp(`^plantgraph_http_requests_total\\{${labels.replace(/[/]/g, '\\/')}\\} (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : 0;
    };

    it('/health answers 200 with a JSON status, without credentials', async () => {
      const r = await get('/health');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await r.json(), { status: 'ok' });
    });

    it('only the exact paths are endpoints: other URLs still need credentials', async () => {
      for (const path of ['/graphql?query={__typename}&x=/health', '/health/x', '/ready/', '/metricsx']) {
        const r = await get(path);
        assert.equal(r.status, 401, path);
        const body: any = await r.json();
        assert.equal(body.errors[0].extensions.code, 'UNAUTHENTICATED', path);
      }
    });

    it('/ready answers 200 with the database kind when migrations are applied', async () => {
      const r = await get('/ready');
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { status: 'ready', database: backend });
    });

    it('/metrics serves Prometheus text and counts every response by route, early ones included', async () => {
      const before = await (await get('/metrics')).text();
      await get('/health');
      await get('/health');
      await get('/nowhere');
      const unauth = await app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{__typename}"}',
      });
      assert.equal(unauth.status, 401);
      const ok = await app.gql('{ __typename }');
      assert.equal(ok.status, 200);
      const r = await get('/metrics');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      const after = await r.text();
      const delta = (labels: string) => counter(after, labels) - counter(before, labels);
      assert.equal(delta('method="GET",route="/health",status="200"'), 2);
      assert.equal(delta('method="GET",route="other",status="401"'), 1);
      assert.equal(delta('method="POST",route="/graphql",status="401"'), 1);
      assert.equal(delta('method="POST",route="/graphql",status="200"'), 1);
      assert.equal(delta('method="GET",route="/metrics",status="200"'), 1);
      assert.match(after, /^plantgraph_sql_statements_total \d+$/m);
    });
  });

  describe(`readiness without a database [${backend}]`, () => {
    it('/ready answers 503 once the database is gone, and /health still 200', async () => {
      const app = await createTestApp(backend, { seed: false });
      await app.close();
      const r = await app.yoga.fetch('http://localhost/ready');
      assert.equal(r.status, 503);
      assert.deepEqual(await r.json(), { status: 'not ready', database: backend });
      assert.equal((await app.yoga.fetch('http://localhost/health')).status, 200);
    });
  });
}
