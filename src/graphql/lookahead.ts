/**
 * Look-ahead over rows a root field has just loaded: which computed fields the rest of the query will ask of them.
 *
 * Pothos' drizzle plugin loads a whole tree (a plant, its lines, their machines) in one statement at the root field.
 * A computed field further down (a machine's failureRisk) would otherwise start its own work only when GraphQL
 * reaches it, after the whole tree has been walked. With the selection and the loaded rows in hand, the root field
 * can start that work at once, so it runs while GraphQL executes the tree. Capability modules register a hook for
 * the fields they compute (`onRowsLoaded`); root resolvers call `rowsLoaded` with what they loaded.
 */
import {
  type FieldNode,
  type GraphQLField,
  GraphQLIncludeDirective,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  isObjectType,
  type SelectionSetNode,
} from 'graphql';
import type { Context } from './context.ts';

/** A selected field of a loaded row: the row, the field's arguments and its type. */
export interface SelectedField {
  row: Record<string, unknown>;
  args: Record<string, unknown>;
}

/** What a hook asks for: fields of one type, by name. */
export interface LookaheadHook {
  typeName: string;
  fields: ReadonlySet<string>;
  /**
   * Called once per root field with every selected occurrence (never with an empty list). A returned promise is the
   * work started: the root field waits for it (never for its failure), so that the fields read its results without a
   * promise per row.
   */
  run(ctx: Context, found: SelectedField[], fieldName: string): void | Promise<unknown>;
}

const hooks: LookaheadHook[] = [];

/** Registers a hook (at module load, by the capability that computes the fields); the returned function removes it. */
export function onRowsLoaded(hook: LookaheadHook): () => void {
  hooks.push(hook);
  return () => {
    const i = hooks.indexOf(hook);
    if (i >= 0) hooks.splice(i, 1);
  };
}

/**
 * Tells the hooks what a root field loaded: `rows` (an object, an array, or for a connection field the array of
 * its nodes) of the field's return type, as loaded with their relations. Errors in hooks never fail the field. When a
 * hook was called, the returned promise is for the root field to await before it returns (see the end).
 */
export function rowsLoaded(ctx: Context, info: GraphQLResolveInfo, rows: unknown): Promise<void> | undefined {
  if (hooks.length === 0 || rows == null) return;
  const type = getNamedType(info.returnType);
  if (!isObjectType(type)) return;
  const found = new Map<LookaheadHook, Map<string, SelectedField[]>>();
  const walker = new Walker(info, found);
  for (const node of info.fieldNodes) if (node.selectionSet) walker.walk(node.selectionSet, type, rows, 0);
  if (found.size === 0) return;
  const started: Promise<unknown>[] = [];
  for (const [hook, byField] of found) {
    for (const [field, list] of byField) {
      try {
        const work = hook.run(ctx, list, field);
        if (work && typeof work.then === 'function') started.push(work);
      } catch {
        // A hook only starts work early; the field itself reports any error when it runs.
      }
    }
  }
  // Awaited by the root field before it returns: the work the hooks started (its failures are the fields' to
  // report), or at least one tick, so that statements the hooks started go out (pg's pool hands out connections on
  // the next tick) before GraphQL walks the tree. On 1,000 machines asking failureRisk, a promise per row cost more
  // than the walk it would overlap.
  if (started.length > 0) return Promise.allSettled(started).then(() => undefined);
  return new Promise((resolve) => process.nextTick(resolve));
}

/** Depth bound: the drizzle tree is a few levels deep; the query depth limit bounds it anyway. */
const MAX_DEPTH = 8;

class Walker {
  constructor(
    private info: GraphQLResolveInfo,
    private found: Map<LookaheadHook, Map<string, SelectedField[]>>,
  ) {}

