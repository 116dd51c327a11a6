import { echo, type Problems } from './errors.ts';

export const NAME_MAX = 200;

/**
 * Whether a value is a file or blob (an uploaded `File` argument): walkers of input values treat it as one opaque
 * value, never as an object to descend into (its parts are megabytes of bytes).
 */
export function isBlobLike(v: unknown): v is { size: number; name?: unknown } {
  return typeof v === 'object' && v !== null && typeof (v as Blob).arrayBuffer === 'function' && typeof (v as Blob).size === 'number';
}

/**
 * Whether `text` has a NUL (U+0000) or a UTF-16 surrogate without its partner: text PostgreSQL cannot store as it was
 * sent (text and jsonb refuse NUL; jsonb refuses unpaired surrogates and text would turn them into U+FFFD).
 */
export function unstorableText(text: string): boolean {
  // String.prototype.isWellFormed (Node 20+, not yet in TypeScript's ES2023 lib) is native and checks the pairs.
  return text.includes('\u0000') || !(text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** `text` with every NUL and unpaired surrogate replaced by U+FFFD (the replacement character): storable as text and jsonb. */
export function storableText(text: string): string {
  return text.replace(/[\u0000\ud800-\udfff]/gu, '\ufffd');
}

/** A name must be non-empty after trimming, printable and at most NAME_MAX characters. Returns the trimmed name. */
export function checkName(problems: Problems, path: string, raw: unknown): string {
  if (typeof raw !== 'string') {
    problems.add(path, 'must be a string');
    return '';
  }
  const name = raw.trim();
  if (name.length === 0) problems.add(path, 'must not be empty');
  else if (name.length > NAME_MAX) problems.add(path, `must be at most ${NAME_MAX} characters`);
  // eslint-disable-next-line no-control-regex
  else if (/[\u0000-\u001f\u007f]/.test(name)) problems.add(path, 'must not contain control characters');
  else if (unstorableText(name)) problems.add(path, 'must be valid Unicode text (no unpaired surrogates)');
  return name;
}

export function checkTimezone(problems: Problems, path: string, tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    problems.add(path, `unknown IANA time zone ${echo(tz)}`);
  }
}

export function checkPositive(problems: Problems, path: string, v: number | null | undefined, opts: { allowZero?: boolean; max?: number } = {}): void {
  if (v === null || v === undefined) return;
  if (!Number.isFinite(v)) problems.add(path, 'must be a finite number');
  else if (opts.allowZero ? v < 0 : v <= 0) problems.add(path, opts.allowZero ? 'must not be negative' : 'must be greater than 0');
  else if (opts.max !== undefined && v > opts.max) problems.add(path, `must be at most ${opts.max}`);
}

export function checkValidDate(problems: Problems, path: string, d: Date | null | undefined): void {
  if (d === null || d === undefined) return;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) problems.add(path, 'must be a valid date-time');
}

/** Reports the second and later occurrence of each key, naming where it was first seen. */
export function checkUnique<T>(problems: Problems, items: readonly T[], key: (item: T) => string, path: (i: number) => string, what: string): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k === '') return;
    const first = seen.get(k);
    if (first !== undefined) problems.add(path(i), `duplicate ${what} ${echo(k)} (first used at ${path(first)})`);
    else seen.set(k, i);
  });
}
