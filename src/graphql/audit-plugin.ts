import { unavailableError } from './error-message.ts';
import {
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  getOperationAST,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { finishAudit, PENDING, writeAudit } from '../auth/audit.ts';
import type { Services } from '../services.ts';
import type { Context } from './context.ts';

/**
 * The names of the fields an operation runs at its root, also when they sit behind aliases, inline fragments or
 * fragment spreads (each once, in order).
 */
export function rootFieldNames(set: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): string[] {
  const names: string[] = [];
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) names.push(sel.name.value);
    else if (sel.kind === Kind.INLINE_FRAGMENT) names.push(...rootFieldNames(sel.selectionSet, document, seen));
    else if (!seen.has(sel.name.value)) {
      seen.add(sel.name.value);
      const fragment = document.definitions.find((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === sel.name.value);
      if (fragment) names.push(...rootFieldNames(fragment.selectionSet, document, seen));
    }
  }
  return [...new Set(names)];
}

/**
 * Only the variables the operation declares: anything else a client sends is dropped before execution and auditing
 * (graphql-js ignores it anyway, but it must not reach the audit log or the cost and input checks).
 */
export function declaredVariables(
  op: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): Record<string, unknown> | undefined {
  if (!variables || typeof variables !== 'object') return undefined;
  const out: Record<string, unknown> = {};
  for (const def of op.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    if (Object.hasOwn(variables, name)) out[name] = variables[name];
  }
  return out;
}

function operationLabel(op: OperationDefinitionNode, operationName: string | null | undefined): string {
  return op.name?.value ?? operationName ?? 'anonymous';
}

/** OK, or the typed errors of the mutation fields and the GraphQL error codes of the result, comma-separated. */
function outcomeOf(ctx: Context, result: unknown): string {
  const codes = new Set<string>(ctx.outcomes.map((o) => o.code).filter((c) => c !== 'OK'));
  const errors = result && typeof result === 'object' && 'errors' in result && Array.isArray(result.errors) ? (result.errors as GraphQLError[]) : [];
  for (const e of errors) codes.add(String(e.extensions?.code ?? 'ERROR'));
  return codes.size === 0 ? 'OK' : [...codes].join(',');
}

export function auditUnavailable(): GraphQLError {
  return new GraphQLError('The audit log cannot be written, so the mutation was not run. Try again later.', {
    extensions: { code: 'AUDIT_UNAVAILABLE', http: { status: 503 } },
  });
}

/**
 * Records a mutation refused before execution (cost, page size, unstorable input) with its refusal code. Nothing of
 * the mutation ran, so a failure to write is logged and the refusal stands.
 */
export async function recordAudit(
  services: Services,
  ctx: Context,
  op: OperationDefinitionNode,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  outcome: string,
): Promise<void> {
  try {
    await writeAudit(services.database.db, {
      principal: ctx.auth,
      operation: operationLabel(op, operationName),
      fields: rootFieldNames(op.selectionSet, document),
      variables: declaredVariables(op, variables) ?? null,
      outcome,
    });
  } catch (err) {
    services.logger.error({ err: (err as Error).message }, 'could not write the audit entry of a refused mutation');
  }
}

/**
 * Write-ahead audit of every mutation operation that reaches execution. Before anything of it runs, its entry (who,
 * operation, root fields, declared variables redacted and capped, outcome PENDING) is inserted; if that fails, the
 * mutation is not run and the answer is AUDIT_UNAVAILABLE. After it ran, the entry gets the outcome (OK, or the typed
 * error and GraphQL error codes); if that update fails, the entry stays PENDING: an unknown outcome, never a
 * mutation missing from the log. The entry is written outside the mutation's own transactions (services open them
 * themselves; on PGlite's single connection a request-wide transaction would deadlock).
 */
export function useAuditLog(services: Services): Plugin<Context> {
  const db = services.database.db;
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const op = getOperationAST(args.document, args.operationName);
      if (op?.operation !== 'mutation') return;
      setExecuteFn(async (execArgs) => {
        const ctx = execArgs.contextValue as Context;
        const variableValues = declaredVariables(op, execArgs.variableValues);
        let id: number;
        try {
          id = await writeAudit(db, {
            principal: ctx.auth,
            operation: operationLabel(op, execArgs.operationName),
            fields: rootFieldNames(op.selectionSet, execArgs.document),
            variables: variableValues ?? null,
            outcome: PENDING,
          });
        } catch (err) {
          services.logger.error({ err: (err as Error).message }, 'could not write the audit entry: mutation refused');
          // The database being away is the retryable SERVICE_UNAVAILABLE every other request gets meanwhile.
          return { errors: [unavailableError(err) ?? auditUnavailable()] } satisfies ExecutionResult;
        }
        let outcome = 'INTERNAL_SERVER_ERROR';
        try {
          const result = await executeFn({ ...execArgs, variableValues });
          outcome = outcomeOf(ctx, result);
          return result;
        } finally {
          try {
            await finishAudit(db, id, outcome);
          } catch (err) {
            services.logger.error({ err: (err as Error).message, auditId: id }, 'could not record the outcome of an audit entry: it stays PENDING');
          }
        }
      });
    },
  };
}
