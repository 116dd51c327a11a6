import assert from 'node:assert/strict';
import { PRODUCTION } from '../src/predict/registry.ts';
import { after, as, before, createTestApp, describe, it, makeKey, type TestApp, tableCounts, testBackends, unchanged, AUDITED, waitFor } from './helpers.ts';
import { DataType, node, tensorValueInfo } from '../src/predict/onnx/proto.ts';
import { profileOf } from '../src/predict/drift.ts';
import { exportModelSpec } from '../src/predict/onnx/export.ts';
import { trainModel } from '../src/predict/train/index.ts';
import { syntheticRows, tableOf } from './train-data.ts';
import { multiInputModel, sklearnLinearRegression, sklearnLogisticRegression, sklearnModel } from './onnx-models.ts';

/** X float [N, 2] -> the index of its larger column, int64 [N]: no float output at all. */
function argMaxModel(): Uint8Array {
  return sklearnModel(
    [node('ArgMax', ['X'], ['index'], { axis: 1, keepdims: 0 })],
    [tensorValueInfo('X', DataType.FLOAT, [null, 2])],
    [tensorValueInfo('index', DataType.INT64, [null])],
  );
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const sigmoid = (m: number) => 1 / (1 + Math.exp(-m));

const REGISTER = `mutation($input: RegisterModelInput!) {
  registerModel(input: $input) {
    __typename
    ... on RegisterModelSuccess { model { id name version task active aliases features classes inputs { name type shape dimNames } outputs { name type shape } sizeBytes } }
    ... on Error { code message }
    ... on ValidationError { fieldErrors { path message } }
  }
}`;
const PREDICT = `query($input: PredictInput!) {
  predict(input: $input) {
    __typename
    ... on PredictSuccess { model { name version } predictions { value label probabilities { label probability } } }
    ... on Error { code message }
    ... on InputMismatchError { fieldErrors { path message } }
  }
}`;

/** Model names unique to this run, so the tests of a backend never see each other's versions. */
let counter = 0;
const uniqueName = (base: string) => `${base}-${process.pid}-${++counter}`;

for (const backend of testBackends()) {
  describe(`predictions: registry and serving [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      // No rate limit: the batching test sends 200 requests at once.
      app = await createTestApp(backend, { seed: true, env: { PLANTGRAPH_RATE_LIMIT_BURST: '0' } });
    });
    after(async () => app.close());

    async function register(input: Record<string, unknown>) {
      const r = await app.gql(REGISTER, { input });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data.registerModel;
    }
    async function predict(input: Record<string, unknown>) {
      const r = await app.gql(PREDICT, { input });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data.predict;
    }

    it('registry round trip: versions per name, the first active at once, activateModel moves production with its history', async () => {
      const name = uniqueName('linear');
      const v1 = await register({ name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([2, -1, 0.5], 1)), features: ['a', 'b', 'c'] });
      assert.equal(v1.__typename, 'RegisterModelSuccess', JSON.stringify(v1));
      assert.deepEqual(
        { version: v1.model.version, active: v1.model.active, aliases: v1.model.aliases, features: v1.model.features },
        { version: 1, active: true, aliases: [PRODUCTION], features: ['a', 'b', 'c'] },
      );
      assert.deepEqual(v1.model.inputs, [{ name: 'X', type: 'float32', shape: [null, 3], dimNames: [null, null] }]);
      assert.deepEqual(v1.model.outputs, [{ name: 'variable', type: 'float32', shape: [null, 1] }]);
      const v2 = await register({ name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1, 1, 1], 0)) });
      assert.deepEqual({ version: v2.model.version, active: v2.model.active }, { version: 2, active: false });
      // Served by name: still version 1, until version 2 is activated.
      assert.equal((await predict({ model: name, rows: [[1, 1, 1]] })).model.version, 1);
      const activated = await app.gql(`mutation($id: ID!) { activateModel(id: $id) { __typename ... on ActivateModelSuccess { model { version active } } } }`, {
        id: v2.model.id,
      });
      assert.deepEqual(activated.body.data.activateModel, { __typename: 'ActivateModelSuccess', model: { version: 2, active: true } });
      const served = await predict({ model: name, rows: [[1, 2, 3]] });
      assert.deepEqual(served.model, { name, version: 2 });
      assert.equal(served.predictions[0].value, 6);
      // An explicit version is still served.
      assert.equal((await predict({ model: name, version: 1, rows: [[1, 2, 3]] })).predictions[0].value, 2 * 1 - 2 + 1.5 + 1);
      const listed = await app.gql(
        `query($name: String!) { models(name: $name) { edges { node { version active aliases } } } model(name: $name) { version aliasHistory { alias version until } } }`,
        { name },
      );
      assert.deepEqual(
        listed.body.data.models.edges.map((e: any) => e.node),
        [
          { version: 2, active: true, aliases: [PRODUCTION] },
          { version: 1, active: false, aliases: [] },
        ],
      );
      const history = listed.body.data.model.aliasHistory;
      assert.equal(listed.body.data.model.version, 2);
      assert.deepEqual(
        history.map((h: any) => [h.alias, h.version, h.until === null]),
        [
          [PRODUCTION, 2, true],
          [PRODUCTION, 1, false],
        ],
      );
      // What was live at a moment of version 1's period: version 1.
      const at = new Date(Date.parse(history[1].until) - 1).toISOString();
      const then = await app.gql(`query($name: String!, $at: DateTime) { model(name: $name) { aliasHistory(at: $at) { alias version } } }`, { name, at });
      assert.deepEqual(then.body.data.model.aliasHistory, [{ alias: PRODUCTION, version: 1 }]);
    });

    it('a linear model built in the test gives the formula values', async () => {
      const name = uniqueName('formula');
      const w = [0.25, -3, 10];
      const bias = -2.5;
      await register({ name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression(w, bias)) });
      const rows = [
        [1, 2, 3],
        [0, 0, 0],
        [-4, 0.5, 0.125],
      ];
      const r = await predict({ model: name, rows });
      rows.forEach((x, i) => {
        const expected = w.reduce((s, wi, j) => s + wi * x[j], bias);
        assert.ok(Math.abs(r.predictions[i].value - expected) < 1e-5, `${r.predictions[i].value} vs ${expected}`);
        assert.equal(r.predictions[i].label, null);
      });
    });

    it('a sklearn-onnx classifier ending in a ZipMap serves probabilities equal to the reference, with its class labels', async () => {
      const name = uniqueName('zipmap');
      const weights = [[0.8, -1.2]];
      const b = 0.3;
      const reg = await register({
        name,
        task: 'CLASSIFICATION',
        onnxBase64: b64(sklearnLogisticRegression(weights, [b], { strings: ['ok', 'fail'] }, 'binary')),
      });
      assert.equal(reg.__typename, 'RegisterModelSuccess', JSON.stringify(reg));
      assert.deepEqual(reg.model.classes, ['ok', 'fail']);
      assert.ok(reg.model.outputs.some((o: any) => o.name === 'probabilities' && o.type === 'float32'));
      const rows = [
        [1, 0],
        [0, 1],
        [2.5, -0.75],
      ];
      const r = await predict({ model: name, rows });
      rows.forEach((x, i) => {
        const p = sigmoid(weights[0][0] * x[0] + weights[0][1] * x[1] + b);
        const got = r.predictions[i];
        assert.ok(Math.abs(got.probabilities[1].probability - p) < 1e-6, `${got.probabilities[1].probability} vs ${p}`);
        assert.ok(Math.abs(got.probabilities[0].probability - (1 - p)) < 1e-6);
        assert.deepEqual(
          got.probabilities.map((c: any) => c.label),
          ['ok', 'fail'],
        );
        assert.equal(got.label, p > 0.5 ? 'fail' : 'ok');
        assert.ok(Math.abs(got.value - p) < 1e-6, 'value is the probability of the positive (last) class');
      });
    });

    it('a model with several named inputs of different types and a dynamic batch dimension is served through inputs', async () => {
      const name = uniqueName('multi');
      const reg = await register({ name, task: 'REGRESSION', onnxBase64: b64(multiInputModel()) });
      assert.deepEqual(
        reg.model.inputs.map((i: any) => [i.name, i.type, i.dimNames[0]]),
        [
          ['count', 'int64', 'batch'],
          ['temps', 'float32', 'batch'],
          ['site', 'string', 'batch'],
        ],
      );
      const r = await predict({
        model: name,
        inputs: {
          count: [[1], [2]],
          temps: [
            [0.5, 0.25],
            [1, -1],
          ],
          site: [['a'], ['zzz']],
        },
      });
      assert.deepEqual(
        r.predictions.map((p: any) => p.value),
        [1 + 0.75 + 10, 2 + 0 - 1],
      );
      // rows cannot feed it: the typed error says to use inputs.
      const wrong = await predict({ model: name, rows: [[1, 2, 3]] });
      assert.equal(wrong.__typename, 'InputMismatchError');
      assert.match(wrong.message, /use inputs/);
    });

    it('attack: garbage, a model that does not load, an oversize model and features that do not match: typed errors, nothing stored', async () => {
      const name = uniqueName('bad');
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ name, task: 'REGRESSION', onnxBase64: b64(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])) }, 'InvalidModelError', /not an ONNX model|INVALID|parse/i],
        [{ name, task: 'REGRESSION', onnxBase64: '%%%not base64%%%' }, 'ValidationError', /base64/],
        [
          { name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1, 2], 0)), features: ['only-one'] },
          'ValidationError',
          /1 features given but the model's input X has 2 columns/,
        ],
        [
          { name, task: 'CLASSIFICATION', onnxBase64: b64(argMaxModel()) },
          'ValidationError',
          /CLASSIFICATION model needs a float tensor output of class probabilities/,
        ],
        [{ name: 'bad name!', task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1], 0)) }, 'ValidationError', /letters, digits/],
      ];
      for (const [input, type, message] of cases) {
        const r = await unchanged(app.database, () => app.gql(REGISTER, { input }), AUDITED);
        assert.equal(r.body.data.registerModel.__typename, type, JSON.stringify(r.body));
        assert.match(r.body.data.registerModel.message, message);
      }
      const listed = await app.gql(`query($name: String!) { models(name: $name) { edges { node { id } } } }`, { name });
      assert.deepEqual(listed.body.data.models.edges, []);
    });

    it('attack: a model over PLANTGRAPH_MAX_MODEL_BYTES is refused before it is decoded or stored', async () => {
      const small = await createTestApp(backend, { env: { PLANTGRAPH_MAX_MODEL_BYTES: '2048' } });
      try {
        const big = sklearnLinearRegression(
          Array.from({ length: 1000 }, (_, i) => i),
          0,
        );
        assert.ok(big.byteLength > 2048);
        const before = await tableCounts(small.database);
        const r = await small.gql(REGISTER, { input: { name: 'big', task: 'REGRESSION', onnxBase64: b64(big) } });
        assert.equal(r.body.data.registerModel.__typename, 'ModelTooLargeError', JSON.stringify(r.body));
        assert.match(r.body.data.registerModel.message, /2,048|2048/);
        const afterCounts = await tableCounts(small.database);
        assert.equal(afterCounts.models, before.models);
        assert.equal(afterCounts.model_blobs, before.model_blobs);
      } finally {
        await small.close();
      }
    });

    it('attack: rows of the wrong width, NaN-free checks and unknown models are typed errors for the request', async () => {
      const name = uniqueName('shape');
      await register({ name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1, 2], 0)) });
      const wide = await predict({
        model: name,
        rows: [
          [1, 2],
          [1, 2, 3],
        ],
      });
      assert.equal(wide.__typename, 'InputMismatchError');
      assert.deepEqual(
        wide.fieldErrors.map((e: any) => e.path),
        ['rows[1]'],
      );
      const unknown = await predict({ model: uniqueName('nope'), rows: [[1, 2]] });
      assert.equal(unknown.__typename, 'NotFoundError');
      const both = await predict({ model: name, rows: [[1, 2]], inputs: { X: [[1, 2]] } });
      assert.equal(both.__typename, 'ValidationError');
      const noVersion = await predict({ model: name, version: 9, rows: [[1, 2]] });
      assert.equal(noVersion.__typename, 'NotFoundError');
      assert.match(noVersion.message, /version 9/);
    });

    it('200 concurrent single-row predictions for one version share far fewer session.run calls (batching)', async (t) => {
      const name = uniqueName('batch');
      await register({ name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1, 1], 0)) });
      // Load the session first so that every request meets the batcher at once.
      await predict({ model: name, rows: [[0, 0]] });
      const runsBefore = app.services.predictions.batcher.runs;
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => predict({ model: name, rows: [[i, 1]] })));
      results.forEach((r, i) => {
        assert.equal(r.predictions[0].value, i + 1);
      });
      const runs = app.services.predictions.batcher.runs - runsBefore;
      t.diagnostic(`${runs} session.run calls for 200 concurrent requests`);
      assert.ok(runs >= 1 && runs <= 100, `${runs} runs for 200 requests`);
    });

    it('roles: VIEWER may predict and read models but not register or activate (FORBIDDEN)', async () => {
      const name = uniqueName('roles');
      const reg = await register({ name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1], 0)) });
      const viewer = await makeKey(app, uniqueName('viewer'), 'VIEWER');
      const v = { gql: as(app, viewer.key) };
      const p = await v.gql(PREDICT, { input: { model: name, rows: [[3]] } });
      assert.equal(p.body.data.predict.predictions[0].value, 3);
      const r = await unchanged(
        app.database,
        () => v.gql(REGISTER, { input: { name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1], 0)) } }),
        AUDITED,
      );
      assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN');
      const a = await v.gql(`mutation($id: ID!) { activateModel(id: $id) { __typename } }`, { id: reg.model.id });
      assert.equal(a.body.errors[0].extensions.code, 'FORBIDDEN');
    });
  });
}

const EXPLAIN = `query($input: PredictInput!) {
  predict(input: $input) {
    __typename
    ... on PredictSuccess { predictions { value probabilities { label probability } explanation { feature contribution } explanationBase explanationSpace } }
    ... on Error { code message }
  }
}`;

/** A model trained in the test and registered as the training job would: its ONNX export with its spec. */
async function registerTrained(app: TestApp, name: string, algorithm: 'LINEAR_REGRESSION' | 'GRADIENT_BOOSTING', task: 'REGRESSION' | 'CLASSIFICATION') {
  const data = syntheticRows(400, 7, (x1, x2, c, noise) =>
    task === 'REGRESSION' ? 3 * x1 - 2 * x2 + (c === 'b' ? 1.5 : 0) + 0.1 * noise : x1 + 0.5 * x2 + (c === 'a' ? 1 : 0) + 0.3 * noise > 0.4 ? 'yes' : 'no',
  );
  const table = tableOf({ x1: data.x1, x2: data.x2, c: data.c, y: data.y as never });
  const trained = trainModel({
    table,
    target: 'y',
    features: ['x1', 'x2', 'c'],
    algorithm,
    folds: 0,
    params: algorithm === 'GRADIENT_BOOSTING' ? { max_iter: 20 } : {},
  });
  return app.services.predictions.register({
    name,
    task,
    bytes: exportModelSpec(trained.spec),
    spec: trained.spec,
    features: trained.spec.features,
    profile: profileOf(table, trained.spec.features),
    source: `trained:${algorithm}`,
    createdBy: 'test',
  });
}

for (const backend of testBackends()) {
  describe(`predictions: the models list is batched [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_BURST: '0' } });
    });
    after(async () => app.close());

    it('every per-version field (active, aliases, drift, shadow and its outcomes, aliasHistory) costs the same statements at 3 and at 12 versions', async (t) => {
      const LIST = `query { models(first: 50) { edges { node { name version active aliases features metrics { name } inputs { name } outputs { name }
        drift { feature psi } shadow { rows outcomes(label: { kind: FAILURE_WITHIN, horizonSeconds: 60 }) { rows } } aliasHistory { alias since } } } } }`;
      const registerVersions = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const r = await app.gql(REGISTER, { input: { name: `list-${i % 4}`, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1, i], 0)) } });
          assert.equal(r.body.data.registerModel.__typename, 'RegisterModelSuccess', JSON.stringify(r.body));
        }
      };
      const count = async () => {
        await app.gql(LIST);
        const start = app.database.sql.count;
        const r = await app.gql(LIST);
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        return { statements: app.database.sql.count - start, versions: r.body.data.models.edges.length };
      };
      await registerVersions(3);
      const small = await count();
      await registerVersions(9);
      const large = await count();
      t.diagnostic(`3 versions: ${small.statements} statements; 12 versions: ${large.statements}`);
      assert.deepEqual([small.versions, large.versions], [3, 12]);
      assert.equal(large.statements, small.statements);
    });
  });
}

