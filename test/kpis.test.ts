import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { decodeId } from '../src/core/ids.ts';
import { currentStatus, machineStateHistory } from '../src/telemetry/states.ts';
import { AUDITED, createTestApp, describe, it, type TestApp, testBackends, unchanged } from './helpers.ts';

const H = 3_600_000;
/** Window start: a whole hour two days ago, so the 8-hour window is entirely in the past. */
const T0 = Math.floor((Date.now() - 2 * 86_400_000) / H) * H;
const iso = (ms: number) => new Date(ms).toISOString();

const STATE = /* GraphQL */ `
  mutation State($input: MachineStateInput!) {
    recordMachineState(input: $input) {
      __typename
      ... on RecordMachineStateSuccess { current machine { name status statusSince } }
      ... on ValidationError { fieldErrors { path message } }
    }
  }`;

const PRODUCTION = /* GraphQL */ `
  mutation Production($input: ProductionCountInput!) {
    recordProduction(input: $input) {
      __typename
      ... on RecordProductionSuccess { accepted }
      ... on ValidationError { fieldErrors { path message } }
    }
  }`;

const KPI_FIELDS =
  'availability performance quality oee mtbfSeconds mttrSeconds plannedSeconds runningSeconds idleSeconds downSeconds maintenanceSeconds offlineSeconds unknownSeconds failures repairs goodCount scrapCount totalCount';

