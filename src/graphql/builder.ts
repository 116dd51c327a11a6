import { isIdentityType } from '../twin/identity.ts';
import SchemaBuilder, { brandWithType } from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { GraphQLError, type GraphQLResolveInfo, isObjectType } from 'graphql';
import { type Principal, roleAtLeast } from '../auth/roles.ts';
import { canonicalKey, decodeGlobalIdSafely } from '../core/ids.ts';
import { canSeePlant } from '../core/scope.ts';
import type { Relations } from '../db/relations.ts';
import { relations } from '../db/relations.ts';
import type { Context } from './context.ts';
import './outcome-plugin.ts';
import './row-extras-plugin.ts';
import { selectedFields } from './lookahead.ts';
import type { UploadedFile } from './uploads.ts';

export interface PothosTypes {
  Context: Context;
  // Fields are non-null unless they say `nullable: true` (the contract in ../shared/API.md marks them with !).
  DefaultFieldNullability: false;
  DrizzleRelations: Relations;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string | number };
    File: { Input: UploadedFile; Output: never };
  };
  AuthScopes: {
    viewer: boolean;
    operator: boolean;
    planner: boolean;
    engineer: boolean;
    admin: boolean;
    /** An ADMIN whose key is not limited to some plants. */
    globalAdmin: boolean;
    /** The caller may see this plant (by numeric ID). */
    plant: number;
  };
}

export const builder = new SchemaBuilder<PothosTypes>({
  // Relay before scope-auth so scope checks see parsed global IDs; outcomes inside errors so it sees domain errors;
  // rowExtras right around drizzle (row-extras-plugin.ts).
  plugins: [RelayPlugin, ScopeAuthPlugin, ErrorsPlugin, 'outcomes', 'rowExtras', DrizzlePlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      viewer: roleAtLeast(ctx.auth.role, 'VIEWER'),
      operator: roleAtLeast(ctx.auth.role, 'OPERATOR'),
      planner: roleAtLeast(ctx.auth.role, 'PLANNER'),
      engineer: roleAtLeast(ctx.auth.role, 'ENGINEER'),
      admin: ctx.auth.role === 'ADMIN',
      globalAdmin: ctx.auth.role === 'ADMIN' && ctx.auth.plantIds === null,
      plant: (plantId: number) => canSeePlant(ctx.auth, plantId),
    }),
    unauthorizedError: (_parent, ctx, info) =>
      new GraphQLError(`Forbidden: role ${ctx.auth.role} may not use ${info.parentType.name}.${info.fieldName}`, {
        extensions: { code: 'FORBIDDEN' },
      }),
  },
  drizzle: {
    client: (ctx) => ctx.db,
    getTableConfig,
    relations,
    defaultConnectionSize: 20,
    maxConnectionSize: 500,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    decodeGlobalID: (globalID) => decodeGlobalIdSafely(globalID),
    nodesQueryOptions: false,
    nodeQueryOptions: {
      // A node is returned only if the caller may see its plant; otherwise it reads exactly like an unknown ID.
      resolve: async (_root, { id }, ctx, info, resolveNode) => {
        // Only canonical IDs: `Machine:01`, `Machine:1e1` or `Machine:0x1` would otherwise reach the row of `Machine:1`.
        if (!canonicalKey(String(id.id))) return null;
        const load = async (): Promise<Record<string, unknown> | null> => {
          try {
            return (await resolveNode(id)) as Record<string, unknown> | null;
          } catch (err) {
            // The drizzle loader rejects a missing row with "Model <table>(<id>) not found": that is a null node.
            if (err instanceof Error && /not found/i.test(err.message)) return null;
            throw err;
          }
        };
        // Twin rows: existence and plant first, merged with concurrent requests' (twin/identity.ts), so nothing is
        // loaded for a row the caller may not see. Then, when the selection reads the row's data, the row with everything the
        // selection needs, in one planned statement (batched with the request's other nodes); planning it per field
        // from a stub cost the detail query a plan per field.
        if (isIdentityType(id.typename)) {
          const row = await ctx.services.identities.load(id.typename, Number(id.id));
          if (!row || !nodeVisible(id.typename, row as unknown as Record<string, unknown>, ctx)) return null;
          if (selectsRowData(info, id.typename)) return load();
          const stub = { ...row };
          brandWithType(stub, id.typename as never);
          return stub;
        }
        const node = await load();
        if (!node) return null;
        return nodeVisible(id.typename, node, ctx) ? node : null;
      },
    },
  },
  errors: {
    defaultTypes: [],
  },
});

/**
 * Whether a `node` field selects, on `typename`, a field that reads the row's data (one with a drizzle selection:
 * columns, relations, extras), through fragments too. The ID, __typename and computed fields (a prediction) need only
 * the identity.
 */
function selectsRowData(info: GraphQLResolveInfo, typename: string): boolean {
  const type = info.schema.getType(typename);
  if (!isObjectType(type)) return true;
  const fields = type.getFields();
  return info.fieldNodes.some(
    (n) =>
      n.selectionSet !== undefined &&
      selectedFields(info, n.selectionSet, type).some((f) =>
        Boolean((fields[f.name.value]?.extensions as { pothosDrizzleSelect?: unknown })?.pothosDrizzleSelect),
      ),
  );
}

const nodeRoles: Record<string, Parameters<typeof roleAtLeast>[1]> = {};

/** Which plant a node belongs to, by type. A type missing here is never returned through `node`. */
const nodePlant: Record<string, (row: Record<string, unknown>) => number | null> = {
  Plant: (r) => r.id as number,
  Line: (r) => r.plantId as number,
  Machine: (r) => r.plantId as number,
  Product: (r) => r.plantId as number,
  Order: (r) => r.plantId as number,
};

/** Lets a capability make its node type reachable through `node(id)`; `plantOf` returns null for plant-less rows. */
export function registerNodeVisibility(
  typename: string,
  plantOf: (row: Record<string, unknown>) => number | null,
  role: Parameters<typeof roleAtLeast>[1] = 'VIEWER',
): void {
  nodePlant[typename] = (r) => plantOf(r);
  nodeRoles[typename] = role;
}

const nodeRules: Record<string, (row: Record<string, unknown>, principal: Principal) => boolean> = {};

/** For node types whose visibility is not one plant's (e.g. API keys): `visible` decides alone. */
export function registerNodeRule(typename: string, visible: (row: Record<string, unknown>, principal: Principal) => boolean): void {
  nodeRules[typename] = visible;
}

function nodeVisible(typename: string, row: Record<string, unknown>, ctx: Context): boolean {
  const rule = nodeRules[typename];
  if (rule) return rule(row, ctx.auth);
  const plantOf = nodePlant[typename];
  if (!plantOf) return false;
  if (!roleAtLeast(ctx.auth.role, nodeRoles[typename] ?? 'VIEWER')) return false;
  const plantId = plantOf(row);
  return plantId === null ? ctx.auth.plantIds === null : canSeePlant(ctx.auth, plantId);
}
