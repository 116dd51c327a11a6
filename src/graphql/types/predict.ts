import { onRowsLoaded } from '../lookahead.ts';
import { GraphQLError } from 'graphql';
import { AppError, ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from '../../core/errors.ts';
import { type MachinePrediction, MissingFeaturesError, NoTwinFeaturesError } from '../../predict/machine.ts';
import { decodeId } from '../../core/ids.ts';
import { canSeePlant } from '../../core/scope.ts';
import { modelTask } from '../../db/schema/index.ts';
import { InferenceError, InputMismatchError, InvalidModelError, ModelLoadError, ModelTooLargeError, UnsupportedOperatorError } from '../../predict/errors.ts';
import type { ValueInfo } from '../../predict/onnx/inspect.ts';
import { type AliasPeriod, aliasesOf, aliasHistories, type ModelRecord, modelsByIds, PRODUCTION, resolveModel } from '../../predict/registry.ts';
import { driftOf, type FeatureDrift, type ShadowSummary, shadowSummaries } from '../../predict/monitor.ts';
import type { ScoredRow } from '../../predict/service.ts';
import { ALGORITHMS, checkTrainRequest, TRAIN_JOB, type TrainJobParams } from '../../predict/training.ts';
import { builder, registerNodeRule } from '../builder.ts';
import { JobNode } from './jobs.ts';
import { FeatureDefinitionInput, TwinLabelInput, TwinLabelKindEnum } from './datasets.ts';
import { type OutcomeMetric, OUTCOME_ROWS, type ShadowOutcomes, shadowOutcomes } from '../../predict/outcomes.ts';
import { TWIN_DATASET_LIMITS, type TwinLabel } from '../../predict/twin-dataset.ts';
import { uploadBytes } from '../uploads.ts';
import { checkFeatureDefinitions } from '../../predict/features.ts';
import { getDataset } from '../../predict/datasets.ts';
import { evaluateModel } from '../../predict/evaluate.ts';
import { Machine } from './twin.ts';
import type { Context } from '../context.ts';
import { listSize } from '../cost.ts';
import { loader } from '../loaders.ts';
import { ErrorInterface } from './errors.ts';

export const ModelTaskEnum = builder.enumType('ModelTask', { values: modelTask.enumValues });

/** Row-shaped model columns as drizzle selects them. */
type ModelRow = { id: number; name: string; version: number; plantId: number | null } & Record<string, any>;

const MAX_FEATURES = 10_000;
const MAX_TENSORS = 1_000;

const TensorSpecRef = builder.objectRef<ValueInfo>('TensorSpec').implement({
  description: 'A model input or output as onnxruntime sees it.',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.exposeString('kind', { description: 'tensor, sequence, map, ...' }),
    type: t.exposeString('type', { description: 'Element type (float32, int64, string, ...), or a description for non-tensors.' }),
    shape: t.field({
      type: ['Int'],
      nullable: { list: true, items: true },
      description: 'Dimensions; null entries are dynamic (see dimNames). null: rank unknown.',
      extensions: listSize({ max: 64 }),
      resolve: (v) => v.shape?.map((d) => (typeof d === 'number' ? d : null)) ?? null,
    }),
    dimNames: t.field({
      type: ['String'],
      nullable: { list: true, items: true },
      description: 'The symbolic name of each dynamic dimension (e.g. batch), null where fixed or unnamed.',
      extensions: listSize({ max: 64 }),
      resolve: (v) => v.shape?.map((d) => (typeof d === 'string' ? d : null)) ?? null,
    }),
  }),
});

const MetricRef = builder.objectRef<{ name: string; value: number }>('Metric').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeFloat('value') }),
});

const AliasPeriodRef = builder.objectRef<AliasPeriod>('ModelAliasPeriod').implement({
  description: 'A period during which a version held an alias.',
  fields: (t) => ({
    alias: t.exposeString('alias'),
    version: t.exposeInt('version'),
    since: t.field({ type: 'DateTime', resolve: (p) => p.since }),
    until: t.field({ type: 'DateTime', nullable: true, description: 'null: still holds it.', resolve: (p) => p.until }),
    setBy: t.exposeString('setBy'),
  }),
});

function aliasLoader(ctx: Context) {
  return loader<number, string[]>(ctx, 'model-aliases', (ids) => aliasesOf(ctx.services.database, ids));
}

const FeatureDriftRef = builder.objectRef<FeatureDrift>('FeatureDrift').implement({
  description:
    'How far the values served for a feature lie from the training values: the population stability index (PSI) over the training deciles (or categories).',
  fields: (t) => ({
    feature: t.exposeString('feature'),
    psi: t.exposeFloat('psi', { description: 'Below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a large one. 0 when nothing was served.' }),
    servedRows: t.exposeFloat('servedRows', { description: 'Rows served in the window.' }),
  }),
});

const OutcomeMetricRef = builder.objectRef<OutcomeMetric>('OutcomeMetric').implement({
  description: "One metric of production's and the candidate's outputs against the labels that became known later.",
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Classifiers: auc (when both outcomes occurred), logloss, accuracy (at 0.5). Regressors: rmse, mae.' }),
    production: t.exposeFloat('production'),
    candidate: t.exposeFloat('candidate'),
    delta: t.exposeFloat('delta', { description: 'candidate − production: higher is better for auc and accuracy, lower for logloss, rmse and mae.' }),
  }),
});

