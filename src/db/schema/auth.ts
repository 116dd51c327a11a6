import { bigserial, index, integer, jsonb, pgEnum, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const role = pgEnum('role', ['VIEWER', 'OPERATOR', 'PLANNER', 'ENGINEER', 'ADMIN']);
export type Role = (typeof role.enumValues)[number];

export const apiKeys = pgTable(
  'api_keys',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    role: role('role').notNull(),
    /** null: every plant; otherwise the only plants this key may see. */
    plantIds: integer('plant_ids').array(),
    /** SHA-256 of the secret part, hex. The key itself is shown once and never stored. */
    keyHash: text('key_hash').notNull(),
    /** The first characters of the key, to recognise it in lists and logs. */
    prefix: text('prefix').notNull(),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_hash_uq').on(t.keyHash)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    keyName: text('key_name').notNull(),
    keyId: integer('key_id'),
    role: text('role').notNull(),
    operation: text('operation').notNull(),
    fields: text('fields').array().notNull(),
    variables: jsonb('variables'),
    outcome: text('outcome').notNull(),
  },
  (t) => [index('audit_log_at_idx').on(t.at)],
);