for (const backend of testBackends()) {
  describe(`predictions: explanations [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend);
    });
    after(async () => app.close());

    const inputs = {
      numeric: [
        [0.5, -1],
        [-2, 0.25],
        [0, 0],
      ],
      c: [['a'], ['b'], ['zz']],
    };

    it('a linear model trained here: base + contributions = the prediction within 1e-6, in value space', async () => {
      const name = uniqueName('explain-linear');
      await registerTrained(app, name, 'LINEAR_REGRESSION', 'REGRESSION');
      const r = (await app.gql(EXPLAIN, { input: { model: name, inputs, explain: true } })).body.data.predict;
      assert.equal(r.__typename, 'PredictSuccess', JSON.stringify(r));
      for (const p of r.predictions) {
        assert.equal(p.explanationSpace, 'value');
        assert.deepEqual(
          p.explanation.map((e: any) => e.feature),
          ['x1', 'x2', 'c'],
        );
        const sum = p.explanationBase + p.explanation.reduce((s: number, e: any) => s + e.contribution, 0);
        assert.ok(Math.abs(sum - p.value) < 1e-5 * Math.max(1, Math.abs(p.value)), `${sum} vs ${p.value}`);
      }
    });

    it('gradient-boosted trees trained here: TreeSHAP adds up to the log-odds of the served probability within 1e-6', async () => {
      const name = uniqueName('explain-trees');
      await registerTrained(app, name, 'GRADIENT_BOOSTING', 'CLASSIFICATION');
      const r = (await app.gql(EXPLAIN, { input: { model: name, inputs, explain: true } })).body.data.predict;
      assert.equal(r.__typename, 'PredictSuccess', JSON.stringify(r));
      for (const p of r.predictions) {
        assert.equal(p.explanationSpace, 'log_odds');
        const margin = p.explanationBase + p.explanation.reduce((s: number, e: any) => s + e.contribution, 0);
        const logOdds = Math.log(p.value / (1 - p.value));
        // The served probability is float32: compare in log-odds with float32's relative precision.
        assert.ok(Math.abs(margin - logOdds) < 1e-6 + (1e-6 * Math.abs(logOdds)) / Math.min(p.value, 1 - p.value), `${margin} vs ${logOdds}`);
      }
    });

    it('an uploaded model with several named inputs (int64, float, string) is explained per input element by Kernel SHAP', async () => {
      const name = uniqueName('explain-multi');
      const reg = await app.gql(REGISTER, { input: { name, task: 'REGRESSION', onnxBase64: b64(multiInputModel()) } });
      assert.equal(reg.body.data.registerModel.__typename, 'RegisterModelSuccess');
      // value = count + temps[0] + temps[1] + (site = "a" ? 10 : -1): against the background (0, 0, 0, "", whose value
      // is -1) each element's contribution is its own term, exactly (4 features: every coalition is enumerated).
      const r = (
        await app.gql(EXPLAIN, {
          input: {
            model: name,
            inputs: {
              count: [[3], [2]],
              temps: [
                [0.5, 0.25],
                [1, -1],
              ],
              site: [['a'], ['zzz']],
            },
            explain: true,
          },
        })
      ).body.data.predict;
      assert.equal(r.__typename, 'PredictSuccess', JSON.stringify(r));
      const expected = [
        [3, 0.5, 0.25, 11],
        [2, 1, -1, 0],
      ];
      for (const [i, p] of r.predictions.entries()) {
        assert.equal(p.explanationSpace, 'model_output');
        assert.ok(Math.abs(p.explanationBase + 1) < 1e-6, `base ${p.explanationBase}`);
        assert.deepEqual(
          p.explanation.map((e: any) => e.feature),
          ['count', 'temps[0]', 'temps[1]', 'site'],
        );
        for (const [k, e] of p.explanation.entries()) assert.ok(Math.abs(e.contribution - expected[i][k]) < 1e-5, `${e.feature}: ${e.contribution}`);
        const sum = p.explanationBase + p.explanation.reduce((s: number, e: any) => s + e.contribution, 0);
        assert.ok(Math.abs(sum - p.value) < 1e-5, `${sum} vs ${p.value}`);
      }
    });

    it('an uploaded model is explained by seeded Kernel SHAP: exact for a linear model against its background, and repeatable', async () => {
      const name = uniqueName('explain-upload');
      const w = [2, -1, 0.5];
      const reg = await app.gql(REGISTER, {
        input: {
          name,
          task: 'REGRESSION',
          onnxBase64: b64(sklearnLinearRegression(w, 1)),
          features: ['a', 'b', 'c'],
          backgroundRows: [
            [1, 1, 1],
            [0, 2, 4],
          ],
        },
      });
      assert.equal(reg.body.data.registerModel.__typename, 'RegisterModelSuccess', JSON.stringify(reg.body));
      const x = [3, -2, 8];
      const once = (await app.gql(EXPLAIN, { input: { model: name, rows: [x], explain: true } })).body.data.predict;
      const p = once.predictions[0];
      assert.equal(p.explanationSpace, 'model_output');
      const meanBackground = [0.5, 1.5, 2.5];
      for (const [i, e] of (p.explanation as { feature: string; contribution: number }[]).entries())
        assert.ok(Math.abs(e.contribution - w[i] * (x[i] - meanBackground[i])) < 1e-4, `${e.feature}: ${e.contribution}`);
      const sum = p.explanationBase + p.explanation.reduce((s: number, e: any) => s + e.contribution, 0);
      assert.ok(Math.abs(sum - p.value) < 1e-4);
      const again = (await app.gql(EXPLAIN, { input: { model: name, rows: [x], explain: true } })).body.data.predict;
      assert.deepEqual(again.predictions[0].explanation, p.explanation);
      // Sampling is bounded per request.
      const many = (await app.gql(EXPLAIN, { input: { model: name, rows: Array.from({ length: 21 }, () => x), explain: true } })).body.data.predict;
      assert.equal(many.__typename, 'ValidationError');
      assert.match(many.message, /at most 20 rows/);
    });
  });
}

for (const backend of testBackends()) {
  describe(`predictions: shadow mode and drift [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend);
    });
    after(async () => app.close());

    it('a candidate version scores the same requests in shadow: stored and compared, never returned', async () => {
      const name = uniqueName('shadow');
      await app.gql(REGISTER, { input: { name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1, 1], 0)) } });
      const v2 = (await app.gql(REGISTER, { input: { name, task: 'REGRESSION', onnxBase64: b64(sklearnLinearRegression([1, 1], 0.5)) } })).body.data
        .registerModel.model;
      const set = await app.gql(
        `mutation($id: ID!) { setModelAlias(id: $id, alias: "candidate") { __typename ... on ActivateModelSuccess { model { version aliases } } } }`,
        {
          id: v2.id,
        },
      );
      assert.deepEqual(set.body.data.setModelAlias.model, { version: 2, aliases: ['candidate'] });
      const r = (
        await app.gql(PREDICT, {
          input: {
            model: name,
            rows: [
              [1, 2],
              [3, 4],
              [0, 0],
            ],
          },
        })
      ).body.data.predict;
      // What callers get is production's (version 1) output only.
      assert.deepEqual(r.model, { name, version: 1 });
      assert.deepEqual(
        r.predictions.map((p: any) => p.value),
        [3, 7, 0],
      );
      await waitFor(async () => {
        await app.services.predictions.monitor.flush();
        const n = await app.database.query<{ n: number }>(
          `select count(*)::int as n from model_shadow_outputs where candidate_id = (select id from models where name = $1 and version = 2)`,
          [name],
        );
        return n[0].n === 3 ? true : null;
      });
      const cmp = await app.gql(
        `query($name: String!) { model(name: $name, version: 2) { shadow { productionVersion rows meanAbsoluteDifference labelAgreement } } }`,
        { name },
      );
      assert.deepEqual(cmp.body.data.model.shadow, { productionVersion: 1, rows: 3, meanAbsoluteDifference: 0.5, labelAgreement: null });
    });

    it('drift: served values like the training ones have a PSI near 0, shifted ones a large PSI', async () => {
      const name = uniqueName('drift');
      await registerTrained(app, name, 'LINEAR_REGRESSION', 'REGRESSION');
      // Rows like the training rows (x1, x2 ~ N(0, 1)) except x2, shifted by +3.
      const data = syntheticRows(2000, 99, () => 0);
      const inputs = { numeric: data.x1.map((x1, i) => [x1, data.x2[i] + 3]), c: data.c.map((c) => [c]) };
      const r = await app.gql(PREDICT, { input: { model: name, inputs } });
      assert.equal(r.body.data.predict.__typename, 'PredictSuccess', JSON.stringify(r.body).slice(0, 500));
      await app.services.predictions.monitor.flush();
      const d = await app.gql(`query($name: String!) { model(name: $name) { drift(hours: 1) { feature psi servedRows } } }`, { name });
      const drift = Object.fromEntries(d.body.data.model.drift.map((f: any) => [f.feature, f]));
      assert.equal(drift.x1.servedRows, 2000);
      assert.ok(drift.x1.psi < 0.1, `x1 PSI ${drift.x1.psi}`);
      assert.ok(drift.x2.psi > 0.25, `x2 PSI ${drift.x2.psi}`);
      assert.ok(drift.c.psi < 0.1, `c PSI ${drift.c.psi}`);
    });
  });
}
