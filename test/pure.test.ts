// Table-driven tests of the pure functions: no database, no server. Each table row is an input and the value the
// documented rule gives for it, worked out by hand from the rule (README "Limits", "KPI definitions", "Reads").
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'graphql';
import { RateLimiter } from '../src/auth/rate-limit.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { ValidationError } from '../src/core/errors.ts';
import { estimateCost, PageSizeError } from '../src/graphql/cost.ts';
import { IMPORT_LIMITS } from '../src/twin/import.ts';
import type { PlantSizes } from '../src/twin/sizes.ts';
import { decodeId, encodeId } from '../src/core/ids.ts';
import { schema } from '../src/graphql/schema.ts';
import { metricProblem } from '../src/telemetry/ingest.ts';
import { checkWindow, type KpiTotals, kpisFrom, type MachineKpis, rollUp } from '../src/telemetry/kpis.ts';
import { checkBucketQuery } from '../src/telemetry/read.ts';
import { RefusalSummary } from '../src/telemetry/refusals.ts';
import { inBackground } from '../src/core/background.ts';
import { startPeriodic } from '../src/core/periodic.ts';
import { SqlCounter } from '../src/db/client.ts';
import { isDatabaseUnavailable } from '../src/db/errors.ts';
import { currentStatementBudget, StatementBudget, withStatementBudget } from '../src/db/deadline.ts';
import { describe, it, waitFor } from './helpers.ts';

/** The fieldErrors of the ValidationError fn throws (fails when it throws anything else or nothing). */
function fieldErrorsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    return err.fieldErrors;
  }
  assert.fail('expected a ValidationError, nothing was thrown');
}

