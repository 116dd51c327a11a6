import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * The stored form of a block of dataset rows, column by column, deflated. A numeric column is 8-byte floats (NaN for
 * missing); a text column is a dictionary of its distinct values and one index per row (1, 2 or 4 bytes, the largest
 * index meaning missing). CSV import writes a column of a chunk as numbers only when every value's text is exactly
 * what the number prints as (String(Number(text)) === text), so a column that turns out categorical later in the
 * file reads back with its original text.
 */
export type ChunkColumn = { kind: 'numeric'; values: Float64Array } | { kind: 'text'; values: readonly (string | null)[] };

export interface Chunk {
  rows: number;
  columns: ChunkColumn[];
}

const VERSION = 1;
const NUMERIC = 0;
const TEXT = 1;

function indexWidth(dictSize: number): 1 | 2 | 4 {
  return dictSize < 0xff ? 1 : dictSize < 0xffff ? 2 : 4;
}

const MISSING = { 1: 0xff, 2: 0xffff, 4: 0xffffffff } as const;

interface Dictionary {
  values: string[];
  bytes: Buffer[];
  indexes: Uint32Array;
}

function dictionary(values: readonly (string | null)[], rows: number): Dictionary {
  const ids = new Map<string, number>();
  const list: string[] = [];
  const indexes = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    const v = values[r];
    if (v === null) {
      indexes[r] = 0xffffffff;
      continue;
    }
    let id = ids.get(v);
    if (id === undefined) {
      id = list.length;
      ids.set(v, id);
      list.push(v);
    }
    indexes[r] = id;
  }
  return { values: list, bytes: list.map((s) => Buffer.from(s, 'utf8')), indexes };
}

export function encodeChunk(chunk: Chunk): Buffer {
  const { rows, columns } = chunk;
  const dicts = columns.map((c) => (c.kind === 'text' ? dictionary(c.values, rows) : null));
  let size = 1 + 4 + 2;
  columns.forEach((c, i) => {
    size += 1;
    const d = dicts[i];
    if (c.kind === 'numeric' || !d) size += 8 * rows;
    else size += 4 + d.bytes.reduce((n, b) => n + 4 + b.length, 0) + 1 + indexWidth(d.values.length) * rows;
  });
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt8(VERSION, 0);
  o = out.writeUInt32LE(rows, o);
  o = out.writeUInt16LE(columns.length, o);
  columns.forEach((c, i) => {
    const d = dicts[i];
    if (c.kind === 'numeric' || !d) {
      o = out.writeUInt8(NUMERIC, o);
      const values = (c as { values: Float64Array }).values;
      for (let r = 0; r < rows; r++) o = out.writeDoubleLE(values[r], o);
      return;
    }
    o = out.writeUInt8(TEXT, o);
    o = out.writeUInt32LE(d.values.length, o);
    for (const b of d.bytes) {
      o = out.writeUInt32LE(b.length, o);
      o += b.copy(out, o);
    }
    const width = indexWidth(d.values.length);
    o = out.writeUInt8(width, o);
    const missing = MISSING[width];
    for (let r = 0; r < rows; r++) {
      const ix = d.indexes[r] === 0xffffffff ? missing : d.indexes[r];
      o = width === 1 ? out.writeUInt8(ix, o) : width === 2 ? out.writeUInt16LE(ix, o) : out.writeUInt32LE(ix, o);
    }
  });
  return deflateRawSync(out, { level: 1 });
}

export function decodeChunk(bytes: Uint8Array): Chunk {
  const b = inflateRawSync(bytes);
  if (b.readUInt8(0) !== VERSION) throw new Error(`dataset chunk of an unknown encoding version ${b.readUInt8(0)}`);
  const rows = b.readUInt32LE(1);
  const count = b.readUInt16LE(5);
  let o = 7;
  const columns: ChunkColumn[] = [];
  for (let c = 0; c < count; c++) {
    const kind = b.readUInt8(o++);
    if (kind === NUMERIC) {
      const values = new Float64Array(rows);
      for (let r = 0; r < rows; r++, o += 8) values[r] = b.readDoubleLE(o);
      columns.push({ kind: 'numeric', values });
      continue;
    }
    const size = b.readUInt32LE(o);
    o += 4;
    const dict: string[] = new Array(size);
    for (let k = 0; k < size; k++) {
      const len = b.readUInt32LE(o);
      o += 4;
      dict[k] = b.toString('utf8', o, o + len);
      o += len;
    }
    const width = b.readUInt8(o++) as 1 | 2 | 4;
    const missing = MISSING[width];
    const values: (string | null)[] = new Array(rows);
    for (let r = 0; r < rows; r++, o += width) {
      const ix = width === 1 ? b.readUInt8(o) : width === 2 ? b.readUInt16LE(o) : b.readUInt32LE(o);
      values[r] = ix === missing ? null : dict[ix];
    }
    columns.push({ kind: 'text', values });
  }
  return { rows, columns };
}