const ShadowOutcomesRef = builder.objectRef<ShadowOutcomes>('ShadowOutcomes').implement({
  description:
    'Shadow outputs of machine predictions scored against what the twin recorded afterwards (see Model.shadow.outcomes): rows whose label is known, and the metrics of both versions.',
  fields: (t) => ({
    labelKind: t.field({ type: TwinLabelKindEnum, resolve: (o) => o.label.kind }),
    horizonSeconds: t.int({ nullable: true, resolve: (o) => (o.label.kind === 'FAILURE_WITHIN' ? o.label.horizonSeconds : null) }),
    capSeconds: t.int({ nullable: true, resolve: (o) => (o.label.kind === 'TIME_TO_FAILURE' ? (o.label.capSeconds ?? null) : null) }),
    rows: t.exposeInt('rows', { description: `Rows with a known label (the most recent ${OUTCOME_ROWS.toLocaleString('en-US')} at most).` }),
    metrics: t.field({ type: [OutcomeMetricRef], extensions: listSize({ max: 5, inParent: true }), resolve: (o) => o.metrics }),
  }),
});

/** A label given to ShadowComparison.outcomes, checked like a twin dataset's. */
function outcomeLabel(
  input: { kind: 'FAILURE_WITHIN' | 'TIME_TO_FAILURE'; horizonSeconds?: number | null; capSeconds?: number | null } | null | undefined,
): TwinLabel | null {
  if (!input) return null;
  const max = TWIN_DATASET_LIMITS.maxHorizonSeconds;
  const bad = (field: string) =>
    new GraphQLError(`label.${field} must be a whole number of seconds from 1 to ${max.toLocaleString('en-US')}`, {
      extensions: { code: 'BAD_USER_INPUT', inputPath: `label.${field}` },
    });
  if (input.kind === 'FAILURE_WITHIN') {
    if (input.horizonSeconds == null || input.horizonSeconds < 1 || input.horizonSeconds > max) throw bad('horizonSeconds');
    return { kind: 'FAILURE_WITHIN', horizonSeconds: input.horizonSeconds };
  }
  if (input.capSeconds != null && (input.capSeconds < 1 || input.capSeconds > max)) throw bad('capSeconds');
  return { kind: 'TIME_TO_FAILURE', capSeconds: input.capSeconds ?? null };
}

const ShadowSummaryRef = builder.objectRef<ShadowSummary>('ShadowComparison').implement({
  description: "A candidate version's shadow outputs against production's on the same requests.",
  fields: (t) => ({
    outcomes: t.field({
      type: ShadowOutcomesRef,
      nullable: true,
      description:
        "Later labels: the shadowed machine predictions scored against what the twin recorded afterwards (the machine's states), under `label` or, by default, the label of the twin dataset production was trained on (null without either). Rows from predict(rows|inputs), rows whose horizon has not passed yet and rows of a machine DOWN when predicted are left out.",
      args: { label: t.arg({ type: TwinLabelInput }) },
      resolve: async (s, args, ctx) => {
        const label = outcomeLabel(args.label);
        const byModel = loader<number, ShadowOutcomes>(ctx, `model-outcomes:${JSON.stringify(label)}`, (ids) =>
          shadowOutcomes(ctx.services.database, ids, { label, now: ctx.services.clock.now() }),
        );
        return (await byModel.load(s.candidateId)) ?? null;
      },
    }),
    productionVersion: t.int({ nullable: true, resolve: (s) => s.productionVersion }),
    rows: t.exposeInt('rows'),
    labelAgreement: t.float({ nullable: true, description: 'Classifiers: the share of rows with the same label.', resolve: (s) => s.labelAgreement }),
    meanAbsoluteDifference: t.float({ nullable: true, description: 'Mean |production value − candidate value|.', resolve: (s) => s.meanAbsoluteDifference }),
    since: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.since }),
  }),
});

