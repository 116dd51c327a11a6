import { builder } from './builder.ts';
import './types/scalars.ts';
import './types/errors.ts';
import './types/twin.ts';

builder.queryType({});
builder.mutationType({});

export const schema = builder.toSchema({ sortSchema: true });
