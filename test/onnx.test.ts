// The ONNX layer without a database: inspecting and loading models, the ZipMap rewrite, feeds, batching, and the
// exporter against the plain-TypeScript evaluator.
import assert from 'node:assert/strict';
import type * as ort from 'onnxruntime-node';
import { ValidationError } from '../src/core/errors.ts';
import { InferenceError, InputMismatchError, InvalidModelError, ModelLoadError, ModelTooLargeError, UnsupportedOperatorError } from '../src/predict/errors.ts';
import { evaluateSpec, expandInputs, type SpecInputs, treeLeaf } from '../src/predict/evaluate-spec.ts';
import { concatFeeds, isBatchable, splitOutputs } from '../src/predict/onnx/batch.ts';
import { exportModelSpec } from '../src/predict/onnx/export.ts';
import { type Feeds, jsonToFeeds, rowsToFeeds } from '../src/predict/onnx/feeds.ts';
import { inspectModel, loadSession, type ModelInfo } from '../src/predict/onnx/inspect.ts';
import { DataType, encodeModel, node, onnx, type OnnxTypes, tensorValueInfo } from '../src/predict/onnx/proto.ts';
import { checkFinite, runSession } from '../src/predict/onnx/run.ts';
import { rewriteZipMap } from '../src/predict/onnx/zipmap.ts';
import type { ColumnPrep, EstimatorSpec, ModelSpec, Tree } from '../src/predict/spec.ts';
import { seededRandom } from '../src/core/random.ts';
import { describe, it } from './helpers.ts';
import { multiInputModel, type SklearnTree, sklearnLinearRegression, sklearnLogisticRegression, sklearnRandomForest } from './onnx-models.ts';

const sigmoid = (m: number) => 1 / (1 + Math.exp(-m));
const dot = (w: number[], x: number[]) => w.reduce((s, wi, i) => s + wi * x[i], 0);

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

/** The error `fn` throws or rejects with (fails when it succeeds). */
async function errorOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error, nothing was thrown');
}

async function run(bytes: Uint8Array, feeds: Feeds): Promise<Record<string, ort.Tensor>> {
  const session = await loadSession(bytes);
  try {
    return await runSession(session, feeds);
  } finally {
    await session.release();
  }
}

function randomRows(random: () => number, n: number, width: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: width }, () => Math.round((random() * 8 - 4) * 1000) / 1000));
}

describe('a linear regressor built like sklearn-onnx', () => {
  it('gives the formula w·x + b for every row, fed as rows', async () => {
    const w = [0.5, -1.25, 2];
    const b = 0.75;
    const bytes = sklearnLinearRegression(w, b);
    const info = await inspectModel(bytes);
    assert.deepEqual(info.inputs, [{ name: 'X', kind: 'tensor', type: 'float32', shape: [null, 3] }]);
    assert.deepEqual(info.outputs, [{ name: 'variable', kind: 'tensor', type: 'float32', shape: [null, 1] }]);
    assert.equal(info.producerName, 'skl2onnx');
    assert.deepEqual(info.opsets, [
      { domain: 'ai.onnx.ml', version: 1 },
      { domain: '', version: 15 },
    ]);
    const rows = [
      [1, 2, 3],
      [0, 0, 0],
      [-4, 0.5, 10],
    ];
    const out = await run(bytes, rowsToFeeds(rows, info));
    assert.deepEqual(out.variable.dims, [3, 1]);
    // 0.5 - 2.5 + 6 + 0.75 = 4.75; 0.75; -2 - 0.625 + 20 + 0.75 = 18.125 (all exact in float32)
    assert.deepEqual(Array.from(out.variable.data as Float32Array), [4.75, 0.75, 18.125]);
  });

  it('turns a NaN that reaches the output into INFERENCE_FAILED naming the row', async () => {
    const bytes = sklearnLinearRegression([1, 1], 0);
    const info = await inspectModel(bytes);
    const out = await run(
      bytes,
      rowsToFeeds(
        [
          [1, 2],
          [Number.NaN, 1],
          [3, 4],
        ],
        info,
        { allowNaN: true },
      ),
    );
    const err = await errorOf(() => checkFinite(out));
    assert.ok(err instanceof InferenceError);
    assert.equal(err.code, 'INFERENCE_FAILED');
    assert.deepEqual(err.rows, [1]);
    assert.equal(err.message, 'The model gave NaN or an infinite value for row 1');
  });
});

