import {
  ConflictError,
  type FieldError,
  ForbiddenError,
  InfeasibleError,
  LISTED_PROBLEMS,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../../core/errors.ts';
import { builder } from '../builder.ts';
import { listSize } from '../cost.ts';

export const ErrorInterface = builder.interfaceRef<Error & { code: string }>('Error').implement({
  description: 'Every expected failure of a mutation implements Error; a failed mutation changes nothing.',
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

const FieldErrorType = builder.objectRef<FieldError>('FieldError').implement({
  description: 'One problem in an input, with the path of the offending field (e.g. lines[0].machines[2].name).',
  fields: (t) => ({
    path: t.exposeString('path'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ValidationError,
  fields: (t) => ({
    fieldErrors: t.field({
      type: [FieldErrorType],
      description: `The problems found, each with its path: at most the first ${LISTED_PROBLEMS} (problemCount counts them all).`,
      extensions: listSize({ max: LISTED_PROBLEMS }),
      resolve: (e) => e.listed,
    }),
    problemCount: t.int({ description: 'How many problems the input has, listed or not.', resolve: (e) => e.problemCount }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof NotFoundError,
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The ID that was not found (or that the caller may not see).' }),
  }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ForbiddenError,
  fields: () => ({}),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ConflictError,
  fields: () => ({}),
});

builder.objectType(InfeasibleError, {
  name: 'InfeasibleError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof InfeasibleError,
  fields: () => ({}),
});

builder.objectType(PayloadTooLargeError, {
  name: 'PayloadTooLargeError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof PayloadTooLargeError,
  fields: (t) => ({
    path: t.exposeString('path', { description: 'The input field that carried it (file, csv).' }),
    limitBytes: t.exposeFloat('limitBytes'),
  }),
});
