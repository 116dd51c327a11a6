/**
 * What a model is, checked the way serving will use it: the bytes are parsed as an ONNX ModelProto, every operator is
 * checked against the domains onnxruntime implements, and the model is loaded by onnxruntime. Any bytes give either
 * a ModelInfo or one of the typed errors of ../errors.ts, never another exception.
 */
import * as ort from 'onnxruntime-node';
import { InvalidModelError, ModelLoadError, ModelTooLargeError, UnsupportedOperatorError } from '../errors.ts';
import { type Dim, dimOf, metadataOf, onnx, type OnnxTypes, toNumber } from './proto.ts';

export const DEFAULT_MAX_MODEL_BYTES = 100 * 1024 * 1024;

export interface ValueInfo {
  name: string;
  kind: 'tensor' | 'sequence' | 'map' | 'optional' | 'sparse_tensor' | 'unknown';
  /**
   * A tensor's element type in onnxruntime's names (float32, float64, int64, int32, bool, string, ...); for other
   * kinds a description such as `seq(map(int64,tensor(float32)))`.
   */
  type: string;
  /** A tensor's dimensions (a size, a symbolic name, or null when unknown); null when its rank is unknown or not a tensor. */
  shape: Dim[] | null;
}

export interface ModelInfo {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  metadata: Record<string, string>;
  /** The inputs a caller feeds (initializers that are also graph inputs are left out, as onnxruntime does). */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Some output is not a tensor (e.g. sklearn-onnx's ZipMap): onnxruntime-node cannot return it. */
  hasNonTensorOutputs: boolean;
  sizeBytes: number;
}

export interface LoadOptions {
  maxBytes?: number;
  session?: ort.InferenceSession.SessionOptions;
}

const ELEMENT_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

export const elementTypeName = (elemType: number | null | undefined): string => ELEMENT_TYPES[elemType ?? 0] ?? `type ${elemType ?? 0}`;

/** The domains onnxruntime's CPU build registers kernels for ('' is ai.onnx). */
const RUNTIME_DOMAINS = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'com.microsoft',
  'com.microsoft.nchwc',
  'com.microsoft.experimental',
  'ai.onnx.preview.training',
]);

function checkSize(bytes: Uint8Array, maxBytes = DEFAULT_MAX_MODEL_BYTES): void {
  if (bytes.byteLength > maxBytes) throw new ModelTooLargeError(maxBytes, bytes.byteLength);
}

/** The ModelProto in `bytes`, or INVALID_MODEL when they are empty, not a ModelProto, truncated or have no graph. */
export function parseModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  if (!(bytes instanceof Uint8Array)) throw new InvalidModelError('expected bytes');
  if (bytes.byteLength === 0) throw new InvalidModelError('the file is empty');
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InvalidModelError(`the bytes are not an ONNX protobuf, or are truncated (${err instanceof Error ? err.message : String(err)})`);
  }
  const graph = model.graph as OnnxTypes.GraphProto | null;
  if (toNumber(model.irVersion) < 3) throw new InvalidModelError(`ir_version ${toNumber(model.irVersion)} is missing or too old`);
  if (model.opsetImport.length === 0) throw new InvalidModelError('the model imports no opset');
  if (!graph) throw new InvalidModelError('the model has no graph');
  if (graph.node.length === 0) throw new InvalidModelError('the graph has no nodes');
  if (graph.output.length === 0) throw new InvalidModelError('the graph has no outputs');
  return model;
}

function* nodesOf(graph: OnnxTypes.IGraphProto): Generator<OnnxTypes.INodeProto> {
  for (const n of graph.node ?? []) {
    yield n;
    for (const a of n.attribute ?? []) {
      if (a.g) yield* nodesOf(a.g);
      for (const g of a.graphs ?? []) yield* nodesOf(g);
    }
  }
}

/** UNSUPPORTED_OPERATOR for the first node in a domain onnxruntime has no kernels for (model-local functions count). */
function checkDomains(model: OnnxTypes.ModelProto): void {
  const functions = new Set((model.functions ?? []).map((f) => `${f.domain ?? ''}\u0000${f.name ?? ''}`));
  for (const n of nodesOf(model.graph!)) {
    const domain = n.domain ?? '';
    if (!RUNTIME_DOMAINS.has(domain) && !functions.has(`${domain}\u0000${n.opType ?? ''}`)) throw new UnsupportedOperatorError(n.opType ?? '', domain);
  }
}

