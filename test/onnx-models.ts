// ONNX models built by hand for test/onnx.test.ts, shaped the way sklearn-onnx (skl2onnx) emits them: input `X` float
// [None, F], the estimator node of ai.onnx.ml, then for classifiers Cast (int labels) or Identity (string labels) to
// `output_label` and ZipMap to `output_probability`, a sequence of maps (see skl2onnx/operator_converters/
// linear_classifier.py, zip_map.py and the parser's _apply_zipmap).
import { type AttributeValue, DataType, encodeModel, node, type OnnxTypes, tensorValueInfo } from '../src/predict/onnx/proto.ts';

/** skl2onnx declares the batch dimension as None: a dimension with neither a value nor a name. */
const X = (features: number) => tensorValueInfo('X', DataType.FLOAT, [null, features]);

const zipMapOutput = (keyType: number): OnnxTypes.IValueInfoProto => ({
  name: 'output_probability',
  type: { sequenceType: { elemType: { mapType: { keyType, valueType: { tensorType: { elemType: DataType.FLOAT } } } } } },
});

export function sklearnModel(nodes: OnnxTypes.INodeProto[], inputs: OnnxTypes.IValueInfoProto[], outputs: OnnxTypes.IValueInfoProto[]): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsetImport: [
      { domain: 'ai.onnx.ml', version: 1 },
      { domain: '', version: 15 },
    ],
    producerName: 'skl2onnx',
    producerVersion: '1.16.0',
    domain: 'ai.onnx',
    modelVersion: 0,
    docString: '',
    graph: { name: '3c59201b940f410fa29dc71ea9d5767d', node: nodes, input: inputs, output: outputs },
  });
}

/** LinearRegression: LinearRegressor(X) -> variable [None, 1]. */
export function sklearnLinearRegression(coefficients: number[], intercept: number): Uint8Array {
  return sklearnModel(
    [
      node(
        'LinearRegressor',
        ['X'],
        ['variable'],
        { coefficients: { floats: coefficients }, intercepts: { floats: [intercept] } },
        'ai.onnx.ml',
        'LinearRegressor',
      ),
    ],
    [X(coefficients.length)],
    [tensorValueInfo('variable', DataType.FLOAT, [null, 1])],
  );
}

type Labels = { ints: number[] } | { strings: string[] };

/** The label and ZipMap tail skl2onnx appends to a classifier producing `label` and `probabilities`. */
function classifierTail(labels: Labels): { nodes: OnnxTypes.INodeProto[]; outputs: OnnxTypes.IValueInfoProto[] } {
  if ('ints' in labels)
    return {
      nodes: [
        node('Cast', ['label'], ['output_label'], { to: DataType.INT64 }, '', 'Cast'),
        node('ZipMap', ['probabilities'], ['output_probability'], { classlabels_int64s: { ints: labels.ints } }, 'ai.onnx.ml', 'ZipMap'),
      ],
      outputs: [tensorValueInfo('output_label', DataType.INT64, [null]), zipMapOutput(DataType.INT64)],
    };
  return {
    nodes: [
      node('Identity', ['label'], ['output_label'], {}, '', 'Identity'),
      node('ZipMap', ['probabilities'], ['output_probability'], { classlabels_strings: labels.strings }, 'ai.onnx.ml', 'ZipMap'),
    ],
    outputs: [tensorValueInfo('output_label', DataType.STRING, [null]), zipMapOutput(DataType.STRING)],
  };
}

/** LinearClassifier names its integer labels classlabels_ints, TreeEnsembleClassifier classlabels_int64s. */
const classLabelsAttribute = (labels: Labels, intsName = 'classlabels_ints'): Record<string, AttributeValue> =>
  'ints' in labels ? { [intsName]: { ints: labels.ints } } : { classlabels_strings: labels.strings };

/**
 * LogisticRegression. Binary: skl2onnx writes the coefficients as [-w, w] and intercepts [-b, b] with LOGISTIC, so
 * the two scores are sigmoid(-s) and sigmoid(s). Multinomial: multi_class=1, SOFTMAX. One-vs-rest: LOGISTIC per class
 * followed by Normalizer(L1) so the probabilities add up to 1.
 */
export function sklearnLogisticRegression(weights: number[][], intercepts: number[], labels: Labels, mode: 'binary' | 'multinomial' | 'ovr'): Uint8Array {
  const flat = mode === 'binary' ? [...weights[0].map((w) => -w), ...weights[0]] : weights.flat();
  const b = mode === 'binary' ? [-intercepts[0], intercepts[0]] : intercepts;
  const attrs = {
    ...classLabelsAttribute(labels),
    coefficients: { floats: flat },
    intercepts: { floats: b },
    multi_class: mode === 'multinomial' ? 1 : 0,
    post_transform: mode === 'multinomial' ? 'SOFTMAX' : 'LOGISTIC',
  };
  const scores = mode === 'ovr' ? 'probability_tensor' : 'probabilities';
  const nodes = [node('LinearClassifier', ['X'], ['label', scores], attrs, 'ai.onnx.ml', 'LinearClassifier')];
  if (mode === 'ovr') nodes.push(node('Normalizer', ['probability_tensor'], ['probabilities'], { norm: 'L1' }, 'ai.onnx.ml', 'Normalizer'));
  const tail = classifierTail(labels);
  return sklearnModel([...nodes, ...tail.nodes], [X(weights[0].length)], tail.outputs);
}