for (const backend of testBackends()) {
  describe(`machine states and KPIs [${backend}]`, () => {
    let app: TestApp;
    // Each test imports a plant of its own (fresh machine IDs and history), so it passes alone and in any order.
    let plants = 0;

    before(async () => {
      app = await createTestApp(backend, { seed: false });
    });
    after(() => app.close());

    /** A new plant with these machines (Press: 20 s ideal cycle, Mill: 30 s, Spare: none): plant ID and machine IDs. */
    async function newPlant(...names: ('Press' | 'Mill' | 'Spare')[]): Promise<{ plantId: string; m: Record<string, string> }> {
      const cycle = { Press: 20, Mill: 30, Spare: null };
      const r = await app.gql(
        `mutation($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { id machines { id name } } } } }`,
        {
          input: { name: `KPI Plant ${++plants}`, lines: [{ name: 'L1', machines: names.map((name) => ({ name, idealCycleSeconds: cycle[name] })) }] },
        },
      );
      const plant = r.body.data.importPlant.plant;
      return { plantId: plant.id, m: Object.fromEntries(plant.machines.map((x: any) => [x.name, x.id])) };
    }

    async function state(machineId: string, status: string, at: number) {
      const r = await app.gql(STATE, { input: { machineId, status, at: iso(at) } });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data.recordMachineState;
    }

    async function oee(machineId: string, from: number, to: number) {
      const r = await app.gql(
        `query($id: ID!, $from: DateTime!, $to: DateTime!) { node(id: $id) { ... on Machine { oee(from: $from, to: $to) { ${KPI_FIELDS} idealCycleSeconds machine { name } } } } }`,
        {
          id: machineId,
          from: iso(from),
          to: iso(to),
        },
      );
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data.node.oee;
    }

    /** The press runs 6 h from T0, then is DOWN. */
    async function pressHistory(press: string) {
      assert.equal((await state(press, 'RUNNING', T0)).__typename, 'RecordMachineStateSuccess');
      assert.equal((await state(press, 'DOWN', T0 + 6 * H)).__typename, 'RecordMachineStateSuccess');
    }

    /** A hand-made mill history around the window [T0, T0 + 8 h), with production counts. */
    async function millHistory(mill: string) {
      // Before the window the mill is DOWN.
      await state(mill, 'IDLE', T0 - 5 * H);
      await state(mill, 'DOWN', T0 - 1 * H); //  DOWN        T0-1h .. T0+1h  (1 h inside; not a failure of this window)
      await state(mill, 'RUNNING', T0 + 1 * H); // RUNNING  1 h .. 3 h   repair 1
      await state(mill, 'IDLE', T0 + 3 * H); //    IDLE     3 h .. 4 h
      await state(mill, 'RUNNING', T0 + 4 * H); // RUNNING  4 h .. 5 h
      await state(mill, 'DOWN', T0 + 5 * H); //    DOWN     5 h .. 6 h   failure 1
      await state(mill, 'MAINTENANCE', T0 + 6 * H); // MAINT 6 h .. 7 h  repair 2 (planned downtime)
      await state(mill, 'RUNNING', T0 + 7 * H); // RUNNING  7 h .. 8 h
      await state(mill, 'OFFLINE', T0 + 8 * H); //  after the window
      const counts = [
        [T0 - 1000, 1000, 1000], // before the window
        [T0 + 2 * H, 300, 20],
        [T0 + 7.5 * H, 105, 7],
        [T0 + 8 * H, 500, 500], // at `to`: outside [from, to)
      ];
      for (const [at, good, scrap] of counts) {
        const r = await app.gql(PRODUCTION, { input: { machineId: mill, at: iso(at), good, scrap } });
        assert.deepEqual(r.body.data.recordProduction, { __typename: 'RecordProductionSuccess', accepted: 1 });
      }
    }

    it('6 h RUNNING then 2 h DOWN in an 8 h window: availability exactly 0.75', async () => {
      const { m } = await newPlant('Press');
      await pressHistory(m.Press);
      const k = await oee(m.Press, T0, T0 + 8 * H);
      assert.equal(k.availability, 0.75);
      assert.equal(k.runningSeconds, 6 * 3600);
      assert.equal(k.downSeconds, 2 * 3600);
      assert.equal(k.plannedSeconds, 8 * 3600);
      assert.equal(k.unknownSeconds, 0);
      assert.equal(k.failures, 1);
      assert.equal(k.repairs, 0);
      assert.equal(k.mtbfSeconds, 6 * 3600);
      assert.equal(k.mttrSeconds, null, 'no repair yet');
      assert.equal(k.performance, 0, 'ideal cycle known, nothing produced');
      assert.equal(k.quality, null);
      assert.equal(k.oee, null);
      assert.equal(k.machine.name, 'Press');
    });

    it('computes performance, quality, OEE, MTBF and MTTR on a hand-made history', async () => {
      const { m } = await newPlant('Mill');
      await millHistory(m.Mill);
      const k = await oee(m.Mill, T0, T0 + 8 * H);
      assert.equal(k.runningSeconds, 4 * 3600);
      assert.equal(k.idleSeconds, 3600);
      assert.equal(k.downSeconds, 2 * 3600);
      assert.equal(k.maintenanceSeconds, 3600);
      assert.equal(k.offlineSeconds, 0);
      assert.equal(k.plannedSeconds, 7 * 3600);
      assert.equal(k.availability, 4 / 7);
      assert.equal(k.goodCount, 405);
      assert.equal(k.scrapCount, 27);
      assert.equal(k.totalCount, 432);
      assert.equal(k.performance, 0.9); // 30 s x 432 / 14,400 s
      assert.equal(k.quality, 0.9375); // 405 / 432
      assert.ok(Math.abs(k.oee - (4 / 7) * 0.9 * 0.9375) < 1e-12);
      assert.equal(k.failures, 1);
      assert.equal(k.repairs, 2);
      assert.equal(k.mtbfSeconds, 14_400); // 4 h running / 1 failure
      assert.equal(k.mttrSeconds, 3_600); // 2 h down / 2 repairs
      assert.equal(k.idealCycleSeconds, 30);

      // A re-sent count for the same instant replaces the earlier one instead of adding to it.
      await app.gql(PRODUCTION, { input: { machineId: m.Mill, at: iso(T0 + 2 * H), good: 300, scrap: 20 } });
      assert.equal((await oee(m.Mill, T0, T0 + 8 * H)).totalCount, 432);

      // Sub-window that starts inside a DOWN period: that DOWN is in force at `from`, and no failure happens in it.
      const sub = await oee(m.Mill, T0 + 5.5 * H, T0 + 7.5 * H);
      assert.equal(sub.downSeconds, 1800);
      assert.equal(sub.maintenanceSeconds, 3600);
      assert.equal(sub.runningSeconds, 1800);
      assert.equal(sub.failures, 0);
      assert.equal(sub.repairs, 1);
    });

    it('reads the state history of a window with the state in force at its start, and the current status', async () => {
      const { m } = await newPlant('Mill');
      await millHistory(m.Mill);
      const id = decodeId('Machine', m.Mill)!;
      const h = await machineStateHistory(app.database, id, new Date(T0 + 2 * H), new Date(T0 + 5 * H));
      assert.deepEqual(
        h.map((s) => [s.status, s.at.getTime() - T0]),
        [
          ['RUNNING', H],
          ['IDLE', 3 * H],
          ['RUNNING', 4 * H],
        ],
      );
      assert.deepEqual(await currentStatus(app.database, id), { status: 'OFFLINE', since: new Date(T0 + 8 * H) });
      assert.equal(await currentStatus(app.database, 999_999), null);
    });

    it('rolls plant KPIs up over machines: times and counts summed, then the ratios', async () => {
      const { plantId, m } = await newPlant('Press', 'Mill', 'Spare');
      await pressHistory(m.Press);
      await millHistory(m.Mill);
      const r = await app.gql(
        `query($id: ID!, $from: DateTime!, $to: DateTime!) { plant(id: $id) { kpis(from: $from, to: $to) { ${KPI_FIELDS} machines { machine { name } availability } } } }`,
        {
          id: plantId,
          from: iso(T0),
          to: iso(T0 + 8 * H),
        },
      );
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const k = r.body.data.plant.kpis;
      assert.equal(k.runningSeconds, 10 * 3600);
      assert.equal(k.plannedSeconds, 15 * 3600);
      assert.equal(k.availability, 10 / 15);
      assert.equal(k.unknownSeconds, 8 * 3600, 'the spare machine has no recorded state');
      assert.equal(k.performance, (20 * 0 + 30 * 432) / (6 * 3600 + 4 * 3600));
      assert.equal(k.quality, 405 / 432);
      assert.equal(k.failures, 2);
      assert.equal(k.repairs, 2);
      assert.equal(k.mtbfSeconds, (10 * 3600) / 2);
      assert.equal(k.mttrSeconds, (4 * 3600) / 2);
      assert.deepEqual(
        k.machines.map((x: any) => [x.machine.name, x.availability]),
        [
          ['Press', 0.75],
          ['Mill', 4 / 7],
          ['Spare', null],
        ],
      );
    });

    it('keeps Machine.status at the newest state by time: a late, older state goes to history only', async () => {
      const { m } = await newPlant('Spare');
      const now = Date.now();
      const fresh = await state(m.Spare, 'RUNNING', now - 60_000);
      assert.deepEqual(fresh, {
        __typename: 'RecordMachineStateSuccess',
        current: true,
        machine: { name: 'Spare', status: 'RUNNING', statusSince: iso(now - 60_000) },
      });
      const late = await state(m.Spare, 'DOWN', now - 10 * 60_000);
      assert.deepEqual(late, {
        __typename: 'RecordMachineStateSuccess',
        current: false,
        machine: { name: 'Spare', status: 'RUNNING', statusSince: iso(now - 60_000) },
      });
      const h = await app.gql(`query($id: ID!) { node(id: $id) { ... on Machine { status states(first: 10) { totalCount edges { node { status at } } } } } }`, {
        id: m.Spare,
      });
      assert.equal(h.body.data.node.status, 'RUNNING');
      assert.deepEqual(
        h.body.data.node.states.edges.map((e: any) => e.node.status),
        ['RUNNING', 'DOWN'],
      );
      const w = await app.gql(`query($id: ID!, $from: DateTime) { node(id: $id) { ... on Machine { states(from: $from) { edges { node { status } } } } } }`, {
        id: m.Spare,
        from: iso(now - 5 * 60_000),
      });
      assert.deepEqual(
        w.body.data.node.states.edges.map((e: any) => e.node.status),
        ['RUNNING'],
      );
    });

    it('clips the window at now: time that has not happened counts for nothing', async () => {
      const { m } = await newPlant('Spare');
      const now = Date.now();
      await state(m.Spare, 'DOWN', now - 10 * 60_000);
      await state(m.Spare, 'RUNNING', now - 60_000);
      const k = await oee(m.Spare, now - 2 * 60_000, now + H);
      // DOWN from now-10min until now-1min, RUNNING since: 1 min DOWN, then RUNNING until the real now, no future hour.
      const ran = (Date.now() - (now - 60_000)) / 1000;
      assert.ok(k.runningSeconds >= 59 && k.runningSeconds <= ran + 0.001, `${k.runningSeconds} (at most ${ran})`);
      assert.equal(k.downSeconds, 60);
      assert.equal(k.unknownSeconds, 0);
    });

    it('validates states and counts and changes nothing on error', async () => {
      const { plantId, m } = await newPlant('Press');
      const bad = await unchanged(
        app.database,
        () => app.gql(STATE, { input: { machineId: 'TWFjaGluZTo5OTk=', status: 'RUNNING', at: iso(Date.now() + 2 * 86_400_000) } }),
        AUDITED,
      );
      assert.deepEqual(
        bad.body.data.recordMachineState.fieldErrors.map((e: any) => e.path),
        ['machineId', 'at'],
      );
      const wrongType = await unchanged(app.database, () => app.gql(STATE, { input: { machineId: plantId, status: 'RUNNING', at: iso(T0) } }), AUDITED);
      assert.deepEqual(wrongType.body.data.recordMachineState.fieldErrors, [{ path: 'machineId', message: 'unknown machine' }]);
      const badEnum = await unchanged(app.database, () => app.gql(STATE, { input: { machineId: m.Press, status: 'EXPLODED', at: iso(T0) } }), AUDITED);
      assert.equal(badEnum.status, 400);
      const counts = await unchanged(app.database, () => app.gql(PRODUCTION, { input: { machineId: m.Press, at: iso(T0), good: -1, scrap: 0 } }), AUDITED);
      assert.deepEqual(
        counts.body.data.recordProduction.fieldErrors.map((e: any) => e.path),
        ['good'],
      );
      const zero = await app.gql(PRODUCTION, { input: { machineId: m.Press, at: iso(T0 + H), good: 0, scrap: 0 } });
      assert.equal(zero.body.data.recordProduction.accepted, 1, 'a report of nothing produced is accepted');
      const inverted = await app.gql(
        `query($id: ID!) { node(id: $id) { ... on Machine { oee(from: "${iso(T0)}", to: "${iso(T0 - H)}") { availability } } } }`,
        { id: m.Press },
      );
      assert.equal(inverted.body.errors[0].extensions.code, 'VALIDATION_FAILED');
      assert.deepEqual(
        inverted.body.errors[0].extensions.fieldErrors.map((e: any) => e.path),
        ['to'],
      );
    });

    it('refuses recording for a machine of a plant the key may not see, and VIEWERs altogether', async () => {
      const { m } = await newPlant('Press');
      await state(m.Press, 'DOWN', Date.now() - 60_000);
      const other = await newPlant('Spare');
      const key = await app.gql(
        `mutation($p: [ID!]) { createApiKey(input: { name: "op", role: OPERATOR, plantIds: $p }) { ... on CreateApiKeySuccess { key } } }`,
        { p: [other.plantId] },
      );
      const auth = { authorization: `Bearer ${key.body.data.createApiKey.key}` };
      const r = await unchanged(app.database, () => app.gql(STATE, { input: { machineId: m.Press, status: 'IDLE', at: iso(Date.now()) } }, auth), AUDITED);
      assert.deepEqual(r.body.data.recordMachineState.fieldErrors, [{ path: 'machineId', message: 'unknown machine' }]);
      const p = await unchanged(
        app.database,
        () => app.gql(PRODUCTION, { input: { machineId: m.Press, at: iso(Date.now()), good: 1, scrap: 0 } }, auth),
        AUDITED,
      );
      assert.deepEqual(p.body.data.recordProduction.fieldErrors, [{ path: 'machineId', message: 'unknown machine' }]);
      const viewerKey = await app.gql(`mutation { createApiKey(input: { name: "v", role: VIEWER }) { ... on CreateApiKeySuccess { key } } }`);
      const v = await unchanged(
        app.database,
        () =>
          app.gql(
            STATE,
            { input: { machineId: m.Press, status: 'IDLE', at: iso(Date.now()) } },
            { authorization: `Bearer ${viewerKey.body.data.createApiKey.key}` },
          ),
        AUDITED,
      );
      assert.equal(v.body.errors[0].extensions.code, 'FORBIDDEN');
      const press = await app.gql(`query($id: ID!) { node(id: $id) { ... on Machine { status } } }`, { id: m.Press });
      assert.equal(press.body.data.node.status, 'DOWN');
    });

    it('computes OEE for every machine of a plant in a bounded number of statements', async () => {
      const { m } = await newPlant('Press', 'Mill', 'Spare');
      await pressHistory(m.Press);
      await millHistory(m.Mill);
      const q = `query($from: DateTime!, $to: DateTime!) { plants(first: 100) { edges { node { machines { name oee(from: $from, to: $to) { availability } } kpis(from: $from, to: $to) { availability } } } } }`;
      const before = app.database.sql.count;
      const r = await app.gql(q, { from: iso(T0), to: iso(T0 + 8 * H) });
      const n = app.database.sql.count - before;
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const machines = (await app.database.query<{ n: number }>('select count(*)::int as n from machines'))[0].n;
      assert.equal(r.body.data.plants.edges.flatMap((e: any) => e.node.machines).length, Number(machines));
      assert.ok(n <= 6, `${n} statements`);
    });
  });
}
