import {
  type ASTNode,
  type DocumentNode,
  getOperationAST,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { cutText, ECHO_MAX } from '../core/errors.ts';
import { isBlobLike, storableText, unstorableText } from '../core/validate.ts';
import type { Services } from '../services.ts';
import { declaredVariables, recordAudit } from './audit-plugin.ts';
import type { Context } from './context.ts';
import { withMessage } from './error-message.ts';

const WHY = 'contains a NUL character (U+0000) or an unpaired UTF-16 surrogate, which no text field can store';

function badInput(message: string, inputPath: string, nodes?: ASTNode): GraphQLError {
  return new GraphQLError(message, { nodes, extensions: { code: 'BAD_USER_INPUT', inputPath, http: { status: 400 } } });
}

/** A container being walked; only containers are recorded, and a path is built only for an offending value. */
interface Frame {
  value: object;
  parent: Frame | null;
  key: string | number;
}

function pathOf(frame: Frame | null, key: string | number): string {
  const parts: (string | number)[] = [key];
  for (let f = frame; f; f = f.parent) parts.push(f.key);
  parts.reverse();
  return parts.map((p, i) => (i === 0 ? `$${p}` : typeof p === 'number' ? `[${p}]` : segment(p))).join('');
}

const segment = (k: string) => (/^[_A-Za-z][_0-9A-Za-z]*$/.test(k) ? `.${k}` : `[${JSON.stringify(storableText(cutText(k, ECHO_MAX)))}]`);

/**
 * The first string or object key (at any depth) of the variables that PostgreSQL cannot store, as a typed error
 * naming its path (`$input.lines[0].name`). Iterative, so deeply nested input cannot exhaust the stack; one pass
 * over the values (a 50,000-point ingest batch takes a few milliseconds).
 */
export function unstorableVariable(variables: Readonly<Record<string, unknown>> | null | undefined): GraphQLError | null {
  if (!variables) return null;
  const stack: Frame[] = [];
  const visit = (v: unknown, parent: Frame | null, key: string | number): GraphQLError | null => {
    if (typeof v === 'string') {
      if (unstorableText(v)) {
        const path = pathOf(parent, key);
        return badInput(`Variable ${path.split(/[.[]/)[0]} at ${path} ${WHY}.`, path);
      }
    } else if (v !== null && typeof v === 'object' && !isBlobLike(v)) stack.push({ value: v, parent, key });
    return null;
  };
  for (const name of Object.keys(variables)) {
    const e = visit(variables[name], null, name);
    if (e) return e;
  }
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const value = frame.value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const e = visit(value[i], frame, i);
        if (e) return e;
      }
      continue;
    }
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      if (unstorableText(k)) {
        const path = pathOf(frame, k);
        return badInput(`Variable ${path.split(/[.[]/)[0]} has a key at ${path} that ${WHY}.`, path);
      }
      const e = visit((value as Record<string, unknown>)[k], frame, k);
      if (e) return e;
    }
  }
  return null;
}

/** The first string literal of the operation (arguments, directives, variable defaults, fragments it uses) that cannot be stored. */
export function unstorableLiteral(document: DocumentNode, op: OperationDefinitionNode): GraphQLError | null {
  const fragments = new Map<string, SelectionSetNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d.selectionSet);
  const seen = new Set<string>();
  const inValue = (v: ValueNode, path: string): GraphQLError | null => {
    if (v.kind === Kind.STRING) return unstorableText(v.value) ? badInput(`The string at ${path} ${WHY}.`, path, v) : null;
    if (v.kind === Kind.LIST) {
      for (let i = 0; i < v.values.length; i++) {
        const e = inValue(v.values[i], `${path}[${i}]`);
        if (e) return e;
      }
    }
    if (v.kind === Kind.OBJECT) {
      for (const f of v.fields) {
        const e = inValue(f.value, `${path}.${f.name.value}`);
        if (e) return e;
      }
    }
    return null;
  };
  const inArgs = (node: { arguments?: readonly { name: { value: string }; value: ValueNode }[] }, owner: string): GraphQLError | null => {
    for (const a of node.arguments ?? []) {
      const e = inValue(a.value, `${owner}(${a.name.value})`);
      if (e) return e;
    }
    return null;
  };
  const inDirectives = (node: {
    directives?: readonly { name: { value: string }; arguments?: readonly { name: { value: string }; value: ValueNode }[] }[];
  }) => {
    for (const d of node.directives ?? []) {
      const e = inArgs(d, `@${d.name.value}`);
      if (e) return e;
    }
    return null;
  };
  const inSet = (set: SelectionSetNode, path: string): GraphQLError | null => {
    for (const sel of set.selections) {
      let e = inDirectives(sel);
      if (e) return e;
      if (sel.kind === Kind.FIELD) {
        const at = `${path}${path ? '.' : ''}${sel.alias?.value ?? sel.name.value}`;
        e = inArgs(sel, at) ?? (sel.selectionSet ? inSet(sel.selectionSet, at) : null);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) e = inSet(sel.selectionSet, path);
      else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const f = fragments.get(sel.name.value);
        e = f ? inSet(f, path) : null;
      }
      if (e) return e;
    }
    return null;
  };
  for (const def of op.variableDefinitions ?? []) {
    const e = (def.defaultValue ? inValue(def.defaultValue, `$${def.variable.name.value} (default)`) : null) ?? inDirectives(def);
    if (e) return e;
  }
  return inDirectives(op) ?? inSet(op.selectionSet, '');
}