export const ModelRef = builder.drizzleNode('models', {
  name: 'Model',
  description: 'One registered version of a model.',
  id: { column: (m) => m.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    version: t.exposeInt('version'),
    task: t.expose('task', { type: ModelTaskEnum }),
    source: t.exposeString('source', { description: '`upload`, or `trained:<ALGORITHM>` for models trained here.' }),
    active: t.boolean({
      description: 'Whether this version is served by name (it holds the `production` alias).',
      resolve: async (m, _a, ctx) => ((await aliasLoader(ctx).load(m.id)) ?? []).includes(PRODUCTION),
    }),
    aliases: t.stringList({
      description: 'The aliases this version holds now.',
      extensions: listSize({ max: 100 }),
      resolve: async (m, _a, ctx) => (await aliasLoader(ctx).load(m.id)) ?? [],
    }),
    features: t.stringList({
      nullable: true,
      description: 'Feature names in input column order, when known.',
      extensions: listSize({ max: MAX_FEATURES }),
      resolve: (m) => (m.features as string[] | null) ?? null,
    }),
    classes: t.stringList({
      nullable: true,
      description: 'Class labels in probability order (classifiers).',
      extensions: listSize({ max: MAX_FEATURES }),
      resolve: (m) => (m.serving as { classes?: string[] }).classes ?? null,
    }),
    inputs: t.field({ type: [TensorSpecRef], extensions: listSize({ max: MAX_TENSORS, inParent: true }), resolve: (m) => m.inputs as ValueInfo[] }),
    outputs: t.field({ type: [TensorSpecRef], extensions: listSize({ max: MAX_TENSORS, inParent: true }), resolve: (m) => m.outputs as ValueInfo[] }),
    metrics: t.field({
      type: [MetricRef],
      extensions: listSize({ max: 1000, inParent: true }),
      resolve: (m) => Object.entries((m.metrics as Record<string, number>) ?? {}).map(([name, value]) => ({ name, value })),
    }),
    params: t.field({ type: 'JSON', nullable: true, description: 'Training parameters (models trained here).', resolve: (m) => m.params }),
    sizeBytes: t.exposeInt('sizeBytes'),
    sha256: t.exposeString('sha256', { description: 'Of the ONNX bytes as served (after a ZipMap rewrite).' }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    drift: t.field({
      type: [FeatureDriftRef],
      nullable: true,
      description:
        'Per feature, the PSI of the values served in the last `hours` (default 24, at most 8,760) against the training distribution. null for a model without a training profile (uploaded models).',
      args: { hours: t.arg.int() },
      extensions: listSize({ max: MAX_FEATURES, inParent: true }),
      resolve: async (m, args, ctx) => {
        const hours = args.hours ?? 24;
        if (!Number.isInteger(hours) || hours < 1 || hours > 8760) throw ValidationError.single('hours', 'must be 1 to 8,760');
        if (!m.profile) return null;
        const since = new Date(ctx.services.clock.now().getTime() - hours * 3_600_000);
        const byModel = loader<number, FeatureDrift[]>(ctx, `model-drift:${hours}`, async (ids) => {
          const records = await modelsByIds(ctx.services.database, ids);
          return driftOf(ctx.services.database, records, since);
        });
        return (await byModel.load(m.id)) ?? [];
      },
    }),
    shadow: t.field({
      type: ShadowSummaryRef,
      nullable: true,
      description: 'For a version that has been a `candidate`: how its shadow outputs compare with production on the same requests (null before any).',
      resolve: async (m, _a, ctx) => {
        const byModel = loader<number, ShadowSummary>(ctx, 'model-shadow', (ids) => shadowSummaries(ctx.services.database, ids));
        return (await byModel.load(m.id)) ?? null;
      },
    }),
    aliasHistory: t.field({
      type: [AliasPeriodRef],
      description: 'Which version of this name held which alias when, newest first; `at` keeps the periods containing that time.',
      args: { at: t.arg({ type: 'DateTime' }) },
      extensions: listSize({ max: 100 }),
      resolve: async (m, args, ctx) => {
        const at = args.at ?? undefined;
        const byName = loader<string, AliasPeriod[]>(ctx, `model-alias-history:${at?.toISOString() ?? ''}`, (names) =>
          aliasHistories(ctx.services.database, names, { at, limit: 100 }),
        );
        return (await byName.load(m.name)) ?? [];
      },
    }),
  }),
});

const modelVisible = (row: { plantId?: number | null }, scope: { plantIds: readonly number[] | null }) =>
  row.plantId == null || canSeePlant(scope, row.plantId);
registerNodeRule('Model', (row, principal) => modelVisible(row as ModelRow, principal));

const ClassProbabilityRef = builder.objectRef<{ label: string; probability: number }>('ClassProbability').implement({
  fields: (t) => ({ label: t.exposeString('label'), probability: t.exposeFloat('probability') }),
});

const FeatureContributionRef = builder.objectRef<{ feature: string; contribution: number }>('FeatureContribution').implement({
  fields: (t) => ({ feature: t.exposeString('feature'), contribution: t.exposeFloat('contribution') }),
});

type PredictionValue = ScoredRow & { model: ModelRecord };

const PredictionRef = builder.objectRef<PredictionValue>('Prediction').implement({
  fields: (t) => ({
    value: t.float({
      nullable: true,
      description: 'Regression: the predicted value. Classification: the probability of the last class (the positive class of a binary classifier).',
      resolve: (p) => p.value,
    }),
    label: t.string({ nullable: true, description: 'Classification: the predicted class.', resolve: (p) => p.label }),
    probabilities: t.field({
      type: [ClassProbabilityRef],
      nullable: true,
      extensions: listSize({ max: MAX_FEATURES, inParent: true }),
      resolve: (p) => p.probabilities,
    }),
    explanation: t.field({
      type: [FeatureContributionRef],
      nullable: true,
      description:
        'With explain: true, one contribution per feature: explanationBase + their sum = the output in explanationSpace. Exact for models trained here (linear, TreeSHAP), sampled (seeded Kernel SHAP) for uploaded ones.',
      extensions: listSize({ max: MAX_FEATURES, inParent: true }),
      resolve: (p) => p.explanation?.features.map((feature, i) => ({ feature, contribution: p.explanation!.contributions[i] })) ?? null,
    }),
    explanationBase: t.float({
      nullable: true,
      description: 'The expected output the contributions start from (over the training rows, or the background rows for sampled explanations).',
      resolve: (p) => p.explanation?.base ?? null,
    }),
    explanationSpace: t.string({
      nullable: true,
      description:
        'What base + contributions add up to: value (regression output), log_odds (binary classifier: log-odds of the last class), softmax_logit (multiclass: the predicted class score before the softmax), model_output (sampled: the served value, the probability of the last class for classifiers).',
      resolve: (p) => p.explanation?.space ?? null,
    }),
    model: t.field({ type: ModelRef, resolve: (p) => p.model as never }),
  }),
});

