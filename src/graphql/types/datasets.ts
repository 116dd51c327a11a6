import { and, eq, inArray } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../../core/errors.ts';
import { decodeId, encodeId } from '../../core/ids.ts';
import { type ColumnSummary, datasets, datasetSource } from '../../db/schema/index.ts';
import { CATEGORIES_LISTED } from '../../predict/columns.ts';
import { CSV_LIMITS, createTwinDataset, deleteDataset, importCsvDataset, type TwinDatasetDefinition } from '../../predict/datasets.ts';
import { AGGREGATES, type Aggregate, FEATURE_LIMITS } from '../../predict/features.ts';
import { builder, registerNodeVisibility } from '../builder.ts';
import type { Context } from '../context.ts';
import { listSize } from '../cost.ts';

/**
 * Datasets: CSV imports and datasets built from a plant's history. Reading: VIEWER (a plant's datasets follow the
 * plant scope; datasets of no plant are visible to unscoped keys only). Importing, building and deleting: ENGINEER.
 */

export const DatasetSourceEnum = builder.enumType('DatasetSource', { values: datasetSource.enumValues });
const ColumnKindEnum = builder.enumType('ColumnKind', { values: ['NUMERIC', 'CATEGORICAL'] as const });
const FeatureAggregateEnum = builder.enumType('FeatureAggregate', { values: AGGREGATES.map((a) => a.toUpperCase()) as Uppercase<Aggregate>[] });
export const TwinLabelKindEnum = builder.enumType('TwinLabelKind', { values: ['FAILURE_WITHIN', 'TIME_TO_FAILURE'] as const });

/** Columns and categories listed unless `first` asks for more: the cost estimate counts on these. */
const DEFAULT_COLUMNS = 100;
const DEFAULT_CATEGORIES = 10;

const listArg = (first: unknown, fallback: number) => (typeof first === 'number' ? first : fallback);

/** A list argument `first` from 0 to max, or a BAD_USER_INPUT error naming it. */
function boundedFirst(field: string, first: number | null | undefined, max: number): number {
  const n = first ?? max;
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new GraphQLError(`${field}(first: ${n}): must be from 0 to ${max}.`, { extensions: { code: 'BAD_USER_INPUT' } });
  return n;
}

const CategoryCount = builder.objectRef<{ value: string; count: number }>('CategoryCount').implement({
  fields: (t) => ({ value: t.exposeString('value'), count: t.exposeInt('count') }),
});

const DatasetColumn = builder.objectRef<ColumnSummary>('DatasetColumn').implement({
  description: 'One column of a dataset: NUMERIC with min, max and mean of the values present, or CATEGORICAL with its most frequent values.',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.field({ type: ColumnKindEnum, resolve: (c) => (c.kind === 'numeric' ? 'NUMERIC' : 'CATEGORICAL') }),
    missing: t.exposeInt('missing', { description: 'Rows without a value (empty, NA, NaN and the other tokens pandas reads as missing).' }),
    min: t.exposeFloat('min', { nullable: true }),
    max: t.exposeFloat('max', { nullable: true }),
    mean: t.exposeFloat('mean', { nullable: true }),
    categories: t.field({
      type: [CategoryCount],
      description: `CATEGORICAL: the most frequent values with their counts, the first \`first\` (default ${DEFAULT_CATEGORIES}, at most ${CATEGORIES_LISTED}).`,
      args: { first: t.arg.int({ defaultValue: DEFAULT_CATEGORIES }) },
      extensions: listSize({ max: CATEGORIES_LISTED, fromArgs: (a) => listArg(a.first, DEFAULT_CATEGORIES) }),
      resolve: (c, a) => c.categories.slice(0, boundedFirst('categories', a.first, CATEGORIES_LISTED)),
    }),
    categoryCount: t.exposeInt('categoryCount', {
      nullable: true,
      description: 'CATEGORICAL: distinct values; null for more than 1,000 (then the counts of categories stop at that point of the file).',
    }),
  }),
});

