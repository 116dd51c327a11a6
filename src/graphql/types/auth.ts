import { sql } from 'drizzle-orm';
import { canSeeKey, visibleKeysSql } from '../../auth/manage.ts';
import { ROLES } from '../../auth/roles.ts';
import { type apiKeys, auditLog } from '../../db/schema/index.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { builder, registerNodeRule } from '../builder.ts';
import { decodeId, encodeId } from '../../core/ids.ts';
import { listSize } from '../cost.ts';

/** The most plant IDs a key or token lists (distinct). */
const MAX_PLANT_IDS = 10_000;
/** An audit entry names each top-level field of its mutation once: at most as many as Mutation has (a schema test checks). */
const MAX_AUDIT_FIELDS = 100;
const plantIdList = (ids: readonly number[] | null | undefined) => (ids ? [...new Set(ids)].slice(0, MAX_PLANT_IDS).map((id) => encodeId('Plant', id)) : null);

export const RoleEnum = builder.enumType('Role', {
  description:
    'VIEWER reads; OPERATOR also ingests and handles alerts; PLANNER also optimizes and runs scenarios; ENGINEER also manages models, datasets and alert rules; ADMIN everything.',
  values: ROLES,
});

const ApiKey = builder.drizzleNode('apiKeys', {
  name: 'ApiKey',
  id: { column: (k) => k.id },
  authScopes: { admin: true },
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.expose('role', { type: RoleEnum }),
    plantIds: t.field({
      type: ['ID'],
      nullable: true,
      description: `Plants this key is limited to (each once, at most ${MAX_PLANT_IDS.toLocaleString('en-US')}); null means every plant.`,
      extensions: listSize({ max: MAX_PLANT_IDS }),
      resolve: (k) => plantIdList(k.plantIds),
    }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to recognise it.' }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
  }),
});
registerNodeRule('ApiKey', (k, principal) => canSeeKey(principal, k as { plantIds: number[] | null }));

builder.drizzleObject('auditLog', {
  name: 'AuditEntry',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    keyName: t.exposeString('keyName'),
    role: t.exposeString('role'),
    operation: t.exposeString('operation'),
    fields: t.stringList({
      description: 'Top-level fields of the mutation, each once.',
      extensions: listSize({ max: MAX_AUDIT_FIELDS }),
      resolve: (e) => e.fields.slice(0, MAX_AUDIT_FIELDS),
    }),
    variables: t.field({ type: 'JSON', nullable: true, description: 'Variables with secrets redacted.', resolve: (e) => e.variables }),
    outcome: t.exposeString('outcome', { description: 'OK, or the error codes the operation ended with.' }),
  }),
});

const Viewer = builder.objectRef<{ name: string; role: (typeof ROLES)[number]; plantIds: string[] | null }>('Viewer').implement({
  description: 'Who the current credentials belong to.',
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.expose('role', { type: RoleEnum }),
    plantIds: t.exposeIDList('plantIds', {
      nullable: true,
      description: `Plants the credentials are limited to (each once, at most ${MAX_PLANT_IDS.toLocaleString('en-US')}); null means every plant.`,
      extensions: listSize({ max: MAX_PLANT_IDS }),
    }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: Viewer,
    resolve: (_r, _a, ctx) => ({
      name: ctx.auth.name,
      role: ctx.auth.role,
      plantIds: plantIdList(ctx.auth.plantIds),
    }),
  }),
  apiKeys: t.drizzleConnection(
    {
      type: 'apiKeys',
      description: 'ADMIN only. Unscoped ADMINs see every key; plant-scoped ADMINs see keys limited to their plants.',
      authScopes: { admin: true },
      resolve: (query, _r, _a, ctx) =>
        ctx.db.query.apiKeys.findMany(
          query({
            where: { RAW: (keys) => visibleKeysSql(ctx.auth, keys.plantIds) ?? sql`true` },
            orderBy: { id: 'asc' },
          }),
        ),
    },
    { name: 'ApiKeyConnection' },
    { name: 'ApiKeyEdge' },
  ),
  auditLog: t.drizzleConnection(
    {
      type: 'auditLog',
      description: 'ADMIN only (unscoped): every mutation, newest first.',
      authScopes: { globalAdmin: true },
      resolve: (query, _r, _a, ctx) => ctx.db.query.auditLog.findMany(query({ orderBy: { id: 'desc' } })),
    },
    { name: 'AuditEntryConnection' },
    { name: 'AuditEntryEdge' },
  ),
}));

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
    plantIds: t.idList({ description: 'Limit the key to these plants; omit for every plant (unscoped ADMINs only).' }),
  }),
});

type ApiKeyRow = typeof apiKeys.$inferSelect;

// The rows come from the auth service, which returns only keys the caller may see (canSeeKey).
const CreateApiKeySuccess = builder.objectRef<{ key: string; row: ApiKeyRow }>('CreateApiKeySuccess').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The secret key. It is shown only here, once.' }),
    apiKey: t.field({ type: ApiKey, resolve: (parent) => parent.row }),
  }),
});

const RevokeApiKeySuccess = builder.objectRef<{ row: ApiKeyRow }>('RevokeApiKeySuccess').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKey, resolve: (parent) => parent.row }),
  }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    description: 'ADMIN. A plant-scoped ADMIN can only create keys limited to its own plants.',
    type: CreateApiKeySuccess,
    skipTypeScopes: true,
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'CreateApiKeyResult' } },
    resolve: (_r, { input }, ctx) =>
      ctx.services.auth.createKey(ctx.auth, {
        name: input.name,
        role: input.role,
        plantIds: input.plantIds?.map((g) => ({ id: decodeId('Plant', String(g)), given: String(g) })),
      }),
  }),
  revokeApiKey: t.field({
    description: 'ADMIN. Takes effect at once in this process and within 5 seconds in others.',
    type: RevokeApiKeySuccess,
    skipTypeScopes: true,
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'RevokeApiKeyResult' } },
    resolve: async (_r, { id }, ctx) => {
      const row = await ctx.services.auth.revokeKey(ctx.auth, decodeId('ApiKey', String(id)));
      if (!row) throw new NotFoundError('ApiKey', String(id));
      return { row };
    },
  }),
}));

export { ApiKey, auditLog };
