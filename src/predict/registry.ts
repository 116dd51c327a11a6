/**
 * The model registry: versions per name, stored in the database (the ONNX bytes as served, what onnxruntime reported
 * about them, and how they serve their task), and aliases per name with their history. `production` is the active
 * version; any other alias (`candidate`, ...) names a version without serving it, and a `candidate` version is scored
 * in shadow beside production.
 */
import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError, type FieldError } from '../core/errors.ts';
import type { Database, Queryable } from '../db/client.ts';
import type { ModelTask } from '../db/schema/index.ts';
import { ModelTooLargeError } from './errors.ts';
import { inspectModel, type ModelInfo, type ValueInfo } from './onnx/inspect.ts';
import { rewriteZipMap } from './onnx/zipmap.ts';
import { ONNX_CLASSES_METADATA, ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT, ONNX_VALUE_OUTPUT } from './spec.ts';

export const PRODUCTION = 'production';
export const CANDIDATE = 'candidate';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Which outputs serve a version's task. */
export interface Serving {
  /** Regression / forecast: the output whose first column is the value. */
  value?: string;
  /** Classification: the float [N, K] output of class probabilities. */
  probabilities?: string;
  /** Classification: the output of predicted labels, when the model has one. */
  label?: string;
  /** Class labels in probability column order (K of them). */
  classes?: string[];
}

export interface ModelRecord {
  id: number;
  name: string;
  version: number;
  task: ModelTask;
  source: string;
  plantId: number | null;
  sha256: string;
  sizeBytes: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  serving: Serving;
  features: string[] | null;
  featureDefinitions: unknown;
  spec: unknown;
  profile: unknown;
  metrics: Record<string, number>;
  params: unknown;
  datasetId: number | null;
  createdBy: string;
  createdAt: Date;
}

export interface RegisterInput {
  name: string;
  task: ModelTask;
  bytes: Uint8Array;
  features?: string[] | null;
  featureDefinitions?: unknown;
  spec?: unknown;
  profile?: unknown;
  metrics?: Record<string, number>;
  params?: unknown;
  datasetId?: number | null;
  plantId?: number | null;
  source?: string;
  createdBy: string;
}

const COLUMNS = `id, name, version, task, source, plant_id, sha256, size_bytes, inputs, outputs, serving, features,
  feature_definitions, spec, profile, metrics, params, dataset_id, created_by, created_at`;

function toRecord(r: Record<string, any>): ModelRecord {
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    task: r.task,
    source: r.source,
    plantId: r.plant_id,
    sha256: r.sha256,
    sizeBytes: r.size_bytes,
    inputs: r.inputs,
    outputs: r.outputs,
    serving: r.serving,
    features: r.features,
    featureDefinitions: r.feature_definitions,
    spec: r.spec,
    profile: r.profile,
    metrics: r.metrics ?? {},
    params: r.params,
    datasetId: r.dataset_id,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
  };
}

export function checkModelName(name: string, path = 'name'): FieldError | null {
  return NAME.test(name) ? null : { path, message: 'must be 1 to 100 letters, digits, dots, dashes or underscores, starting with a letter or digit' };
}

const isFloat = (v: ValueInfo) => v.kind === 'tensor' && (v.type === 'float32' || v.type === 'float64');

/** The number of columns of a [N, K] (or [N]) tensor, when fixed. */
function columnsOf(v: ValueInfo): number | null {
  if (!v.shape) return null;
  if (v.shape.length === 1) return 1;
  return typeof v.shape[1] === 'number' ? v.shape[1] : null;
}