describe('estimateCost (real schema)', () => {
  const cost = (query: string, variables: Record<string, unknown> = {}, op?: string, sizes?: PlantSizes) =>
    estimateCost(schema, parse(query), op, variables, sizes);
  // Each field costs 1 per object it is selected on; the objects below a field are first/last (default 20) per
  // connection, the declared bound per plain list (the import limits, buckets from the window and bucket size) or the
  // measured sizes where smaller, at most the plant's total for lists a plant contains, and 1 for edges (a list inside
  // a connection) and single objects.
  const L = IMPORT_LIMITS;
  const measured: PlantSizes = {
    lines: 3,
    machines: 10,
    products: 6,
    steps: 20,
    stepMachines: 30,
    machinesPerLine: 5,
    stepsPerProduct: 4,
    machinesPerStep: 2,
  };
  const cases: { name: string; query: string; variables?: Record<string, unknown>; op?: string; sizes?: PlantSizes; expected: number }[] = [
    { name: 'default page of 20', query: '{ plants { edges { node { id name } } } }', expected: 1 + 20 * (1 + (1 + 2)) },
    { name: 'first literal', query: '{ plants(first: 5) { totalCount } }', expected: 1 + 5 },
    { name: 'last literal', query: '{ plants(last: 3) { totalCount } }', expected: 1 + 3 },
    { name: 'first: 0 still counts the children once', query: '{ plants(first: 0) { totalCount } }', expected: 2 },
    { name: 'first: 500 is the largest page', query: '{ plants(first: 500) { totalCount } }', expected: 501 },
    { name: 'first from a variable', query: 'query($n: Int) { plants(first: $n) { totalCount } }', variables: { n: 50 }, expected: 51 },
    { name: 'unset variable: default page', query: 'query($n: Int) { plants(first: $n) { totalCount } }', expected: 21 },
    {
      // 500 lines of up to 1,000 machines, but at most 5,000 machines in a plant.
      name: 'plain lists at their declared bounds; the machines of all lines of a plant at most its machines',
      query: '{ plants(first: 5) { edges { node { lines { machines { name } } } } } }',
      expected: 1 + 5 * (1 + 1 + 1 + L.lines * 1 + L.machines * 1),
    },
    {
      name: 'plain lists at the measured sizes where smaller',
      query: '{ plants(first: 5) { edges { node { lines { machines { name } } } } } }',
      sizes: measured,
      // 3 lines of at most 5 machines, but at most 10 machines in a plant.
      expected: 1 + 5 * (1 + 1 + 1 + 3 * 1 + 10 * 1),
    },
    {
      name: 'the measured per-plant total bounds a nested list too',
      query: '{ plant(id: "x") { lines { machines { name } } } }',
      sizes: { ...measured, lines: 3, machinesPerLine: 5, machines: 7 },
      expected: 1 + (1 + 3 * 1 + 7 * 1),
    },
    {
      name: 'telemetry buckets from the window and the bucket size (default 60 s)',
      query: '{ plant(id: "x") { machines { telemetry(metric: "t", from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") { avg } } } }',
      expected: 1 + (1 + L.machines * (1 + 1_440 * 1)),
    },
    {
      name: 'telemetry buckets from variables, with the measured machines',
      query:
        'query($f: DateTime!, $t: DateTime!, $b: Int = 1) { plant(id: "x") { machines { telemetry(metric: "t", from: $f, to: $t, bucketSeconds: $b) { start avg } } } }',
      variables: { f: '2026-01-01T00:00:00Z', t: '2026-01-01T02:46:40Z' },
      sizes: measured,
      expected: 1 + (1 + 10 * (1 + 10_000 * 2)),
    },
    {
      name: 'telemetry arguments that are refused return no buckets',
      query: '{ node(id: "x") { ... on Machine { telemetry(metric: "t", from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z") { avg } } } }',
      expected: 1 + (1 + 0),
    },
    {
      name: "routings: a plant's steps and step machines at most its totals",
      query: '{ plant(id: "x") { products { routing { machines { name } } } } }',
      expected: 1 + (1 + L.products + L.products * L.stepsPerProduct + L.products * L.stepsPerProduct * L.machinesPerStep),
    },
    {
      // 6 products of at most 4 steps, but 20 steps in the plant; at most 2 machines a step, but 30 in the plant.
      name: 'routings at the measured sizes and totals',
      query: '{ plant(id: "x") { products { routing { machines { name } } } } }',
      sizes: measured,
      expected: 1 + (1 + 6 + 20 + 30),
    },
    {
      name: 'connection inside a connection inside lists',
      query: '{ plants(first: 2) { edges { node { orders(first: 100) { edges { node { product { routing { machines { name } } } } } } } } } }',
      expected: 1 + 2 * (1 + (1 + (1 + 100 * (1 + (1 + (1 + (1 + L.stepsPerProduct * (1 + L.machinesPerStep * 1)))))))),
    },
    {
      name: 'named fragment',
      query: 'query { plants { ...P } } fragment P on PlantConnection { totalCount edges { cursor } }',
      expected: 1 + 20 * (1 + (1 + 1)),
    },
    { name: 'inline fragment on an interface', query: '{ node(id: "x") { ... on Plant { lines { name } } } }', expected: 1 + (1 + L.lines * 1) },
    { name: 'inline fragment without type condition', query: '{ plants(first: 4) { ... { totalCount } } }', expected: 1 + 4 },
    { name: 'subscription root', query: 'subscription { alerts(plantId: "x") { kind alert { machine { name } } } }', expected: 1 + (1 + (1 + (1 + 1))) },
    { name: 'mutation root', query: 'mutation { revokeApiKey(id: "x") { __typename } }', expected: 2 },
    { name: 'operation picked by name (B)', query: 'query A { me { name } } query B { plants { totalCount } }', op: 'B', expected: 21 },
    { name: 'operation picked by name (A)', query: 'query A { me { name } } query B { plants { totalCount } }', op: 'A', expected: 2 },
    { name: 'unknown operation name costs nothing', query: 'query A { me { name } }', op: 'Z', expected: 0 },
    // Fragment cycles are invalid GraphQL, but the cost runs on whatever it is given and must terminate.
    {
      name: 'mutual fragment cycle',
      query: 'query { plants { ...A } } fragment A on PlantConnection { totalCount ...B } fragment B on PlantConnection { ...A }',
      expected: 1 + 20 * 1,
    },
    {
      name: 'fragment recursing through nested fields',
      query: '{ plant(id: "x") { machines { ...M } } } fragment M on Machine { name plant { machines { ...M } } }',
      expected: 1 + (1 + L.machines * (1 + (1 + (1 + L.machines * 0)))),
    },
  ];
  for (const c of cases) {
    it(c.name, { timeout: 10_000 }, () => {
      assert.equal(cost(c.query, c.variables, c.op, c.sizes), c.expected);
    });
  }

  it('a query nested deeper than 64 levels costs Infinity', () => {
    let q = 'name';
    for (let i = 0; i < 40; i++) q = `lines { plant { ${q} } }`;
    assert.equal(cost(`{ plant(id: "x") { ${q} } }`), Infinity);
  });

  const refused: { name: string; query: string; variables?: Record<string, unknown>; message: string }[] = [
    { name: 'first: 501', query: '{ plants(first: 501) { totalCount } }', message: 'plants(first: 501): page size must be from 0 to 500.' },
    { name: 'first: -1', query: '{ plants(first: -1) { totalCount } }', message: 'plants(first: -1): page size must be from 0 to 500.' },
    { name: 'last: 501', query: '{ plants(last: 501) { totalCount } }', message: 'plants(last: 501): page size must be from 0 to 500.' },
    {
      name: 'first: 501 from a variable',
      query: 'query($n: Int) { plants(first: $n) { totalCount } }',
      variables: { n: 501 },
      message: 'plants(first: 501): page size must be from 0 to 500.',
    },
    {
      name: 'a nested connection',
      query: '{ plant(id: "x") { orders(first: 1000) { totalCount } } }',
      message: 'orders(first: 1000): page size must be from 0 to 500.',
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} with PageSizeError`, () => {
      assert.throws(
        () => cost(c.query, c.variables),
        (err: unknown) => err instanceof PageSizeError && err.message === c.message && err.extensions.code === 'BAD_USER_INPUT',
      );
    });
  }
});

function totals(t: Partial<KpiTotals>): KpiTotals {
  return {
    from: new Date('2026-01-01T00:00:00Z'),
    to: new Date('2026-01-01T08:00:00Z'),
    runningSeconds: 0,
    idleSeconds: 0,
    downSeconds: 0,
    maintenanceSeconds: 0,
    offlineSeconds: 0,
    unknownSeconds: 0,
    plannedSeconds: 0,
    failures: 0,
    repairs: 0,
    goodCount: 0,
    scrapCount: 0,
    totalCount: 0,
    idealSeconds: 0,
    runningSecondsWithIdeal: 0,
    ...t,
  };
}

describe('kpisFrom', () => {
  const H = 3600;
  type Ratios = {
    availability: number | null;
    performance: number | null;
    quality: number | null;
    oee: number | null;
    mtbfSeconds: number | null;
    mttrSeconds: number | null;
  };
  const cases: { name: string; totals: Partial<KpiTotals>; expected: Ratios }[] = [
    {
      name: 'README example: RUNNING 6 h then DOWN 2 h, not yet repaired',
      totals: {
        runningSeconds: 6 * H,
        downSeconds: 2 * H,
        plannedSeconds: 8 * H,
        failures: 1,
        goodCount: 90,
        scrapCount: 10,
        totalCount: 100,
        idealSeconds: 100 * 60,
        runningSecondsWithIdeal: 6 * H,
      },
      expected: { availability: 0.75, performance: 6000 / (6 * H), quality: 0.9, oee: 0.75 * (6000 / (6 * H)) * 0.9, mtbfSeconds: 6 * H, mttrSeconds: null },
    },
    {
      name: 'nothing planned: availability and oee null',
      totals: { maintenanceSeconds: 8 * H, goodCount: 1, totalCount: 1, idealSeconds: 10, runningSecondsWithIdeal: 0 },
      expected: { availability: null, performance: null, quality: 1, oee: null, mtbfSeconds: null, mttrSeconds: null },
    },
    {
      name: 'nothing produced: quality and oee null',
      totals: { runningSeconds: H, plannedSeconds: H, runningSecondsWithIdeal: H },
      expected: { availability: 1, performance: 0, quality: null, oee: null, mtbfSeconds: null, mttrSeconds: null },
    },
    {
      name: 'ideal cycle unknown: performance and oee null',
      totals: { runningSeconds: H, plannedSeconds: 2 * H, goodCount: 3, scrapCount: 1, totalCount: 4 },
      expected: { availability: 0.5, performance: null, quality: 0.75, oee: null, mtbfSeconds: null, mttrSeconds: null },
    },
    {
      name: 'performance is not capped at 1',
      totals: { runningSeconds: H, plannedSeconds: H, goodCount: 200, totalCount: 200, idealSeconds: 200 * 30, runningSecondsWithIdeal: H },
      expected: { availability: 1, performance: 6000 / H, quality: 1, oee: 6000 / H, mtbfSeconds: null, mttrSeconds: null },
    },
    {
      name: 'MTBF and MTTR: running / failures, down / repairs',
      totals: { runningSeconds: 3 * H, downSeconds: 600, idleSeconds: 1200, plannedSeconds: 3 * H + 1800, failures: 3, repairs: 2 },
      expected: { availability: (3 * H) / (3 * H + 1800), performance: null, quality: null, oee: null, mtbfSeconds: H, mttrSeconds: 300 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const k = kpisFrom(totals(c.totals));
      assert.deepEqual(
        { availability: k.availability, performance: k.performance, quality: k.quality, oee: k.oee, mtbfSeconds: k.mtbfSeconds, mttrSeconds: k.mttrSeconds },
        c.expected,
      );
      // The totals pass through unchanged.
      assert.deepEqual(
        { ...k, availability: 0, performance: 0, quality: 0, oee: 0, mtbfSeconds: 0, mttrSeconds: 0 },
        { ...totals(c.totals), availability: 0, performance: 0, quality: 0, oee: 0, mtbfSeconds: 0, mttrSeconds: 0 },
      );
    });
  }
});

describe('rollUp', () => {
  const from = new Date('2026-01-01T00:00:00Z');
  const to = new Date('2026-01-01T05:00:00Z');
  const machine = (machineId: number, idealCycleSeconds: number | null, t: Partial<KpiTotals>): MachineKpis => ({
    machineId,
    idealCycleSeconds,
    ...kpisFrom(totals(t)),
  });
  // Availability 0.25 and 1.0: the mean of the ratios (0.625) differs from the ratio of the sums (0.4).
  const a = machine(1, 60, {
    runningSeconds: 3600,
    downSeconds: 10_800,
    plannedSeconds: 14_400,
    failures: 1,
    repairs: 1,
    goodCount: 50,
    totalCount: 50,
    idealSeconds: 60 * 50,
    runningSecondsWithIdeal: 3600,
  });
  const b = machine(2, null, {
    runningSeconds: 3600,
    plannedSeconds: 3600,
    maintenanceSeconds: 600,
    unknownSeconds: 100,
    goodCount: 30,
    scrapCount: 70,
    totalCount: 100,
  });

  it('sums the times and counts, then computes the ratios from the sums', () => {
    const k = rollUp(from, to, [a, b]);
    assert.equal(k.from, from);
    assert.equal(k.to, to);
    assert.deepEqual(
      [
        k.runningSeconds,
        k.downSeconds,
        k.plannedSeconds,
        k.maintenanceSeconds,
        k.unknownSeconds,
        k.failures,
        k.repairs,
        k.goodCount,
        k.scrapCount,
        k.totalCount,
      ],
      [7200, 10_800, 18_000, 600, 100, 1, 1, 80, 70, 150],
    );
    assert.equal(k.availability, 7200 / 18_000);
    // Performance only from machines with a known ideal cycle: 3000 ideal seconds over machine 1's 3600 running.
    assert.equal(k.performance, 3000 / 3600);
    assert.equal(k.quality, 80 / 150);
    assert.equal(k.oee, (7200 / 18_000) * (3000 / 3600) * (80 / 150));
    assert.equal(k.mtbfSeconds, 7200);
    assert.equal(k.mttrSeconds, 10_800);
  });

  it('no machines: zero sums and null ratios', () => {
    const k = rollUp(from, to, []);
    assert.deepEqual([k.runningSeconds, k.plannedSeconds, k.totalCount], [0, 0, 0]);
    assert.deepEqual([k.availability, k.performance, k.quality, k.oee, k.mtbfSeconds, k.mttrSeconds], [null, null, null, null, null, null]);
  });

  it('no machine with a known ideal cycle: plant performance and oee null', () => {
    const k = rollUp(from, to, [b]);
    assert.equal(k.performance, null);
    assert.equal(k.oee, null);
    assert.equal(k.availability, 1);
  });
});

describe('checkWindow', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const cases: { name: string; from: Date; to: Date; errors: { path: string; message: string }[] }[] = [
    { name: 'to equal to from', from: t0, to: t0, errors: [{ path: 'to', message: 'must be after from' }] },
    { name: 'to before from', from: t0, to: new Date(t0.getTime() - 1), errors: [{ path: 'to', message: 'must be after from' }] },
    { name: 'invalid from', from: new Date(NaN), to: t0, errors: [{ path: 'from', message: 'not a valid timestamp' }] },
    { name: 'invalid to', from: t0, to: new Date(NaN), errors: [{ path: 'to', message: 'not a valid timestamp' }] },
    {
      name: 'both invalid',
      from: new Date(NaN),
      to: new Date(NaN),
      errors: [
        { path: 'from', message: 'not a valid timestamp' },
        { path: 'to', message: 'not a valid timestamp' },
      ],
    },
  ];
  for (const c of cases)
    it(`refuses ${c.name}`, () =>
      assert.deepEqual(
        fieldErrorsOf(() => checkWindow(c.from, c.to)),
        c.errors,
      ));
  it('accepts a window of one millisecond', () => assert.doesNotThrow(() => checkWindow(t0, new Date(t0.getTime() + 1))));
});

describe('checkBucketQuery', () => {
  const at = (s: string) => new Date(`2026-01-01T${s}Z`);
  const ok: { name: string; q: Parameters<typeof checkBucketQuery>[0]; expected: { bucketSeconds: number; buckets: number; source: 'raw' | 'rollup' } }[] = [
    {
      name: 'default bucket of 60 s over whole minutes: rollup',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00') },
      expected: { bucketSeconds: 60, buckets: 60, source: 'rollup' },
    },
    {
      name: 'null bucketSeconds means the default',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: null },
      expected: { bucketSeconds: 60, buckets: 60, source: 'rollup' },
    },
    {
      name: '5-minute buckets: rollup',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: 300 },
      expected: { bucketSeconds: 300, buckets: 12, source: 'rollup' },
    },
    {
      name: '30 s buckets: raw',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: 30 },
      expected: { bucketSeconds: 30, buckets: 120, source: 'raw' },
    },
    {
      name: 'from not on a minute: raw, last bucket partial',
      q: { metric: 'temp', from: at('00:00:30'), to: at('01:00:00') },
      expected: { bucketSeconds: 60, buckets: 60, source: 'raw' },
    },
    {
      name: 'to not on a minute: raw',
      q: { metric: 'temp', from: at('00:00:00'), to: at('00:59:59') },
      expected: { bucketSeconds: 60, buckets: 60, source: 'raw' },
    },
    {
      name: 'explicit raw over whole minutes',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), source: 'raw' },
      expected: { bucketSeconds: 60, buckets: 60, source: 'raw' },
    },
    {
      name: 'explicit rollup over whole minutes',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), source: 'rollup' },
      expected: { bucketSeconds: 60, buckets: 60, source: 'rollup' },
    },
    {
      name: 'exactly 10,000 buckets',
      q: { metric: 'temp', from: at('00:00:00'), to: new Date(at('00:00:00').getTime() + 10_000_000), bucketSeconds: 1 },
      expected: { bucketSeconds: 1, buckets: 10_000, source: 'raw' },
    },
    {
      name: 'the largest bucket (366 days)',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: 366 * 86_400 },
      expected: { bucketSeconds: 366 * 86_400, buckets: 1, source: 'rollup' },
    },
  ];
  for (const c of ok) {
    it(c.name, () => {
      const r = checkBucketQuery(c.q);
      assert.deepEqual({ bucketSeconds: r.bucketSeconds, buckets: r.buckets, source: r.source }, c.expected);
      assert.equal(r.metric, c.q.metric);
    });
  }

  const bad: { name: string; q: Parameters<typeof checkBucketQuery>[0]; paths: string[]; message?: RegExp }[] = [
    { name: 'empty metric', q: { metric: '', from: at('00:00:00'), to: at('01:00:00') }, paths: ['metric'] },
    { name: 'metric with a control character', q: { metric: 'a\nb', from: at('00:00:00'), to: at('01:00:00') }, paths: ['metric'] },
    { name: 'bucketSeconds 0', q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: 0 }, paths: ['bucketSeconds'] },
    { name: 'negative bucketSeconds', q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: -60 }, paths: ['bucketSeconds'] },
    { name: 'fractional bucketSeconds', q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: 1.5 }, paths: ['bucketSeconds'] },
    {
      name: 'bucket over 366 days',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: 366 * 86_400 + 1 },
      paths: ['bucketSeconds'],
    },
    {
      name: '10,001 buckets',
      q: { metric: 'temp', from: at('00:00:00'), to: new Date(at('00:00:00').getTime() + 10_001_000), bucketSeconds: 1 },
      paths: ['bucketSeconds'],
      message: /10001 buckets requested; at most 10000/,
    },
    { name: 'to equal to from', q: { metric: 'temp', from: at('00:00:00'), to: at('00:00:00') }, paths: ['to'] },
    { name: 'invalid from', q: { metric: 'temp', from: new Date(NaN), to: at('01:00:00') }, paths: ['from'] },
    { name: 'invalid to', q: { metric: 'temp', from: at('00:00:00'), to: new Date(NaN) }, paths: ['to'] },
    {
      name: 'explicit rollup with 90 s buckets',
      q: { metric: 'temp', from: at('00:00:00'), to: at('01:00:00'), bucketSeconds: 90, source: 'rollup' },
      paths: ['bucketSeconds'],
      message: /rollup serves only whole-minute buckets/,
    },
    {
      name: 'explicit rollup over a range not on minutes',
      q: { metric: 'temp', from: at('00:00:10'), to: at('01:00:00'), source: 'rollup' },
      paths: ['bucketSeconds'],
      message: /rollup serves only whole-minute buckets/,
    },
    {
      name: 'every argument bad at once',
      q: { metric: '', from: at('01:00:00'), to: at('00:00:00'), bucketSeconds: 0 },
      paths: ['metric', 'bucketSeconds', 'to'],
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}, naming ${c.paths.join(', ')}`, () => {
      const errors = fieldErrorsOf(() => checkBucketQuery(c.q));
      assert.deepEqual(
        errors.map((e) => e.path),
        c.paths,
      );
      if (c.message) assert.match(errors[0].message, c.message);
    });
  }
});

