/**
 * A ModelSpec as an ONNX model with the fixed interface of spec.ts (opsets ai.onnx 17 and ai.onnx.ml 3, IR 8):
 *   numeric float32 [N, n] -> Cast(double) -> Where(IsNaN, impute) -> Sub(center) -> Div(scale)
 *   each categorical string [N, 1] -> OneHotEncoder(zeros=1: unknown is all zeros) -> Reshape [N, K] -> Cast(double)
 *   -> Concat (and a Gather putting the columns in prep order when numeric and categorical columns interleave)
 *   -> linear / logistic: MatMul + Add in double; trees: TreeEnsembleRegressor on the double tensor
 *   -> `value` [N, 1], or Sigmoid / Softmax -> `probabilities` [N, K] and ArgMax -> Gather(classes) -> `label` [N].
 * Everything after the input runs in double, so trees compare in double (see evaluate-spec.ts).
 */
import { classesOf, checkSpec, INTERNAL_PREFIX, scoreCount } from './check-spec.ts';
import { treeEnsembleAttributes } from './export-trees.ts';
import { DataType, doubleTensor, encodeModel, int64Tensor, node, type OnnxTypes, stringTensor, tensorValueInfo } from './proto.ts';
import {
  ONNX_CLASSES_METADATA,
  ONNX_LABEL_OUTPUT,
  ONNX_NUMERIC_INPUT,
  ONNX_PROBABILITIES_OUTPUT,
  ONNX_VALUE_OUTPUT,
  type ColumnPrep,
  type ModelSpec,
} from '../spec.ts';

export const EXPORT_OPSETS = [
  { domain: '', version: 17 },
  { domain: 'ai.onnx.ml', version: 3 },
];
export const EXPORT_PRODUCER = 'plantgraph';
/** Bumped when the exported graph changes. */
export const EXPORT_PRODUCER_VERSION = '1';

const BATCH = 'N';

class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private count = 0;
  name(hint: string): string {
    return `${INTERNAL_PREFIX}${hint}_${this.count++}`;
  }
  /** Adds a node; returns its (first) output. */
  add(op: string, input: string[], attrs: Parameters<typeof node>[3] = {}, output = this.name(op.toLowerCase()), domain = ''): string {
    this.nodes.push(node(op, input, [output], attrs, domain));
    return output;
  }
  constant(tensor: OnnxTypes.ITensorProto, hint = 'const'): string {
    const name = this.name(hint);
    this.initializers.push({ ...tensor, name });
    return name;
  }
  doubles(values: number[], dims = [values.length]): string {
    return this.constant(doubleTensor('', dims, values));
  }
}

type Numeric = Extract<ColumnPrep, { kind: 'numeric' }>;

/** The estimator input x (double [N, D]) from the graph inputs. */
function preprocess(g: GraphBuilder, columns: ColumnPrep[], inputs: OnnxTypes.IValueInfoProto[]): string {
  const numeric = columns.filter((c): c is Numeric => c.kind === 'numeric');
  const parts: string[] = [];
  if (numeric.length > 0) {
    inputs.push(tensorValueInfo(ONNX_NUMERIC_INPUT, DataType.FLOAT, [BATCH, numeric.length]));
    const x = g.add('Cast', [ONNX_NUMERIC_INPUT], { to: DataType.DOUBLE });
    const filled = g.add('Where', [g.add('IsNaN', [x]), g.doubles(numeric.map((c) => c.impute)), x]);
    const centered = g.add('Sub', [filled, g.doubles(numeric.map((c) => c.center))]);
    parts.push(g.add('Div', [centered, g.doubles(numeric.map((c) => c.scale))]));
  }
  for (const c of columns) {
    if (c.kind !== 'categorical') continue;
    inputs.push(tensorValueInfo(c.name, DataType.STRING, [BATCH, 1]));
    const oneHot = g.add('OneHotEncoder', [c.name], { cats_strings: c.categories, zeros: 1 }, undefined, 'ai.onnx.ml');
    const flat = g.add('Reshape', [oneHot, g.constant(int64Tensor('', [2], [-1, c.categories.length]))]);
    parts.push(g.add('Cast', [flat], { to: DataType.DOUBLE }));
  }
  const x = parts.length === 1 ? parts[0] : g.add('Concat', parts, { axis: 1 });
  // the concatenation holds the numeric columns first, then the categorical ones; put them in prep order
  const position: number[] = [];
  let numericAt = 0;
  let categoricalAt = numeric.length;
  for (const c of columns) {
    if (c.kind === 'numeric') position.push(numericAt++);
    else for (let k = 0; k < c.categories.length; k++) position.push(categoricalAt++);
  }
  if (position.every((p, i) => p === i)) return x;
  return g.add('Gather', [x, g.constant(int64Tensor('', [position.length], position))], { axis: 1 });
}