const PredictSuccess = builder.objectRef<{ model: ModelRecord; predictions: PredictionValue[] }>('PredictSuccess').implement({
  fields: (t) => ({
    predictions: t.field({
      type: [PredictionRef],
      description: 'One per input row, in order.',
      extensions: listSize({ max: 10_000 }),
      resolve: (r) => r.predictions,
    }),
    model: t.field({ type: ModelRef, resolve: (r) => r.model as never }),
  }),
});

const PredictInput = builder.inputType('PredictInput', {
  fields: (t) => ({
    model: t.string({ required: true, description: 'The model name.' }),
    version: t.int({ description: 'Default: the active version.' }),
    rows: t.field({
      type: t.listRef(t.listRef('Float', { required: true }), { required: true }),
      description: 'Feature rows for a model whose single input is [N, features].',
    }),
    inputs: t.field({ type: 'JSON', description: 'Named inputs of any model: { "input": [[1, 2]], "other": [["a"]] }.' }),
    explain: t.boolean({ description: 'Add per-feature contributions to each prediction.' }),
  }),
});

const RegisterModelInput = builder.inputType('RegisterModelInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    task: t.field({ type: ModelTaskEnum, required: true }),
    file: t.field({ type: 'File', description: 'The ONNX model as a multipart upload (GraphQL multipart request spec).' }),
    onnxBase64: t.string({ description: 'The ONNX model, base64-encoded (instead of file).' }),
    featureDefinitions: t.field({
      type: [FeatureDefinitionInput],
      description:
        "Features over the twin, in input column order, so that Machine.predict, failureRisk and remainingUsefulLife can score machines with it (names default as in createTwinDataset and become the model's features).",
    }),
    features: t.stringList({ description: 'Feature names in input column order (checked against the input width).' }),
    backgroundRows: t.field({
      type: t.listRef(t.listRef('Float', { required: true }), { required: true }),
      description: 'Up to 100 typical input rows: the background of sampled (Kernel SHAP) explanations. Default: one row of zeros.',
    }),
  }),
});

const RegisterModelSuccess = builder.objectRef<{ model: ModelRecord }>('RegisterModelSuccess').implement({
  fields: (t) => ({ model: t.field({ type: ModelRef, resolve: (r) => r.model as never }) }),
});
const ActivateModelSuccess = builder.objectRef<{ model: ModelRecord }>('ActivateModelSuccess').implement({
  fields: (t) => ({ model: t.field({ type: ModelRef, resolve: (r) => r.model as never }) }),
});

/** The model errors, as members of the result unions (a code and a message, like every Error). */
const plainErrors: [abstract new (...args: never[]) => Error, string][] = [
  [InvalidModelError, 'InvalidModelError'],
  [ModelLoadError, 'ModelLoadError'],
  [UnsupportedOperatorError, 'UnsupportedOperatorError'],
  [ModelTooLargeError, 'ModelTooLargeError'],
  [InferenceError, 'InferenceError'],
];
for (const [cls, name] of plainErrors) {
  builder.objectType(
    cls as never,
    {
      name,
      interfaces: [ErrorInterface],
      isTypeOf: (v: unknown) => v instanceof cls,
      fields: () => ({}),
    } as never,
  );
}

builder.objectType(InputMismatchError, {
  name: 'InputMismatchError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof InputMismatchError,
  fields: (t) => ({
    fieldErrors: t.field({
      type: ['FieldError' as never],
      extensions: listSize({ max: 100 }),
      resolve: (e) => e.fieldErrors.slice(0, 100) as never,
    }),
    problemCount: t.exposeInt('problemCount'),
  }),
});

const MODEL_ERRORS = [ValidationError, NotFoundError, InvalidModelError, ModelLoadError, UnsupportedOperatorError, ModelTooLargeError];
const engineer = { skipTypeScopes: true, authScopes: { engineer: true } } as const;

/** The numeric key of a Model ID; malformed reads as unknown. */
function modelKey(raw: string | number): number {
  const id = decodeId('Model', String(raw));
  if (id === null) throw new NotFoundError('Model', String(raw));
  return id;
}