describe('rowsToFeeds checks', () => {
  const info: Pick<ModelInfo, 'inputs'> = { inputs: [{ name: 'X', kind: 'tensor', type: 'float32', shape: [null, 3] }] };
  const problems = async (rows: unknown, options = {}) => {
    const err = await errorOf(() => rowsToFeeds(rows as number[][], info, options));
    assert.ok(err instanceof InputMismatchError, String(err));
    assert.equal(err.code, 'INPUT_MISMATCH');
    return err.fieldErrors;
  };

  it('names the row of the wrong width, the value that is not a finite number, and refuses no rows', async () => {
    assert.deepEqual(
      await problems([
        [1, 2, 3],
        [1, 2],
        [1, 2, 3, 4],
      ]),
      [
        { path: 'rows[1]', message: "expected 3 values (the model's input X (float32 [?, 3])), got 2" },
        { path: 'rows[2]', message: "expected 3 values (the model's input X (float32 [?, 3])), got 4" },
      ],
    );
    assert.deepEqual(
      await problems([
        [1, Number.NaN, 3],
        [1, 2, Number.POSITIVE_INFINITY],
      ]),
      [
        { path: 'rows[0][1]', message: 'expected a finite number (float32), got number NaN' },
        { path: 'rows[1][2]', message: 'expected a finite number (float32), got number Infinity' },
      ],
    );
    assert.deepEqual(
      await problems(
        [
          [1, Number.POSITIVE_INFINITY, 3],
          [3.4028234663852886e38, -1e39, 0],
        ],
        { allowNaN: true },
      ),
      [
        { path: 'rows[0][1]', message: 'expected a finite number (float32), got number Infinity' },
        { path: 'rows[1][1]', message: 'expected a finite number (float32), got number -1e+39' },
      ],
    );
    assert.deepEqual(await problems([]), [{ path: 'rows', message: 'expected at least one row' }]);
  });

  it('refuses rows for a model whose input is not one float matrix', async () => {
    const err = await errorOf(() => rowsToFeeds([[1]], { inputs: [{ name: 'ids', kind: 'tensor', type: 'int64', shape: ['N', 1] }] }));
    assert.ok(err instanceof InputMismatchError);
    assert.deepEqual(err.fieldErrors, [
      { path: 'rows', message: 'rows feed a model with one float input [N, features]; this model has ids (int64 [N, 1]): use inputs' },
    ]);
  });
});

