import { GraphQLError, Kind } from 'graphql';
import { echo } from '../../core/errors.ts';
import { builder } from '../builder.ts';
import { isUploadedFile } from '../uploads.ts';

// ISO-8601 with a UTC designator or an explicit offset; a bare local time is ambiguous on a factory floor.
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** A UTC time as PostgreSQL and toISOString write it: up to microseconds, `Z` or `+00:00`. */
const PG_UTC = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:00)$/;

export function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_WITH_OFFSET.test(value)) {
    throw new GraphQLError(`DateTime must be an ISO-8601 string with a time zone offset (e.g. 2026-01-31T08:00:00Z), got ${echo(value)}`);
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new GraphQLError(`DateTime ${echo(value)} is not a real date`);
  // PostgreSQL has no year 0 (and stores years before 1 as BC): only years 0001 to 9999 (in UTC) are taken.
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) throw new GraphQLError(`DateTime ${echo(value)} must lie in the years 0001 to 9999 (UTC)`);
  return d;
}

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time with offset; always returned in UTC.',
  serialize: (value) => {
    // Times read as JSON from PostgreSQL (`2026-01-31T08:00:00.123456+00:00`) are rewritten without a Date.
    if (typeof value === 'string') {
      const m = PG_UTC.exec(value);
      if (m) return `${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
    }
    const d = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return d.toISOString();
  },
  parseValue: parseDateTime,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string');
    return parseDateTime(ast.value);
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (v) => v,
  parseValue: (v) => v,
});

builder.scalarType('File', {
  description: 'A file sent in a multipart request (GraphQL multipart request spec); at most PLANTGRAPH_MAX_UPLOAD_BYTES (default 100 MiB). Input only.',
  serialize: () => {
    throw new GraphQLError('File is an input type');
  },
  parseValue: (value) => {
    if (!isUploadedFile(value)) throw new GraphQLError('File must be a file part of a multipart request (GraphQL multipart request spec)');
    return value;
  },
  parseLiteral: () => {
    throw new GraphQLError('File must be a file part of a multipart request (GraphQL multipart request spec), not a literal');
  },
});
