import assert from 'node:assert/strict';
import { apiKeys } from '../src/db/schema/index.ts';
import { createApiKey } from '../src/auth/keys.ts';
import { visibleKeysSql } from '../src/auth/manage.ts';
import { encodeId } from '../src/core/ids.ts';
import { after, as, before, beforeEach, createTestApp, describe, it, makeKey, TEST_ADMIN_KEY, type TestApp, testBackends, unchanged } from './helpers.ts';

const LIST = `{ apiKeys(first: 500) { edges { node { id name } } } }`;
const NODE = `query($id: ID!) { node(id: $id) { id ... on ApiKey { name } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on RevokeApiKeySuccess { apiKey { id revokedAt } } ... on NotFoundError { message } } }`;

// One rule (canSeeKey) for the keys a plant-scoped ADMIN may see: listing, node(id), revoking.
for (const backend of testBackends()) {
  describe(`API key visibility [${backend}]`, () => {
    let app: TestApp;
    const plant: Record<string, string> = {};
    const id: Record<string, string> = {};
    const secret: Record<string, string> = {};

    before(async () => {
      app = await createTestApp(backend, { seed: false });
      for (const name of ['A', 'B', 'C']) {
        const r = await app.gql(`mutation($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { id } } } }`, {
          input: { name: `Plant ${name}`, lines: [{ name: 'L', machines: [{ name: 'M' }] }] },
        });
        plant[name] = r.body.data.importPlant.plant.id;
      }
    });
    // Every test starts from the same keys (tests revoke and create keys), so each passes alone and in any order.
    beforeEach(async () => {
      await app.database.query('delete from api_keys');
      app.services.auth.keys.invalidate();
      for (const k of Object.keys(id)) delete id[k];
      const make = async (name: string, role: string, plants?: string[]) => {
        const k = await makeKey(
          app,
          name,
          role,
          plants?.map((p) => plant[p]),
        );
        id[name] = k.id;
        secret[name] = k.key;
      };
      await make('adminA', 'ADMIN', ['A']);
      await make('adminAB', 'ADMIN', ['A', 'B']);
      await make('unscoped', 'VIEWER');
      await make('viewerA', 'VIEWER', ['A']);
      await make('viewerB', 'VIEWER', ['B']);
      await make('viewerAB', 'VIEWER', ['A', 'B']);
      await make('viewerAC', 'VIEWER', ['A', 'C']);
      await make('operatorA', 'OPERATOR', ['A']);
      // Not creatable through the API, but a key limited to no plant must not count as "within" every plant set.
      const empty = await createApiKey(app.database.db, { name: 'empty', role: 'VIEWER', plantIds: [] });
      id.empty = encodeId('ApiKey', empty.row.id);
    });
    after(() => app.close());

    const listed = async (key: string) => {
      const r = await as(app, key)(LIST);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data.apiKeys.edges.map((e: any) => e.node.name as string).sort();
    };
    const throughNode = async (key: string) => {
      const names: string[] = [];
      for (const gid of Object.values(id)) {
        const r = await as(app, key)(NODE, { id: gid });
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        if (r.body.data.node) {
          assert.equal(r.body.data.node.id, gid);
          names.push(r.body.data.node.name);
        }
      }
      return names.sort();
    };

    it('a plant-scoped ADMIN sees the same keys through apiKeys and node(id): those within a non-empty subset of its plants', async () => {
      const expected: Record<string, string[]> = {
        adminA: ['adminA', 'operatorA', 'viewerA'],
        adminAB: ['adminA', 'adminAB', 'operatorA', 'viewerA', 'viewerAB', 'viewerB'],
      };
      for (const [admin, want] of Object.entries(expected)) {
        assert.deepEqual(await listed(secret[admin]), want, `${admin} through apiKeys`);
        assert.deepEqual(await throughNode(secret[admin]), want, `${admin} through node(id)`);
      }
    });

    it('an unscoped ADMIN sees every key both ways; a non-ADMIN sees none through node(id)', async () => {
      const all = Object.keys(id).sort();
      assert.deepEqual(await throughNode(TEST_ADMIN_KEY), all);
      const everyKey = (await app.gql(LIST)).body.data.apiKeys.edges.map((e: any) => e.node.name).sort();
      assert.deepEqual(everyKey, all);
      assert.deepEqual(await throughNode(secret.operatorA), []);
    });

    it('a caller limited to no plant sees no key (and the SQL filter does not fail on it)', async () => {
      const none = { kind: 'jwt' as const, name: 'jwt:none', role: 'ADMIN' as const, keyId: null, plantIds: [] };
      assert.equal((await app.database.db.select().from(apiKeys).where(visibleKeysSql(none))).length, 0);
    });

    it('revoking a key a plant-scoped ADMIN may not see is NotFound like an unknown ID, and changes nothing', async () => {
      const invisible = ['unscoped', 'viewerB', 'viewerAB', 'viewerAC', 'adminAB', 'empty'];
      // Every mutation is audited, refused or not: one audit entry per attempt, nothing else changes.
      await unchanged(
        app.database,
        async () => {
          const unknown = await as(app, secret.adminA)(REVOKE, { id: encodeId('ApiKey', 987654) });
          assert.equal(unknown.body.data.revokeApiKey.__typename, 'NotFoundError');
          for (const name of invisible) {
            const r = await as(app, secret.adminA)(REVOKE, { id: id[name] });
            assert.equal(r.body.data.revokeApiKey.__typename, 'NotFoundError', name);
            assert.equal(
              r.body.data.revokeApiKey.message.replace(id[name], 'ID'),
              unknown.body.data.revokeApiKey.message.replace(encodeId('ApiKey', 987654), 'ID'),
              name,
            );
          }
        },
        { audit_log: 1 + invisible.length },
      );
      const rows = await app.database.db.select({ name: apiKeys.name, revokedAt: apiKeys.revokedAt }).from(apiKeys);
      assert.deepEqual(
        rows.filter((r) => r.revokedAt !== null),
        [],
      );
      // The keys still work.
      for (const name of ['viewerB', 'viewerAB']) assert.equal((await as(app, secret[name])('{ me { name } }')).body.data.me.name, name);
    });

    it('revoking a visible key returns it and refuses the key at once (the auth service clears its cache)', async () => {
      assert.equal((await as(app, secret.viewerA)('{ me { name } }')).status, 200); // cached now
      const r = await as(app, secret.adminA)(REVOKE, { id: id.viewerA });
      assert.equal(r.body.data.revokeApiKey.__typename, 'RevokeApiKeySuccess', JSON.stringify(r.body));
      assert.equal(r.body.data.revokeApiKey.apiKey.id, id.viewerA);
      assert.ok(r.body.data.revokeApiKey.apiKey.revokedAt);
      const after = await as(app, secret.viewerA)('{ me { name } }');
      assert.equal(after.status, 401);
      assert.equal(after.body.errors[0].extensions.code, 'UNAUTHENTICATED');
    });

    it('the key createApiKey returns to a plant-scoped ADMIN is one it then sees both ways', async () => {
      const r = await as(app, secret.adminAB)(
        `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeySuccess { apiKey { id name plantIds } } } }`,
        { input: { name: 'made-by-adminAB', role: 'VIEWER', plantIds: [plant.B, plant.A, plant.B] } },
      );
      const created = r.body.data.createApiKey;
      assert.equal(created.__typename, 'CreateApiKeySuccess', JSON.stringify(r.body));
      assert.deepEqual(created.apiKey.plantIds, [plant.A, plant.B]);
      assert.ok((await listed(secret.adminAB)).includes('made-by-adminAB'));
      assert.equal((await as(app, secret.adminAB)(NODE, { id: created.apiKey.id })).body.data.node.name, 'made-by-adminAB');
      assert.equal((await as(app, secret.adminA)(NODE, { id: created.apiKey.id })).body.data.node, null);
    });
  });
}