describe('RateLimiter', () => {
  // 6 a minute: one token every 10 s; bursts of 2.
  it('allows the burst at once, then answers the seconds until the next token', () => {
    const r = new RateLimiter(6, 2);
    const steps: [number, number][] = [
      [0, 0],
      [0, 0],
      [0, 10], // empty: a whole token is 10 s away
      [2_500, 8], // 0.25 of a token refilled: 7.5 s to go, rounded up
      [9_000, 1], // 0.9: 1 s
      [10_000, 0], // one token refilled since t=0
      [10_000, 10],
      [1_000_000, 0], // a long idle refills to the burst, no further
      [1_000_000, 0],
      [1_000_000, 10],
    ];
    for (const [now, wait] of steps) assert.equal(r.take('a', now), wait, `at ${now} ms`);
  });

  it('keeps one bucket per caller', () => {
    const r = new RateLimiter(6, 1);
    assert.equal(r.take('a', 0), 0);
    assert.equal(r.take('a', 0), 10);
    assert.equal(r.take('b', 0), 0, 'b has its own burst');
    assert.equal(r.take('b', 0), 10);
    assert.equal(r.take('a', 0), 10, "b's requests did not change a's wait");
  });

  it('never answers less than 1 s', () => {
    const r = new RateLimiter(6_000, 1); // a token every 10 ms
    assert.equal(r.take('a', 0), 0);
    assert.equal(r.take('a', 0), 1);
  });

  it('0 a minute turns limiting off', () => {
    const r = new RateLimiter(0, 1);
    for (let i = 0; i < 1_000; i++) assert.equal(r.take('a', 0), 0);
  });
});