describe('ZipMap rewrite of sklearn-onnx classifiers', () => {
  const random = seededRandom(7);
  const rows = randomRows(random, 25, 3);
  const softmax = (m: number[]) => {
    const e = m.map((v) => Math.exp(v - Math.max(...m)));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };

  /** Rewrites, loads and runs `bytes` on `rows`; checks the interface and returns the outputs. */
  async function rewriteAndRun(bytes: Uint8Array, classes: string[], labelType: string) {
    const before = await inspectModel(bytes);
    assert.equal(before.hasNonTensorOutputs, true);
    const keyType = labelType === 'string' ? 'string' : 'int64';
    assert.deepEqual(before.outputs[1], { name: 'output_probability', kind: 'sequence', type: `seq(map(${keyType},tensor(float32)))`, shape: null });
    const rewrite = rewriteZipMap(bytes);
    assert.deepEqual(rewrite.classes, classes);
    assert.deepEqual(rewrite.replaced, [{ from: 'output_probability', to: 'probabilities' }]);
    const info = await inspectModel(rewrite.bytes);
    assert.equal(info.hasNonTensorOutputs, false);
    assert.deepEqual(info.outputs, [
      { name: 'output_label', kind: 'tensor', type: labelType, shape: [null] },
      { name: 'probabilities', kind: 'tensor', type: 'float32', shape: [null, classes.length] },
    ]);
    assert.equal(info.metadata['plantgraph.classes'], JSON.stringify(classes));
    assert.equal(info.producerName, 'skl2onnx');
    const out = await run(rewrite.bytes, rowsToFeeds(rows, info));
    assert.deepEqual(out.probabilities.dims, [rows.length, classes.length]);
    return out;
  }

  /** Per row, the probabilities' row and the label of its largest entry. */
  function check(out: Record<string, ort.Tensor>, expected: number[][], classes: string[]): void {
    const p = out.probabilities.data as Float32Array;
    const k = classes.length;
    expected.forEach((e, r) => {
      assertClose(p.subarray(r * k, (r + 1) * k), e, 1e-6, `probabilities of row ${r}`);
      const best = e.indexOf(Math.max(...e));
      assert.equal(String(out.output_label.data[r]), classes[best], `label of row ${r}`);
    });
  }

  it('binary LogisticRegression (int labels): P(1) = sigmoid(w·x + b)', async () => {
    const w = [1.5, -0.75, 0.25];
    const b = -0.2;
    const out = await rewriteAndRun(sklearnLogisticRegression([w], [b], { ints: [0, 1] }, 'binary'), ['0', '1'], 'int64');
    check(
      out,
      rows.map((x) => [1 - sigmoid(dot(w, x) + b), sigmoid(dot(w, x) + b)]),
      ['0', '1'],
    );
  });

  it('multinomial LogisticRegression (string labels): softmax of the K scores', async () => {
    const w = [
      [1, -0.5, 0.2],
      [-0.3, 0.8, 0.1],
      [0.1, 0.1, -1.2],
    ];
    const b = [0.1, -0.2, 0.05];
    const classes = ['setosa', 'versicolor', 'virginica'];
    const out = await rewriteAndRun(sklearnLogisticRegression(w, b, { strings: classes }, 'multinomial'), classes, 'string');
    check(
      out,
      rows.map((x) => softmax(w.map((wk, k) => dot(wk, x) + b[k]))),
      classes,
    );
  });

  it('one-vs-rest LogisticRegression: LOGISTIC per class, then Normalizer L1', async () => {
    const w = [
      [0.5, 0.5, 0],
      [-1, 0, 0.5],
      [0, -0.5, -0.5],
    ];
    const b = [0, 0.3, -0.3];
    const out = await rewriteAndRun(sklearnLogisticRegression(w, b, { ints: [3, 7, 9] }, 'ovr'), ['3', '7', '9'], 'int64');
    check(
      out,
      rows.map((x) => {
        const s = w.map((wk, k) => sigmoid(dot(wk, x) + b[k]));
        const total = s.reduce((a, c) => a + c, 0);
        return s.map((v) => v / total);
      }),
      ['3', '7', '9'],
    );
  });

  it('RandomForestClassifier (TreeEnsembleClassifier): the average of the leaves’ class proportions', async () => {
    const trees: SklearnTree[] = [
      {
        feature: [0, 1, -2, -2, -2],
        threshold: [0.25, -1.5, 0, 0, 0],
        left: [1, 3, -1, -1, -1],
        right: [2, 4, -1, -1, -1],
        proportions: [[], [], [0.1, 0.2, 0.7], [1, 0, 0], [0.5, 0.5, 0]],
      },
      { feature: [2, -2, -2], threshold: [1.125, 0, 0], left: [1, -1, -1], right: [2, -1, -1], proportions: [[], [0.2, 0.6, 0.2], [0, 0.25, 0.75]] },
    ];
    const leaf = (t: SklearnTree, x: number[]) => {
      let n = 0;
      while (t.left[n] !== -1) n = Math.fround(x[t.feature[n]]) <= Math.fround(t.threshold[n]) ? t.left[n] : t.right[n];
      return t.proportions[n];
    };
    const out = await rewriteAndRun(sklearnRandomForest(trees, 3, { ints: [1, 2, 5] }), ['1', '2', '5'], 'int64');
    check(
      out,
      rows.map((x) => [0, 1, 2].map((k) => (leaf(trees[0], x)[k] + leaf(trees[1], x)[k]) / 2)),
      ['1', '2', '5'],
    );
  });

  it('exposes a probability tensor of another name through an Identity named probabilities', async () => {
    const model = onnx.ModelProto.decode(sklearnLogisticRegression([[2, 0, -1]], [0.5], { strings: ['good', 'bad'] }, 'binary'));
    const graph = model.graph as OnnxTypes.GraphProto;
    graph.node[0].output = ['label', 'probability_tensor'];
    graph.node.find((n) => n.opType === 'ZipMap')!.input = ['probability_tensor'];
    const out = await rewriteAndRun(encodeModel(model), ['good', 'bad'], 'string');
    const m = rows.map((x) => dot([2, 0, -1], x) + 0.5);
    check(
      out,
      m.map((v) => [1 - sigmoid(v), sigmoid(v)]),
      ['good', 'bad'],
    );
  });

  it('leaves a model without a ZipMap unchanged', () => {
    const bytes = sklearnLinearRegression([1, 2], 3);
    const rewrite = rewriteZipMap(bytes);
    assert.equal(rewrite.bytes, bytes);
    assert.deepEqual(rewrite, { bytes, classes: null, replaced: [] });
  });

  it('refuses bytes that are not a model with INVALID_MODEL', async () => {
    const err = await errorOf(() => rewriteZipMap(new Uint8Array([1, 2, 3])));
    assert.ok(err instanceof InvalidModelError);
  });
});