function decodeBase64(text: string, maxBytes: number): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) throw ValidationError.single('onnxBase64', 'is not base64');
  // 4 characters carry 3 bytes: refuse before decoding what would be over the limit.
  const bytes = Math.floor((clean.length * 3) / 4);
  if (bytes > maxBytes + 2) throw new ModelTooLargeError(maxBytes, bytes);
  return new Uint8Array(Buffer.from(clean, clean.includes('-') || clean.includes('_') ? 'base64url' : 'base64'));
}

builder.queryFields((t) => ({
  models: t.drizzleConnection(
    {
      type: 'models',
      description: 'Registered model versions, newest first; `name` keeps one model.',
      args: { name: t.arg.string() },
      resolve: async (query, _r, args, ctx) => {
        const plants = ctx.auth.plantIds;
        const scope = plants === null ? {} : { OR: [{ plantId: { isNull: true as const } }, { plantId: { in: [...plants] } }] };
        return ctx.db.query.models.findMany(query({ where: { ...(args.name ? { name: args.name } : {}), ...scope }, orderBy: { id: 'desc' } }));
      },
    },
    { name: 'ModelConnection' },
    { name: 'ModelEdge' },
  ),
  model: t.drizzleField({
    type: 'models',
    nullable: true,
    description: 'A version by name: `version`, or the one holding `alias` (default: the active version, `production`).',
    args: { name: t.arg.string({ required: true }), version: t.arg.int(), alias: t.arg.string() },
    resolve: async (query, _r, args, ctx) => {
      const found = await resolveModel(ctx.services.database, args.name, args.version, args.alias ?? PRODUCTION);
      if (!found || !modelVisible(found, ctx.auth)) return null;
      return (await ctx.db.query.models.findFirst(query({ where: { id: found.id } }))) ?? null;
    },
  }),
  predict: t.field({
    type: PredictSuccess,
    description: 'Scores rows (or named inputs) with a model. Merged with concurrent requests for the same version into one onnxruntime run.',
    args: { input: t.arg({ type: PredictInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, InputMismatchError, InferenceError], directResult: true, union: { name: 'PredictResult' } },
    resolve: async (_r, { input }, ctx) => {
      const { model, rows } = await ctx.services.predictions.predict({
        model: input.model,
        version: input.version,
        rows: input.rows as number[][] | null | undefined,
        inputs: input.inputs,
        explain: input.explain,
      });
      if (!modelVisible(model, ctx.auth)) throw new NotFoundError('Model', input.model);
      return { model, predictions: rows.map((r) => ({ ...r, model })) };
    },
  }),
}));

builder.mutationFields((t) => ({
  registerModel: t.field({
    ...engineer,
    type: RegisterModelSuccess,
    description:
      'Stores a new version of a model (ENGINEER). The model is checked and loaded with onnxruntime first; a sklearn-onnx ZipMap output is rewritten into a probabilities tensor. The first version of a name becomes active at once; later ones with activateModel.',
    args: { input: t.arg({ type: RegisterModelInput, required: true }) },
    errors: { types: MODEL_ERRORS, directResult: true, union: { name: 'RegisterModelResult' } },
    resolve: async (_r, { input }, ctx) => {
      if ((input.file == null) === (input.onnxBase64 == null))
        throw ValidationError.single(input.file == null ? 'onnxBase64' : 'file', 'give exactly one of file and onnxBase64');
      const maxBytes = ctx.services.config.predict.maxModelBytes;
      const bytes = input.file
        ? new Uint8Array(
            await uploadBytes(input.file as never, { maxBytes, path: 'file' }).catch((err) => {
              throw err instanceof PayloadTooLargeError ? new ModelTooLargeError(maxBytes) : err;
            }),
          )
        : decodeBase64(input.onnxBase64!, maxBytes);
      const definitions = input.featureDefinitions
        ? checkFeatureDefinitions(
            input.featureDefinitions.map((d) => ({ ...d, aggregate: d.aggregate?.toLowerCase() })),
            'featureDefinitions',
          )
        : null;
      if (definitions && input.features && (input.features.length !== definitions.length || input.features.some((f, i) => f !== definitions[i].name)))
        throw ValidationError.single('features', 'when featureDefinitions are given, features (if given) must be their names in the same order');
      const background = input.backgroundRows as number[][] | null | undefined;
      if (background && background.length > 100) throw ValidationError.single('backgroundRows', `at most 100 rows; got ${background.length}`);
      const model = await ctx.services.predictions.register({
        name: input.name,
        task: input.task,
        bytes,
        features: definitions ? definitions.map((d) => d.name) : (input.features ?? null),
        featureDefinitions: definitions ?? undefined,
        profile: background ? { background } : undefined,
        createdBy: ctx.auth.name,
      });
      return { model };
    },
  }),
  activateModel: t.field({
    ...engineer,
    type: ActivateModelSuccess,
    description: 'Makes this version the one served by name (the production alias); the version that held it keeps its other aliases.',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ValidationError], directResult: true, union: { name: 'ActivateModelResult' } },
    resolve: async (_r, args, ctx) => {
      const id = modelKey(args.id);
      const model = await ctx.services.predictions.activate(id, ctx.auth.name).catch((err) => {
        throw err instanceof NotFoundError ? new NotFoundError('Model', String(args.id)) : err;
      });
      if (!modelVisible(model, ctx.auth)) throw new NotFoundError('Model', String(args.id));
      return { model };
    },
  }),
  setModelAlias: t.field({
    ...engineer,
    type: ActivateModelSuccess,
    description: 'Gives a version an alias (candidate, staging, any name); `production` is what activateModel sets. A `candidate` is scored in shadow.',
    args: { id: t.arg.id({ required: true }), alias: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError, ValidationError], directResult: true, union: { name: 'SetModelAliasResult' } },
    resolve: async (_r, args, ctx) => {
      const model = await ctx.services.predictions.setAlias(modelKey(args.id), args.alias, ctx.auth.name).catch((err) => {
        throw err instanceof NotFoundError ? new NotFoundError('Model', String(args.id)) : err;
      });
      return { model };
    },
  }),
  removeModelAlias: t.field({
    ...engineer,
    type: builder.objectRef<{ name: string; alias: string; version: number | null }>('RemoveModelAliasSuccess').implement({
      fields: (f) => ({ name: f.exposeString('name'), alias: f.exposeString('alias') }),
    }),
    args: { name: t.arg.string({ required: true }), alias: t.arg.string({ required: true }) },
    errors: { types: [ConflictError], directResult: true, union: { name: 'RemoveModelAliasResult' } },
    resolve: async (_r, args, ctx) => {
      const event = await ctx.services.predictions.removeAlias(args.name, args.alias);
      return { name: event.name, alias: event.alias, version: event.version };
    },
  }),
}));