describe('loadConfig', () => {
  it('defaults', () => {
    assert.deepEqual(loadConfig({}), {
      production: false,
      introspection: true,
      graphiql: true,
      jwt: { secret: undefined, publicKeyPem: undefined, issuer: undefined, audience: undefined },
      persistedOperationsFile: undefined,
      trustProxy: false,
      metrics: { key: undefined, port: undefined, host: '127.0.0.1', operationNames: 200 },
      limits: {
        maxBodyBytes: 8 * 1024 * 1024,
        maxDepth: 15,
        maxAliases: 30,
        maxTokens: 5_000,
        maxCost: 100_000,
        maxSubscriptionCost: 5_000,
        subscriptionConcurrency: 1,
        maxBatch: 10,
        rateLimitPerMinute: 1_200,
        rateLimitBurst: 200,
        maxSubscriptionsPerConnection: 50,
        maxWsConnectionsPerKey: 1_000,
        wsInitTimeoutMs: 5_000,
        maxExecutionMs: 15_000,
        maxResponseBytes: 32 * 1024 * 1024,
        maxUploadBytes: 100 * 1024 * 1024,
        authFailureLimit: 20,
        authFailureWindowSeconds: 60,
      },
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: path.resolve('./data'),
      pgliteSharedBuffersMb: 32,
      seed: 'demo',
      adminKey: undefined,
      logLevel: 'info',
      logFormat: 'pretty',
      mqttUrl: undefined,
      telemetry: { retentionDays: 90, rollupRetentionDays: 400 },
      predict: { batchWindowMs: 2, batchMaxRows: 4096, maxModelBytes: 100 * 1024 * 1024, maxRows: 10_000 },
      jobs: { concurrency: 2, workerThreads: Math.max(1, os.availableParallelism() - 1), leaseSeconds: 15 },
    });
  });

  const accepted: { env: Record<string, string>; check: (c: ReturnType<typeof loadConfig>) => unknown; expected: unknown }[] = [
    { env: { PORT: '0' }, check: (c) => c.port, expected: 0 },
    { env: { PORT: '65535' }, check: (c) => c.port, expected: 65535 },
    { env: { PORT: '' }, check: (c) => c.port, expected: 4000 },
    { env: { DATABASE_URL: 'postgresql://u@h/db' }, check: (c) => c.databaseUrl, expected: 'postgresql://u@h/db' },
    { env: { PLANTGRAPH_SEED: 'none' }, check: (c) => c.seed, expected: 'none' },
    { env: { LOG_LEVEL: 'silent' }, check: (c) => c.logLevel, expected: 'silent' },
    { env: { MQTT_URL: 'mqtts://broker:8883' }, check: (c) => c.mqttUrl, expected: 'mqtts://broker:8883' },
    { env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '0' }, check: (c) => c.limits.rateLimitPerMinute, expected: 0 },
    { env: { DATABASE_URL: 'postgres://u@h/db' }, check: (c) => c.limits.subscriptionConcurrency, expected: 2 },
    {
      env: { PLANTGRAPH_SUBSCRIPTION_CONCURRENCY: '8', PLANTGRAPH_MAX_SUBSCRIPTION_COST: '200' },
      check: (c) => [c.limits.subscriptionConcurrency, c.limits.maxSubscriptionCost],
      expected: [8, 200],
    },
    { env: { PLANTGRAPH_TELEMETRY_RETENTION_DAYS: '500' }, check: (c) => c.telemetry, expected: { retentionDays: 500, rollupRetentionDays: 500 } },
    {
      env: { PLANTGRAPH_TELEMETRY_RETENTION_DAYS: '30', PLANTGRAPH_TELEMETRY_ROLLUP_RETENTION_DAYS: '30' },
      check: (c) => c.telemetry,
      expected: { retentionDays: 30, rollupRetentionDays: 30 },
    },
    { env: { NODE_ENV: 'production' }, check: (c) => [c.production, c.introspection, c.graphiql], expected: [true, false, false] },
    {
      env: { NODE_ENV: 'production', PLANTGRAPH_INTROSPECTION: 'true', PLANTGRAPH_GRAPHIQL: 'yes' },
      check: (c) => [c.introspection, c.graphiql],
      expected: [true, true],
    },
    { env: { NODE_ENV: 'development' }, check: (c) => [c.production, c.introspection, c.graphiql], expected: [false, true, true] },
    ...['1', 'true', 'TRUE', 'yes', 'on', ' On '].map((v) => ({
      env: { NODE_ENV: 'production', PLANTGRAPH_INTROSPECTION: v },
      check: (c: ReturnType<typeof loadConfig>) => c.introspection,
      expected: true,
    })),
    ...['0', 'false', 'no', 'off', 'OFF'].map((v) => ({
      env: { PLANTGRAPH_GRAPHIQL: v },
      check: (c: ReturnType<typeof loadConfig>) => c.graphiql,
      expected: false,
    })),
    { env: { PLANTGRAPH_GRAPHIQL: '  ' }, check: (c) => c.graphiql, expected: true },
    {
      env: { HOST: '0.0.0.0', PLANTGRAPH_METRICS_PORT: '9464', PLANTGRAPH_METRICS_KEY: ' metrics-key-0123456789 ' },
      check: (c) => c.metrics,
      expected: { key: 'metrics-key-0123456789', port: 9464, host: '0.0.0.0', operationNames: 200 },
    },
    {
      env: { PLANTGRAPH_METRICS_PORT: '4000', PLANTGRAPH_METRICS_HOST: '10.0.0.5' },
      check: (c) => [c.port, c.metrics.port, c.metrics.host],
      expected: [4000, 4000, '10.0.0.5'],
    },
    { env: { PLANTGRAPH_METRICS_PORT: '' }, check: (c) => c.metrics.port, expected: undefined },
    { env: { PLANTGRAPH_AUTH_FAILURE_LIMIT: '0' }, check: (c) => c.limits.authFailureLimit, expected: 0 },
    { env: { PLANTGRAPH_TRUST_PROXY: 'yes' }, check: (c) => c.trustProxy, expected: true },
    {
      env: { PLANTGRAPH_JOB_CONCURRENCY: '0', PLANTGRAPH_WORKER_THREADS: '3', PLANTGRAPH_JOB_LEASE_SECONDS: '1' },
      check: (c) => c.jobs,
      expected: { concurrency: 0, workerThreads: 3, leaseSeconds: 1 },
    },
    { env: {}, check: (c) => c.pgliteSharedBuffersMb, expected: 32 },
    { env: { PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB: '128' }, check: (c) => c.pgliteSharedBuffersMb, expected: 128 },
  ];
  for (const c of accepted) {
    it(`accepts ${JSON.stringify(c.env)}`, () => assert.deepEqual(c.check(loadConfig(c.env)), c.expected));
  }

  const refused: { env: Record<string, string>; names: string }[] = [
    { env: { PORT: 'abc' }, names: 'PORT' },
    { env: { PORT: '-1' }, names: 'PORT' },
    { env: { PORT: '65536' }, names: 'PORT' },
    { env: { PORT: '80.5' }, names: 'PORT' },
    { env: { DATABASE_URL: 'mysql://u@h/db' }, names: 'DATABASE_URL' },
    { env: { PLANTGRAPH_SEED: 'full' }, names: 'PLANTGRAPH_SEED' },
    { env: { LOG_LEVEL: 'verbose' }, names: 'LOG_LEVEL' },
    { env: { MQTT_URL: 'http://broker' }, names: 'MQTT_URL' },
    { env: { PLANTGRAPH_JWT_SECRET: 'too-short' }, names: 'PLANTGRAPH_JWT_SECRET' },
    { env: { PLANTGRAPH_INTROSPECTION: 'maybe' }, names: 'PLANTGRAPH_INTROSPECTION' },
    { env: { PLANTGRAPH_GRAPHIQL: '2' }, names: 'PLANTGRAPH_GRAPHIQL' },
    { env: { PLANTGRAPH_TELEMETRY_RETENTION_DAYS: '0' }, names: 'PLANTGRAPH_TELEMETRY_RETENTION_DAYS' },
    { env: { PLANTGRAPH_TELEMETRY_ROLLUP_RETENTION_DAYS: 'x' }, names: 'PLANTGRAPH_TELEMETRY_ROLLUP_RETENTION_DAYS' },
    {
      env: { PLANTGRAPH_TELEMETRY_RETENTION_DAYS: '90', PLANTGRAPH_TELEMETRY_ROLLUP_RETENTION_DAYS: '89' },
      names: 'PLANTGRAPH_TELEMETRY_ROLLUP_RETENTION_DAYS',
    },
    { env: { PLANTGRAPH_MAX_BODY_BYTES: '100' }, names: 'PLANTGRAPH_MAX_BODY_BYTES' },
    { env: { PLANTGRAPH_MAX_DEPTH: '1' }, names: 'PLANTGRAPH_MAX_DEPTH' },
    { env: { PLANTGRAPH_MAX_ALIASES: '0' }, names: 'PLANTGRAPH_MAX_ALIASES' },
    { env: { PLANTGRAPH_MAX_TOKENS: '99' }, names: 'PLANTGRAPH_MAX_TOKENS' },
    { env: { PLANTGRAPH_MAX_COST: 'lots' }, names: 'PLANTGRAPH_MAX_COST' },
    { env: { PLANTGRAPH_MAX_BATCH: '1001' }, names: 'PLANTGRAPH_MAX_BATCH' },
    { env: { PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '-5' }, names: 'PLANTGRAPH_RATE_LIMIT_PER_MINUTE' },
    { env: { PLANTGRAPH_RATE_LIMIT_BURST: '-1' }, names: 'PLANTGRAPH_RATE_LIMIT_BURST' },
    { env: { PLANTGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION: '0' }, names: 'PLANTGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION' },
    { env: { PLANTGRAPH_WS_INIT_TIMEOUT_MS: '99' }, names: 'PLANTGRAPH_WS_INIT_TIMEOUT_MS' },
    { env: { PLANTGRAPH_MAX_EXECUTION_MS: '9' }, names: 'PLANTGRAPH_MAX_EXECUTION_MS' },
    { env: { PLANTGRAPH_MAX_EXECUTION_MS: '1.5' }, names: 'PLANTGRAPH_MAX_EXECUTION_MS' },
    { env: { PLANTGRAPH_MAX_RESPONSE_BYTES: '1023' }, names: 'PLANTGRAPH_MAX_RESPONSE_BYTES' },
    { env: { PLANTGRAPH_MAX_RESPONSE_BYTES: String(1024 ** 3) }, names: 'PLANTGRAPH_MAX_RESPONSE_BYTES' },
    { env: { PLANTGRAPH_MAX_UPLOAD_BYTES: '1023' }, names: 'PLANTGRAPH_MAX_UPLOAD_BYTES' },
    { env: { PLANTGRAPH_MAX_UPLOAD_BYTES: String(2 * 1024 ** 3) }, names: 'PLANTGRAPH_MAX_UPLOAD_BYTES' },
    { env: { PLANTGRAPH_AUTH_FAILURE_LIMIT: '1.5' }, names: 'PLANTGRAPH_AUTH_FAILURE_LIMIT' },
    { env: { PLANTGRAPH_AUTH_FAILURE_WINDOW_SECONDS: '86401' }, names: 'PLANTGRAPH_AUTH_FAILURE_WINDOW_SECONDS' },
    { env: { PLANTGRAPH_TRUST_PROXY: 'sometimes' }, names: 'PLANTGRAPH_TRUST_PROXY' },
    { env: { PLANTGRAPH_METRICS_KEY: 'fifteen-chars-x' }, names: 'PLANTGRAPH_METRICS_KEY' },
    { env: { PLANTGRAPH_METRICS_KEY: 'a key with spaces inside' }, names: 'PLANTGRAPH_METRICS_KEY' },
    { env: { PLANTGRAPH_METRICS_PORT: '65536' }, names: 'PLANTGRAPH_METRICS_PORT' },
    { env: { PLANTGRAPH_METRICS_PORT: '4000' }, names: 'PLANTGRAPH_METRICS_PORT' },
    { env: { PLANTGRAPH_METRICS_OPERATION_NAMES: '-1' }, names: 'PLANTGRAPH_METRICS_OPERATION_NAMES' },
    { env: { PLANTGRAPH_MAX_SUBSCRIPTION_COST: '9' }, names: 'PLANTGRAPH_MAX_SUBSCRIPTION_COST' },
    { env: { PLANTGRAPH_SUBSCRIPTION_CONCURRENCY: '0' }, names: 'PLANTGRAPH_SUBSCRIPTION_CONCURRENCY' },
    { env: { PLANTGRAPH_JOB_CONCURRENCY: '-1' }, names: 'PLANTGRAPH_JOB_CONCURRENCY' },
    { env: { PLANTGRAPH_WORKER_THREADS: '0' }, names: 'PLANTGRAPH_WORKER_THREADS' },
    { env: { PLANTGRAPH_JOB_LEASE_SECONDS: '0.5' }, names: 'PLANTGRAPH_JOB_LEASE_SECONDS' },
    { env: { PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB: '0' }, names: 'PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB' },
    { env: { PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB: '16MB' }, names: 'PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB' },
  ];
  for (const c of refused) {
    it(`refuses ${JSON.stringify(c.env)}, naming ${c.names}`, () => {
      assert.throws(
        () => loadConfig(c.env),
        (err: unknown) => err instanceof ConfigError && err.message.includes(c.names),
      );
    });
  }

  // Number(' ') is 0: a blank integer variable used to become 0 silently (PLANTGRAPH_RATE_LIMIT_PER_MINUTE=" " turned
  // rate limiting off, PORT=" " picked a random port).
  it('refuses a blank integer value instead of reading it as 0', () => {
    for (const name of ['PORT', 'PLANTGRAPH_RATE_LIMIT_PER_MINUTE']) {
      assert.throws(
        () => loadConfig({ [name]: ' ' }),
        (err: unknown) => err instanceof ConfigError && err.message.includes(name),
        name,
      );
    }
  });
});