/** How a model serves `task`, or the reason it cannot (a problem on `task`). */
export function servingFor(task: ModelTask, info: ModelInfo, zipMapClasses: string[] | null): Serving | FieldError {
  const tensors = info.outputs.filter((o) => o.kind === 'tensor');
  if (task === 'CLASSIFICATION') {
    const probabilities =
      tensors.find((o) => o.name === ONNX_PROBABILITIES_OUTPUT && isFloat(o)) ??
      tensors.find((o) => o.name === 'output_probability' && isFloat(o)) ??
      tensors.find((o) => isFloat(o) && (o.shape?.length === 2 || o.shape?.length === 1));
    const label = tensors.find((o) => o.name === ONNX_LABEL_OUTPUT || o.name === 'output_label') ?? tensors.find((o) => !isFloat(o) && o.shape?.length === 1);
    if (!probabilities)
      return { path: 'task', message: 'a CLASSIFICATION model needs a float tensor output of class probabilities [N, classes]; this model has none' };
    let classes = zipMapClasses;
    if (!classes) {
      const stored = info.metadata[ONNX_CLASSES_METADATA];
      if (stored) {
        try {
          const parsed = JSON.parse(stored);
          if (Array.isArray(parsed)) classes = parsed.map(String);
        } catch {
          // ignored: classes are numbered below
        }
      }
    }
    // One column: the probability of the positive class (two classes).
    const k = columnsOf(probabilities) === 1 ? 2 : columnsOf(probabilities);
    if (!classes && k !== null) classes = Array.from({ length: k }, (_, i) => String(i));
    if (classes && k !== null && classes.length !== k)
      return { path: 'task', message: `the model names ${classes.length} classes but its probabilities have ${k} columns` };
    return { probabilities: probabilities.name, label: label?.name, classes: classes ?? undefined };
  }
  const value = tensors.find((o) => o.name === ONNX_VALUE_OUTPUT && isFloat(o)) ?? tensors.find(isFloat);
  if (!value) return { path: 'task', message: `a ${task} model needs a float tensor output; this model has none` };
  return { value: value.name };
}

/** Checks, rewrites (ZipMap) and loads the bytes; every problem a typed error, nothing stored. */
export async function prepareModel(
  input: Pick<RegisterInput, 'task' | 'bytes' | 'features'>,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; info: ModelInfo; serving: Serving }> {
  if (input.bytes.byteLength > maxBytes) throw new ModelTooLargeError(maxBytes, input.bytes.byteLength);
  const rewritten = rewriteZipMap(input.bytes);
  const info = await inspectModel(rewritten.bytes, { maxBytes });
  if (info.hasNonTensorOutputs && !info.outputs.some((o) => o.kind === 'tensor'))
    throw ValidationError.single('file', 'the model has no tensor output onnxruntime can return');
  const serving = servingFor(input.task, info, rewritten.classes);
  if ('path' in serving) throw new ValidationError([serving]);
  if (input.features) {
    const problems: FieldError[] = [];
    const seen = new Set<string>();
    input.features.forEach((f, i) => {
      if (f.length === 0 || f.length > 200) problems.push({ path: `features[${i}]`, message: 'must be 1 to 200 characters' });
      if (seen.has(f)) problems.push({ path: `features[${i}]`, message: `${JSON.stringify(f)} is listed twice` });
      seen.add(f);
    });
    const single = info.inputs.length === 1 ? info.inputs[0] : null;
    const width = single?.shape?.length === 2 && typeof single.shape[1] === 'number' ? single.shape[1] : null;
    if (width !== null && input.features.length !== width)
      problems.push({ path: 'features', message: `${input.features.length} features given but the model's input ${single!.name} has ${width} columns` });
    if (problems.length) throw new ValidationError(problems);
  }
  return { bytes: rewritten.bytes, info, serving };
}

export interface AliasEvent {
  name: string;
  alias: string;
  /** The version that holds the alias now (null: removed). */
  modelId: number | null;
  version: number | null;
  /** The version that held it before (its sessions may be dropped). */
  previousModelId: number | null;
  at: Date;
}

/**
 * Stores a new version (the next number for its name). The first version of a name becomes `production` at once;
 * later versions wait for activateModel. Returns the version and the alias event, if one happened.
 */
