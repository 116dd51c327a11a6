import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/**
 * Estimated rows an operation may touch: each field costs 1, and its children are multiplied by how many items the
 * field can return: `first`/`last` (from literals or variables) for connections, DEFAULT_LIST for plain lists. Deep
 * but narrow twin queries stay cheap; wide fan-outs (500 plants x 500 orders x ...) do not.
 */
export const DEFAULT_PAGE = 20;
export const DEFAULT_LIST = 10;
/** Largest page any connection serves. */
export const MAX_PAGE = 500;

export class PageSizeError extends GraphQLError {
  constructor(field: string, arg: string, value: number) {
    super(`${field}(${arg}: ${value}): page size must be from 0 to ${MAX_PAGE}.`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
  }
}

/** An integer argument as execution will see it: a literal, a variable's value, or else the variable's default. */
function intArg(value: ValueNode | undefined, variables: Record<string, unknown>, defaults: ReadonlyMap<string, ValueNode>): number | undefined {
  if (!value) return undefined;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const name = value.name.value;
    if (variables[name] !== undefined) return typeof variables[name] === 'number' ? variables[name] : undefined;
    const fallback = defaults.get(name);
    return fallback ? intArg(fallback, {}, new Map()) : undefined;
  }
  return undefined;
}

export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> = {},
): number {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
  if (!op) return 0;
  // `$n: Int = 500` costs like `{ "n": 500 }`: execution uses the default when the variable is not given.
  const defaults = new Map<string, ValueNode>();
  for (const v of op.variableDefinitions ?? []) if (v.defaultValue) defaults.set(v.variable.name.value, v.defaultValue);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root = op.operation === 'query' ? schema.getQueryType() : op.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return 0;

  const walk = (set: SelectionSetNode, type: GraphQLNamedType, depth: number, seen: Set<string>): number => {
    if (depth > 64) return Infinity;
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        if (t) total += walk(sel.selectionSet, t, depth, seen);
        continue;
      }
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        if (!f || seen.has(f.name.value)) continue;
        const t = schema.getType(f.typeCondition.name.value);
        if (t) total += walk(f.selectionSet, t, depth, new Set([...seen, f.name.value]));
        continue;
      }
      total += 1;
      if (!sel.selectionSet || !(isObjectType(type) || isInterfaceType(type))) continue;
      const def = type.getFields()[sel.name.value];
      if (!def) continue;
      const named = getNamedType(def.type);
      let factor = 1;
      const parentIsConnection = type.name.endsWith('Connection');
      if (named.name.endsWith('Connection')) {
        const first = intArg(sel.arguments?.find((a) => a.name.value === 'first')?.value, variables, defaults);
        const last = intArg(sel.arguments?.find((a) => a.name.value === 'last')?.value, variables, defaults);
        for (const [arg, v] of [
          ['first', first],
          ['last', last],
        ] as const) {
          if (v !== undefined && (v < 0 || v > MAX_PAGE)) throw new PageSizeError(sel.name.value, arg, v);
        }
        factor = Math.max(1, first ?? last ?? DEFAULT_PAGE);
      } else if (isListType(getNullableType(def.type)) && !parentIsConnection) {
        factor = DEFAULT_LIST;
      }
      total += factor * walk(sel.selectionSet, named, depth + 1, seen);
    }
    return total;
  };
  return walk(op.selectionSet, root, 0, new Set());
}

export function costError(cost: number, max: number): GraphQLError {
  return new GraphQLError(
    `Query is too expensive: estimated cost ${Math.round(cost)} exceeds the limit of ${max}. Ask for smaller pages (first/last) or fewer nested lists.`,
    {
      extensions: { code: 'QUERY_TOO_EXPENSIVE', cost: Math.round(cost), maxCost: max, http: { status: 400 } },
    },
  );
}
