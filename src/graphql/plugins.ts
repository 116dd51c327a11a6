import fs from 'node:fs';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionResult,
  execute,
  getOperationAST,
  type GraphQLError,
  NoSchemaIntrospectionCustomRule,
  print,
} from 'graphql';
import { checkCost } from './cost.ts';
import { takeBatchTokens, yogaClientAddress } from './client-limits.ts';
import { mapIterator } from './iterators.ts';
import { endOfStream, ExecutionQueue } from './subscriptions.ts';
import type { Plugin } from 'graphql-yoga';
import { recordAudit } from './audit-plugin.ts';
import type { Principal } from '../auth/roles.ts';
import type { Services } from '../services.ts';
import type { Context } from './context.ts';
import { withMessage } from './error-message.ts';

/** Principals established per HTTP request by useAuthentication, read back by the context factory. */
export const requestPrincipals = new WeakMap<Request, Principal>();

function graphqlErrorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

function wantsGraphiql(request: Request): boolean {
  const url = new URL(request.url);
  return request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html') && !url.searchParams.has('query');
}

/**
 * Every GraphQL request needs valid credentials (401 UNAUTHENTICATED otherwise; 429 for a client address that has
 * failed too often) and stays within its rate (429): one token per operation, so a batch of N takes N.
 */
export function useAuthentication(services: Services): Plugin<Context> {
  return {
    async onRequest({ request, serverContext, endResponse }) {
      if (wantsGraphiql(request)) return;
      const result = await services.auth.authenticate(request.headers.get('authorization'), yogaClientAddress(services.config, serverContext));
      if (!result.ok) {
        if (result.retryAfter !== undefined)
          endResponse(
            graphqlErrorResponse(429, 'RATE_LIMITED', result.reason, { 'retry-after': String(result.retryAfter) }, { retryAfterSeconds: result.retryAfter }),
          );
        else endResponse(graphqlErrorResponse(401, 'UNAUTHENTICATED', result.reason, { 'www-authenticate': 'Bearer' }));
        return;
      }
      const wait = services.auth.rateLimit(result.principal);
      if (wait > 0) {
        // retryAfterSeconds as in a refused batch's and a WebSocket operation's RATE_LIMITED.
        endResponse(
          graphqlErrorResponse(429, 'RATE_LIMITED', `Rate limit exceeded; retry in ${wait} s.`, { 'retry-after': String(wait) }, { retryAfterSeconds: wait }),
        );
        return;
      }
      requestPrincipals.set(request, result.principal);
    },
    onRequestParse: ({ request }) => ({
      onRequestParseDone: ({ requestParserResult }) => takeBatchTokens(services, requestPrincipals.get(request), requestParserResult),
    }),
  };
}

/** Depth, alias, token and directive limits (graphql-armor); field suggestions off in production. Cost: useCostLimit. */
export function useQueryLimits(services: Services): Plugin<Context> {
  const l = services.config.limits;
  return EnvelopArmorPlugin({
    maxDepth: { n: l.maxDepth, ignoreIntrospection: true },
    maxAliases: { n: l.maxAliases },
    maxTokens: { n: l.maxTokens },
    maxDirectives: { n: 20 },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: services.config.production },
  }) as Plugin<Context>;
}

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** The error without "Did you mean ...?" hints, which name types, fields and enum values of the schema. */
function withoutSuggestion<E extends Error>(err: E): E | GraphQLError {
  SUGGESTION.lastIndex = 0;
  if (!SUGGESTION.test(err.message)) return err;
  SUGGESTION.lastIndex = 0;
  return withMessage(err, err.message.replace(SUGGESTION, ''));
}

/**
 * Production: no suggestions in any error (unknown fields, arguments, input fields, enum values; at validation and
 * when variables are coerced). graphql-armor's blockFieldSuggestion covers field suggestions only.
 */
export function useNoSuggestions(): Plugin<Context> {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length > 0) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if ('errors' in result && Array.isArray(result.errors) && result.errors.length > 0)
            setResult({ ...result, errors: result.errors.map(withoutSuggestion) });
        },
      };
    },
  };
}

