import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getArgumentValues,
  getOperationAST,
  getNamedType,
  getNullableType,
  getVariableValues,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  visit,
} from 'graphql';
import { canSeePlant } from '../core/scope.ts';
import type { Database } from '../db/client.ts';
import { type PlantSizes, PlantSizeCache, type SizeKey } from '../twin/sizes.ts';
import type { Context } from './context.ts';

/**
 * The estimated cost of an operation is the number of rows (objects) it may return: each field costs 1 per object it
 * is selected on, and the objects below a field are as many as the field can return:
 * - a connection: its page, `first`/`last` (default 20, at most 500), whether given as a literal, a variable or a
 *   variable's default;
 * - a plain list: its declared size (`listSize` in the field's extensions; a schema test requires one on every list):
 *   a true upper bound (`max`, enforced by the field where the data could exceed it), tightened by the field's
 *   arguments (`fromArgs`: telemetry buckets from the window and the bucket size) and by the measured size of the
 *   twin (`known`: the largest such list in the caller's plants). Lists a plant contains (its lines, their machines,
 *   its products, their routing steps and the steps' machines) are also bounded per plant (`perPlant`): all the
 *   machines of all the lines of a plant are at most the plant's machines.
 * Deep but narrow twin queries stay cheap; wide fan-outs (500 plants x 500 orders, every bucket of every machine) do not.
 */
export const DEFAULT_PAGE = 20;
/** Largest page any connection serves. */
export const MAX_PAGE = 500;

export interface ListSize {
  /** The most items one parent object can have: a true bound (what the import allows, or a cap the field enforces). */
  max: number;
  /** A tighter bound from the field's arguments (coerced, as the resolver sees them). */
  fromArgs?: (args: Record<string, unknown>) => number;
  /** The measured size that bounds it per parent: the largest over the caller's plants. */
  known?: SizeKey;
  /** Within one plant, at most this many items under all parents together: a true bound and its measured size. */
  perPlant?: { max: number; known: SizeKey };
  /**
   * The items are values the parent object already holds (a subscription event's points), of a type with scalar
   * fields only: no resolver behind them reads anything, so the list costs as one object; its bytes are bounded by
   * PLANTGRAPH_MAX_RESPONSE_BYTES. A schema test checks that the item type has scalar and enum fields only.
   */
  inParent?: true;
}

/** The `extensions` of a list field that declare its size for the cost estimate. */
export function listSize(size: ListSize): { listSize: ListSize } {
  return { listSize: size };
}

/** The size a list field declares, if any. */
export function listSizeOf(field: Pick<GraphQLField<unknown, unknown>, 'extensions'>): ListSize | undefined {
  return (field.extensions as { listSize?: ListSize } | null | undefined)?.listSize;
}

export class PageSizeError extends GraphQLError {
  constructor(field: string, arg: string, value: number) {
    super(`${field}(${arg}: ${value}): page size must be from 0 to ${MAX_PAGE}.`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
  }
}

const isConnection = (type: { name: string }) => type.name.endsWith('Connection');

function perParent(size: ListSize, args: Record<string, unknown> | undefined, sizes: PlantSizes | undefined): number {
  let n = size.max;
  if (size.fromArgs && args) n = Math.min(n, Math.max(0, size.fromArgs(args)));
  if (size.known && sizes) n = Math.min(n, sizes[size.known]);
  return n;
}

/** Variables that do not coerce: the operation fails before anything runs, so it costs nothing. */
class BadVariables extends Error {}

/**
 * The estimated cost (see above). `variables` are the request's (coerced here as execution coerces them, defaults
 * included); without `sizes` every list counts at its declared bound, with them at the measured sizes where smaller.
 * Throws PageSizeError for a page outside 0 to 500.
 */
export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> = {},
  sizes?: PlantSizes,
): number {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
  if (!op) return 0;
  // `$n: Int = 500` costs like `{ "n": 500 }`: execution uses the default when the variable is not given. Variables
  // that do not coerce fail the operation before anything runs.
  // Coerced only when a field's cost depends on its arguments (a connection's page, a list sized by its arguments):
  // a mutation carrying 100,000 telemetry values is not coerced twice.
  let values: Record<string, unknown> | null | undefined;
  const coercedVariables = (): Record<string, unknown> | null => {
    if (values === undefined) {
      const coerced = getVariableValues(schema, op.variableDefinitions ?? [], variables ?? {}, { maxErrors: 1 });
      values = coerced.errors ? null : coerced.coerced;
    }
    return values;
  };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root = op.operation === 'query' ? schema.getQueryType() : op.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return 0;

  /** `n`: how many objects of `type` the selection applies to; `plants`: how many plants contain them, when known. */
  const walk = (set: SelectionSetNode, type: GraphQLNamedType, n: number, plants: number | null, depth: number, seen: Set<string>): number => {
    if (depth > 64) return Infinity;
    if (type.name === 'Plant') plants = n; // also when a fragment names the type (`node(id) { ... on Plant }`)
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        if (t) total += walk(sel.selectionSet, t, n, plants, depth, seen);
        continue;
      }
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        if (!f || seen.has(f.name.value)) continue;
        const t = schema.getType(f.typeCondition.name.value);
        if (t) total += walk(f.selectionSet, t, n, plants, depth, new Set([...seen, f.name.value]));
        continue;
      }
      total += n;
      if (!sel.selectionSet || !(isObjectType(type) || isInterfaceType(type))) continue;
      const def = type.getFields()[sel.name.value];
      if (!def) continue;
      const named = getNamedType(def.type);
      const connection = isConnection(named);
      const list = !connection && isListType(getNullableType(def.type)) && !isConnection(type);
      const size = list ? listSizeOf(def) : undefined;
      let args: Record<string, unknown> | undefined;
      if (connection || size?.fromArgs) {
        const vars = coercedVariables();
        if (vars === null) throw new BadVariables();
        try {
          args = getArgumentValues(def, sel, vars);
        } catch {
          args = undefined; // execution reports the argument error; count the field at its bounds
        }
      }
      let items = n;
      let inPlants: number | null = null;
      if (connection) {
        for (const arg of ['first', 'last'] as const) {
          const v = args?.[arg];
          if (typeof v === 'number' && (v < 0 || v > MAX_PAGE)) throw new PageSizeError(sel.name.value, arg, v);
        }
        const page = (args?.first ?? args?.last ?? DEFAULT_PAGE) as number;
        items = n * Math.max(1, page);
      } else if (list) {
        items = size?.inParent ? n : n * (size ? perParent(size, args, sizes) : MAX_PAGE);
        if (size?.perPlant) {
          if (plants !== null) items = Math.min(items, plants * Math.min(size.perPlant.max, sizes ? sizes[size.perPlant.known] : Infinity));
          inPlants = plants; // still within the same plants: their lines' machines, their products' steps
        }
      }
      total += walk(sel.selectionSet, named, items, inPlants, depth + 1, seen);
    }
    return total;
  };
  try {
    return walk(op.selectionSet, root, 1, null, 0, new Set());
  } catch (err) {
    if (err instanceof BadVariables) return 0; // variables that do not coerce fail the operation before anything runs
    throw err;
  }
}

