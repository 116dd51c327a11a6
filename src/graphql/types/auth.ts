import { eq } from 'drizzle-orm';
import { createApiKey, revokeApiKey } from '../../auth/keys.ts';
import { canSeePlant, ROLES } from '../../auth/roles.ts';
import { apiKeys, auditLog, plants } from '../../db/schema/index.ts';
import { NotFoundError, Problems, ValidationError } from '../../errors.ts';
import { builder, registerNodeVisibility } from '../builder.ts';
import { decodeId, encodeId } from '../ids.ts';

export const RoleEnum = builder.enumType('Role', {
  description: 'VIEWER reads; OPERATOR also ingests and handles alerts; PLANNER also optimizes and runs scenarios; ENGINEER also manages models, datasets and alert rules; ADMIN everything.',
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
      description: 'Plants this key is limited to; null means every plant.',
      resolve: (k) => k.plantIds?.map((id) => encodeId('Plant', id)) ?? null,
    }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to recognise it.' }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
  }),
});
// A key is visible through node(id) to ADMINs only, and to a plant-scoped ADMIN only if it is within its plants.
registerNodeVisibility('ApiKey', () => null, 'ADMIN');

builder.drizzleObject('auditLog', {
  name: 'AuditEntry',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    keyName: t.exposeString('keyName'),
    role: t.exposeString('role'),
    operation: t.exposeString('operation'),
    fields: t.exposeStringList('fields'),
    variables: t.field({ type: 'JSON', nullable: true, description: 'Variables with secrets redacted.', resolve: (e) => e.variables }),
    outcome: t.exposeString('outcome', { description: 'OK, or the error codes the operation ended with.' }),
  }),
});

const Viewer = builder.objectRef<{ name: string; role: (typeof ROLES)[number]; plantIds: string[] | null }>('Viewer').implement({
  description: 'Who the current credentials belong to.',
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.expose('role', { type: RoleEnum }),
    plantIds: t.exposeIDList('plantIds', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: Viewer,
    resolve: (_r, _a, ctx) => ({
      name: ctx.auth.name,
      role: ctx.auth.role,
      plantIds: ctx.auth.plantIds?.map((id) => encodeId('Plant', id)) ?? null,
    }),
  }),
  apiKeys: t.drizzleConnection({
    type: 'apiKeys',
    description: 'ADMIN only. Unscoped ADMINs see every key; plant-scoped ADMINs see keys limited to their plants.',
    authScopes: { admin: true },
    resolve: (query, _r, _a, ctx) =>
      ctx.db.query.apiKeys.findMany(
        query({
          where: ctx.auth.plantIds === null ? {} : { plantIds: { isNotNull: true, arrayContained: [...ctx.auth.plantIds] } },
          orderBy: { id: 'asc' },
        }),
      ),
  }, { name: 'ApiKeyConnection' }, { name: 'ApiKeyEdge' }),
  auditLog: t.drizzleConnection({
    type: 'auditLog',
    description: 'ADMIN only (unscoped): every mutation, newest first.',
    authScopes: { globalAdmin: true },
    resolve: (query, _r, _a, ctx) => ctx.db.query.auditLog.findMany(query({ orderBy: { id: 'desc' } })),
  }, { name: 'AuditEntryConnection' }, { name: 'AuditEntryEdge' }),
}));

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
    plantIds: t.idList({ description: 'Limit the key to these plants; omit for every plant (unscoped ADMINs only).' }),
  }),
});

const CreateApiKeySuccess = builder.objectRef<{ key: string; id: number }>('CreateApiKeySuccess').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The secret key. It is shown only here, once.' }),
    apiKey: t.drizzleField({
      type: 'apiKeys',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.apiKeys.findFirst(query({ where: { id: parent.id } })))!,
    }),
  }),
});

const RevokeApiKeySuccess = builder.objectRef<{ id: number }>('RevokeApiKeySuccess').implement({
  fields: (t) => ({
    apiKey: t.drizzleField({
      type: 'apiKeys',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.apiKeys.findFirst(query({ where: { id: parent.id } })))!,
    }),
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
    resolve: async (_r, { input }, ctx) => {
      const p = new Problems();
      let plantIds: number[] | null = null;
      if (input.plantIds) {
        plantIds = [];
        const ids = input.plantIds.map((g, i) => {
          const id = decodeId('Plant', String(g));
          if (id === null || !canSeePlant(ctx.auth, id)) p.add(`plantIds[${i}]`, `unknown plant ${JSON.stringify(g)}`);
          return id;
        });
        const existing = new Set(
          (await ctx.db.select({ id: plants.id }).from(plants)).map((r) => r.id),
        );
        ids.forEach((id, i) => {
          if (id !== null && canSeePlant(ctx.auth, id) && !existing.has(id)) p.add(`plantIds[${i}]`, `unknown plant ${JSON.stringify(input.plantIds![i])}`);
          if (id !== null) plantIds!.push(id);
        });
        if (input.plantIds.length === 0) p.add('plantIds', 'give at least one plant, or omit plantIds for every plant');
      } else if (ctx.auth.plantIds !== null) {
        p.add('plantIds', 'a plant-scoped ADMIN must limit new keys to some of its plants');
      }
      p.throwIfAny();
      const { key, row } = await createApiKey(ctx.db, { name: input.name, role: input.role, plantIds, createdBy: ctx.auth.name });
      return { key, id: row.id };
    },
  }),
  revokeApiKey: t.field({
    description: 'ADMIN. Takes effect at once in this process and within 5 seconds in others.',
    type: RevokeApiKeySuccess,
    skipTypeScopes: true,
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'RevokeApiKeyResult' } },
    resolve: async (_r, { id }, ctx) => {
      const keyId = decodeId('ApiKey', String(id));
      if (keyId === null) throw new NotFoundError('ApiKey', String(id));
      const [row] = await ctx.db.select().from(apiKeys).where(eq(apiKeys.id, keyId)).limit(1);
      const within = row && (ctx.auth.plantIds === null || (row.plantIds !== null && row.plantIds.every((pid) => canSeePlant(ctx.auth, pid))));
      if (!within) throw new NotFoundError('ApiKey', String(id));
      await revokeApiKey(ctx.db, keyId);
      ctx.services.auth.keys.invalidate();
      return { id: keyId };
    },
  }),
}));

export { ApiKey, auditLog };
