import { type ExecutionResult, getOperationAST, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/client.ts';
import { StatementBudget, withStatementBudget } from '../db/deadline.ts';
import type { Services } from '../services.ts';
import type { Context } from './context.ts';

/**
 * Per-request bounds that the cost estimate cannot give (it counts rows returned, not rows scanned or bytes):
 * - execution time: a query runs under a statement budget of PLANTGRAPH_MAX_EXECUTION_MS (see db/deadline.ts). When
 *   it passes, the answer is EXECUTION_TIMEOUT at once, the statements the query has in flight are cancelled on
 *   PostgreSQL, and no further statement of it is sent (PGlite cannot interrupt a running statement, so there the one
 *   running finishes first). Mutations are not cut off: they run in their own transactions and an answer must never
 *   contradict what they committed; their size is bounded by their input limits.
 * - response size: a result (a query's, a mutation's, each subscription event) larger than
 *   PLANTGRAPH_MAX_RESPONSE_BYTES as JSON is answered with RESPONSE_TOO_LARGE instead; nothing of it is serialised.
 */
export function useExecutionBounds(services: Services): Plugin<Context> {
  const { maxExecutionMs, maxResponseBytes } = services.config.limits;
  // Subscribers with the same selection and access share one result object per event (plugins.ts): it is measured
  // once, not once per subscriber.
  const measured = new WeakMap<object, boolean>();
  const tooLarge = (result: ExecutionResult) => {
    let large = measured.get(result);
    if (large === undefined) measured.set(result, (large = jsonLargerThan(result, maxResponseBytes)));
    return large;
  };
  const bounded = (operation: string | undefined, setResult: (r: ExecutionResult) => void, result: ExecutionResult) => {
    if (tooLarge(result)) setResult({ errors: [responseTooLarge(maxResponseBytes, operation)] });
  };
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      if (operation === 'query') {
        setExecuteFn((execArgs) => executeWithin(services.database, maxExecutionMs, () => executeFn(execArgs) as ExecutionResult | Promise<ExecutionResult>));
      }
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return { onNext: ({ result: next, setResult: setNext }) => bounded(operation, setNext, next) };
          bounded(operation, setResult, result);
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult() {
          return { onNext: ({ result, setResult }) => bounded('subscription', setResult, result as ExecutionResult) };
        },
      };
    },
  };
}

/**
 * Runs an execution under a statement budget of `limitMs`. At the deadline it answers EXECUTION_TIMEOUT and cancels
 * the statements in flight (PostgreSQL); the abandoned execution can send no further statement and winds down.
 */
export async function executeWithin(database: Database, limitMs: number, run: () => ExecutionResult | Promise<ExecutionResult>): Promise<ExecutionResult> {
  const budget = new StatementBudget(Date.now() + limitMs, limitMs);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      void budget.expire(database.cancel?.bind(database));
      resolve('timeout');
    }, limitMs);
  });
  const running = withStatementBudget(budget, async () => run()); // a promise even when the execution is synchronous
  running.catch(() => {}); // abandoned at the deadline: its failure is no one's answer
  try {
    const outcome = await Promise.race([running, deadline]);
    // PGlite holds the thread while a statement runs, so the timer may fire only after the execution has finished.
    if (outcome === 'timeout' || budget.expired || Date.now() >= budget.deadline) {
      void budget.expire(database.cancel?.bind(database));
      return { errors: [executionTimeout(limitMs)] };
    }
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

export function executionTimeout(limitMs: number): GraphQLError {
  return new GraphQLError(
    `Execution time limit exceeded: the query ran longer than ${limitMs} ms and was stopped, its database work cancelled. Ask for less (fewer fields, shorter telemetry windows, smaller pages).`,
    { extensions: { code: 'EXECUTION_TIMEOUT', maxExecutionMs: limitMs, http: { status: 503 } } },
  );
}

export function responseTooLarge(maxBytes: number, operation: string | undefined): GraphQLError {
  const mutation = operation === 'mutation';
  return new GraphQLError(
    mutation
      ? `The response exceeds the limit of ${maxBytes} bytes and is not sent; the mutation itself has run. Select less of its result.`
      : `The response exceeds the limit of ${maxBytes} bytes and is not sent. Ask for less (fewer fields, smaller pages, fewer buckets).`,
    { extensions: { code: 'RESPONSE_TOO_LARGE', maxResponseBytes: maxBytes, ...(mutation ? {} : { http: { status: 400 } }) } },
  );
}

/**
 * Whether `value` as JSON text is longer than `limit` bytes (strings counted in UTF-8 without escapes). Walks the
 * value without recursion and stops as soon as the limit is passed, so an oversized result costs at most `limit`
 * bytes of counting and is never serialised.
 */
export function jsonLargerThan(value: unknown, limit: number): boolean {
  // Most results are far below the limit: a first pass with upper bounds (no UTF-8 count, no number formatting)
  // settles those at a fraction of the exact count's cost.
  return jsonSizeAtMost(value, limit) === false && exactlyLargerThan(value, limit);
}

/** An upper bound of the JSON size of `value`, or false once it passes `limit`. */
function jsonSizeAtMost(value: unknown, limit: number): number | false {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += 3 * v.length + 2;
    else if (typeof v === 'number') size += 24;
    else if (v === null || v === undefined || typeof v === 'boolean') size += 5;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (typeof v === 'object') {
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false; // counted exactly
      size += 2;
      for (const key in v) {
        size += 3 * key.length + 4;
        stack.push((v as Record<string, unknown>)[key]);
      }
    } else return false; // bigint and the like: counted exactly
    if (size > limit) return false;
  }
  return size;
}

function exactlyLargerThan(value: unknown, limit: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || v === undefined) size += 4;
    else if (typeof v === 'string') size += Buffer.byteLength(v) + 2;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') size += String(v).length;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (typeof v === 'object') {
      const toJSON = (v as { toJSON?: () => unknown }).toJSON;
      if (typeof toJSON === 'function') {
        stack.push(toJSON.call(v));
        continue;
      }
      size += 2;
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function') continue;
        size += Buffer.byteLength(key) + 4;
        stack.push(item);
      }
    }
    if (size > limit) return true;
  }
  return false;
}