/** Messages are this long at most; longer ones (graphql-js quotes whole input values) have their quoted parts cut. */
export const MESSAGE_MAX = 1_000;

/** `message` with every quoted part cut to ECHO_MAX characters and the whole cut to MESSAGE_MAX. */
export function capMessage(message: string): string {
  if (message.length <= MESSAGE_MAX) return message;
  let out = '';
  let i = 0;
  while (i < message.length && out.length <= MESSAGE_MAX) {
    const q = message.indexOf('"', i);
    if (q < 0) {
      out += message.slice(i);
      break;
    }
    let j = q + 1;
    while (j < message.length && message[j] !== '"') j += message[j] === '\\' ? 2 : 1;
    out += `${message.slice(i, q)}"${cutText(message.slice(q + 1, Math.min(j, message.length)), ECHO_MAX)}${j < message.length ? '"' : ''}`;
    i = j + 1;
  }
  return cutText(out, MESSAGE_MAX);
}

function capped<E extends Error>(err: E): E | GraphQLError {
  if (err.message.length <= MESSAGE_MAX) return err;
  return withMessage(err, capMessage(err.message));
}

/**
 * Input checks for every operation on every transport, before anything runs:
 * - only declared variables reach the cost check, execution and the audit log (the rest are dropped);
 * - a string or object key anywhere in the variables, or a string literal of the operation, that PostgreSQL cannot
 *   store (NUL, unpaired surrogates) is refused with BAD_USER_INPUT naming its path; a refused mutation is audited
 *   with sanitised variables;
 * - error messages that quote input (graphql-js quotes whole values) are cut (capMessage).
 */
export function useInputChecks(services: Services): Plugin<Context> {
  const refusal = (document: DocumentNode, op: OperationDefinitionNode, variables: Readonly<Record<string, unknown>> | undefined) =>
    unstorableVariable(variables) ?? unstorableLiteral(document, op);
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.some((e) => e.message.length > MESSAGE_MAX)) setResult(result.map(capped));
      };
    },
    async onExecute({ args, setResultAndStopExecution }) {
      const op = getOperationAST(args.document, args.operationName);
      if (op) {
        args.variableValues = declaredVariables(op, args.variableValues);
        const err = refusal(args.document, op, args.variableValues);
        if (err) {
          setResultAndStopExecution({ errors: [err] });
          if (op.operation === 'mutation') {
            await recordAudit(services, args.contextValue as Context, op, args.document, args.operationName, args.variableValues, 'BAD_USER_INPUT');
          }
          return;
        }
      }
      return {
        onExecuteDone({ result, setResult }) {
          if ('errors' in result && Array.isArray(result.errors) && result.errors.some((e) => e.message.length > MESSAGE_MAX))
            setResult({ ...result, errors: result.errors.map(capped) });
        },
      };
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const op = getOperationAST(args.document, args.operationName);
      if (!op) return;
      args.variableValues = declaredVariables(op, args.variableValues);
      const err = refusal(args.document, op, args.variableValues);
      if (err) setResultAndStopExecution({ errors: [err] });
    },
  };
}
