import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../src/graphql/server.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import {
  as,
  AUDITED,
  createTestApp,
  describe,
  it,
  makeKey,
  tableCounts,
  TEST_ADMIN_KEY,
  type TestApp,
  testBackends,
  unchanged,
  USER_TABLES,
  waitFor,
} from './helpers.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

for (const backend of testBackends()) {
  describe(`access control and hardening [${backend}]`, () => {
    let app: TestApp;
    let server: RunningServer;
    let ids: { A: string; B: string; machineB: string; orderB: string; lineB: string; productB: string; machineA: string };
    const keys: Record<string, string> = {};
    let globalViewerKeyId = '';

    before(async () => {
      app = await createTestApp(backend, { env: { PLANTGRAPH_MAX_BODY_BYTES: String(64 * 1024), PLANTGRAPH_WS_INIT_TIMEOUT_MS: '500' } });
      const imp = await app.gql(`mutation($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { id } } } }`, {
        input: {
          name: 'Other Plant',
          lines: [{ name: 'X', machines: [{ name: 'Secret-Press' }] }],
          products: [{ name: 'Secret', routing: [{ machines: ['Secret-Press'], minutesPerUnit: 1 }] }],
          orders: [{ code: 'CONFIDENTIAL-1', product: 'Secret', quantity: 1, dueAt: '2027-01-01T00:00:00Z' }],
        },
      });
      const B = imp.body.data.importPlant.plant.id;
      const r = await app.gql(
        `{ plants { edges { node { id name machines { id } lines { id } products { id } orders(first: 1) { edges { node { id } } } } } } }`,
      );
      const nodes = r.body.data.plants.edges.map((e: any) => e.node);
      const a = nodes.find((n: any) => n.name === 'Riverside Works');
      const bNode = nodes.find((n: any) => n.id === B);
      ids = {
        A: a.id,
        B,
        machineA: a.machines[0].id,
        machineB: bNode.machines[0].id,
        orderB: bNode.orders.edges[0].node.id,
        lineB: bNode.lines[0].id,
        productB: bNode.products[0].id,
      };
      keys.viewerA = (await makeKey(app, 'viewer-a', 'VIEWER', [ids.A])).key;
      keys.operatorA = (await makeKey(app, 'operator-a', 'OPERATOR', [ids.A])).key;
      keys.planner = (await makeKey(app, 'planner', 'PLANNER')).key;
      keys.engineer = (await makeKey(app, 'engineer', 'ENGINEER')).key;
      keys.adminA = (await makeKey(app, 'admin-a', 'ADMIN', [ids.A])).key;
      const v = await makeKey(app, 'viewer-all', 'VIEWER');
      keys.viewerAll = v.key;
      globalViewerKeyId = v.id;
      const revoked = await makeKey(app, 'revoked', 'ADMIN');
      keys.revoked = revoked.key;
      const rv = await app.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: revoked.id });
      assert.equal(rv.body.data.revokeApiKey.__typename, 'RevokeApiKeySuccess');
      server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
    });
    after(async () => {
      await server.close();
      await app.close();
    });

    const IMPORT = `mutation($input: PlantImportInput!) { importPlant(input: $input) { __typename } }`;
    const smallPlant = { input: { name: 'Injected', lines: [{ name: 'L', machines: [{ name: 'M' }] }] } };

    /** Nothing changes but, for a mutation, its one audit entry (refused mutations are audited too). */
    const unchangedBut = <T>(grows: Record<string, number>, fn: () => Promise<T>) => unchanged(app.database, fn, grows);
    function code(r: { body: any }): string | undefined {
      return r.body.errors?.[0]?.extensions?.code;
    }

    const authFailures: [string, string | null][] = [
      ['no key', null],
      ['a Basic header', 'Basic dXNlcjpwYXNz'],
      ['an unknown key', 'Bearer pgk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['a revoked key', 'REVOKED'],
      ['a 10 kB key', `Bearer ${'x'.repeat(10_000)}`],
      ['a forged JWT when JWTs are off', 'Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoiQURNSU4ifQ.'],
    ];
    for (const [label, header] of authFailures) {
      it(`attack: ${label} gets 401 UNAUTHENTICATED and changes nothing`, async () => {
        const h = header === 'REVOKED' ? `Bearer ${keys.revoked}` : header;
        const r = await unchangedBut({}, () => app.gql(IMPORT, smallPlant, { authorization: h ?? '' }));
        assert.equal(r.status, 401);
        assert.equal(code(r), 'UNAUTHENTICATED');
        assert.equal(r.body.data, undefined);
        if (h) assert.ok(!JSON.stringify(r.body).includes(h.slice(7, 40)), 'the credential is not echoed');
      });
    }

    const forbidden: [string, string, string, Record<string, unknown>][] = [
      ['VIEWER imports a plant', 'viewerA', IMPORT, smallPlant],
      ['OPERATOR imports a plant', 'operatorA', IMPORT, smallPlant],
      ['ENGINEER imports a plant', 'engineer', IMPORT, smallPlant],
      ['plant-scoped ADMIN imports a plant', 'adminA', IMPORT, smallPlant],
      ['PLANNER creates an API key', 'planner', `mutation { createApiKey(input: { name: "x", role: ADMIN }) { __typename } }`, {}],
      ['ENGINEER revokes an API key', 'engineer', `mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: 'GLOBAL_VIEWER' }],
      ['VIEWER reads the audit log', 'viewerAll', `{ auditLog(first: 5) { edges { node { operation } } } }`, {}],
      ['plant-scoped ADMIN reads the audit log', 'adminA', `{ auditLog(first: 5) { edges { node { operation } } } }`, {}],
      ['VIEWER lists API keys', 'viewerAll', `{ apiKeys { edges { node { name } } } }`, {}],
    ];
    for (const [label, who, query, vars] of forbidden) {
      it(`attack: ${label} is FORBIDDEN and changes nothing`, async () => {
        const v = vars.id === 'GLOBAL_VIEWER' ? { id: globalViewerKeyId } : vars;
        const r = await unchangedBut(query.startsWith('mutation') ? AUDITED : {}, () => as(app, keys[who])(query, v));
        assert.equal(code(r), 'FORBIDDEN', JSON.stringify(r.body));
        const still = await as(app, keys.viewerAll)(`{ me { role } }`);
        assert.equal(still.body.data.me.role, 'VIEWER', 'the global viewer key still works');
      });
    }

    it('attack: a plant-scoped key lists only its plant and reads other plants exactly like unknown IDs', async () => {
      const viewer = as(app, keys.viewerA);
      const list = await viewer(`{ plants { totalCount edges { node { name } } } }`);
      assert.deepEqual(list.body.data.plants, { totalCount: 1, edges: [{ node: { name: 'Riverside Works' } }] });
      const q = `query($id: ID!) { node(id: $id) { id } plant(id: $id) { id } }`;
      const unknownIds = [b64('Plant:987654'), b64('Machine:987654'), b64('Order:987654')];
      const unknownResponses = await Promise.all(unknownIds.map((id) => viewer(q, { id })));
      for (const [i, id] of [ids.B, ids.machineB, ids.orderB].entries()) {
        const r = await viewer(q, { id });
        assert.equal(r.status, unknownResponses[i].status);
        assert.deepEqual(r.body, unknownResponses[i].body, `response for a foreign ${id} must equal the one for an unknown ID`);
        assert.deepEqual(r.body, { data: { node: null, plant: null } });
      }
      for (const id of [ids.lineB, ids.productB]) {
        assert.deepEqual((await viewer(`query($id: ID!) { node(id: $id) { id } }`, { id })).body, { data: { node: null } });
      }
      const own = await viewer(`query($id: ID!) { node(id: $id) { id } }`, { id: ids.machineA });
      assert.equal(own.body.data.node.id, ids.machineA);
    });

    it('attack: API keys are not readable through node() by non-admins', async () => {
      const r = await as(app, keys.viewerAll)(`query($id: ID!) { node(id: $id) { id } }`, { id: globalViewerKeyId });
      assert.deepEqual(r.body, { data: { node: null } });
      const admin = await app.gql(`query($id: ID!) { node(id: $id) { ... on ApiKey { name role } } }`, { id: globalViewerKeyId });
      assert.deepEqual(admin.body.data.node, { name: 'viewer-all', role: 'VIEWER' });
    });

    it('attack: a plant-scoped ADMIN cannot mint keys for other plants or unscoped keys, nor revoke global keys', async () => {
      const adminA = as(app, keys.adminA);
      const m = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } } }`;
      const foreign = await unchangedBut(AUDITED, () => adminA(m, { input: { name: 'x', role: 'ADMIN', plantIds: [ids.B] } }));
      const unknown = await unchangedBut(AUDITED, () => adminA(m, { input: { name: 'x', role: 'ADMIN', plantIds: [b64('Plant:987654')] } }));
      assert.equal(foreign.body.data.createApiKey.__typename, 'ValidationError');
      assert.equal(
        foreign.body.data.createApiKey.fieldErrors[0].message.replace(ids.B, 'ID'),
        unknown.body.data.createApiKey.fieldErrors[0].message.replace(b64('Plant:987654'), 'ID'),
      );
      const unscoped = await unchangedBut(AUDITED, () => adminA(m, { input: { name: 'x', role: 'VIEWER' } }));
      assert.equal(unscoped.body.data.createApiKey.fieldErrors[0].path, 'plantIds');
      const rv = await unchangedBut(AUDITED, () => adminA(`mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: globalViewerKeyId }));
      assert.equal(rv.body.data.revokeApiKey.__typename, 'NotFoundError');
      const ok = await adminA(m, { input: { name: 'viewer-a2', role: 'VIEWER', plantIds: [ids.A] } });
      assert.equal(ok.body.data.createApiKey.__typename, 'CreateApiKeySuccess');
    });

    it('attack: a query nested deeper than the limit is refused before execution', async () => {
      let q = 'name';
      for (let i = 0; i < 10; i++) q = `plant { lines { machines { ${q} } } }`;
      const r = await unchangedBut({}, () => app.gql(`{ plants { edges { node { lines { machines { line { ${q} } } } } } } }`));
      assert.equal(r.body.data, undefined);
      assert.match(r.body.errors[0].message, /depth/i);
    });

    it('attack: an alias flood is refused', async () => {
      const q = `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: me { name }`).join(' ')} }`;
      const r = await app.gql(q);
      assert.equal(r.body.data, undefined);
      assert.match(r.body.errors[0].message, /alias/i);
    });

    it('attack: a token flood is refused', async () => {
      const q = `{ me { ${'name '.repeat(6000)} } }`;
      const r = await app.gql(q);
      assert.equal(r.body.data, undefined);
      assert.match(r.body.errors[0].message, /token/i);
    });

    it('attack: a wide fan-out over the cost limit is refused with QUERY_TOO_EXPENSIVE', async () => {
      const r = await app.gql(
        `{ plants(first: 500) { edges { node { orders(first: 500) { edges { node { product { routing { machines { name } } } } } } } } } }`,
      );
      assert.equal(r.status, 400);
      assert.equal(code(r), 'QUERY_TOO_EXPENSIVE');
    });

    it('attack: page sizes beyond 500 or below 0 are refused', async () => {
      for (const n of [501, 100000, -1]) {
        const r = await app.gql(`query($n: Int) { plants(first: $n) { totalCount } }`, { n });
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.match(r.body.errors[0].message, /page size must be from 0 to 500/);
      }
    });

    it('attack: a batch of more operations than allowed is refused', async () => {
      const res = await app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify(Array.from({ length: 11 }, () => ({ query: '{ me { name } }' }))),
      });
      assert.equal(res.status, 413);
      const ok = await app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: JSON.stringify(Array.from({ length: 3 }, () => ({ query: '{ me { name } }' }))),
      });
      assert.equal((await ok.json()).length, 3);
    });

    it('attack: a body over the size limit gets 413 over real HTTP, without a Content-Length 411', async () => {
      const big = JSON.stringify({ query: '{ me { name } }', variables: { pad: 'x'.repeat(100 * 1024) } });
      const r = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: big,
      });
      assert.equal(r.status, 413);
      const chunked = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode('{"query":"{ me { name } }"}'));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(chunked.status, 411);
    });

    const injections = [
      `' OR 1=1 --`,
      `1; DROP TABLE plants; --`,
      `UGxhbnQ6MSBPUiAxPTE=`,
      `${b64("Plant:1' OR '1'='1")}`,
      `\u0000`,
      `${b64('Machine:-1')}`,
      `${b64('Order:1e3')}`,
    ];
    it('attack: injection strings in every ID and filter argument read as not found and change nothing', async () => {
      const viewer = as(app, keys.viewerA);
      for (const s of injections) {
        const r = await unchangedBut({}, () => viewer(`query($id: ID!) { node(id: $id) { id } plant(id: $id) { id } }`, { id: s }));
        // Text no column can store (NUL) is refused before execution, in every argument (see attacks-audit.test.ts).
        if (s.includes('\u0000')) assert.equal(r.body.errors[0].extensions.code, 'BAD_USER_INPUT', JSON.stringify(r.body));
        else assert.deepEqual(r.body.data, { node: null, plant: null }, `${JSON.stringify(s)}: ${JSON.stringify(r.body)}`);
      }
      const enumInjection = await viewer(`{ plants { edges { node { orders(status: ["PLANNED' OR 1=1"]) { totalCount } } } } }`);
      assert.equal(enumInjection.status, 400);
      const enumVar = await viewer(`query($s: [OrderStatus!]) { plants { edges { node { orders(status: $s) { totalCount } } } } }`, { s: ["PLANNED'--"] });
      assert.equal(enumVar.status, 400);
      // Names are data: stored literally, never executed.
      const evil = `x'); DROP TABLE plants; --`;
      const r = await app.gql(
        `mutation($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { name lines { name } } } } }`,
        {
          input: { name: evil, lines: [{ name: evil, machines: [{ name: 'M' }] }] },
        },
      );
      assert.equal(r.body.data.importPlant.plant.name, evil);
      assert.ok((await tableCounts(app.database)).plants >= 3);
    });

    it('attack: WebSocket connection_init with a bad key is closed with 4403; without init, 4408 after the timeout', async () => {
      const url = `${server.url.replace('http', 'ws')}/graphql`;
      const closeCode = (params: Record<string, unknown> | undefined) =>
        new Promise<number>((resolve) => {
          const client = createClient({
            url,
            webSocketImpl: WebSocket,
            retryAttempts: 0,
            lazy: false,
            onNonLazyError: () => {},
            connectionParams: params,
            on: { closed: (e: any) => resolve(e.code) },
          });
          client.on('error', () => {});
          setTimeout(() => void client.dispose(), 5_000);
        });
      assert.equal(await closeCode({ authorization: 'Bearer pgk_wrong' }), 4403);
      assert.equal(await closeCode(undefined), 4403);
      assert.equal(await closeCode({ authorization: `Bearer ${keys.revoked}` }), 4403);
      const raw = new WebSocket(url, 'graphql-transport-ws');
      const code = await new Promise<number>((resolve) => raw.on('close', (c) => resolve(c)));
      assert.equal(code, 4408);
    });

    it('attack: cross-plant subscriptions (alerts, machineStatus, telemetry) are refused like unknown IDs', async () => {
      const url = `${server.url.replace('http', 'ws')}/graphql`;
      const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${keys.viewerA}` } });
      const outcome = (query: string, variables: Record<string, unknown>) =>
        new Promise<any>((resolve) => {
          let last: unknown = null;
          client.subscribe({ query, variables }, { next: (v) => (last = v), error: (e) => resolve({ errors: e }), complete: () => resolve(last) });
        });
      const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
        ['subscription($id: ID!) { alerts(plantId: $id) { kind } }', { id: ids.B }, { id: b64('Plant:987654') }],
        ['subscription($id: ID!) { machineStatus(plantId: $id) { status } }', { id: ids.B }, { id: b64('Plant:987654') }],
        ['subscription($id: ID!) { telemetry(machineId: $id) { value } }', { id: ids.machineB }, { id: b64('Machine:987654') }],
      ];
      try {
        for (const [query, foreign, unknown] of cases) {
          const f = await outcome(query, foreign);
          const u = await outcome(query, unknown);
          assert.equal(f?.data ?? null, null, `${query}: ${JSON.stringify(f)}`);
          const code = (r: any) => (Array.isArray(r.errors) ? r.errors : [r.errors])[0]?.extensions?.code;
          assert.equal(code(f), 'NOT_FOUND', JSON.stringify(f));
          assert.equal(code(u), code(f));
          assert.equal(
            JSON.stringify(f).replaceAll(String(Object.values(foreign)[0]), 'ID'),
            JSON.stringify(u).replaceAll(String(Object.values(unknown)[0]), 'ID'),
          );
        }
      } finally {
        await client.dispose();
      }
    });

    it('attack: more subscriptions on one WebSocket than allowed are refused', async () => {
      const limited = await createTestApp(backend, {
        seed: false,
        env: { PLANTGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3', PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '0' },
      });
      const plant = await limited.gql(
        `mutation { importPlant(input: { name: "S", lines: [{ name: "L", machines: [{ name: "M" }] }] }) { ... on ImportPlantSuccess { plant { id } } } }`,
      );
      const pid = plant.body.data.importPlant.plant.id;
      const srv = await startServer(limited.services, { port: 0, host: '127.0.0.1' });
      const client = createClient({
        url: `${srv.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      });
      try {
        const results: any[] = [];
        for (let i = 0; i < 5; i++) {
          client.subscribe(
            { query: `subscription($p: ID!) { alerts(plantId: $p) { kind } }`, variables: { p: pid } },
            { next: () => {}, error: (e) => results.push(e), complete: () => {} },
          );
        }
        await waitFor(() => results.length >= 2, { message: 'two refusals' });
        // The three allowed ones are live on the server: nothing else can be refused after that.
        await waitFor(
          () =>
            (limited.services.pubsub as unknown as { subscriberCount(t: string): number }).subscriberCount(
              `alerts:${Buffer.from(pid, 'base64').toString().split(':')[1]}`,
            ) === 3,
        );
        assert.equal(results.length, 2, JSON.stringify(results));
        for (const r of results) assert.equal(r[0].extensions.code, 'TOO_MANY_SUBSCRIPTIONS');
      } finally {
        await client.dispose();
        await srv.close();
        await limited.close();
      }
    });

    it('attack: injection strings in telemetry and alert arguments are data, never SQL', async () => {
      const operator = as(app, keys.operatorA);
      for (const s of injections) {
        const r = await unchangedBut({}, () =>
          operator(
            `query($id: ID!, $m: String!) { node(id: $id) { ... on Machine { latest(metric: $m) { value } telemetry(metric: $m, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", bucketSeconds: 3600) { count } } } }`,
            { id: ids.machineA, m: s },
          ),
        );
        if (s.includes('\u0000')) {
          // Refused before execution, like every string no column can store (see attacks-audit.test.ts).
          assert.equal(r.body.errors[0].extensions.code, 'BAD_USER_INPUT', JSON.stringify(r.body));
        } else if (/[\u0000-\u001f]/.test(s)) {
          assert.equal(r.body.errors[0].extensions.code, 'VALIDATION_FAILED', JSON.stringify(r.body));
        } else {
          assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
          assert.equal(r.body.data.node.latest, null);
        }
        const a = await operator(`query($p: ID!) { alerts(plantId: $p) { edges { node { id } } } }`, { p: s });
        if (s.includes('\u0000')) assert.equal(a.body.errors[0].extensions.code, 'BAD_USER_INPUT', JSON.stringify(a.body));
        else assert.deepEqual(a.body.data.alerts.edges, []);
      }
      const evilMetric = `temp'); DELETE FROM telemetry; --`;
      const ok = await operator(
        `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on IngestTelemetrySuccess { accepted } } }`,
        {
          input: { points: [{ machineId: ids.machineA, metric: evilMetric, ts: new Date().toISOString(), value: 1 }] },
        },
      );
      assert.equal(ok.body.data.ingestTelemetry.accepted, 1);
      const back = await operator(`query($id: ID!, $m: String!) { node(id: $id) { ... on Machine { latest(metric: $m) { metric value } } } }`, {
        id: ids.machineA,
        m: evilMetric,
      });
      assert.deepEqual(back.body.data.node.latest, { metric: evilMetric, value: 1 });
    });

    it('attack: VIEWER ingest and a plant-scoped OPERATOR writing to another plant change nothing', async () => {
      const point = (machineId: string) => ({ input: { points: [{ machineId, metric: 'x', ts: new Date().toISOString(), value: 1 }] } });
      const M = `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } } }`;
      const v = await unchangedBut(AUDITED, () => as(app, keys.viewerA)(M, point(ids.machineA)));
      assert.equal(v.body.errors[0].extensions.code, 'FORBIDDEN');
      const foreign = await unchangedBut(AUDITED, () => as(app, keys.operatorA)(M, point(ids.machineB)));
      const unknown = await unchangedBut(AUDITED, () => as(app, keys.operatorA)(M, point(b64('Machine:987654'))));
      assert.equal(foreign.body.data.ingestTelemetry.__typename, 'ValidationError');
      assert.deepEqual(JSON.stringify(foreign.body).replaceAll(ids.machineB, 'ID'), JSON.stringify(unknown.body).replaceAll(b64('Machine:987654'), 'ID'));
      const STATE = `mutation($input: MachineStateInput!) { recordMachineState(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } } }`;
      const s = await unchangedBut(AUDITED, () =>
        as(app, keys.operatorA)(STATE, { input: { machineId: ids.machineB, status: 'DOWN', at: new Date().toISOString() } }),
      );
      assert.deepEqual(s.body, {
        data: { recordMachineState: { __typename: 'ValidationError', fieldErrors: [{ path: 'machineId', message: 'unknown machine' }] } },
      });
    });

    it('attack: a rate-limit flood gets 429 with Retry-After, per key', async () => {
      const limited = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '60', PLANTGRAPH_RATE_LIMIT_BURST: '5' } });
      try {
        const statuses: number[] = [];
        let retryAfter: string | null = null;
        for (let i = 0; i < 8; i++) {
          const res = await limited.yoga.fetch('http://localhost/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
            body: JSON.stringify({ query: '{ me { name } }' }),
          });
          statuses.push(res.status);
          if (res.status === 429) {
            retryAfter = res.headers.get('retry-after');
            assert.equal((await res.json()).errors[0].extensions.code, 'RATE_LIMITED');
          }
        }
        assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
        assert.ok(
          statuses.slice(5).every((s) => s === 429),
          statuses.join(','),
        );
        assert.ok(Number(retryAfter) >= 1);
      } finally {
        await limited.close();
      }
    });

    it('introspection and GraphiQL are off with NODE_ENV=production unless enabled', async () => {
      const prod = await createTestApp(backend, { seed: false, env: { NODE_ENV: 'production' } });
      const enabled = await createTestApp(backend, { seed: false, env: { NODE_ENV: 'production', PLANTGRAPH_INTROSPECTION: 'true' } });
      try {
        const r = await prod.gql('{ __schema { types { name } } }');
        assert.equal(r.status, 400);
        assert.match(r.body.errors[0].message, /introspection/i);
        const page = await prod.yoga.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });
        assert.doesNotMatch(await page.text(), /graphiql/i);
        const e = await enabled.gql('{ __schema { queryType { name } } }');
        assert.equal(e.body.data.__schema.queryType.name, 'Query');
      } finally {
        await prod.close();
        await enabled.close();
      }
    });

    it('positive: each role can do what it may', async () => {
      for (const [who, role] of [
        ['viewerA', 'VIEWER'],
        ['operatorA', 'OPERATOR'],
        ['planner', 'PLANNER'],
        ['engineer', 'ENGINEER'],
        ['adminA', 'ADMIN'],
      ]) {
        const r = await as(app, keys[who])(`{ me { role } plants { totalCount } }`);
        assert.equal(r.body.data.me.role, role);
        assert.ok(r.body.data.plants.totalCount >= 1);
      }
      const adminKeys = await as(app, keys.adminA)(`{ apiKeys(first: 50) { edges { node { name } } } }`);
      const names = adminKeys.body.data.apiKeys.edges.map((e: any) => e.node.name);
      assert.ok(names.includes('viewer-a') && !names.includes('viewer-all'), names.join(','));
    });

    it('unchanged() counts every table: it fails on a successful ingest and on an unexpected audit entry', async () => {
      const tables = await app.database.query<{ name: string }>(
        `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1`,
      );
      assert.deepEqual(
        tables.map((t) => t.name),
        [...USER_TABLES],
        'every table of the database is in the drizzle schema',
      );
      const machineId = Number(Buffer.from(ids.machineA, 'base64').toString().split(':')[1]);
      const ingest = () => ingestTelemetry(app.services, { plantIds: null }, { points: [{ machineId, metric: 'unchanged-check', ts: new Date(), value: 1 }] });
      await assert.rejects(unchanged(app.database, ingest), (err: Error) => err instanceof assert.AssertionError && /telemetry/.test(err.message));
      const M = `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename } }`;
      const point = { input: { points: [{ machineId: ids.machineA, metric: 'unchanged-check', ts: new Date().toISOString(), value: 2 }] } };
      await assert.rejects(
        unchanged(app.database, () => as(app, keys.operatorA)(M, point), AUDITED),
        assert.AssertionError,
        'a stored point is a change',
      );
      await assert.rejects(
        unchanged(app.database, () => as(app, keys.viewerA)(M, point)),
        assert.AssertionError,
        'a refused mutation still writes its audit entry',
      );
      const refused = await unchanged(app.database, () => as(app, keys.viewerA)(M, point), AUDITED);
      assert.equal(refused.body.errors[0].extensions.code, 'FORBIDDEN');
    });

    it('audits every mutation with key name, operation, redacted variables and outcome, including refused ones', async () => {
      await as(app, keys.viewerA)(`mutation Sneaky($token: String!) { createApiKey(input: { name: $token, role: ADMIN }) { __typename } }`, {
        token: 'hunter2',
      });
      await app.gql(`mutation MakeKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename } }`, {
        input: { name: 'audited', role: 'VIEWER' },
      });
      await app.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: b64('ApiKey:987654') });
      const log = await app.gql(`{ auditLog(first: 50) { edges { node { at keyName role operation fields variables outcome } } } }`);
      const entries = log.body.data.auditLog.edges.map((e: any) => e.node);
      const sneaky = entries.find((e: any) => e.operation === 'Sneaky');
      assert.equal(sneaky.keyName, 'viewer-a');
      assert.equal(sneaky.role, 'VIEWER');
      assert.equal(sneaky.outcome, 'FORBIDDEN');
      assert.deepEqual(sneaky.fields, ['createApiKey']);
      assert.equal(sneaky.variables.token, '[redacted]');
      assert.ok(!JSON.stringify(entries).includes('hunter2'));
      const made = entries.find((e: any) => e.operation === 'MakeKey');
      assert.equal(made.keyName, 'PLANTGRAPH_ADMIN_KEY');
      assert.equal(made.outcome, 'OK');
      assert.ok(!JSON.stringify(entries).includes('pgk_'), 'no key appears in the audit log');
      const failed = entries.find((e: any) => e.fields.includes('revokeApiKey') && e.outcome === 'NOT_FOUND');
      assert.ok(failed, 'typed errors are recorded as the outcome');
    });
  });
}
