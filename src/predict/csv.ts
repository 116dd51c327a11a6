import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, parse } from 'csv-parse';
import { echo, NotFoundError, PayloadTooLargeError, Problems, ValidationError } from '../core/errors.ts';
import { encodeId } from '../core/ids.ts';
import { ALL_PLANTS, type PlantScope } from '../core/scope.ts';
import { checkName, NAME_MAX } from '../core/validate.ts';
import type { Database, Queryable } from '../db/client.ts';
import { liveTwin } from '../twin/snapshot.ts';
import type { ChunkColumn } from './chunks.ts';
import { ColumnStats, MISSING_TOKENS, parseNumber } from './columns.ts';
import { datasetVisible, finishDatasetRow, insertChunk, insertDatasetRow } from './store.ts';

export const CSV_LIMITS = {
  columns: 1_000,
  /** One record (a line, or several when a quoted value spans lines) at most; longer is an error (an unclosed quote). */
  recordBytes: 1024 * 1024,
  chunkRows: 8_192,
  /** A chunk is also written once its values take this many characters (wide files). */
  chunkChars: 4 * 1024 * 1024,
} as const;

export type ByteSource = string | AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>;

export interface ImportCsvOptions {
  name: string;
  source: ByteSource;
  /** Larger input is refused while it streams (PayloadTooLargeError), before anything is stored. */
  maxBytes: number;
  createdBy: string | null;
  plantId?: number | null;
  /** The caller's plants (default: all). A plant-scoped caller must import into one of its plants. */
  scope?: PlantScope;
  /** The input field named in errors (`file` or `csv`). */
  path?: string;
}

/** The bytes of `source`, counted: more than `maxBytes` throws PayloadTooLargeError naming `path`. */
export async function* limitedBytes(source: ByteSource, maxBytes: number, path: string): AsyncGenerator<Uint8Array> {
  let total = 0;
  const take = (b: Uint8Array) => {
    total += b.byteLength;
    if (total > maxBytes) throw new PayloadTooLargeError(path, maxBytes);
    return b;
  };
  if (typeof source === 'string') {
    if (Buffer.byteLength(source) > maxBytes) throw new PayloadTooLargeError(path, maxBytes);
    const all = Buffer.from(source, 'utf8');
    for (let o = 0; o < all.length; o += 1 << 20) yield all.subarray(o, o + (1 << 20));
    return;
  }
  if ('getReader' in source) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield take(value);
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  for await (const b of source) yield take(typeof b === 'string' ? Buffer.from(b, 'utf8') : b);
}

const QUOTE_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'the quoted value that starts on this line is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote must be followed by a comma or the end of the line',
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted value (quote the whole value and double the quote inside it)',
  CSV_MAX_RECORD_SIZE: `a record longer than ${CSV_LIMITS.recordBytes.toLocaleString('en-US')} characters (an unclosed quote?)`,
};

/** `s` without surrounding whitespace (most values have none: checked before trim allocates). */
const trimmed = (s: string) => (s.length > 0 && (s.charCodeAt(0) <= 32 || s.charCodeAt(s.length - 1) <= 32) ? s.trim() : s);

function fieldCountProblem(n: number, header: readonly string[]): string {
  if (n > header.length) return `${n} fields where the header has ${header.length} (the last column is ${echo(header[header.length - 1])})`;
  const missing = header.slice(n);
  const named = missing.slice(0, 5).map(echo).join(', ');
  return `${n} ${n === 1 ? 'field' : 'fields'} where the header has ${header.length}: no value for ${named}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`;
}

const newlines = (fields: readonly string[]) => {
  let n = 0;
  for (const f of fields) for (let i = f.indexOf('\n'); i >= 0; i = f.indexOf('\n', i + 1)) n++;
  return n;
};

const at = (line: number, column?: string) => (column === undefined ? `csv:line ${line}` : `csv:line ${line}, column ${echo(column)}`);

/** The column names of the header, or throws ValidationError naming every bad one. */
function checkHeader(fields: readonly string[], line: number): string[] {
  const p = new Problems();
  if (fields.length > CSV_LIMITS.columns) p.add(at(line), `${fields.length} columns; at most ${CSV_LIMITS.columns}`);
  const seen = new Map<string, number>();
  const names = fields.map((raw, i) => {
    const name = raw.trim();
    const where = `${at(line)}, column ${i + 1}`;
    if (name === '') p.add(where, 'empty column name (the first row must name every column)');
    else if (name.length > NAME_MAX) p.add(where, `column name longer than ${NAME_MAX} characters`);
    else if (name.includes('\u0000')) p.add(where, 'column name contains a NUL character');
    else if (seen.has(name)) p.add(where, `duplicate column name ${echo(name)} (also column ${seen.get(name)! + 1})`);
    else seen.set(name, i);
    return name;
  });
  p.throwIfAny();
  return names;
}

/** One chunk's values of one column while they arrive. */
class ColumnBuffer {
  texts: (string | null)[] = [];
  numbers = new Float64Array(CSV_LIMITS.chunkRows);
  /** Every present value's text is exactly what its number prints as: the chunk stores this column as numbers. */
  canonical = true;
  toChunkColumn(rows: number): ChunkColumn {
    return this.canonical ? { kind: 'numeric', values: this.numbers.slice(0, rows) } : { kind: 'text', values: this.texts };
  }
}

/**
 * Imports a CSV file as a dataset, streaming: the first row names the columns; a column is numeric when every value
 * present parses as a finite decimal number, categorical otherwise; values are trimmed, and empty, NA, NaN and the
 * other tokens pandas reads as missing are missing. Rows are stored in chunks as they arrive, all in one transaction:
 * a bad row (wrong number of fields, a broken quote, a NUL character) is a ValidationError listing the first 100 bad
 * rows by line and column (`csv:line 17`), input over `maxBytes` a PayloadTooLargeError, and either stores nothing.
 */
