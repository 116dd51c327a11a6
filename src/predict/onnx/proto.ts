/**
 * ONNX protobufs through onnx-proto (protobufjs code generated from onnx.proto of ONNX 1.10, IR version 8), plus the
 * few builders the exporter, the ZipMap rewrite and the tests share. onnx-proto is CommonJS, so Node's ESM loader
 * offers only its default export: `import { onnx } from 'onnx-proto'` fails at run time.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type { OnnxTypes };

export const DataType = onnx.TensorProto.DataType;
export const AttributeType = onnx.AttributeProto.AttributeType;

/** An int64 field as decoded by protobufjs: a number, or a Long when long.js is installed. */
export type Int64 = number | { toNumber(): number };

export function toNumber(value: Int64 | null | undefined): number {
  if (value == null) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** A dimension: a fixed size, a symbolic name, or null (unknown). */
export type Dim = number | string | null;

/** A decoded Dimension tells which of its oneof fields was set (`value`); an unset dimension is unknown. */
export function dimOf(d: OnnxTypes.TensorShapeProto.IDimension): Dim {
  if (d.dimParam) return d.dimParam;
  const set = 'value' in d ? (d as OnnxTypes.TensorShapeProto.Dimension).value === 'dimValue' : d.dimValue != null;
  return set ? toNumber(d.dimValue) : null;
}

export function tensorValueInfo(name: string, elemType: number, dims: Dim[] | null): OnnxTypes.IValueInfoProto {
  const shape = dims === null ? undefined : { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) };
  return { name, type: { tensorType: { elemType, shape } } };
}

const utf8 = new TextEncoder();
export const encodeText = (text: string): Uint8Array => utf8.encode(text);
const utf8Decoder = new TextDecoder();
export const decodeText = (bytes: Uint8Array | null | undefined): string => (bytes ? utf8Decoder.decode(bytes) : '');

export type AttributeValue = number | string | number[] | string[] | OnnxTypes.ITensorProto | { ints: number[] } | { floats: number[] } | { float: number };

/**
 * An attribute from a plain value: an integer number is INT and a fractional one FLOAT, a number array FLOATS (use
 * `{ ints }` for INTS, `{ floats }` to force FLOATS and `{ float }` FLOAT), a string STRING, a string array STRINGS, a
 * TensorProto TENSOR.
 */
export function attribute(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  if (typeof value === 'number') return Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: encodeText(value) };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return { name, type: AttributeType.STRINGS, strings: (value as string[]).map(encodeText) };
    return { name, type: AttributeType.FLOATS, floats: value as number[] };
  }
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints };
  if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: value.floats };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.TENSOR, t: value };
}

export function node(
  opType: string,
  input: string[],
  output: string[],
  attributes: Record<string, AttributeValue> = {},
  domain = '',
  name?: string,
): OnnxTypes.INodeProto {
  return {
    opType,
    domain,
    name: name ?? `${opType}_${output[0]}`,
    input,
    output,
    attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
  };
}

export function doubleTensor(name: string, dims: number[], values: ArrayLike<number>): OnnxTypes.ITensorProto {
  return { name, dataType: DataType.DOUBLE, dims, doubleData: Array.from(values) };
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): OnnxTypes.ITensorProto {
  return { name, dataType: DataType.FLOAT, dims, floatData: Array.from(values) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): OnnxTypes.ITensorProto {
  return { name, dataType: DataType.INT64, dims, int64Data: values };
}

export function stringTensor(name: string, dims: number[], values: string[]): OnnxTypes.ITensorProto {
  return { name, dataType: DataType.STRING, dims, stringData: values.map(encodeText) };
}

export function encodeModel(model: OnnxTypes.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** The metadata_props of a model as a record (a repeated key keeps its last value). */
export function metadataOf(model: OnnxTypes.IModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? '';
  return out;
}

/** `model` with the metadata key set (replacing an existing entry). */
export function setMetadata(model: OnnxTypes.IModelProto, key: string, value: string): void {
  model.metadataProps = [...(model.metadataProps ?? []).filter((p) => p.key !== key), { key, value }];
}