describe('a model with int64, float and string inputs and a dynamic batch dimension', () => {
  const bytes = multiInputModel();
  const inputs = {
    count: [[1], [2], ['9007199254740993']],
    temps: [
      [0.5, 0.25],
      [1, -1],
      [0, 0],
    ],
    site: [['a'], ['b'], ['elsewhere']],
  };

  it('is described with its named inputs and run through jsonToFeeds', async () => {
    const info = await inspectModel(bytes);
    assert.deepEqual(info.inputs, [
      { name: 'count', kind: 'tensor', type: 'int64', shape: ['batch', 1] },
      { name: 'temps', kind: 'tensor', type: 'float32', shape: ['batch', 2] },
      { name: 'site', kind: 'tensor', type: 'string', shape: ['batch', 1] },
    ]);
    const feeds = jsonToFeeds(inputs, info);
    assert.deepEqual(Array.from(feeds.count.data as BigInt64Array), [1n, 2n, 9007199254740993n]);
    const out = await run(bytes, feeds);
    // 1 + 0.75 + 10; 2 + 0 + 20; 2^53 + 1 (exact in int64, 2^53 as float32) + 0 - 1 (rounded back to 2^53 in float32)
    assert.deepEqual(Array.from(out.y.data as Float32Array), [11.75, 22, 2 ** 53]);
    assert.deepEqual(out.y.dims, [3, 1]);
  });

  it('names every input that does not fit: type, rank, fixed and symbolic dimensions, ragged arrays, names', async () => {
    const info = await inspectModel(bytes);
    const problems = async (given: unknown) => {
      const err = await errorOf(() => jsonToFeeds(given, info));
      assert.ok(err instanceof InputMismatchError, String(err));
      return err.fieldErrors;
    };
    assert.deepEqual(await problems({ ...inputs, count: [[1], [1.5], ['x']], site: [['a'], [3], [null]] }), [
      { path: 'inputs.count[1][0]', message: 'expected an integer (int64; a decimal string for values beyond 2^53), got number 1.5' },
      { path: 'inputs.count[2][0]', message: 'expected an integer (int64; a decimal string for values beyond 2^53), got string "x"' },
      { path: 'inputs.site[1][0]', message: 'expected a string, got number 3' },
      { path: 'inputs.site[2][0]', message: 'expected a string, got null' },
    ]);
    assert.deepEqual(await problems({ ...inputs, temps: [[1, 2], [3], [4, 5]] }), [
      { path: 'inputs.temps[1]', message: 'expected an array of 2 like inputs.temps[0], got 1 elements' },
    ]);
    assert.deepEqual(
      await problems({
        ...inputs,
        temps: [
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 3],
        ],
      }),
      [{ path: 'inputs.temps[0]', message: 'dimension 1 must be 2, got 3' }],
    );
    assert.deepEqual(await problems({ ...inputs, temps: [1, 2] }), [
      { path: 'inputs.temps', message: 'expected 2 nested array levels for temps (float32 [batch, 2]), got 1' },
    ]);
    assert.deepEqual(
      await problems({
        ...inputs,
        temps: [
          [0, Number.NaN],
          [0, 0],
          [0, 0],
        ],
      }),
      [{ path: 'inputs.temps[0][1]', message: 'expected a finite number (float32), got number NaN' }],
    );
    assert.deepEqual(await problems({ ...inputs, site: [['a'], ['b']] }), [
      { path: 'inputs.site', message: 'dimension 0 (batch) is 2 here but 3 in inputs.count' },
    ]);
    assert.deepEqual(await problems({ count: inputs.count, temps: inputs.temps, sites: inputs.site }), [
      {
        path: 'inputs.sites',
        message: 'the model has no input "sites"; its inputs are count (int64 [batch, 1]), temps (float32 [batch, 2]), site (string [batch, 1])',
      },
      { path: 'inputs.site', message: 'missing: site (string [batch, 1])' },
    ]);
    assert.deepEqual(await problems([1, 2]), [
      {
        path: 'inputs',
        message: 'expected an object with one entry per model input: count (int64 [batch, 1]), temps (float32 [batch, 2]), site (string [batch, 1])',
      },
    ]);
    assert.deepEqual(await problems({ ...inputs, count: [] }), [{ path: 'inputs.count', message: 'an empty array; expected count (int64 [batch, 1])' }]);
  });

  it('feeds int32 and bool inputs and checks their ranges', () => {
    const info: Pick<ModelInfo, 'inputs'> = {
      inputs: [
        { name: 'k', kind: 'tensor', type: 'int32', shape: [2] },
        { name: 'on', kind: 'tensor', type: 'bool', shape: [] },
      ],
    };
    const feeds = jsonToFeeds({ k: [-5, 2147483647], on: true }, info);
    assert.deepEqual(Array.from(feeds.k.data as Int32Array), [-5, 2147483647]);
    assert.deepEqual([Array.from(feeds.on.data as Uint8Array), feeds.on.dims], [[1], []]);
    assert.throws(
      () => jsonToFeeds({ k: [1, 2147483648], on: 1 }, info),
      (err: unknown) =>
        err instanceof InputMismatchError &&
        err.problemCount === 2 &&
        err.fieldErrors[0].path === 'inputs.k[1]' &&
        err.fieldErrors[0].message === 'expected an integer from -2147483648 to 2147483647 (int32), got number 2147483648' &&
        err.fieldErrors[1].path === 'inputs.on' &&
        err.fieldErrors[1].message === 'expected true or false, got number 1',
    );
  });

  it('a feed onnxruntime refuses at run time is INFERENCE_FAILED, and the process stays up', async () => {
    const info = await inspectModel(bytes);
    const feeds = jsonToFeeds(inputs, info);
    const wrong = { ...feeds, temps: feeds.count };
    const err = await errorOf(() => run(bytes, wrong));
    assert.ok(err instanceof InferenceError);
    assert.match(err.message, /^onnxruntime failed to run the model: Unexpected input data type\. Actual: \(tensor\(int64\)\) , expected: \(tensor\(float\)\)/);
  });
});