export function costError(cost: number, max: number): GraphQLError {
  return new GraphQLError(
    `Query is too expensive: estimated cost ${Math.round(cost)} exceeds the limit of ${max}. Ask for smaller pages (first/last), fewer nested lists, or fewer and larger telemetry buckets.`,
    {
      extensions: { code: 'QUERY_TOO_EXPENSIVE', cost: Math.round(cost), maxCost: max, http: { status: 400 } },
    },
  );
}

const sizeCaches = new WeakMap<Database, PlantSizeCache>();

/** The measured twin sizes, the largest over the plants the caller may see (one statement; see PlantSizeCache). */
export function knownSizes(ctx: Pick<Context, 'services' | 'auth'>): Promise<PlantSizes> {
  const database = ctx.services.database;
  let cache = sizeCaches.get(database);
  if (!cache) sizeCaches.set(database, (cache = new PlantSizeCache(database)));
  return cache.maxima((plantId) => canSeePlant(ctx.auth, plantId));
}

export interface CostCheckArgs {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
  contextValue: unknown;
}

/**
 * How many list items a mutation's input holds: its variables' array elements and its literal lists, at any depth.
 * Whatever a mutation creates (an imported plant's lines, machines, products, steps and their machines) is listed in
 * its input, so no list of its answer is longer than the twin measured before it plus this.
 */
export function inputItems(op: OperationDefinitionNode, variables: Record<string, unknown>): number {
  let n = 0;
  const declared = new Set((op.variableDefinitions ?? []).map((d) => d.variable.name.value));
  const stack: unknown[] = Object.entries(variables)
    .filter(([k]) => declared.has(k))
    .map(([, v]) => v);
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      n += v.length;
      stack.push(...v);
    } else if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
  visit(op, {
    ListValue(node) {
      n += node.values.length;
    },
  });
  return n;
}

/**
 * The cost check of one operation: null when it is within `max`, else the error to answer (QUERY_TOO_EXPENSIVE, or
 * BAD_USER_INPUT for a page size out of range). An operation within the limit at the declared bounds costs no
 * statement; one over it is estimated again at the measured twin sizes (one statement) before it is refused. For a
 * mutation each measured size is raised by the number of list items in its input (inputItems): its answer may hold
 * what it has just created, a whole imported plant.
 */
export async function checkCost(args: CostCheckArgs, max: number): Promise<GraphQLError | null> {
  try {
    const variables = args.variableValues ?? {};
    let cost = estimateCost(args.schema, args.document, args.operationName, variables);
    if (cost > max) {
      let sizes = await knownSizes(args.contextValue as Context);
      const op = getOperationAST(args.document, args.operationName);
      if (op?.operation === 'mutation') {
        const grown = inputItems(op, variables);
        sizes = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, v + grown])) as unknown as PlantSizes;
      }
      cost = estimateCost(args.schema, args.document, args.operationName, variables, sizes);
    }
    return cost > max ? costError(cost, max) : null;
  } catch (err) {
    if (err instanceof PageSizeError) return err;
    throw err;
  }
}