export const AlgorithmEnum = builder.enumType('Algorithm', { values: ALGORITHMS });

const TrainModelInput = builder.inputType('TrainModelInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'The model name; training registers its next version.' }),
    datasetId: t.id({ required: true }),
    target: t.string({ required: true }),
    features: t.stringList({ required: true }),
    algorithm: t.field({ type: AlgorithmEnum, required: true }),
    folds: t.int({ description: 'Cross-validation folds (default 5; 0 or 1: none). Stratified for classification, grouped with `group`.' }),
    params: t.field({ type: 'JSON', description: 'Algorithm parameters (see README, Predictions); unknown ones are refused.' }),
    group: t.string({ description: 'A column naming the unit of each row (machine, engine): folds keep its rows together.' }),
    time: t.string({ description: 'AUTOREGRESSIVE: the column that orders each series.' }),
    seed: t.int({ description: 'Seed of the folds and of any sampling (default 0).' }),
  }),
});

const TrainModelSuccess = builder.objectRef<{ jobId: number }>('TrainModelSuccess').implement({
  fields: (t) => ({
    job: t.drizzleField({
      type: 'jobs',
      description: 'The training job: follow it with jobUpdates(id); its model appears when it SUCCEEDED.',
      resolve: async (query, parent, _a, ctx) => (await ctx.db.query.jobs.findFirst(query({ where: { id: parent.jobId } })))!,
    }),
  }),
});

