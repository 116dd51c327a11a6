import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { createTestApp, describe, it, TEST_ADMIN_KEY, testBackends } from './helpers.ts';
import { startServerProcess } from './process.ts';

const backend = testBackends()[0];

describe(`persisted operations mode [${backend}]`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-po-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs only the operations in the file, by hash', async () => {
    const query = '{ plants { totalCount } }';
    const hash = createHash('sha256').update(query).digest('hex');
    const file = path.join(dir, 'ops.json');
    fs.writeFileSync(file, JSON.stringify({ [hash]: query }));
    const app = await createTestApp(backend, { env: { PLANTGRAPH_PERSISTED_OPERATIONS: file } });
    try {
      const call = (body: unknown) =>
        app.yoga.fetch('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
          body: JSON.stringify(body),
        });
      const ok = await call({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      assert.deepEqual(await ok.json(), { data: { plants: { totalCount: 1 } } });
      const arbitrary = await call({ query });
      const arb: any = await arbitrary.json();
      assert.equal(arb.data, undefined, JSON.stringify(arb));
      assert.match(arb.errors[0].message, /PersistedQueryOnly|persisted/i);
      const unknown = await call({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } });
      const body: any = await unknown.json();
      assert.match(body.errors[0].message, /PersistedQueryNotFound|not found/i);
    } finally {
      await app.close();
    }
  });
});

describe('secrets never reach the logs', () => {
  it('a debug-level server log holds no key, bearer credential or JWT secret', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-'));
    const adminKey = 'log-test-admin-key-SECRET-0123456789';
    const jwtSecret = 'log-test-jwt-secret-SECRET-0123456789abcdef';
    const s = await startServerProcess({
      PLANTGRAPH_DATA_DIR: dataDir,
      DATABASE_URL: '',
      PLANTGRAPH_ADMIN_KEY: adminKey,
      PLANTGRAPH_JWT_SECRET: jwtSecret,
      LOG_LEVEL: 'trace',
      PLANTGRAPH_SEED: 'none',
    });
    try {
      const post = (auth: string, query: string, variables?: unknown) =>
        fetch(`${s.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          body: JSON.stringify({ query, variables }),
        }).then((r) => r.json() as any);
      const created = await post(
        `Bearer ${adminKey}`,
        `mutation { createApiKey(input: { name: "logged", role: VIEWER }) { ... on CreateApiKeySuccess { key } } }`,
      );
      const newKey = created.data.createApiKey.key as string;
      await post('Bearer pgk_wrong-key-SECRET-zzzzzzzzzzzzzzzzzzzzzzzzzz', '{ me { name } }');
      await post(`Bearer ${newKey}`, '{ me { name } }');
      await post(`Bearer ${newKey}`, 'mutation($token: String!) { createApiKey(input: { name: $token, role: VIEWER }) { __typename } }', {
        token: 'variable-SECRET-value',
      });
      // Stopping the process flushes its log: then the whole log is there to search.
      assert.equal(await s.stop(), 0);
      const out = s.output();
      assert.ok(out.length > 0);
      for (const secret of [adminKey, jwtSecret, newKey, 'pgk_wrong-key-SECRET', 'variable-SECRET-value']) {
        assert.ok(!out.includes(secret), `log contains ${secret.slice(0, 12)}…`);
      }
    } finally {
      await s.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