/** onnxruntime's message without the C++ source location and function signature it sometimes starts with. */
function runtimeMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/^\S+\.(?:h|cc|cpp):\d+ .*?\)\s+(?=[A-Z])/s, '').replace(/\u001b\[[0-9;]*m/g, '');
}

function loadError(err: unknown, model: OnnxTypes.ModelProto): Error {
  const message = runtimeMessage(err);
  const domainOf = (op: string) => [...nodesOf(model.graph!)].find((n) => n.opType === op)?.domain ?? '';
  let m = /(\S*):(\w+)\(-?\d+\) is not a registered function\/op/.exec(message);
  if (m) return new UnsupportedOperatorError(m[2], m[1], message);
  m = /No Op registered for (\w+) with domain_version of (\d+)/.exec(message);
  if (m) return new UnsupportedOperatorError(m[1], domainOf(m[1]), message);
  m = /Could not find an implementation for (\w+)\(\d+\)/.exec(message);
  if (m) return new UnsupportedOperatorError(m[1], domainOf(m[1]), message);
  return new ModelLoadError(message);
}

async function openSession(bytes: Uint8Array, model: OnnxTypes.ModelProto, options?: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  checkDomains(model);
  try {
    return await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, ...options });
  } catch (err) {
    throw loadError(err, model);
  }
}

/** An onnxruntime session for `bytes`, with the typed errors of inspectModel. */
export async function loadSession(bytes: Uint8Array, options: LoadOptions = {}): Promise<ort.InferenceSession> {
  checkSize(bytes, options.maxBytes);
  return openSession(bytes, parseModel(bytes), options.session);
}

function describeType(type: OnnxTypes.ITypeProto | null | undefined): Omit<ValueInfo, 'name'> {
  if (type?.tensorType) {
    const dims = type.tensorType.shape?.dim;
    const shape = dims ? dims.map(dimOf) : null;
    return { kind: 'tensor', type: elementTypeName(type.tensorType.elemType), shape };
  }
  const inner = (t: OnnxTypes.ITypeProto | null | undefined) => {
    const d = describeType(t);
    return d.kind === 'tensor' ? `tensor(${d.type})` : d.type;
  };
  if (type?.sequenceType) return { kind: 'sequence', type: `seq(${inner(type.sequenceType.elemType)})`, shape: null };
  if (type?.mapType) return { kind: 'map', type: `map(${elementTypeName(type.mapType.keyType)},${inner(type.mapType.valueType)})`, shape: null };
  if (type?.optionalType) return { kind: 'optional', type: `optional(${inner(type.optionalType.elemType)})`, shape: null };
  if (type?.sparseTensorType) return { kind: 'sparse_tensor', type: `sparse_tensor(${elementTypeName(type.sparseTensorType.elemType)})`, shape: null };
  return { kind: 'unknown', type: 'unknown', shape: null };
}

export const valueInfo = (v: OnnxTypes.IValueInfoProto): ValueInfo => ({ name: v.name ?? '', ...describeType(v.type) });

/**
 * Parses, checks and loads `bytes` in onnxruntime (then releases the session) and describes the model. Errors:
 * MODEL_TOO_LARGE, INVALID_MODEL, UNSUPPORTED_OPERATOR, MODEL_LOAD_FAILED.
 */
export async function inspectModel(bytes: Uint8Array, options: LoadOptions = {}): Promise<ModelInfo> {
  checkSize(bytes, options.maxBytes);
  const model = parseModel(bytes);
  const session = await openSession(bytes, model, options.session);
  try {
    const graph = model.graph as OnnxTypes.GraphProto;
    const fed = new Set(session.inputNames);
    const outputs = graph.output.map(valueInfo);
    return {
      irVersion: toNumber(model.irVersion),
      opsets: model.opsetImport.map((o) => ({ domain: o.domain ?? '', version: toNumber(o.version) })),
      producerName: model.producerName ?? '',
      producerVersion: model.producerVersion ?? '',
      metadata: metadataOf(model),
      inputs: graph.input.filter((v) => fed.has(v.name ?? '')).map(valueInfo),
      outputs,
      hasNonTensorOutputs: outputs.some((o) => o.kind !== 'tensor'),
      sizeBytes: bytes.byteLength,
    };
  } finally {
    await session.release();
  }
}
