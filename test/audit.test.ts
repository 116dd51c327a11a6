import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { serverAudits } from 'graphql-http';
import { createTestApp, describe, it, TEST_ADMIN_KEY, type TestApp, testBackends } from './helpers.ts';

// The GraphQL-over-HTTP spec audits: every MUST must pass.
const backend = testBackends()[0];
describe(`graphql-http audits [${backend}]`, () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp(backend, { seed: false });
  });
  after(() => app.close());

  it('passes every MUST audit', async () => {
    const audits = serverAudits({
      url: 'http://localhost/graphql',
      fetchFn: (input: any, init: any) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${TEST_ADMIN_KEY}`);
        return app.yoga.fetch(input, { ...init, headers });
      },
    });
    const must = audits.filter((a) => a.name.startsWith('MUST'));
    assert.ok(must.length >= 10, `only ${must.length} MUST audits found`);
    const failures: string[] = [];
    for (const audit of must) {
      const result = await audit.fn();
      if (result.status !== 'ok') failures.push(`${audit.name}: ${result.reason}`);
    }
    assert.deepEqual(failures, []);
  });
});