builder.mutationFields((t) => ({
  trainModel: t.field({
    ...engineer,
    type: TrainModelSuccess,
    description: 'Queues a training job (ENGINEER): fit and cross-validate in a worker thread, export to ONNX, register the next version of `name`.',
    args: { input: t.arg({ type: TrainModelInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'TrainModelResult' } },
    resolve: async (_r, { input }, ctx) => {
      const datasetId = decodeId('Dataset', String(input.datasetId));
      if (datasetId === null) throw ValidationError.single('datasetId', 'unknown dataset');
      const params: TrainJobParams = {
        name: input.name,
        datasetId,
        target: input.target,
        features: [...input.features],
        algorithm: input.algorithm,
        folds: input.folds,
        params: (input.params as Record<string, unknown> | null | undefined) ?? null,
        group: input.group,
        time: input.time,
        seed: input.seed,
      };
      if (params.params !== null && (typeof params.params !== 'object' || Array.isArray(params.params)))
        throw ValidationError.single('params', 'must be an object of parameter names and values');
      const { plantId } = await checkTrainRequest(ctx.services.database, ctx.auth, params);
      const job = await ctx.services.jobs.enqueue({ kind: TRAIN_JOB, params, plantId, createdBy: { name: ctx.auth.name, keyId: ctx.auth.keyId } });
      return { jobId: job.id };
    },
  }),
}));

builder.objectField(JobNode, 'model', (t) =>
  t.field({
    type: ModelRef,
    nullable: true,
    description: 'The model a SUCCEEDED training job registered.',
    resolve: async (job, _a, ctx) => {
      const id = (job as { kind?: string; result?: { modelId?: number } | null }).kind === TRAIN_JOB ? (job as any).result?.modelId : undefined;
      if (typeof id !== 'number') return null;
      const byId = loader<number, Record<string, unknown>>(ctx, 'job-models', async (ids) => {
        const rows = await ctx.db.query.models.findMany({ where: { id: { in: [...ids] } } });
        return new Map(rows.map((r) => [r.id, r as Record<string, unknown>]));
      });
      return ((await byId.load(id)) ?? null) as never;
    },
  }),
);

/* ---------- Predictions for machines of the twin ---------- */

builder.objectType(MissingFeaturesError, {
  name: 'MissingFeaturesError',
  interfaces: [ErrorInterface],
  description: "The machine lacks the telemetry a feature needs (the message names the metric and window), or it is not the model's kind.",
  isTypeOf: (v) => v instanceof MissingFeaturesError,
  fields: () => ({}),
});
builder.objectType(NoTwinFeaturesError, {
  name: 'NoTwinFeaturesError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof NoTwinFeaturesError,
  fields: () => ({}),
});

/**
 * The request's machine predictions for one model: every machine asked for in this request (by any field) is scored
 * in one call, so a list of machines costs one features statement and one session.run.
 */
async function machinePrediction(
  ctx: Context,
  machineId: number,
  name: string,
  version: number | null | undefined,
): Promise<MachinePrediction & { model: ModelRecord }> {
  const early = prefetched.get(ctx)?.get(modelKeyOf(name, version));
  if (early) {
    const found = await early.catch(() => null);
    const p = found?.results.get(machineId);
    if (found && p) return { ...p, model: found.model };
  }
  const model = await ctx.services.predictions.resolve(name, version);
  if (!modelVisible(model, ctx.auth)) throw new NotFoundError('Model', name);
  const byMachine = loader<number, MachinePrediction>(ctx, `machine-predictions:${model.id}`, async (ids) => {
    const results = await ctx.services.predictions.machines.predict(model, ids);
    return new Map(results.map((r) => [r.machineId, r]));
  });
  return { ...(await byMachine.load(machineId))!, model };
}

/** Machine predictions a root field started for the machines it loaded (look-ahead), by model name and version. */
const prefetched = new WeakMap<Context, Map<string, Promise<{ model: ModelRecord; results: Map<number, MachinePrediction> }>>>();
/** The same, once they have arrived: the fields answer from them synchronously. */
const arrived = new WeakMap<Context, Map<string, { model: ModelRecord; results: Map<number, MachinePrediction> }>>();
const modelKeyOf = (name: string, version: number | null | undefined) => `${name}\u0000${version ?? ''}`;

// A plant query that asks its machines' predictions starts them as soon as the machines are loaded, so the features
// statement and the run overlap GraphQL's walk over the tree instead of following it.
onRowsLoaded({
  typeName: 'Machine',
  fields: new Set(['failureRisk', 'remainingUsefulLife', 'predict']),
  run(ctx, found) {
    const byModel = new Map<string, { name: string; version: number | null; ids: number[] }>();
    for (const { row, args } of found) {
      if (typeof row.id !== 'number' || typeof args.model !== 'string') continue;
      const version = typeof args.version === 'number' ? args.version : null;
      const key = modelKeyOf(args.model, version);
      let entry = byModel.get(key);
      if (!entry) byModel.set(key, (entry = { name: args.model, version, ids: [] }));
      entry.ids.push(row.id);
    }
    let mine = prefetched.get(ctx);
    if (!mine) prefetched.set(ctx, (mine = new Map()));
    const waits: Promise<void>[] = [];
    for (const [key, { name, version, ids }] of byModel) {
      if (mine.has(key)) continue;
      const start = (model: ModelRecord) => {
        if (!modelVisible(model, ctx.auth)) throw new NotFoundError('Model', name);
        return ctx.services.predictions.machines.predictNow(model, ids).then((results) => ({ model, results: new Map(results.map((r) => [r.machineId, r])) }));
      };
      // A cached model starts at once, in this turn: the features statement is on its way before GraphQL walks the tree.
      const cached = ctx.services.predictions.peek(name, version);
      let work: Promise<{ model: ModelRecord; results: Map<number, MachinePrediction> }>;
      try {
        work = cached ? start(cached) : ctx.services.predictions.resolve(name, version).then(start);
      } catch (err) {
        work = Promise.reject(err);
      }
      work.catch(() => {}); // the fields report errors themselves (they take the usual path when this fails)
      mine.set(key, work);
      waits.push(
        work.then((found) => {
          let done = arrived.get(ctx);
          if (!done) arrived.set(ctx, (done = new Map()));
          done.set(key, found);
        }),
      );
    }
    return waits.length > 0 ? Promise.allSettled(waits) : undefined;
  },
});

/** A Float field of a machine's prediction: its value, or a GraphQL error for this machine with the error's code. */
function machineValue(ctx: Context, machineId: number, name: string, task: 'CLASSIFICATION' | 'REGRESSION'): number | null | Promise<number | null> {
  // A list of machines prefetched by its root field (look-ahead), usually arrived before GraphQL walks the rows.
  const done = arrived.get(ctx)?.get(modelKeyOf(name, null));
  const own = done?.results.get(machineId);
  if (done && own) return predictionValue({ ...own, model: done.model }, name, task);
  const early = prefetched.get(ctx)?.get(modelKeyOf(name, null));
  if (early)
    return early.then(
      (found) => {
        const p = found.results.get(machineId);
        return p ? predictionValue({ ...p, model: found.model }, name, task) : slowMachineValue(ctx, machineId, name, task);
      },
      () => slowMachineValue(ctx, machineId, name, task),
    );
  return slowMachineValue(ctx, machineId, name, task);
}

async function slowMachineValue(ctx: Context, machineId: number, name: string, task: 'CLASSIFICATION' | 'REGRESSION'): Promise<number | null> {
  const p = await machinePrediction(ctx, machineId, name, null).catch((err: unknown) => {
    throw err instanceof AppError ? new GraphQLError(err.message, { extensions: { code: err.code } }) : err;
  });
  return predictionValue(p, name, task);
}

function predictionValue(p: MachinePrediction & { model: ModelRecord }, name: string, task: 'CLASSIFICATION' | 'REGRESSION'): number | null {
  if (!p.ok) throw new GraphQLError(p.error.message, { extensions: { code: p.error.code } });
  const model = p.model;
  if (task === 'CLASSIFICATION' && model.task !== 'CLASSIFICATION')
    throw new GraphQLError(`model ${name} is a ${model.task} model; failureRisk needs a CLASSIFICATION model`, { extensions: { code: 'WRONG_TASK' } });
  if (task === 'REGRESSION' && model.task === 'CLASSIFICATION')
    throw new GraphQLError(`model ${name} is a CLASSIFICATION model; remainingUsefulLife needs a REGRESSION model`, { extensions: { code: 'WRONG_TASK' } });
  return p.row.value;
}

builder.drizzleObjectFields(Machine, (t) => ({
  predict: t.field({
    type: PredictionRef,
    errors: { types: [MissingFeaturesError, NoTwinFeaturesError, NotFoundError], directResult: true, union: { name: 'MachinePredictionResult' } },
    description:
      'The machine scored by a model with feature definitions over the twin (its features computed now, as its twin dataset computed them); a machine lacking the needed telemetry gets MissingFeaturesError. All machines of a request are scored together: one features statement, one onnxruntime run.',
    args: { model: t.arg.string({ required: true }), version: t.arg.int() },
    resolve: async (m, args, ctx) => {
      const p = await machinePrediction(ctx, m.id, args.model, args.version);
      if (!p.ok) throw p.error;
      return { ...p.row, model: p.model };
    },
  }),
  failureRisk: t.float({
    nullable: true,
    description:
      'The probability of the positive (last) class of a CLASSIFICATION model for this machine now; see predict for how it is computed. An error for this machine when its features are missing.',
    args: { model: t.arg.string({ required: true }) },
    resolve: (m, args, ctx) => machineValue(ctx, m.id, args.model, 'CLASSIFICATION'),
  }),
  remainingUsefulLife: t.float({
    nullable: true,
    description: "A REGRESSION model's output for this machine now, in the unit of its training target (e.g. seconds to the next DOWN).",
    args: { model: t.arg.string({ required: true }) },
    resolve: (m, args, ctx) => machineValue(ctx, m.id, args.model, 'REGRESSION'),
  }),
}));

/* ---------- Evaluating a model on a dataset ---------- */

const EvaluateModelInput = builder.inputType('EvaluateModelInput', {
  fields: (t) => ({
    model: t.string({ required: true }),
    version: t.int({ description: 'Default: the active version.' }),
    datasetId: t.id({ required: true }),
    target: t.string({ required: true, description: "The dataset column with the true values (a classifier's class labels)." }),
  }),
});

const EvaluateModelSuccess = builder.objectRef<{ model: ModelRecord; rows: number; metrics: Record<string, number> }>('EvaluateModelSuccess').implement({
  fields: (t) => ({
    model: t.field({ type: ModelRef, resolve: (r) => r.model as never }),
    rows: t.exposeInt('rows', { description: 'Rows scored (those with a target).' }),
    metrics: t.field({
      type: [MetricRef],
      description: 'Classification: accuracy, logloss, and for two classes auc, pr_auc, f1 (the last class positive). Regression: rmse, mae, r2.',
      extensions: listSize({ max: 100, inParent: true }),
      resolve: (r) => Object.entries(r.metrics).map(([name, value]) => ({ name, value })),
    }),
  }),
});

builder.queryFields((t) => ({
  evaluateModel: t.field({
    ...engineer,
    type: EvaluateModelSuccess,
    description:
      'ENGINEER. Scores a model version (trained here or uploaded) on a dataset whose columns include its features, and reports the metrics of its task.',
    args: { input: t.arg({ type: EvaluateModelInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, InputMismatchError, InferenceError], directResult: true, union: { name: 'EvaluateModelResult' } },
    resolve: async (_r, { input }, ctx) => {
      const model = await ctx.services.predictions.resolve(input.model, input.version);
      if (!modelVisible(model, ctx.auth)) throw new NotFoundError('Model', input.model);
      const datasetId = decodeId('Dataset', String(input.datasetId));
      if (datasetId === null) throw new NotFoundError('Dataset', String(input.datasetId));
      await getDataset(ctx.services.database, ctx.auth, datasetId);
      const result = await evaluateModel(ctx.services.database, ctx.services.predictions, model, datasetId, input.target);
      return { model, ...result };
    },
  }),
}));