/** The estimator's margins, double [N, S]. */
function margins(g: GraphBuilder, spec: ModelSpec, x: string): string {
  const est = spec.estimator;
  if (est.kind === 'trees') {
    const scores = g.add('TreeEnsembleRegressor', [x], treeEnsembleAttributes(est, scoreCount(spec)), undefined, 'ai.onnx.ml');
    return g.add('Cast', [scores], { to: DataType.DOUBLE });
  }
  const width = est.coefficients[0].length;
  // W^T: [D, S]
  const w = est.coefficients;
  const transposed = Array.from({ length: width * w.length }, (_, i) => w[i % w.length][Math.floor(i / w.length)]);
  return g.add('Add', [g.add('MatMul', [x, g.doubles(transposed, [width, w.length])]), g.doubles(est.intercepts)]);
}

function classifierOutputs(g: GraphBuilder, m: string, classes: string[]): void {
  let probabilities: string;
  if (classes.length === 2) {
    const p1 = g.add('Sigmoid', [m]);
    probabilities = g.add('Concat', [g.add('Sub', [g.doubles([1], []), p1]), p1], { axis: 1 });
  } else {
    probabilities = g.add('Softmax', [m], { axis: 1 });
  }
  g.add('Cast', [probabilities], { to: DataType.FLOAT }, ONNX_PROBABILITIES_OUTPUT);
  const best = g.add('ArgMax', [probabilities], { axis: 1, keepdims: 0 });
  g.add('Gather', [g.constant(stringTensor('', [classes.length], classes)), best], { axis: 0 }, ONNX_LABEL_OUTPUT);
}

/** The ONNX bytes of `spec` (ValidationError when the spec is inconsistent). `metadata` goes to metadata_props. */
export function exportModelSpec(spec: ModelSpec, metadata: Record<string, string> = {}): Uint8Array {
  checkSpec(spec);
  const g = new GraphBuilder();
  const inputs: OnnxTypes.IValueInfoProto[] = [];
  const m = margins(g, spec, preprocess(g, spec.prep.columns, inputs));
  const classes = classesOf(spec);
  const props = { ...metadata };
  let outputs: OnnxTypes.IValueInfoProto[];
  if (classes) {
    classifierOutputs(g, m, classes);
    outputs = [
      tensorValueInfo(ONNX_LABEL_OUTPUT, DataType.STRING, [BATCH]),
      tensorValueInfo(ONNX_PROBABILITIES_OUTPUT, DataType.FLOAT, [BATCH, classes.length]),
    ];
    props[ONNX_CLASSES_METADATA] = JSON.stringify(classes);
  } else {
    g.add('Cast', [m], { to: DataType.FLOAT }, ONNX_VALUE_OUTPUT);
    outputs = [tensorValueInfo(ONNX_VALUE_OUTPUT, DataType.FLOAT, [BATCH, 1])];
  }
  return encodeModel({
    irVersion: 8,
    opsetImport: EXPORT_OPSETS,
    producerName: EXPORT_PRODUCER,
    producerVersion: EXPORT_PRODUCER_VERSION,
    graph: { name: `plantgraph_${spec.task.toLowerCase()}`, node: g.nodes, initializer: g.initializers, input: inputs, output: outputs },
    metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })),
  });
}