describe('bytes that are not a servable model', () => {
  const valid = sklearnLinearRegression([1, 2, 3], 0.5);
  const graphWith = (op: string, domain: string, opsets: { domain: string; version: number }[]) =>
    encodeModel({
      irVersion: 8,
      opsetImport: opsets,
      graph: {
        name: 'g',
        node: [node(op, ['x'], ['y'], {}, domain)],
        input: [tensorValueInfo('x', DataType.FLOAT, ['N', 2])],
        output: [tensorValueInfo('y', DataType.FLOAT, ['N', 2])],
      },
    });

  it('garbage, truncated and empty bytes are INVALID_MODEL', async () => {
    const random = seededRandom(3);
    const garbage = Uint8Array.from({ length: 512 }, () => Math.floor(random() * 256));
    for (const [bytes, reason] of [
      [new Uint8Array(0), 'the file is empty'],
      [garbage, /^the bytes are not an ONNX protobuf, or are truncated \(/],
      [valid.subarray(0, valid.length - 7), /^the bytes are not an ONNX protobuf, or are truncated \(index out of range/],
      [new TextEncoder().encode('{"not": "onnx"}'), /^the bytes are not an ONNX protobuf, or are truncated/],
      [encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'g' } }), 'the graph has no nodes'],
      [encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }] }), 'the model has no graph'],
    ] as const) {
      const err = await errorOf(() => inspectModel(bytes));
      assert.ok(err instanceof InvalidModelError, String(err));
      assert.equal(err.code, 'INVALID_MODEL');
      if (typeof reason === 'string') assert.equal(err.reason, reason);
      else assert.match(err.reason, reason);
    }
  });

  it('an operator onnxruntime does not have is UNSUPPORTED_OPERATOR naming the op and its domain', async () => {
    const custom = await errorOf(() =>
      inspectModel(
        graphWith('FancyScaler', 'com.acme.ml', [
          { domain: '', version: 17 },
          { domain: 'com.acme.ml', version: 1 },
        ]),
      ),
    );
    assert.ok(custom instanceof UnsupportedOperatorError);
    assert.deepEqual([custom.code, custom.opType, custom.domain], ['UNSUPPORTED_OPERATOR', 'FancyScaler', 'com.acme.ml']);
    assert.equal(custom.message, 'The model uses operator FancyScaler of domain "com.acme.ml", which onnxruntime does not support');
    // a known domain: onnxruntime's own refusal is recognised
    const standard = await errorOf(() => inspectModel(graphWith('NoSuchOp', '', [{ domain: '', version: 17 }])));
    assert.ok(standard instanceof UnsupportedOperatorError);
    assert.deepEqual([standard.opType, standard.domain], ['NoSuchOp', '']);
    const microsoft = await errorOf(() =>
      inspectModel(
        graphWith('NoSuchOp', 'com.microsoft', [
          { domain: '', version: 17 },
          { domain: 'com.microsoft', version: 1 },
        ]),
      ),
    );
    assert.ok(microsoft instanceof UnsupportedOperatorError);
    assert.deepEqual([microsoft.opType, microsoft.domain], ['NoSuchOp', 'com.microsoft']);
  });

  it('a model onnxruntime refuses otherwise is MODEL_LOAD_FAILED with its reason', async () => {
    const err = await errorOf(() => inspectModel(graphWith('Relu', '', [{ domain: '', version: 999 }])));
    assert.ok(err instanceof ModelLoadError);
    assert.equal(err.code, 'MODEL_LOAD_FAILED');
    assert.match(err.reason, /^ONNX Runtime only \*guarantees\* support for models stamped with official released onnx opset versions\. Opset 999/);
    assert.ok(err.reason.length <= 301);
  });

  it('a model over the size limit is MODEL_TOO_LARGE', async () => {
    const err = await errorOf(() => inspectModel(valid, { maxBytes: 100 }));
    assert.ok(err instanceof ModelTooLargeError);
    assert.deepEqual([err.code, err.limitBytes, err.sizeBytes], ['MODEL_TOO_LARGE', 100, valid.length]);
    assert.equal(err.message, `The model is larger than the limit of 100 bytes (${valid.length} bytes)`);
  });

  it('never throws anything but a typed model error, on random, truncated and corrupted bytes', async () => {
    const random = seededRandom(99);
    const typed = new Set(['INVALID_MODEL', 'MODEL_LOAD_FAILED', 'UNSUPPORTED_OPERATOR']);
    const outcomes: Record<string, number> = {};
    const cases: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) cases.push(Uint8Array.from({ length: Math.floor(random() * 1500) }, () => Math.floor(random() * 256)));
    for (let n = 0; n < valid.length; n++) cases.push(valid.subarray(0, n));
    for (let i = 0; i < 300; i++) {
      const flipped = Uint8Array.from(valid);
      flipped[Math.floor(random() * flipped.length)] = Math.floor(random() * 256);
      cases.push(flipped);
    }
    for (const bytes of cases) {
      let outcome = 'loaded';
      try {
        await inspectModel(bytes);
      } catch (err) {
        assert.ok(err instanceof Error && 'code' in err && typed.has(String(err.code)), `unexpected ${String(err)}`);
        outcome = String(err.code);
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    assert.equal(cases.length, 600 + valid.length);
    assert.ok(outcomes.INVALID_MODEL > 300, JSON.stringify(outcomes));
  });
});