export async function registerModel(
  database: Database,
  input: RegisterInput,
  opts: { maxBytes: number; now: Date },
): Promise<{ model: ModelRecord; event: AliasEvent | null }> {
  const problems: FieldError[] = [];
  const nameProblem = checkModelName(input.name);
  if (nameProblem) problems.push(nameProblem);
  if (problems.length) throw new ValidationError(problems);
  const prepared = await prepareModel(input, opts.maxBytes);
  const sha256 = createHash('sha256').update(prepared.bytes).digest('hex');
  return database.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext('plantgraph.model:' || $1))`, [input.name]);
    const [{ next }] = await tx.query<{ next: number }>(`select coalesce(max(version), 0)::int + 1 as next from models where name = $1`, [input.name]);
    const [row] = await tx.query(
      `insert into models (name, version, task, source, plant_id, sha256, size_bytes, inputs, outputs, serving, features,
         feature_definitions, spec, profile, metrics, params, dataset_id, created_by, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
       returning ${COLUMNS}`,
      [
        input.name,
        next,
        input.task,
        input.source ?? 'upload',
        input.plantId ?? null,
        sha256,
        prepared.bytes.byteLength,
        JSON.stringify(prepared.info.inputs),
        JSON.stringify(prepared.info.outputs),
        JSON.stringify(prepared.serving),
        input.features ? JSON.stringify(input.features) : null,
        input.featureDefinitions === undefined ? null : JSON.stringify(input.featureDefinitions),
        input.spec === undefined ? null : JSON.stringify(input.spec),
        input.profile === undefined ? null : JSON.stringify(input.profile),
        JSON.stringify(input.metrics ?? {}),
        input.params === undefined ? null : JSON.stringify(input.params),
        input.datasetId ?? null,
        input.createdBy,
        opts.now,
      ],
    );
    await tx.query(`insert into model_blobs (model_id, bytes) values ($1, $2)`, [row.id, Buffer.from(prepared.bytes)]);
    const model = toRecord(row);
    const event = next === 1 ? await moveAlias(tx, model, PRODUCTION, input.createdBy, opts.now) : null;
    return { model, event };
  });
}

/** Points `alias` of the model's name at `model`, closing the previous holder's period in the history. */
async function moveAlias(tx: Queryable, model: ModelRecord, alias: string, by: string, now: Date): Promise<AliasEvent | null> {
  const [previous] = await tx.query<{ model_id: number }>(`select model_id from model_aliases where name = $1 and alias = $2 for update`, [model.name, alias]);
  if (previous?.model_id === model.id) return null;
  if (previous) await tx.query(`update model_alias_history set until = $3 where name = $1 and alias = $2 and until is null`, [model.name, alias, now]);
  await tx.query(
    `insert into model_aliases (name, alias, model_id, set_at, set_by) values ($1, $2, $3, $4, $5)
     on conflict (name, alias) do update set model_id = excluded.model_id, set_at = excluded.set_at, set_by = excluded.set_by`,
    [model.name, alias, model.id, now, by],
  );
  await tx.query(`insert into model_alias_history (name, alias, model_id, since, set_by) values ($1, $2, $3, $4, $5)`, [model.name, alias, model.id, now, by]);
  return { name: model.name, alias, modelId: model.id, version: model.version, previousModelId: previous?.model_id ?? null, at: now };
}

/** Gives `alias` (default production) to a version. */
export async function setAlias(
  database: Database,
  modelId: number,
  alias: string,
  by: string,
  now: Date,
): Promise<{ model: ModelRecord; event: AliasEvent | null }> {
  const problem = checkModelName(alias, 'alias');
  if (problem) throw new ValidationError([problem]);
  return database.transaction(async (tx) => {
    const [row] = await tx.query(`select ${COLUMNS} from models where id = $1`, [modelId]);
    if (!row) throw new NotFoundError('Model', String(modelId));
    const model = toRecord(row);
    await tx.query(`select pg_advisory_xact_lock(hashtext('plantgraph.model:' || $1))`, [model.name]);
    return { model, event: await moveAlias(tx, model, alias, by, now) };
  });
}

/** Takes `alias` from whichever version of `name` holds it. */
export async function removeAlias(database: Database, name: string, alias: string, now: Date): Promise<AliasEvent> {
  return database.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext('plantgraph.model:' || $1))`, [name]);
    const [held] = await tx.query<{ model_id: number }>(`delete from model_aliases where name = $1 and alias = $2 returning model_id`, [name, alias]);
    if (!held) throw new ConflictError(`no version of model ${JSON.stringify(name)} holds the alias ${JSON.stringify(alias)}`);
    await tx.query(`update model_alias_history set until = $3 where name = $1 and alias = $2 and until is null`, [name, alias, now]);
    return { name, alias, modelId: null, version: null, previousModelId: held.model_id, at: now };
  });
}

