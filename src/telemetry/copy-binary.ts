import type { Columns } from './input.ts';

const COPY_CHUNK = 5_000;
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The batch in COPY binary format (no number or date formatting on either side), produced in chunks so that
 * PostgreSQL reads one chunk while the next is built. Row: 4 fields; int4 machine_id, text metric,
 * timestamptz ts (int8 microseconds since 2000-01-01), float8 value.
 */
export function* copyBinary(cols: Columns): Generator<Buffer> {
  const header = Buffer.alloc(COPY_SIGNATURE.length + 8);
  COPY_SIGNATURE.copy(header, 0);
  yield header; // flags 0, no header extension
  const metricBytes = new Map<string, Buffer>();
  for (let from = 0; from < cols.n; from += COPY_CHUNK) {
    const to = Math.min(cols.n, from + COPY_CHUNK);
    let size = 0;
    for (let i = from; i < to; i++) {
      let b = metricBytes.get(cols.metrics[i]);
      if (b === undefined) metricBytes.set(cols.metrics[i], (b = Buffer.from(cols.metrics[i], 'utf8')));
      size += 2 + 8 + 4 + b.length + 12 + 12;
    }
    const buf = Buffer.allocUnsafe(to === cols.n ? size + 2 : size);
    let o = 0;
    for (let i = from; i < to; i++) {
      o = buf.writeInt16BE(4, o);
      o = buf.writeInt32BE(4, o);
      o = buf.writeInt32BE(cols.machineIds[i]!, o);
      const b = metricBytes.get(cols.metrics[i])!;
      o = buf.writeInt32BE(b.length, o);
      o += b.copy(buf, o);
      const us = (cols.ms[i] - PG_EPOCH_MS) * 1000;
      const hi = Math.floor(us / 4_294_967_296);
      o = buf.writeInt32BE(8, o);
      o = buf.writeInt32BE(hi, o);
      o = buf.writeUInt32BE(us - hi * 4_294_967_296, o);
      o = buf.writeInt32BE(8, o);
      o = buf.writeDoubleBE(cols.values[i], o);
    }
    if (to === cols.n) buf.writeInt16BE(-1, o); // trailer
    yield buf;
  }
  if (cols.n === 0) yield Buffer.from([0xff, 0xff]);
}
