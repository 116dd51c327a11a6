import { createTestApp, TEST_ADMIN_KEY } from '../test/helpers.ts';
const app = await createTestApp('pglite', { seed: false, env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '0', NODE_ENV: 'production' } });
const body = JSON.stringify({ query: '{ me { name role } }' });
const run = async (n: number) => {
  for (let i = 0; i < n; i++) {
    const r = await app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body,
    });
    await r.text();
  }
};
await run(2000);
const t = performance.now();
const c = process.cpuUsage();
await run(5000);
const u = process.cpuUsage(c);
console.log('ms per request wall', ((performance.now() - t) / 5000).toFixed(3), 'cpu', ((u.user + u.system) / 1000 / 5000).toFixed(3));
await app.close();