export async function modelById(db: Queryable, id: number): Promise<ModelRecord | null> {
  const [row] = await db.query(`select ${COLUMNS} from models where id = $1`, [id]);
  return row ? toRecord(row) : null;
}

export async function modelsByIds(db: Queryable, ids: readonly number[]): Promise<ModelRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.query(`select ${COLUMNS} from models where id = any($1::int[])`, [[...ids]]);
  return rows.map(toRecord);
}

/** A version by name: the given version, or the one holding `alias` (production by default). */
export async function resolveModel(db: Queryable, name: string, version?: number | null, alias = PRODUCTION): Promise<ModelRecord | null> {
  const rows =
    version != null
      ? await db.query(`select ${COLUMNS} from models where name = $1 and version = $2`, [name, version])
      : await db.query(`select ${COLUMNS} from models where id = (select model_id from model_aliases where name = $1 and alias = $2)`, [name, alias]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** The id of the version holding `alias` of a name (default production), or null. */
export async function aliasHolder(db: Queryable, name: string, alias = PRODUCTION): Promise<number | null> {
  const rows = await db.query<{ model_id: number }>('select model_id from model_aliases where name = $1 and alias = $2', [name, alias]);
  return rows[0]?.model_id ?? null;
}

/** Versions newest first (by id), after the cursor id, at most `limit`. */
export async function listModels(db: Queryable, opts: { name?: string; afterId?: number; limit: number }): Promise<ModelRecord[]> {
  const rows = await db.query(
    `select ${COLUMNS} from models where ($1::text is null or name = $1) and ($2::int is null or id < $2) order by id desc limit $3`,
    [opts.name ?? null, opts.afterId ?? null, opts.limit],
  );
  return rows.map(toRecord);
}

/** The aliases each of the models holds now. */
export async function aliasesOf(db: Queryable, ids: readonly number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (ids.length === 0) return out;
  const rows = await db.query<{ model_id: number; alias: string }>(`select model_id, alias from model_aliases where model_id = any($1::int[]) order by alias`, [
    [...ids],
  ]);
  for (const r of rows) out.set(r.model_id, [...(out.get(r.model_id) ?? []), r.alias]);
  return out;
}

export interface AliasPeriod {
  alias: string;
  modelId: number;
  version: number;
  since: Date;
  until: Date | null;
  setBy: string;
}

/** Who held which alias of each name when, newest first (at most `limit` per name); with `at`, only the periods containing it. */
export async function aliasHistories(db: Queryable, names: readonly string[], opts: { at?: Date; limit?: number } = {}): Promise<Map<string, AliasPeriod[]>> {
  const rows = await db.query<Record<string, any>>(
    `select * from (
       select h.name, h.alias, h.model_id, m.version, h.since, h.until, h.set_by,
              row_number() over (partition by h.name order by h.since desc, h.id desc) as n
       from model_alias_history h join models m on m.id = h.model_id
       where h.name = any($1::text[]) and ($2::timestamptz is null or (h.since <= $2 and (h.until is null or h.until > $2)))
     ) x where n <= $3 order by name, n`,
    [[...names], opts.at ?? null, opts.limit ?? 100],
  );
  const out = new Map<string, AliasPeriod[]>();
  for (const r of rows) {
    const period: AliasPeriod = {
      alias: r.alias,
      modelId: r.model_id,
      version: r.version,
      since: new Date(r.since),
      until: r.until ? new Date(r.until) : null,
      setBy: r.set_by,
    };
    out.set(r.name, [...(out.get(r.name) ?? []), period]);
  }
  return out;
}

export async function modelBytes(db: Queryable, id: number): Promise<Uint8Array | null> {
  const [row] = await db.query<{ bytes: Uint8Array }>(`select bytes from model_blobs where model_id = $1`, [id]);
  return row ? new Uint8Array(row.bytes) : null;
}
