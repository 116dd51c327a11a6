import SchemaBuilder from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import { getTableConfig } from 'drizzle-orm/pg-core';
import type { Relations } from '../db/relations.ts';
import { relations } from '../db/relations.ts';
import type { Context } from './context.ts';

export interface PothosTypes {
  Context: Context;
  DrizzleRelations: Relations;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    ID: { Input: string; Output: string | number };
  };
}

export const builder = new SchemaBuilder<PothosTypes>({
  plugins: [RelayPlugin, ErrorsPlugin, DrizzlePlugin],
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
    nodesQueryOptions: false,
  },
  errors: {
    defaultTypes: [],
  },
});
