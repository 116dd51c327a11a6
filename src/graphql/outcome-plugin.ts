import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { AppError } from '../core/errors.ts';

/** What each mutation field ended with; the audit log records it. */
export interface FieldOutcome {
  field: string;
  code: string;
}

/**
 * Records, for every Mutation field, whether it succeeded or which typed error it returned or threw. It wraps inside
 * the errors plugin, so it sees domain errors before they become union members.
 */
export class OutcomePlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.parentType !== 'Mutation') return resolver;
    return async (parent, args, ctx, info) => {
      const outcomes = (ctx as { outcomes?: FieldOutcome[] }).outcomes;
      try {
        const result = await resolver(parent, args, ctx, info);
        outcomes?.push({ field: info.fieldName, code: result instanceof AppError ? result.code : 'OK' });
        return result;
      } catch (err) {
        const code = err instanceof AppError ? err.code : ((err as { extensions?: { code?: string } }).extensions?.code ?? 'INTERNAL_SERVER_ERROR');
        outcomes?.push({ field: info.fieldName, code });
        throw err;
      }
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      outcomes: OutcomePlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('outcomes', OutcomePlugin);