describe('metricProblem', () => {
  const cases: { metric: unknown; expected: string | null }[] = [
    { metric: 'spindle_temp', expected: null },
    { metric: 'line-1/press.force', expected: null },
    { metric: 'temp °C', expected: null },
    { metric: 'x'.repeat(200), expected: null },
    { metric: 'x'.repeat(201), expected: 'metric name must be at most 200 characters' },
    { metric: '', expected: 'metric name must not be empty' },
    { metric: '   ', expected: 'metric name must not be empty' },
    { metric: 5, expected: 'metric name must not be empty' },
    { metric: null, expected: 'metric name must not be empty' },
    { metric: 'a\u0000b', expected: 'metric name must not contain control characters' },
    { metric: 'a\tb', expected: 'metric name must not contain control characters' },
    { metric: 'a\u007fb', expected: 'metric name must not contain control characters' },
  ];
  for (const c of cases) it(`${JSON.stringify(c.metric)} -> ${c.expected}`, () => assert.equal(metricProblem(c.metric), c.expected));
});

describe('decodeId', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const cases: { id: string; type?: string; expected: number | null }[] = [
    { id: encodeId('Machine', 5), expected: 5 },
    { id: b64('Machine:5'), expected: 5 },
    { id: b64('Machine:2147483647'), expected: 2_147_483_647 },
    { id: b64('Machine:2147483648'), expected: null },
    { id: b64('Machine:9999999999'), expected: null },
    { id: b64('Machine:12345678901'), expected: null },
    { id: b64('Plant:5'), expected: null },
    { id: b64('machine:5'), expected: null },
    { id: b64('Machine:0'), expected: null },
    { id: b64('Machine:05'), expected: null },
    { id: b64('Machine:-5'), expected: null },
    { id: b64('Machine:+5'), expected: null },
    { id: b64('Machine:5.0'), expected: null },
    { id: b64('Machine:1e3'), expected: null },
    { id: b64('Machine: 5'), expected: null },
    { id: b64('Machine:5 '), expected: null },
    { id: b64('Machine:'), expected: null },
    { id: b64('Machine'), expected: null },
    { id: b64('Machine:12').replace(/=+$/, ''), expected: null },
    { id: 'Machine:5', expected: null },
    { id: '', expected: null },
    { id: '%%%', expected: null },
    { id: encodeId('Plant', 7), type: 'Plant', expected: 7 },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.id)} as ${c.type ?? 'Machine'} -> ${c.expected}`, () => assert.equal(decodeId(c.type ?? 'Machine', c.id), c.expected));
  }
});

describe('background work', () => {
  it('a periodic task first started inside a request runs outside its time budget, and its statements are marked background', async () => {
    const counter = new SqlCounter();
    const seen: { sql: string; background: boolean }[] = [];
    counter.onStatement((sql, background) => seen.push({ sql, background }));
    // A request whose deadline has already passed: its own statements are refused.
    const budget = new StatementBudget(Date.now() - 1, 5);
    const runs: { budget: boolean; background: boolean }[] = [];
    const task = withStatementBudget(budget, () => {
      assert.throws(() => counter.record('select 1 /* request */'), { name: 'Error', message: /5 ms has passed/ });
      return startPeriodic(
        async () => {
          runs.push({ budget: currentStatementBudget() !== undefined, background: inBackground() });
          counter.record('select 2 /* periodic */');
        },
        5,
        (err) => runs.push({ budget: String(err).length < 0, background: false }),
      );
    });
    try {
      await waitFor(() => runs.length >= 2, { message: 'two runs of the periodic task' });
    } finally {
      await task.stop();
    }
    assert.deepEqual(runs.slice(0, 2), [
      { budget: false, background: true },
      { budget: false, background: true },
    ]);
    assert.deepEqual(seen.slice(0, 2), [
      { sql: 'select 2 /* periodic */', background: true },
      { sql: 'select 2 /* periodic */', background: true },
    ]);
    counter.record('select 3 /* outside */');
    assert.deepEqual(seen.at(-1), { sql: 'select 3 /* outside */', background: false });
  });
});

describe('RefusalSummary (MQTT bad messages)', () => {
  it('reports every distinct reason with its count and last topic, most frequent first, then starts over', () => {
    const s = new RefusalSummary(3);
    assert.equal(s.take(), null);
    s.add('bad JSON', 'p/a/m1');
    s.add('unknown machine', 'p/a/m9');
    s.add('bad JSON', 'p/a/m2');
    assert.deepEqual(s.take(), {
      refused: 3,
      reasons: [
        { reason: 'bad JSON', count: 2, lastTopic: 'p/a/m2' },
        { reason: 'unknown machine', count: 1, lastTopic: 'p/a/m9' },
      ],
      otherReasons: 0,
    });
    assert.equal(s.take(), null, 'a new period starts empty');
  });

  it('bounds the distinct reasons it keeps: the rest are counted together', () => {
    const s = new RefusalSummary(2);
    for (let i = 0; i < 10; i++) s.add(`reason ${i}`, 't');
    s.add('reason 0', 't');
    const taken = s.take();
    assert.equal(taken?.refused, 11);
    assert.deepEqual(
      taken?.reasons.map((r) => [r.reason, r.count]),
      [
        ['reason 0', 2],
        ['reason 1', 1],
      ],
    );
    assert.equal(taken?.otherReasons, 8);
  });
});

describe('isDatabaseUnavailable', () => {
  it("classifies node-postgres's connect and pool timeouts, broken connections and PostgreSQL's shutdown states as unavailable; a query error is not", () => {
    const wrapped = (cause: unknown) => Object.assign(new Error('Failed query: select 1'), { cause });
    for (const e of [
      new Error('timeout expired'), // pg Client: connect took longer than connectionTimeoutMillis
      new Error('timeout exceeded when trying to connect'), // pg-pool: the wait for a connection
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
    ]) {
      assert.equal(isDatabaseUnavailable(e), true, e.message);
      assert.equal(isDatabaseUnavailable(wrapped(e)), true, `wrapped: ${e.message}`);
    }
    for (const e of [
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      new Error('statement timeout expired soon'),
      new Error('syntax error'),
    ])
      assert.equal(isDatabaseUnavailable(wrapped(e)), false, e.message);
  });
});