/** A decision tree as sklearn stores it: children -1 at leaves, and per node the fraction of each class. */
export interface SklearnTree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  /** Per node, the class proportions (used at leaves). */
  proportions: number[][];
}

/**
 * RandomForestClassifier: one TreeEnsembleClassifier over all trees, BRANCH_LEQ, and at every leaf one class weight
 * per class, the leaf's class proportion divided by the number of trees (so the probabilities are their average).
 */
export function sklearnRandomForest(trees: SklearnTree[], features: number, labels: Labels): Uint8Array {
  const a = {
    nodes_treeids: [] as number[],
    nodes_nodeids: [] as number[],
    nodes_featureids: [] as number[],
    nodes_modes: [] as string[],
    nodes_values: [] as number[],
    nodes_truenodeids: [] as number[],
    nodes_falsenodeids: [] as number[],
    nodes_hitrates: [] as number[],
    nodes_missing_value_tracks_true: [] as number[],
    class_treeids: [] as number[],
    class_nodeids: [] as number[],
    class_ids: [] as number[],
    class_weights: [] as number[],
  };
  trees.forEach((t, ti) => {
    for (let i = 0; i < t.feature.length; i++) {
      const leaf = t.left[i] === -1;
      a.nodes_treeids.push(ti);
      a.nodes_nodeids.push(i);
      a.nodes_featureids.push(leaf ? 0 : t.feature[i]);
      a.nodes_modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      a.nodes_values.push(leaf ? 0 : t.threshold[i]);
      a.nodes_truenodeids.push(leaf ? 0 : t.left[i]);
      a.nodes_falsenodeids.push(leaf ? 0 : t.right[i]);
      a.nodes_hitrates.push(1);
      a.nodes_missing_value_tracks_true.push(0);
      if (leaf)
        t.proportions[i].forEach((p, k) => {
          a.class_treeids.push(ti);
          a.class_nodeids.push(i);
          a.class_ids.push(k);
          a.class_weights.push(p / trees.length);
        });
    }
  });
  const ints = (v: number[]) => ({ ints: v });
  const attrs = {
    ...classLabelsAttribute(labels, 'classlabels_int64s'),
    nodes_treeids: ints(a.nodes_treeids),
    nodes_nodeids: ints(a.nodes_nodeids),
    nodes_featureids: ints(a.nodes_featureids),
    nodes_modes: a.nodes_modes,
    nodes_values: { floats: a.nodes_values },
    nodes_truenodeids: ints(a.nodes_truenodeids),
    nodes_falsenodeids: ints(a.nodes_falsenodeids),
    nodes_hitrates: { floats: a.nodes_hitrates },
    nodes_missing_value_tracks_true: ints(a.nodes_missing_value_tracks_true),
    class_treeids: ints(a.class_treeids),
    class_nodeids: ints(a.class_nodeids),
    class_ids: ints(a.class_ids),
    class_weights: { floats: a.class_weights },
    post_transform: 'NONE',
  };
  const tail = classifierTail(labels);
  return sklearnModel(
    [node('TreeEnsembleClassifier', ['X'], ['label', 'probabilities'], attrs, 'ai.onnx.ml', 'TreeEnsembleClassifier'), ...tail.nodes],
    [X(features)],
    tail.outputs,
  );
}

/**
 * Several named inputs of different types and a dynamic batch dimension `batch`:
 * y = count (int64 [batch, 1], cast to float) + temps[0] + temps[1] (float [batch, 2]) + siteValue(site) (string
 * [batch, 1] mapped by LabelEncoder: a -> 10, b -> 20, anything else -> -1), as float [batch, 1].
 */
export function multiInputModel(): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 2 },
    ],
    producerName: 'hand',
    graph: {
      name: 'multi',
      node: [
        node('Cast', ['count'], ['count_f'], { to: DataType.FLOAT }),
        node('ReduceSum', ['temps', 'axes'], ['temps_sum'], { keepdims: 1 }),
        node(
          'LabelEncoder',
          ['site'],
          ['site_f'],
          { keys_strings: ['a', 'b'], values_floats: { floats: [10, 20] }, default_float: { float: -1 } },
          'ai.onnx.ml',
        ),
        node('Add', ['count_f', 'temps_sum'], ['partial']),
        node('Add', ['partial', 'site_f'], ['y']),
      ],
      initializer: [{ name: 'axes', dataType: DataType.INT64, dims: [1], int64Data: [1] }],
      input: [
        tensorValueInfo('count', DataType.INT64, ['batch', 1]),
        tensorValueInfo('temps', DataType.FLOAT, ['batch', 2]),
        tensorValueInfo('site', DataType.STRING, ['batch', 1]),
      ],
      output: [tensorValueInfo('y', DataType.FLOAT, ['batch', 1])],
    },
  });
}
