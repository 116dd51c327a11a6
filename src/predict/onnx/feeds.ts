/**
 * API input as onnxruntime feeds, checked against the model's inputs (inspect.ts) first: any mismatch is an
 * INPUT_MISMATCH listing each problem with its path (`rows[2]`, `inputs.age[3][0]`), so onnxruntime never sees a
 * feed it would refuse.
 */
import * as ort from 'onnxruntime-node';
import { echo, Problems } from '../../core/errors.ts';
import { InputMismatchError } from '../errors.ts';
import type { ModelInfo, ValueInfo } from './inspect.ts';
import type { Dim } from './proto.ts';

export type Feeds = Record<string, ort.Tensor>;

export interface FeedOptions {
  /**
   * NaN (and null in JSON) is accepted in float inputs as a missing value, for models that handle it (the exported
   * models impute it). Otherwise it is an INPUT_MISMATCH. Infinity is always one.
   */
  allowNaN?: boolean;
}

export const describeInput = (v: ValueInfo): string => `${v.name} (${v.type}${v.shape ? ` [${v.shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : ''})`;

const throwIfAny = (p: Problems) => {
  if (!p.empty) throw new InputMismatchError(p.list, p.count);
};

/** What `value` is, for messages: `string "x"`, `an array`, `null`. */
function what(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${typeof value === 'string' ? echo(value) : String(value)}`;
}

type Converter = { array: (n: number) => ort.Tensor.DataType; set: (out: any, i: number, v: unknown) => string | null };

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

function bigIntOf(v: unknown, min: bigint, max: bigint): bigint | null {
  let b: bigint | null = null;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) b = BigInt(v);
  return b !== null && b >= min && b <= max ? b : null;
}

function converter(type: string, options: FeedOptions): Converter | null {
  if (type === 'float32' || type === 'float64') {
    // a number beyond float32's range would be fed as an infinity
    const finite = type === 'float32' ? (v: number) => Number.isFinite(Math.fround(v)) : Number.isFinite;
    return {
      array: (n) => (type === 'float32' ? new Float32Array(n) : new Float64Array(n)),
      set: (out, i, v) => {
        if (typeof v === 'number' && finite(v)) out[i] = v;
        else if (options.allowNaN && (v === null || Number.isNaN(v))) out[i] = Number.NaN;
        else return `expected a finite number (${type}), got ${what(v)}`;
        return null;
      },
    };
  }
  if (type === 'int64' || type === 'uint64') {
    const [min, max] = type === 'int64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    return {
      array: (n) => (type === 'int64' ? new BigInt64Array(n) : new BigUint64Array(n)),
      set: (out, i, v) => {
        const b = bigIntOf(v, min, max);
        if (b === null) return `expected an integer (${type}; a decimal string for values beyond 2^53), got ${what(v)}`;
        out[i] = b;
        return null;
      },
    };
  }
  const range = INT_RANGES[type];
  if (range) {
    const arrays: Record<string, (n: number) => ort.Tensor.DataType> = {
      int8: (n) => new Int8Array(n),
      uint8: (n) => new Uint8Array(n),
      int16: (n) => new Int16Array(n),
      uint16: (n) => new Uint16Array(n),
      int32: (n) => new Int32Array(n),
      uint32: (n) => new Uint32Array(n),
    };
    return {
      array: arrays[type],
      set: (out, i, v) => {
        if (!(typeof v === 'number' && Number.isInteger(v) && v >= range[0] && v <= range[1]))
          return `expected an integer from ${range[0]} to ${range[1]} (${type}), got ${what(v)}`;
        out[i] = v;
        return null;
      },
    };
  }
  if (type === 'bool')
    return {
      array: (n) => new Uint8Array(n),
      set: (out, i, v) => {
        if (typeof v !== 'boolean') return `expected true or false, got ${what(v)}`;
        out[i] = v ? 1 : 0;
        return null;
      },
    };
  if (type === 'string')
    return {
      array: (n) => new Array<string>(n).fill('') as unknown as ort.Tensor.DataType,
      set: (out, i, v) => {
        if (typeof v !== 'string') return `expected a string, got ${what(v)}`;
        out[i] = v;
        return null;
      },
    };
  return null;
}

/** Sizes given to symbolic dimensions so far in one feed: name -> size and where it was set. */
type SymbolSizes = Map<string, { size: number; path: string }>;

function checkDim(expected: Dim, size: number, axis: number, path: string, symbols: SymbolSizes, p: Problems): boolean {
  if (typeof expected === 'number' && size !== expected) {
    p.add(path, `dimension ${axis} must be ${expected}, got ${size}`);
    return false;
  }
  if (typeof expected === 'string') {
    const seen = symbols.get(expected);
    if (seen && seen.size !== size) {
      p.add(path, `dimension ${axis} (${expected}) is ${size} here but ${seen.size} in ${seen.path}`);
      return false;
    }
    symbols.set(expected, seen ?? { size, path });
  }
  return true;
}

