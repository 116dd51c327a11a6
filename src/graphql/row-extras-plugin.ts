import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { defaultFieldResolver, type GraphQLFieldResolver } from 'graphql';

/**
 * Fields computed in SQL with their parent rows (drizzle `select: { extras }`) whose value is found on the row under a
 * key derived from the field's arguments. The drizzle plugin looks up, for every row and field, the loader mapping of
 * the query that planned the row (a string key per path and several map lookups); for a field whose result is a
 * plain value that mapping only answers "was my extra loaded with this row?", which the row itself answers: the key is
 * there exactly when the planned query selected it with these arguments. So when the key is on the row the field's
 * own resolver runs directly; otherwise (a row loaded some other way) the drizzle plugin's path runs, which loads it.
 * On a 500-machine dashboard this was a quarter of the server's CPU per request (see bench/dashboard.ts).
 *
 * The same holds for a field that only exposes columns of its row (`t.exposeString('name')` on a type whose rows
 * load only some columns): when every column it selects is on the row, it resolves from the row.
 *
 * Listed just before the drizzle plugin, so the resolver it is given is the drizzle plugin's wrapper.
 */
export class RowExtrasPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.name === 'id' && this.isNodeIdField(fieldConfig)) {
      // The relay plugin's global ID field is async: on a list of rows every row's object became a promise. The rows
      // of a node type carry their `id` (every drizzleNode here selects it), so it is encoded right away.
      const typename = fieldConfig.parentType;
      return (parent, args, ctx, info) => {
        const id = typeof parent === 'object' && parent !== null ? (parent as { id?: unknown }).id : undefined;
        return typeof id === 'number' || typeof id === 'string' ? encodeGlobalID(typename, String(id)) : resolver(parent, args, ctx, info);
      };
    }
    const extensions = fieldConfig.extensions as { rowExtraKey?: RowExtraKey; pothosDrizzleSelect?: unknown } | undefined;
    if (!extensions?.pothosDrizzleSelect) return resolver;
    const own = (fieldConfig.resolve ?? defaultFieldResolver) as GraphQLFieldResolver<unknown, Types['Context'], object>;
    const keyOf = extensions.rowExtraKey;
    if (keyOf) {
      return (parent, args, ctx, info) =>
        typeof parent === 'object' && parent !== null && keyOf(args as Record<string, unknown>) in parent
          ? own(parent, args, ctx, info)
          : resolver(parent, args, ctx, info);
    }
    const columns = columnsOnly(extensions.pothosDrizzleSelect);
    if (!columns) return resolver;
    return (parent, args, ctx, info) => {
      if (typeof parent !== 'object' || parent === null) return resolver(parent, args, ctx, info);
      for (const c of columns) if (!(c in parent)) return resolver(parent, args, ctx, info);
      return own(parent, args, ctx, info);
    };
  }

  /** The `id` field drizzleNode adds to a node type (a Node implementation backed by a table). */
  private isNodeIdField(fieldConfig: PothosOutputFieldConfig<Types>): boolean {
    if (fieldConfig.type.kind !== 'Scalar' || this.buildCache.getTypeConfig(fieldConfig.type.ref).name !== 'ID') return false;
    const parent = this.buildCache.getTypeConfig(fieldConfig.parentType);
    if (parent.kind !== 'Object' || !(parent.extensions as { pothosDrizzleModel?: unknown } | undefined)?.pothosDrizzleModel) return false;
    return parent.interfaces.some((i) => this.buildCache.getTypeConfig(i).name === 'Node');
  }
}

/**
 * The columns of a static selection of columns only (a field exposing columns of its row, e.g. `t.exposeString` on a
 * type whose rows load only some columns): null for relations, extras or a selection computed from arguments.
 */
function columnsOnly(select: unknown): string[] | null {
  if (typeof select !== 'object' || select === null) return null;
  const { columns, ...rest } = select as { columns?: Record<string, unknown> };
  if (Object.keys(rest).length > 0 || !columns) return null;
  const keys = Object.entries(columns)
    .filter(([, on]) => on === true)
    .map(([k]) => k);
  return keys.length > 0 && keys.length === Object.keys(columns).length ? keys : null;
}

/** The row key a field's extra is loaded under, from the field's arguments. */
export type RowExtraKey = (args: Record<string, unknown>) => string;

/** Field extensions for a field whose drizzle `select` adds exactly one extra, under `key(args)`. */
export function rowExtra(key: RowExtraKey | string): { rowExtraKey: RowExtraKey } {
  return { rowExtraKey: typeof key === 'string' ? () => key : key };
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      rowExtras: RowExtrasPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('rowExtras', RowExtrasPlugin);