  walk(selections: SelectionSetNode, type: GraphQLObjectType, data: unknown, depth: number): void {
    if (depth > MAX_DEPTH || data == null) return;
    // A connection: its nodes are the rows (edges { node { ... } }).
    if (Array.isArray(data) && type.name.endsWith('Connection')) {
      this.connection(selections, type, data, depth);
      return;
    }
    const rows = Array.isArray(data) ? data : [data];
    if (rows.length === 0) return;
    const wanted = hooks.filter((h) => h.typeName === type.name);
    for (const node of selectedFields(this.info, selections, type)) {
      const name = node.name.value;
      const def = type.getFields()[name];
      if (!def) continue;
      const mine = wanted.filter((h) => h.fields.has(name));
      if (mine.length > 0) {
        for (const hook of mine) this.collect(hook, name, def, node, rows);
        continue;
      }
      const child = getNamedType(def.type);
      if (!node.selectionSet || !isObjectType(child)) continue;
      // Only relations already loaded with the row (a value under the field's name) are followed.
      const nested = rows.flatMap((r) => {
        const v = (r as Record<string, unknown>)?.[name];
        return v == null ? [] : Array.isArray(v) ? v : [v];
      });
      if (nested.length > 0) this.walk(node.selectionSet, child, nested, depth + 1);
    }
  }

  private connection(selections: SelectionSetNode, type: GraphQLObjectType, rows: unknown[], depth: number): void {
    for (const edges of selectedFields(this.info, selections, type)) {
      if (edges.name.value !== 'edges' || !edges.selectionSet) continue;
      const edgeType = getNamedType(type.getFields().edges?.type);
      if (!isObjectType(edgeType)) continue;
      for (const node of selectedFields(this.info, edges.selectionSet, edgeType)) {
        const nodeType = getNamedType(edgeType.getFields().node?.type);
        if (node.name.value === 'node' && node.selectionSet && isObjectType(nodeType)) this.walk(node.selectionSet, nodeType, rows, depth + 1);
      }
    }
  }

  private collect(hook: LookaheadHook, name: string, def: GraphQLField<unknown, unknown>, node: FieldNode, rows: unknown[]): void {
    let args: Record<string, unknown>;
    try {
      args = getArgumentValues(def, node, this.info.variableValues);
    } catch {
      return; // invalid arguments: the field reports them itself
    }
    let byField = this.found.get(hook);
    if (!byField) this.found.set(hook, (byField = new Map()));
    let list = byField.get(name);
    if (!list) byField.set(name, (list = []));
    for (const row of rows) if (row && typeof row === 'object') list.push({ row: row as Record<string, unknown>, args });
  }
}

/** The field nodes a selection set selects on `type`: fragments expanded, @skip/@include applied. */
export function selectedFields(
  info: Pick<GraphQLResolveInfo, 'fragments' | 'variableValues'>,
  selections: SelectionSetNode,
  type: GraphQLObjectType,
  seen = new Set<string>(),
): FieldNode[] {
  const out: FieldNode[] = [];
  for (const s of selections.selections) {
    if (!included(info, s)) continue;
    if (s.kind === 'Field') out.push(s);
    else if (s.kind === 'InlineFragment') {
      if (!s.typeCondition || applies(s.typeCondition.name.value, type)) out.push(...selectedFields(info, s.selectionSet, type, seen));
    } else {
      const name = s.name.value;
      const fragment = info.fragments[name];
      if (!fragment || seen.has(name) || !applies(fragment.typeCondition.name.value, type)) continue;
      seen.add(name);
      out.push(...selectedFields(info, fragment.selectionSet, type, seen));
    }
  }
  return out;
}

function applies(condition: string, type: GraphQLObjectType): boolean {
  return condition === type.name || type.getInterfaces().some((i) => i.name === condition);
}

function included(info: Pick<GraphQLResolveInfo, 'variableValues'>, node: Parameters<typeof getDirectiveValues>[1]): boolean {
  if (!node.directives?.length) return true;
  const skip = getDirectiveValues(GraphQLSkipDirective, node, info.variableValues);
  if (skip?.if === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues);
  return include?.if !== false;
}
