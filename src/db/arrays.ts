/**
 * Positional parameters for set-based SQL go as text array literals and are cast in SQL (`$1::text::int[]`): fast
 * to build, and the same on both drivers.
 */
export function intArray(values: ArrayLike<number>): string {
  return `{${Array.prototype.join.call(values, ',')}}`;
}

export function floatArray(values: ArrayLike<number>): string {
  return `{${Array.prototype.join.call(values, ',')}}`;
}

/** Like floatArray, with SQL NULL for null entries. */
export function nullableFloatArray(values: readonly (number | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

const NEEDS_ESCAPE = /["\\]/g;

export function textArray(values: readonly string[]): string {
  const parts = new Array<string>(values.length);
  // Repeated strings (metric names) are escaped once.
  let last = '';
  let lastQuoted = '""';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== last || i === 0) {
      last = v;
      lastQuoted = `"${v.replace(NEEDS_ESCAPE, '\\$&')}"`;
    }
    parts[i] = lastQuoted;
  }
  return `{${parts.join(',')}}`;
}