/** One input as a tensor; problems go to `p` (null returned). */
function tensorOf(value: unknown, input: ValueInfo, path: string, options: FeedOptions, symbols: SymbolSizes, p: Problems): ort.Tensor | null {
  const convert = input.kind === 'tensor' ? converter(input.type, options) : null;
  if (!convert) {
    p.add(path, `input ${describeInput(input)} has a type this API cannot feed`);
    return null;
  }
  // the shape from the first element at every depth, then every array checked against it
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v) && (input.shape === null || shape.length < input.shape.length)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  const rank = input.shape?.length ?? shape.length;
  if (shape.length !== rank || shape.includes(0)) {
    p.add(
      path,
      shape.includes(0)
        ? `an empty array; expected ${describeInput(input)}`
        : `expected ${rank} nested array levels for ${describeInput(input)}, got ${shape.length}`,
    );
    return null;
  }
  for (let axis = 0; axis < rank; axis++) {
    const at = path + '[0]'.repeat(axis);
    if (!checkDim(input.shape?.[axis] ?? null, shape[axis], axis, at, symbols, p)) return null;
  }
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const data = convert.array(rank === 0 ? 1 : shape[0] * strides[0]);
  const before = p.count;
  // the indices of the element being checked; its path is only spelled out for a problem
  const index: number[] = [];
  const at = () => path + index.map((i) => `[${i}]`).join('');
  const walk = (node: unknown, depth: number, offset: number) => {
    if (depth === rank) {
      const problem = convert.set(data, offset, node);
      if (problem) p.add(at(), problem);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      p.add(
        at(),
        `expected an array of ${shape[depth]} like ${path}${'[0]'.repeat(depth)}, got ${Array.isArray(node) ? `${node.length} elements` : what(node)}`,
      );
      return;
    }
    for (let i = 0; i < node.length; i++) {
      index[depth] = i;
      walk(node[i], depth + 1, offset + i * strides[depth]);
    }
    index.length = depth;
  };
  walk(value, 0, 0);
  return p.count === before ? new ort.Tensor(input.type as ort.Tensor.Type, data as any, shape) : null;
}

/**
 * Feeds for named inputs of any model: `{ "age": [[31], [47]], "plant": [["A"], ["B"]] }`. Nested arrays give the
 * shape; every input must be given, fit its element type, rank and fixed dimensions, and symbolic dimensions of the
 * same name must agree across inputs.
 */
export function jsonToFeeds(inputs: unknown, info: Pick<ModelInfo, 'inputs'>, options: FeedOptions = {}): Feeds {
  const p = new Problems();
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    p.add('inputs', `expected an object with one entry per model input: ${info.inputs.map(describeInput).join(', ')}`);
    throwIfAny(p);
  }
  const given = inputs as Record<string, unknown>;
  const byName = new Map(info.inputs.map((i) => [i.name, i]));
  for (const name of Object.keys(given))
    if (!byName.has(name)) p.add(`inputs.${name}`, `the model has no input ${echo(name)}; its inputs are ${info.inputs.map(describeInput).join(', ')}`);
  const feeds: Feeds = {};
  const symbols: SymbolSizes = new Map();
  for (const input of info.inputs) {
    const path = `inputs.${input.name}`;
    if (!Object.hasOwn(given, input.name)) {
      p.add(path, `missing: ${describeInput(input)}`);
      continue;
    }
    const tensor = tensorOf(given[input.name], input, path, options, symbols, p);
    if (tensor) feeds[input.name] = tensor;
  }
  throwIfAny(p);
  return feeds;
}

/** Feeds for a model whose single input is a float32 or float64 matrix [N, F]: one row per prediction. */
export function rowsToFeeds(rows: readonly (readonly number[])[], info: Pick<ModelInfo, 'inputs'>, options: FeedOptions = {}): Feeds {
  const [input, ...others] = info.inputs;
  const matrix = input?.kind === 'tensor' && (input.type === 'float32' || input.type === 'float64') && (input.shape === null || input.shape.length === 2);
  if (others.length > 0 || !matrix)
    throw InputMismatchError.single(
      'rows',
      `rows feed a model with one float input [N, features]; this model has ${info.inputs.map(describeInput).join(', ')}: use inputs`,
    );
  if (!Array.isArray(rows) || rows.length === 0) throw InputMismatchError.single('rows', 'expected at least one row');
  const p = new Problems();
  const width = typeof input.shape?.[1] === 'number' ? input.shape[1] : Array.isArray(rows[0]) ? rows[0].length : 0;
  // rows are [N, F] whatever the input's declared shape, so the generic path gives the same checks with `rows` paths
  const asMatrix: ValueInfo = { ...input, shape: [input.shape?.[0] ?? null, input.shape?.[1] ?? null] };
  rows.forEach((row, r) => {
    if (!Array.isArray(row)) p.add(`rows[${r}]`, `expected an array of ${width} numbers, got ${what(row)}`);
    else if (row.length !== width)
      p.add(
        `rows[${r}]`,
        `expected ${width} values${typeof input.shape?.[1] === 'number' ? ` (the model's input ${describeInput(input)})` : ' like rows[0]'}, got ${row.length}`,
      );
  });
  throwIfAny(p);
  const tensor = tensorOf(rows, asMatrix, 'rows', options, new Map(), p);
  throwIfAny(p);
  return { [input.name]: tensor! };
}
