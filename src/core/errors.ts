/**
 * Domain errors. Capability code throws these; the GraphQL layer turns them into the typed error members of each
 * mutation's result union (errors as data), so callers always get a code, a message and, for validation, every
 * problem with its path.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
}

export interface FieldError {
  path: string;
  message: string;
}

/** A ValidationError lists at most this many problems to its caller; the rest are only counted. */
export const LISTED_PROBLEMS = 100;
/** User input quoted in an error message is cut to this many characters. */
export const ECHO_MAX = 200;

/** `text` cut to at most `max` characters (never inside a surrogate pair), with an ellipsis when cut. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** User input quoted for an error message (JSON syntax), cut to ECHO_MAX characters. */
export function echo(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(cutText(value, ECHO_MAX));
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // a cycle or a BigInt: fall back to String()
  }
  return cutText(text ?? String(value), ECHO_MAX);
}

export class ValidationError extends AppError {
  readonly code = 'VALIDATION_FAILED';
  /** Every problem found, also those not listed in `fieldErrors` (at least `fieldErrors.length`). */
  readonly problemCount: number;
  /**
   * `fieldErrors`: the problems as collected (in-process callers such as the telemetry sink read them all); callers
   * over the API see the first LISTED_PROBLEMS (`listed`) and `problemCount`.
   */
  constructor(
    readonly fieldErrors: FieldError[],
    message?: string,
    problemCount = fieldErrors.length,
  ) {
    const count = Math.max(problemCount, fieldErrors.length);
    super(
      message ??
        (count === 1 && fieldErrors.length === 1
          ? `Invalid input: ${fieldErrors[0].path}: ${fieldErrors[0].message}`
          : `Invalid input: ${count.toLocaleString('en-US')} problems${count > LISTED_PROBLEMS ? ` (the first ${LISTED_PROBLEMS} are listed)` : ''}`),
    );
    this.problemCount = count;
  }
  /** The problems shown to API callers: the first LISTED_PROBLEMS. */
  get listed(): FieldError[] {
    return this.fieldErrors.length > LISTED_PROBLEMS ? this.fieldErrors.slice(0, LISTED_PROBLEMS) : this.fieldErrors;
  }
  static single(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly what: string,
    readonly id: string,
  ) {
    super(`${what} ${echo(id)} not found`);
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
}

export class ConflictError extends AppError {
  readonly code = 'CONFLICT';
}

export class InfeasibleError extends AppError {
  readonly code = 'INFEASIBLE';
}

/** An upload or file (a CSV, an ONNX model) larger than its limit; found while it streams, before anything is stored. */
export class PayloadTooLargeError extends AppError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  constructor(
    /** The input field that carried it (`file`, `csv`). */
    readonly path: string,
    readonly limitBytes: number,
  ) {
    super(`${path}: larger than the limit of ${limitBytes.toLocaleString('en-US')} bytes; nothing was stored`);
  }
}

/**
 * Collects problems while validating a whole input, so the caller hears about all of them at once. It keeps the
 * first `keep` problems (by default as many as a ValidationError lists) and counts the rest, so a huge bad input
 * cannot make a huge error.
 */
export class Problems {
  readonly list: FieldError[] = [];
  /** Every problem added, kept or not. */
  count = 0;
  constructor(private readonly keep: number = LISTED_PROBLEMS) {}
  add(path: string, message: string): void {
    this.count++;
    if (this.list.length < this.keep) this.list.push({ path, message });
  }
  get empty(): boolean {
    return this.count === 0;
  }
  throwIfAny(): void {
    if (!this.empty) throw new ValidationError(this.list, undefined, this.count);
  }
}