export async function importCsvDataset(database: Database, opts: ImportCsvOptions): Promise<number> {
  const scope = opts.scope ?? ALL_PLANTS;
  const p = new Problems();
  const name = checkName(p, 'name', opts.name);
  const plantId = opts.plantId ?? null;
  if (plantId === null && scope.plantIds !== null) p.add('plantId', 'a key limited to some plants must import into one of them');
  p.throwIfAny();
  if (plantId !== null) await requirePlant(database, scope, plantId);
  return database.transaction((tx) => streamInto(tx, { ...opts, name, plantId }));
}

async function requirePlant(q: Queryable, scope: PlantScope, plantId: number): Promise<void> {
  const [plant] = await liveTwin(q).plants([plantId]);
  if (!plant || !datasetVisible(scope, plantId)) throw new NotFoundError('Plant', encodeId('Plant', plantId));
}

/** A parse error csv-parse skipped: a broken quote or an overlong record, after `records` good records. */
type Broken = { code: string; column: number | undefined; records: number; message: string };

async function streamInto(tx: Queryable, opts: ImportCsvOptions & { plantId: number | null }): Promise<number> {
  const problems = new Problems();
  // Records arrive in order with wrong field counts included (relax_column_count), so lines are counted here, not
  // taken from csv-parse (which also counts a CRLF inside a quoted value as two lines). Only a broken quote is
  // reported out of band, with the number of records before it; after it the rest of the file is not read.
  let broken: Broken | null = null;
  const parser = parse({ bom: true, relax_column_count: true, skip_records_with_error: true, max_record_size: CSV_LIMITS.recordBytes });
  parser.on('skip', (err: CsvError & { column?: number; records: number }) => {
    broken ??= { code: err.code, column: err.column, records: err.records, message: err.message };
  });
  const feeding = pipeline(Readable.from(limitedBytes(opts.source, opts.maxBytes, opts.path ?? 'csv')), parser);
  feeding.catch(() => {}); // its failure reaches the loop below through the parser

  const datasetId = await insertDatasetRow(tx, { name: opts.name, plantId: opts.plantId, source: 'CSV', createdBy: opts.createdBy });
  let names: string[] | null = null;
  let stats: ColumnStats[] = [];
  let buffers: ColumnBuffer[] = [];
  let rows = 0;
  let chunkRows = 0;
  let chunkChars = 0;
  let seq = 0;
  const flush = async () => {
    if (chunkRows === 0) return;
    await insertChunk(tx, datasetId, seq++, { rows: chunkRows, columns: buffers.map((b) => b.toChunkColumn(chunkRows)) });
    buffers = buffers.map(() => new ColumnBuffer());
    chunkRows = 0;
    chunkChars = 0;
  };
  let records = 0;
  let lastLine = 0;
  const reportBroken = (b: Broken) => {
    const column = names && b.column !== undefined ? names[b.column] : undefined;
    problems.add(at(lastLine + 1, column), `${QUOTE_ERRORS[b.code] ?? b.message}; the rest of the file was not checked`);
  };

  try {
    for await (const fields of parser as AsyncIterable<string[]>) {
      if (broken !== null && records === (broken as Broken).records) break;
      records++;
      const line = lastLine + 1;
      lastLine = line + newlines(fields);
      if (fields.length === 1 && fields[0] === '') continue; // a blank line
      if (names === null) {
        names = checkHeader(fields, line);
        stats = names.map((h) => new ColumnStats(h));
        buffers = names.map(() => new ColumnBuffer());
        continue;
      }
      rows++;
      if (fields.length !== names.length) {
        problems.add(at(line), fieldCountProblem(fields.length, names));
        continue;
      }
      for (let c = 0; c < fields.length; c++) {
        const text = trimmed(fields[c]);
        if (text.includes('\u0000')) problems.add(at(line, names[c]), 'contains a NUL character (U+0000), which cannot be stored');
        if (!problems.empty) continue; // still checking the rest of the file, no longer storing
        const b = buffers[c];
        if (text.length <= 8 && MISSING_TOKENS.has(text)) {
          stats[c].missing++;
          b.texts.push(null);
          b.numbers[chunkRows] = Number.NaN;
          continue;
        }
        const n = parseNumber(text);
        stats[c].addText(text, n);
        b.texts.push(text);
        b.numbers[chunkRows] = n ?? Number.NaN;
        if (b.canonical && (n === null || String(n) !== text)) b.canonical = false;
        chunkChars += text.length;
      }
      if (!problems.empty) continue;
      chunkRows++;
      if (chunkRows === CSV_LIMITS.chunkRows || chunkChars >= CSV_LIMITS.chunkChars) await flush();
    }
    if (broken !== null) reportBroken(broken);
  } catch (err) {
    const code = (err as CsvError).code;
    if (typeof code !== 'string' || !code.startsWith('CSV_')) throw err;
    reportBroken({ code, column: undefined, records, message: (err as Error).message });
  } finally {
    parser.destroy();
  }
  problems.throwIfAny();
  if (names === null) throw ValidationError.single(opts.path ?? 'csv', 'the file is empty: the first row must name the columns');
  if (rows === 0) throw ValidationError.single(opts.path ?? 'csv', 'no data rows after the header');
  await flush();
  await finishDatasetRow(
    tx,
    datasetId,
    stats.map((c) => c.summary()),
    rows,
  );
  return datasetId;
}
