import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { SignJWT } from 'jose';
import { as, createTestApp, describe, it, type TestApp, testBackends } from './helpers.ts';

const SECRET = 'jwt-test-secret-that-is-long-enough-0123456789';
const key = new TextEncoder().encode(SECRET);

async function token(claims: Record<string, unknown>, opts: { exp?: string; secret?: Uint8Array; iss?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m');
  if (opts.iss) jwt.setIssuer(opts.iss);
  return jwt.sign(opts.secret ?? key);
}

const backend = testBackends()[0];
describe(`JWT bearer tokens [${backend}]`, () => {
  let app: TestApp;
  let plantId: string;
  before(async () => {
    app = await createTestApp(backend, { env: { PLANTGRAPH_JWT_SECRET: SECRET, PLANTGRAPH_JWT_ISSUER: 'https://idp.example' } });
    plantId = (await app.gql(`{ plants { edges { node { id } } } }`)).body.data.plants.edges[0].node.id;
  });
  after(() => app.close());

  it('accepts a valid token with role and plant claims', async () => {
    const t = await token({ sub: 'alice', role: 'OPERATOR', plants: [plantId] }, { iss: 'https://idp.example' });
    const r = await as(app, t)(`{ me { name role plantIds } plants { totalCount } }`);
    assert.deepEqual(r.body.data.me, { name: 'jwt:alice', role: 'OPERATOR', plantIds: [plantId] });
    assert.equal(r.body.data.plants.totalCount, 1);
  });

  it('a token scoped to another plant sees no plant', async () => {
    const t = await token({ sub: 'bob', role: 'ADMIN', plants: [999] }, { iss: 'https://idp.example' });
    const r = await as(app, t)(`{ plants { totalCount } }`);
    assert.equal(r.body.data.plants.totalCount, 0);
  });

  for (const [label, make] of [
    ['expired', () => token({ role: 'ADMIN' }, { exp: '-1m', iss: 'https://idp.example' })],
    ['signed with another secret', () => token({ role: 'ADMIN' }, { secret: new TextEncoder().encode('x'.repeat(40)), iss: 'https://idp.example' })],
    ['from another issuer', () => token({ role: 'ADMIN' }, { iss: 'https://evil.example' })],
    ['without a role', () => token({ sub: 'x' }, { iss: 'https://idp.example' })],
    ['with an unknown role', () => token({ role: 'ROOT' }, { iss: 'https://idp.example' })],
    ['with a malformed plants claim', () => token({ role: 'ADMIN', plants: 'all' }, { iss: 'https://idp.example' })],
  ] as const) {
    it(`rejects a token ${label} with 401`, async () => {
      const r = await as(app, await make())(`{ me { role } }`);
      assert.equal(r.status, 401);
      assert.equal(r.body.errors[0].extensions.code, 'UNAUTHENTICATED');
    });
  }
});