export function useNoIntrospection(): Plugin<Context> {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/** Persisted-operations mode: only the operations in the JSON file ({ "<id>": "<query>" }) may run. */
export function usePersistedOperationsFile(file: string): Plugin<Context> {
  const store = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  return usePersistedOperations({
    allowArbitraryOperations: false,
    getPersistedOperation: (key) => store[key] ?? null,
  }) as Plugin<Context>;
}

// The audit log (write-ahead) and the input checks live in their own files.
export { rootFieldNames, useAuditLog } from './audit-plugin.ts';
export { useInputChecks } from './input-plugin.ts';

/** Rejects operations whose estimated cost (see cost.ts; needs the variables, so it runs at execution) is over the limit. */
export function useCostLimit(services: Services): Plugin<Context> {
  const max = services.config.limits.maxCost;
  const check = (args: Parameters<typeof checkCost>[0]) => checkCost(args, max);
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const err = await check(args);
      if (!err) return;
      setResultAndStopExecution({ errors: [err] });
      // A mutation refused here never reaches the audit log's execution wrapper: audit the refusal itself.
      const op = getOperationAST(args.document, args.operationName);
      if (op?.operation === 'mutation')
        await recordAudit(services, args.contextValue as Context, op, args.document, args.operationName, args.variableValues, String(err.extensions.code));
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      const err = await check(args);
      if (err) setResultAndStopExecution({ errors: [err] });
    },
  };
}

/**
 * Subscription execution, for every transport (graphql-ws and SSE alike go through yoga's subscribe):
 *
 * - Sharing: every local subscriber of a topic receives the same event object, and subscribers with the same
 *   operation, variables and access (role and plants) would compute the same result. The first of them executes the
 *   selection on the event; the others reuse that result (1,000 subscribers of a plant's alerts cost one execution
 *   per event and distinct operation). A resolver that derives a payload per subscriber must derive the same object
 *   for the same event and arguments, or nothing is shared (the telemetry subscription caches its views).
 * - Each event executes with a context of its own (fresh per-request loaders and caches), so a long-lived
 *   subscription neither serves rows loaded for earlier events nor accumulates them.
 * - Executions go through the server's ExecutionQueue (PLANTGRAPH_SUBSCRIPTION_CONCURRENCY at a time), so queries
 *   keep their turn however many subscribers an event wakes.
 * - A source that fails ends the stream with one last result (SLOW_CONSUMER for a subscriber that fell behind) and
 *   then completes; it never fails twice.
 */
export function useSharedSubscriptionExecution(services: Services): Plugin<Context> {
  const queue = new ExecutionQueue(services.config.limits.subscriptionConcurrency);
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  const docKeys = new WeakMap<DocumentNode, string>();
  const docKey = (doc: DocumentNode) => {
    let k = docKeys.get(doc);
    if (k === undefined) docKeys.set(doc, (k = print(doc)));
    return k;
  };
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const stream = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in stream)) return stream as ExecutionResult;
        const ctx = args.contextValue as Context;
        const key = `${docKey(args.document)}|${args.operationName ?? ''}|${JSON.stringify(args.variableValues ?? {})}|${ctx.auth.role}|${ctx.auth.plantIds?.join(',') ?? '*'}`;
        const run = (payload: unknown) =>
          queue.run(
            () =>
              execute({ ...args, rootValue: payload, contextValue: { ...ctx, outcomes: [] } satisfies Context }) as ExecutionResult | Promise<ExecutionResult>,
          );
        return mapIterator(
          stream as AsyncIterableIterator<unknown>,
          (payload) => {
            if (payload === null || typeof payload !== 'object') return run(payload);
            let perEvent = results.get(payload);
            if (!perEvent) results.set(payload, (perEvent = new Map()));
            let result = perEvent.get(key);
            if (!result) {
              result = run(payload);
              perEvent.set(key, result);
            }
            return result;
          },
          { onError: endOfStream },
        );
      });
    },
  };
}
