/**
 * LP or MPS text solved in a worker thread (solver-worker.ts): parsing, validation and the solve all happen there, and
 * a malformed text comes back as data that `solveTextInWorker` turns into the typed error again.
 */
import type { WorkerPool } from '../../jobs/pool.ts';
import { ModelParseError, ModelTooLargeError } from './lp-format.ts';
import { type ModelProblem, ModelValidationError } from './model.ts';
import type { SolveOutcome } from './outcome.ts';
import { SOLVER_WORKER, type SolveModelOptions } from './solve.ts';

export interface TextSolveTask {
  format: 'LP' | 'MPS';
  text: string;
  maxBytes?: number;
  /** Variables and rows at most each (checked after parsing, before solving). */
  maxItems?: number;
  options: SolveModelOptions;
}

export type TextProblem =
  | { kind: 'parse'; line: number; detail: string }
  | { kind: 'size'; bytes: number; limit: number }
  | { kind: 'invalid'; problems: ModelProblem[] };

export type TextSolveResult = { ok: true; outcome: SolveOutcome; variables: number; constraints: number } | { ok: false; problem: TextProblem };

/** The text's problem as data, or null for an error that is not about the text (a bug: rethrown). */
export function textProblem(err: unknown): TextProblem | null {
  if (err instanceof ModelParseError) return { kind: 'parse', line: err.line, detail: err.detail };
  if (err instanceof ModelTooLargeError) return { kind: 'size', bytes: err.bytes, limit: err.limit };
  if (err instanceof ModelValidationError) return { kind: 'invalid', problems: err.problems };
  return null;
}

function problemError(p: TextProblem): Error {
  if (p.kind === 'parse') return new ModelParseError(p.line, p.detail);
  if (p.kind === 'size') return new ModelTooLargeError(p.bytes, p.limit);
  return new ModelValidationError(p.problems);
}

/**
 * Parses and solves `text` in a worker thread of `pool`. Throws ModelParseError (with the line), ModelTooLargeError or
 * ModelValidationError for a bad text; aborting `signal` stops the thread.
 */
export async function solveTextInWorker(
  pool: WorkerPool,
  task: TextSolveTask,
  run: { signal?: AbortSignal } = {},
): Promise<{ outcome: SolveOutcome; variables: number; constraints: number }> {
  // The size first, here: an oversized text is refused before it is copied to a thread.
  const bytes = Buffer.byteLength(task.text, 'utf8');
  const limit = task.maxBytes;
  if (limit !== undefined && bytes > limit) throw new ModelTooLargeError(bytes, limit);
  const result = await pool.runInWorker<TextSolveResult>(SOLVER_WORKER, task, run);
  if (!result.ok) throw problemError(result.problem);
  return { outcome: result.outcome, variables: result.variables, constraints: result.constraints };
}
