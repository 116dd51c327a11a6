/**
 * sklearn-onnx classifiers end in an ai.onnx.ml ZipMap: `output_probability` is a sequence of maps (class label ->
 * probability), which onnxruntime-node cannot return. The rewrite removes each ZipMap that produces a graph output
 * and exposes its input, the [N, K] float probability tensor, as the output `probabilities` (spec.ts), with the
 * class labels in metadata_props `plantgraph.classes`. The label output (`output_label`) is left as it is.
 */
import { ONNX_CLASSES_METADATA, ONNX_PROBABILITIES_OUTPUT } from '../spec.ts';
import { parseModel } from './inspect.ts';
import { DataType, type Dim, decodeText, dimOf, encodeModel, type Int64, node, type OnnxTypes, setMetadata, tensorValueInfo } from './proto.ts';

export interface ZipMapRewrite {
  bytes: Uint8Array;
  /** The class labels of the (first) ZipMap as strings, in probability column order; null without a ZipMap. */
  classes: string[] | null;
  /** The outputs replaced: `from` the ZipMap's output `to` the tensor output. Empty when the model came back unchanged. */
  replaced: { from: string; to: string }[];
}

const int64Text = (v: Int64): string => (typeof v === 'number' ? String(v) : v.toString());

function classesOf(zipMap: OnnxTypes.INodeProto): string[] {
  const attr = (name: string) => zipMap.attribute?.find((a) => a.name === name);
  const strings = attr('classlabels_strings')?.strings;
  if (strings?.length) return strings.map(decodeText);
  return (attr('classlabels_int64s')?.ints ?? []).map(int64Text);
}

/** Every value name the graph defines or uses. */
function valueNames(graph: OnnxTypes.GraphProto): Set<string> {
  const names = new Set<string>();
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) names.add(v.name ?? '');
  for (const t of graph.initializer) names.add(t.name ?? '');
  for (const n of graph.node) for (const x of [...(n.input ?? []), ...(n.output ?? [])]) names.add(x);
  return names;
}

/** The batch dimension to declare for the probabilities: that of the ZipMap's input if known, else of the first input. */
function batchDim(graph: OnnxTypes.GraphProto, source: string): Dim {
  const declared = [...graph.valueInfo, ...graph.input].find((v) => v.name === source) ?? graph.input[0];
  const d = declared?.type?.tensorType?.shape?.dim?.[0];
  return d ? dimOf(d) : null;
}

/** `bytes` with every ZipMap graph output replaced by its probability tensor; INVALID_MODEL for bytes that are not a model. */
export function rewriteZipMap(bytes: Uint8Array): ZipMapRewrite {
  const model = parseModel(bytes);
  const graph = model.graph as OnnxTypes.GraphProto;
  const outputs = new Set(graph.output.map((o) => o.name));
  const consumed = new Set(graph.node.flatMap((n) => n.input ?? []));
  const zipMaps = graph.node.filter(
    (n) => n.opType === 'ZipMap' && n.domain === 'ai.onnx.ml' && n.output?.length === 1 && outputs.has(n.output[0]) && !consumed.has(n.output[0]),
  );
  if (zipMaps.length === 0) return { bytes, classes: null, replaced: [] };

  const taken = valueNames(graph);
  const replaced: { from: string; to: string }[] = [];
  let classes: string[] | null = null;
  for (const [i, zipMap] of zipMaps.entries()) {
    const from = zipMap.output![0];
    const source = zipMap.input![0];
    const labels = classesOf(zipMap);
    classes ??= labels;
    let to = i === 0 ? ONNX_PROBABILITIES_OUTPUT : `${ONNX_PROBABILITIES_OUTPUT}_${i}`;
    // the ZipMap's input may already carry the name; otherwise expose it under the name through an Identity
    if (to !== source) {
      while (taken.has(to)) to = `${to}_`;
      graph.node.push(node('Identity', [source], [to], {}, '', `plantgraph_${to}`));
    }
    taken.add(to);
    graph.node.splice(graph.node.indexOf(zipMap), 1);
    const at = graph.output.findIndex((o) => o.name === from);
    graph.output[at] = tensorValueInfo(to, DataType.FLOAT, [batchDim(graph, source), labels.length || null]) as OnnxTypes.ValueInfoProto;
    graph.valueInfo = graph.valueInfo.filter((v) => v.name !== from);
    replaced.push({ from, to });
  }
  setMetadata(model, ONNX_CLASSES_METADATA, JSON.stringify(classes));
  return { bytes: encodeModel(model), classes, replaced };
}