describe('exportModelSpec against evaluateSpec', () => {
  // numeric and categorical columns interleaved, so the exported graph must reorder them (a Gather after the Concat)
  const columns: ColumnPrep[] = [
    { name: 'air_temperature', kind: 'numeric', impute: 300.1, center: 300, scale: 2.5 },
    { name: 'type', kind: 'categorical', categories: ['L', 'M', 'H'] },
    { name: 'torque', kind: 'numeric', impute: 40, center: 39.5, scale: 10 },
    { name: 'site', kind: 'categorical', categories: ['north', 'south'] },
    { name: 'wear', kind: 'numeric', impute: 0, center: 100, scale: 60 },
  ];
  const numericOf = (cols: ColumnPrep[]) => cols.filter((c) => c.kind === 'numeric') as Extract<ColumnPrep, { kind: 'numeric' }>[];

  /** Random rows: 10% missing numbers, categories including unknown ones and missing (null) values. */
  function randomInputs(random: () => number, cols: ColumnPrep[], n: number): SpecInputs {
    const numeric = numericOf(cols);
    const categorical: Record<string, (string | null)[]> = {};
    for (const c of cols)
      if (c.kind === 'categorical')
        categorical[c.name] = Array.from({ length: n }, () => [...c.categories, 'unknown', null][Math.floor(random() * (c.categories.length + 2))]);
    return {
      numeric: numeric.length
        ? Array.from({ length: n }, () => numeric.map((c) => (random() < 0.1 ? Number.NaN : c.center + (random() * 6 - 3) * c.scale)))
        : undefined,
      categorical,
    };
  }

  /** A random tree whose thresholds are values the rows really have (so some rows are exactly at a threshold). */
  function randomTree(random: () => number, xs: Float64Array[], depth: number): Tree {
    const t: Tree = { feature: [], threshold: [], left: [], right: [], missingLeft: [], value: [], cover: [] };
    const grow = (level: number): number => {
      const i = t.feature.length;
      t.feature.push(0);
      t.threshold.push(0);
      t.left.push(-1);
      t.right.push(-1);
      t.missingLeft.push(random() < 0.5);
      t.value.push(0);
      t.cover.push(1);
      if (level === depth || random() < 0.15) {
        t.value[i] = Math.round((random() * 2 - 1) * 1000) / 1000;
        return i;
      }
      const f = Math.floor(random() * xs[0].length);
      t.feature[i] = f;
      t.threshold[i] = xs[Math.floor(random() * xs.length)][f];
      t.left[i] = grow(level + 1);
      t.right[i] = grow(level + 1);
      return i;
    };
    grow(0);
    return t;
  }

  function estimator(random: () => number, kind: string, xs: Float64Array[]): { task: ModelSpec['task']; estimator: EstimatorSpec } {
    const width = xs[0].length;
    const row = () => Array.from({ length: width }, () => Math.round((random() * 2 - 1) * 1000) / 1000);
    const classes = ['ok', 'warn', 'fail'];
    const trees = (outputs: number) => Array.from({ length: 12 }, (_, i) => ({ tree: randomTree(random, xs, 4), output: i % outputs }));
    switch (kind) {
      case 'linear':
        return { task: 'REGRESSION', estimator: { kind: 'linear', coefficients: [row()], intercepts: [1.5] } };
      case 'logistic binary':
        return { task: 'CLASSIFICATION', estimator: { kind: 'logistic', coefficients: [row()], intercepts: [-0.25], classes: ['no', 'yes'] } };
      case 'logistic multiclass':
        return { task: 'CLASSIFICATION', estimator: { kind: 'logistic', coefficients: [row(), row(), row()], intercepts: [0.1, 0, -0.1], classes } };
      case 'trees regression':
        return { task: 'REGRESSION', estimator: { kind: 'trees', objective: 'regression', base: [12.5], trees: trees(1) } };
      case 'trees binary':
        return { task: 'CLASSIFICATION', estimator: { kind: 'trees', objective: 'binary', base: [-1.2], trees: trees(1), classes: ['0', '1'] } };
      default:
        return { task: 'CLASSIFICATION', estimator: { kind: 'trees', objective: 'multiclass', base: [0.2, -0.1, 0], trees: trees(3), classes } };
    }
  }

  /** The JSON inputs of an exported model for `inputs` (a missing category is fed as ''). */
  const jsonInputs = (inputs: SpecInputs) => ({
    ...(inputs.numeric ? { numeric: inputs.numeric.map((r) => Array.from(r, (v) => (Number.isNaN(v) ? null : v))) } : {}),
    ...Object.fromEntries(Object.entries(inputs.categorical ?? {}).map(([name, values]) => [name, Array.from(values, (v) => [v ?? ''])])),
  });

  /** Rows where some split of a tree compares a value exactly equal to its threshold. */
  function rowsAtThreshold(est: EstimatorSpec, xs: Float64Array[]): number {
    if (est.kind !== 'trees') return 0;
    return xs.filter((x) =>
      est.trees.some(({ tree }) => {
        let n = 0;
        while (tree.left[n] !== -1) {
          if (x[tree.feature[n]] === tree.threshold[n]) return true;
          n = x[tree.feature[n]] <= tree.threshold[n] ? tree.left[n] : tree.right[n];
        }
        return false;
      }),
    ).length;
  }

  const kinds = ['linear', 'logistic binary', 'logistic multiclass', 'trees regression', 'trees binary', 'trees multiclass'];
  const preps: [string, ColumnPrep[]][] = [
    ['numeric and categorical', columns],
    ['numeric only', numericOf(columns)],
    ['categorical only', columns.filter((c) => c.kind === 'categorical')],
  ];
  for (const kind of kinds)
    for (const [prepName, cols] of preps) {
      it(`${kind}, ${prepName}: onnxruntime's outputs equal evaluateSpec within 1e-5`, async () => {
        const random = seededRandom(kinds.indexOf(kind) * 10 + cols.length);
        const inputs = randomInputs(random, cols, 400);
        const prep = { columns: cols };
        const xs = expandInputs(prep, inputs);
        const spec: ModelSpec = { features: cols.map((c) => c.name), prep, ...estimator(random, kind, xs) };
        const bytes = exportModelSpec(spec, { 'plantgraph.trainer': 'test' });
        const info = await inspectModel(bytes);
        const numeric = numericOf(cols).length;
        assert.deepEqual(info.inputs, [
          ...(numeric ? [{ name: 'numeric', kind: 'tensor', type: 'float32', shape: ['N', numeric] }] : []),
          ...cols.filter((c) => c.kind === 'categorical').map((c) => ({ name: c.name, kind: 'tensor', type: 'string', shape: ['N', 1] })),
        ]);
        assert.deepEqual(info.opsets, [
          { domain: '', version: 17 },
          { domain: 'ai.onnx.ml', version: 3 },
        ]);
        assert.equal(info.metadata['plantgraph.trainer'], 'test');
        assert.equal(isBatchable(info), true);
        const out = await run(bytes, jsonToFeeds(jsonInputs(inputs), info, { allowNaN: true }));
        const expected = evaluateSpec(spec, inputs);
        if (expected.values) {
          assert.deepEqual(info.outputs, [{ name: 'value', kind: 'tensor', type: 'float32', shape: ['N', 1] }]);
          assertClose(out.value.data as Float32Array, expected.values, 1e-5, 'value');
        } else {
          const classes = spec.estimator.kind === 'linear' ? [] : (spec.estimator.classes ?? []);
          assert.deepEqual(info.outputs, [
            { name: 'label', kind: 'tensor', type: 'string', shape: ['N'] },
            { name: 'probabilities', kind: 'tensor', type: 'float32', shape: ['N', classes.length] },
          ]);
          assert.equal(info.metadata['plantgraph.classes'], JSON.stringify(classes));
          assertClose(
            out.probabilities.data as Float32Array,
            expected.probabilities!.flatMap((p) => Array.from(p)),
            1e-5,
            'probabilities',
          );
          const labels = expected.probabilities!.map((p) => classes[p.indexOf(Math.max(...p))]);
          assert.deepEqual(out.label.data, labels);
        }
        if (spec.estimator.kind === 'trees')
          assert.ok(rowsAtThreshold(spec.estimator, xs) >= 20, `only ${rowsAtThreshold(spec.estimator, xs)} rows at a threshold`);
      });
    }

  it('a row exactly at a threshold goes left, one float32 step above goes right, as in the evaluator', async () => {
    // x is fed as float32; the threshold is the standardised value of that float32, in double
    const cols: ColumnPrep[] = [{ name: 'x', kind: 'numeric', impute: 0, center: 0.1, scale: 3 }];
    const at = Math.fround(0.7);
    const above = at + 2 ** -24; // the next float32 after 0.7 (float32 steps are 2^-24 in [0.5, 1))
    assert.equal(Math.fround(above), above);
    const threshold = (at - 0.1) / 3;
    const tree: Tree = {
      feature: [0, 0, 0],
      threshold: [threshold, 0, 0],
      left: [1, -1, -1],
      right: [2, -1, -1],
      missingLeft: [true, false, false],
      value: [0, 1, 2],
      cover: [2, 1, 1],
    };
    const spec: ModelSpec = {
      task: 'REGRESSION',
      features: ['x'],
      prep: { columns: cols },
      estimator: { kind: 'trees', objective: 'regression', base: [0], trees: [{ tree, output: 0 }] },
    };
    const inputs = { numeric: [[at], [above], [Number.NaN]] };
    assert.deepEqual(Array.from(evaluateSpec(spec, inputs).values!), [1, 2, tree.value[treeLeaf(tree, [(0 - 0.1) / 3])]]);
    const bytes = exportModelSpec(spec);
    const out = await run(bytes, jsonToFeeds({ numeric: [[at], [above], [null]] }, await inspectModel(bytes), { allowNaN: true }));
    assert.deepEqual(Array.from(out.value.data as Float32Array), Array.from(evaluateSpec(spec, inputs).values!));
  });

  it('refuses an inconsistent spec with a ValidationError naming the fields', () => {
    const spec: ModelSpec = {
      task: 'CLASSIFICATION',
      features: ['a'],
      prep: { columns: [{ name: 'a', kind: 'numeric', impute: 0, center: 0, scale: 0 }] },
      estimator: { kind: 'logistic', coefficients: [[1, 2]], intercepts: [0], classes: ['x', 'x'] },
    };
    assert.throws(
      () => exportModelSpec(spec),
      (err: unknown) =>
        err instanceof ValidationError &&
        JSON.stringify(err.fieldErrors) ===
          JSON.stringify([
            { path: 'prep.columns[0].scale', message: 'must be finite and non-zero' },
            { path: 'estimator.classes', message: 'classes must be distinct' },
            { path: 'estimator.coefficients[0]', message: 'expected 1 finite values' },
          ]),
    );
  });
});