const LabelBalance = builder.objectRef<{ positive: number; negative: number }>('LabelBalance').implement({
  description: 'Rows labelled 1 (went DOWN within the horizon) and 0.',
  fields: (t) => ({
    positive: t.exposeInt('positive'),
    negative: t.exposeInt('negative'),
    positiveRate: t.float({ nullable: true, resolve: (b) => (b.positive + b.negative === 0 ? null : b.positive / (b.positive + b.negative)) }),
  }),
});

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export const Dataset = builder.drizzleNode('datasets', {
  name: 'Dataset',
  select: { columns: { id: true, plantId: true } },
  id: { column: (d) => d.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    source: t.expose('source', { type: DatasetSourceEnum }),
    rowCount: t.exposeInt('rowCount'),
    columns: t.field({
      type: [DatasetColumn],
      description: `In file order (TWIN: machine, time, the features, label): the first \`first\` (default ${DEFAULT_COLUMNS}, at most ${CSV_LIMITS.columns.toLocaleString('en-US')}).`,
      args: { first: t.arg.int({ defaultValue: DEFAULT_COLUMNS }) },
      extensions: listSize({ max: CSV_LIMITS.columns, fromArgs: (a) => listArg(a.first, DEFAULT_COLUMNS) }),
      select: { columns: { columns: true } },
      resolve: (d, a) => json<ColumnSummary[]>(d.columns).slice(0, boundedFirst('columns', a.first, CSV_LIMITS.columns)),
    }),
    columnCount: t.int({ select: { columns: { columns: true } }, resolve: (d) => json<ColumnSummary[]>(d.columns).length }),
    labelBalance: t.field({
      type: LabelBalance,
      nullable: true,
      description: 'TWIN datasets labelled FAILURE_WITHIN; null otherwise.',
      select: { columns: { definition: true } },
      resolve: (d) => (d.definition ? json<TwinDatasetDefinition>(d.definition).labelBalance : null),
    }),
    definition: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'TWIN datasets: the feature definitions, stepSeconds, from, to, label, the group, time and label columns, labelBalance and the rows left out by reason.',
      select: { columns: { definition: true } },
      resolve: (d) => (d.definition ? json(d.definition) : null),
    }),
    plant: t.relation('plant', { nullable: true, description: 'null: a CSV dataset of no plant.' }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

registerNodeVisibility('Dataset', (r) => (r.plantId as number | null) ?? null);

/** RQB `where` for the datasets the caller may see: in its plants; plant-less ones only unscoped. */
function visibleWhere(ctx: Context) {
  return ctx.auth.plantIds === null ? {} : { plantId: { in: [...ctx.auth.plantIds] } };
}

/** A Plant ID of an input; malformed reads like an unknown plant. */
function plantKey(raw: string | number): number {
  const id = decodeId('Plant', String(raw));
  if (id === null) throw new NotFoundError('Plant', String(raw));
  return id;
}

builder.queryFields((t) => ({
  dataset: t.drizzleField({
    type: 'datasets',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _r, args, ctx) => {
      const id = decodeId('Dataset', String(args.id));
      if (id === null) return null;
      return ctx.db.query.datasets.findFirst(query({ where: { id, ...visibleWhere(ctx) } }));
    },
  }),
  datasets: t.drizzleConnection(
    {
      type: 'datasets',
      description: 'Datasets, newest first: of one plant, or all the caller may see.',
      args: { plantId: t.arg.id() },
      totalCount: (_r, args, ctx) => {
        const plantId = args.plantId == null ? undefined : decodeId('Plant', String(args.plantId));
        if (plantId === null) return 0;
        // `in` leaves out the datasets of no plant, as visibleWhere does.
        const scope = ctx.auth.plantIds === null ? undefined : inArray(datasets.plantId, [...ctx.auth.plantIds]);
        return ctx.db.$count(datasets, and(plantId === undefined ? undefined : eq(datasets.plantId, plantId), scope));
      },
      resolve: (query, _r, args, ctx) => {
        const plantId = args.plantId == null ? undefined : decodeId('Plant', String(args.plantId));
        if (plantId === null) return [];
        const where = plantId === undefined ? visibleWhere(ctx) : { AND: [visibleWhere(ctx), { plantId }] };
        return ctx.db.query.datasets.findMany(query({ where, orderBy: { id: 'desc' } }));
      },
    },
    { name: 'DatasetConnection' },
    { name: 'DatasetEdge' },
  ),
}));

const ImportDatasetInput = builder.inputType('ImportDatasetInput', {
  description: 'A CSV file with a header row: exactly one of file (multipart upload) and csv (the text).',
  fields: (t) => ({
    name: t.string({ required: true }),
    file: t.field({ type: 'File' }),
    csv: t.string(),
    plantId: t.id({ description: 'The plant the dataset belongs to; required for keys limited to some plants.' }),
  }),
});

export const FeatureDefinitionInput = builder.inputType('FeatureDefinitionInput', {
  description:
    'Either metric, aggregate and windowSeconds (the window (at - windowSeconds, at]), or attribute (machine.kind, machine.idealCycleSeconds, machine.line).',
  fields: (t) => ({
    name: t.string({ description: 'Default: <metric>_<aggregate>_<windowSeconds>s, or the attribute.' }),
    metric: t.string(),
    aggregate: t.field({ type: FeatureAggregateEnum, description: 'SLOPE: least squares, units per second; STD: population standard deviation.' }),
    windowSeconds: t.int({ description: `1 to ${FEATURE_LIMITS.windowSeconds.toLocaleString('en-US')}.` }),
    attribute: t.string(),
  }),
});

export const TwinLabelInput = builder.inputType('TwinLabelInput', {
  fields: (t) => ({
    kind: t.field({ type: TwinLabelKindEnum, required: true }),
    horizonSeconds: t.int({ description: 'FAILURE_WITHIN: label 1 when the machine goes DOWN within this many seconds after the step.' }),
    capSeconds: t.int({ description: 'TIME_TO_FAILURE: seconds to the next DOWN, capped at this (optional).' }),
  }),
});

const CreateTwinDatasetInput = builder.inputType('CreateTwinDatasetInput', {
  fields: (t) => ({
    plantId: t.id({ required: true }),
    name: t.string({ required: true }),
    definitions: t.field({ type: [FeatureDefinitionInput], required: true }),
    stepSeconds: t.int({ required: true }),
    from: t.field({ type: 'DateTime', required: true }),
    to: t.field({ type: 'DateTime', required: true, description: 'Steps are from, from + stepSeconds, ... before to; to is at most now.' }),
    label: t.field({ type: TwinLabelInput, required: true }),
  }),
});

const datasetSuccess = (name: string) =>
  builder.objectRef<{ id: number }>(name).implement({
    fields: (t) => ({
      dataset: t.drizzleField({
        type: 'datasets',
        resolve: async (query, parent, _a, ctx) => {
          const row = await ctx.db.query.datasets.findFirst(query({ where: { id: parent.id } }));
          if (!row) throw new NotFoundError('Dataset', encodeId('Dataset', parent.id));
          return row;
        },
      }),
    }),
  });

const ImportDatasetSuccess = datasetSuccess('ImportDatasetSuccess');
const CreateTwinDatasetSuccess = datasetSuccess('CreateTwinDatasetSuccess');
const DeleteDatasetSuccess = builder.objectRef<{ id: number }>('DeleteDatasetSuccess').implement({
  fields: (t) => ({ deletedId: t.id({ resolve: (d) => encodeId('Dataset', d.id) }) }),
});

const engineer = { skipTypeScopes: true, authScopes: { engineer: true } } as const;

builder.mutationFields((t) => ({
  importDataset: t.field({
    ...engineer,
    description:
      'ENGINEER. Imports a CSV file (header row; numeric and categorical columns inferred), streaming; bad rows are a ValidationError by line and column, a file over PLANTGRAPH_MAX_UPLOAD_BYTES a PayloadTooLargeError (an upload over it is refused with HTTP 413 before anything runs). Nothing is stored on failure.',
    type: ImportDatasetSuccess,
    args: { input: t.arg({ type: ImportDatasetInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, PayloadTooLargeError], directResult: true, union: { name: 'ImportDatasetResult' } },
    resolve: async (_r, { input }, ctx) => {
      if ((input.file == null) === (input.csv == null)) throw ValidationError.single(input.file == null ? 'csv' : 'file', 'give exactly one of file and csv');
      const id = await importCsvDataset(ctx.services.database, {
        name: input.name,
        source: input.file ? input.file.stream() : input.csv!,
        path: input.file ? 'file' : 'csv',
        maxBytes: ctx.services.config.limits.maxUploadBytes,
        createdBy: ctx.auth.name,
        plantId: input.plantId == null ? null : plantKey(input.plantId),
        scope: ctx.auth,
      });
      return { id };
    },
  }),
  createTwinDataset: t.field({
    ...engineer,
    description:
      'ENGINEER. Builds a dataset from the plant’s history: one row per machine and step with the features, a machine column and the label from the state history. Runs inline (bounded: 500,000 rows).',
    type: CreateTwinDatasetSuccess,
    args: { input: t.arg({ type: CreateTwinDatasetInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError], directResult: true, union: { name: 'CreateTwinDatasetResult' } },
    resolve: async (_r, { input }, ctx) => {
      const l = input.label;
      const id = await createTwinDataset(ctx.services.database, {
        plantId: plantKey(input.plantId),
        name: input.name,
        definitions: input.definitions.map((d) => ({ ...d, aggregate: d.aggregate?.toLowerCase() })),
        stepSeconds: input.stepSeconds,
        from: input.from,
        to: input.to,
        label: l.kind === 'FAILURE_WITHIN' ? { kind: l.kind, horizonSeconds: l.horizonSeconds ?? Number.NaN } : { kind: l.kind, capSeconds: l.capSeconds },
        createdBy: ctx.auth.name,
        scope: ctx.auth,
        now: ctx.services.clock.now(),
      });
      return { id };
    },
  }),
  deleteDataset: t.field({
    ...engineer,
    description: 'ENGINEER. Deletes a dataset and its rows.',
    type: DeleteDatasetSuccess,
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'DeleteDatasetResult' } },
    resolve: async (_r, { id }, ctx) => {
      const key = decodeId('Dataset', String(id));
      if (key === null) throw new NotFoundError('Dataset', String(id));
      return deleteDataset(ctx.services.database, ctx.auth, key);
    },
  }),
}));
