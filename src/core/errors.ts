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

export class ValidationError extends AppError {
  readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly fieldErrors: FieldError[],
    message?: string,
  ) {
    super(
      message ??
        (fieldErrors.length === 1 ? `Invalid input: ${fieldErrors[0].path}: ${fieldErrors[0].message}` : `Invalid input: ${fieldErrors.length} problems`),
    );
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
    super(`${what} ${JSON.stringify(id)} not found`);
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

/** Collects problems while validating a whole input, so the caller hears about all of them at once. */
export class Problems {
  readonly list: FieldError[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
  throwIfAny(): void {
    if (!this.empty) throw new ValidationError(this.list);
  }
}