describe('batched inference', () => {
  it('one run over the concatenated rows of several callers, split back, equals each caller’s own run', async () => {
    const cols: ColumnPrep[] = [
      { name: 'a', kind: 'numeric', impute: 0, center: 1, scale: 2 },
      { name: 'kind', kind: 'categorical', categories: ['x', 'y'] },
    ];
    const random = seededRandom(5);
    const tree = (): Tree => ({
      feature: [0, 1, -1, -1, -1],
      threshold: [0.3, 0.5, 0, 0, 0],
      left: [1, 3, -1, -1, -1],
      right: [2, 4, -1, -1, -1],
      missingLeft: [false, false, false, false, false],
      value: [0, 0, random(), random(), random()],
      cover: [3, 2, 1, 1, 1],
    });
    const spec: ModelSpec = {
      task: 'CLASSIFICATION',
      features: ['a', 'kind'],
      prep: { columns: cols },
      estimator: {
        kind: 'trees',
        objective: 'multiclass',
        base: [0, 0, 0],
        trees: [0, 1, 2, 0, 1, 2].map((output) => ({ tree: tree(), output })),
        classes: ['p', 'q', 'r'],
      },
    };
    const bytes = exportModelSpec(spec);
    const info = await inspectModel(bytes);
    const callers = [1, 5, 3].map((n) =>
      jsonToFeeds({ numeric: Array.from({ length: n }, () => [random() * 4 - 1]), kind: Array.from({ length: n }, () => [random() < 0.5 ? 'x' : 'y']) }, info),
    );
    const { feeds, counts } = concatFeeds(callers);
    assert.deepEqual(counts, [1, 5, 3]);
    assert.deepEqual(feeds.numeric.dims, [9, 1]);
    const session = await loadSession(bytes);
    try {
      const parts = splitOutputs(await runSession(session, feeds), counts);
      for (const [i, part] of parts.entries()) {
        const alone = await runSession(session, callers[i]);
        assert.deepEqual(part.probabilities.dims, [counts[i], 3]);
        assert.deepEqual(Array.from(part.probabilities.data as Float32Array), Array.from(alone.probabilities.data as Float32Array));
        assert.deepEqual(part.label.data, alone.label.data);
      }
    } finally {
      await session.release();
    }
  });

  it('splits the multi-input model’s int64, float and string feeds the same way', async () => {
    const bytes = multiInputModel();
    const info = await inspectModel(bytes);
    const one = jsonToFeeds({ count: [[4]], temps: [[1, 2]], site: [['b']] }, info);
    const two = jsonToFeeds(
      {
        count: [[1], [2]],
        temps: [
          [0, 0],
          [0.5, 0.5],
        ],
        site: [['a'], ['zzz']],
      },
      info,
    );
    const { feeds, counts } = concatFeeds([one, two]);
    const [a, b] = splitOutputs(await run(bytes, feeds), counts);
    assert.deepEqual(Array.from(a.y.data as Float32Array), [27]);
    assert.deepEqual(Array.from(b.y.data as Float32Array), [11, 2]);
    const fixedBatch = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [node('Relu', ['x'], ['y'])],
        input: [tensorValueInfo('x', DataType.FLOAT, [1, 2])],
        output: [tensorValueInfo('y', DataType.FLOAT, [1, 2])],
      },
    });
    assert.equal(isBatchable(await inspectModel(fixedBatch)), false);
  });
});
