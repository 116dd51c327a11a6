// Machine-readable figures for bench/run.ts: each bench ends by printing one line `RESULT {...}` (flat keys, finite
// numbers only) after its usual console output. run.ts reads the last such line of the child's stdout.
export type Figures = Record<string, number | null | undefined>;

export function emitResult(figures: Figures): void {
  const flat: Record<string, number> = {};
  for (const [k, v] of Object.entries(figures)) if (typeof v === 'number' && Number.isFinite(v)) flat[k] = Number(v.toPrecision(6));
  process.stdout.write(`RESULT ${JSON.stringify(flat)}\n`);
}

export const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? Number.NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** `<key>`, `<key>_min`, `<key>_max` of a figure measured in rounds (the median and the spread). */
export const withSpread = (key: string, v: number[]): Figures =>
  v.length === 0 ? {} : { [key]: median(v), [`${key}_min`]: Math.min(...v), [`${key}_max`]: Math.max(...v) };
