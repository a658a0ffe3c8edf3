// The model registry. A version is immutable: its ONNX, model card and metadata are written once
// under models/<name>/<version>/. Versions are numbered per name by a counter row updated inside the
// registering transaction, so concurrent registrations (two processes, two API requests) get distinct,
// increasing numbers. Aliases (staging, canary, production) are not stored as pointers: each change is
// an event in an append-only history, and an alias's current version is derived by replaying it —
// `set` pushes a version, `rollback` pops the latest one still in effect.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Transaction } from 'kysely';

import { type Clock, systemClock } from '../core/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Database, ModelVersionsTable } from '../storage/schema.js';
import { InvalidModelError } from './errors.js';
import { createLoadedModel, type LoadedModel } from './loaded-model.js';
import { buildModelCard, type CardInput, type ModelCard, modelCardMarkdown, parseRunMetrics, type RunMetricsFile } from './model-card.js';
import { metadataFromExport, metadataFromImport, type ModelMetadata, parseImportMeta, parseStoredMetadata } from './model-metadata.js';
import { type Alias, ALIASES, assertAlias, assertLabel, assertModelName, assertVersion } from './names.js';
import { checkShapes, type OpenedModel, openModel, selectIO, smokeTest } from './onnx-model.js';
import type { Tracker } from './tracker.js';

export interface ModelVersion {
  name: string;
  version: number;
  source: 'run' | 'import';
  runId: string | null;
  datasetVersion: string | null;
  onnxKey: string;
  onnxSha256: string;
  onnxBytes: number;
  cardKey: string;
  cardMarkdownKey: string;
  metadata: ModelMetadata;
  createdBy: string;
  notes: string | null;
  createdAt: string;
}

export interface AliasEvent {
  seq: number;
  alias: Alias;
  action: 'set' | 'rollback';
  version: number;
  previousVersion: number | null;
  by: string;
  reason: string;
  at: string;
}

export interface RegisteredModel {
  name: string;
  latestVersion: number;
  createdAt: string;
  aliases: Partial<Record<Alias, number>>;
}

export interface ModelRef {
  version?: number;
  alias?: string;
}

export interface LoadOptions {
  /** Keep downloaded model files here (by name / version / sha256) so a restart does not download again. */
  cacheDir?: string;
  /** ONNX Runtime intra-op threads (default 1). */
  threads?: number;
}

type Trx = Transaction<Database>;

export function modelObjectKeys(name: string, version: number): { onnx: string; card: string; cardMarkdown: string } {
  const base = `models/${assertModelName(name)}/${assertVersion(version)}`;
  return { onnx: `${base}/model.onnx`, card: `${base}/model-card.json`, cardMarkdown: `${base}/model-card.md` };
}

/** Current version of each alias: replay set (push) and rollback (pop) events in order. */
export function aliasStacks(events: readonly Pick<AliasEvent, 'alias' | 'action' | 'version'>[]): Map<Alias, number[]> {
  const stacks = new Map<Alias, number[]>();
  for (const e of events) {
    const s = stacks.get(e.alias) ?? [];
    if (e.action === 'set') s.push(e.version);
    else s.pop();
    stacks.set(e.alias, s);
  }
  return stacks;
}

interface Candidate {
  name: string;
  bytes: Uint8Array;
  metadata: ModelMetadata;
  producer: string | null;
  by: string;
  notes: string | null;
  runId: string | null;
  datasetVersion: string | null;
  card: Omit<CardInput, 'name' | 'version' | 'createdAt' | 'createdBy' | 'notes' | 'metadata' | 'onnx'>;
}

export class ModelRegistry {
  constructor(
    readonly db: Db,
    readonly objects: ObjectStore,
    readonly tracker: Tracker,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Registers a finished run's exported ONNX (default artifact `model.onnx`) as the next version of `name`. */
  async register(o: { runId: string; name: string; onnxArtifact?: string; by: string; notes?: string }): Promise<ModelVersion> {
    const name = assertModelName(o.name);
    assertLabel('user', o.by);
    const run = await this.tracker.getRun(o.runId);
    if (run.status !== 'finished')
      throw new ConflictError(`run '${run.id}' is ${run.status}: only a finished run can be registered`, { run: run.id, status: run.status });
    const artifact = o.onnxArtifact ?? 'model.onnx';
    if (!(await this.tracker.hasArtifact(run.id, artifact)))
      throw new ValidationError(`run '${run.id}' has no artifact '${artifact}' (export the model first)`, { run: run.id, artifact });
    const bytes = await this.tracker.getArtifact(run.id, artifact);
    const runMetrics = await this.readRunMetrics(run.id);
    const { metadata, producer } = await this.validate(bytes, (m) => {
      const io = selectIO(m);
      return metadataFromExport(
        m.metadataProps,
        { input: io.input.name, output: io.output.name, inputShape: io.input.shape },
        runMetrics?.calibration?.temperature,
      );
    });
    const experiment = await this.db.selectFrom('experiments').select('name').where('id', '=', run.experimentId).executeTakeFirst();
    const datasetImages = run.datasetVersion
      ? ((await this.db.selectFrom('dataset_versions').select('image_count').where('id', '=', run.datasetVersion).executeTakeFirst())?.image_count ?? null)
      : null;
    return this.store({
      name,
      bytes,
      metadata,
      producer,
      by: o.by,
      notes: o.notes ?? null,
      runId: run.id,
      datasetVersion: run.datasetVersion,
      card: { run: { ...run, experiment: experiment?.name ?? null }, runMetrics, datasetImages: datasetImages === null ? null : Number(datasetImages) },
    });
  }

  /** Imports an ONNX classifier exported elsewhere (`file` is a path given by the CLI user). */
  async importOnnx(o: { name: string; file: string; meta: unknown; by: string; notes?: string }): Promise<ModelVersion> {
    let bytes: Buffer;
    try {
      bytes = await readFile(o.file);
    } catch (err) {
      throw new ValidationError(`cannot read model file '${o.file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: o.file });
    }
    return this.importOnnxBytes({ ...o, bytes });
  }

  async importOnnxBytes(o: { name: string; bytes: Uint8Array; meta: unknown; by: string; notes?: string }): Promise<ModelVersion> {
    const name = assertModelName(o.name);
    assertLabel('user', o.by);
    const meta = parseImportMeta(o.meta);
    const { metadata, producer } = await this.validate(o.bytes, (m) => {
      const io = selectIO(m, { input: meta.input.name, output: meta.output?.name });
      return metadataFromImport(meta, { input: io.input.name, output: io.output.name });
    });
    return this.store({
      name,
      bytes: o.bytes,
      metadata,
      producer,
      by: o.by,
      notes: o.notes ?? meta.description ?? null,
      runId: null,
      datasetVersion: meta.datasetVersion ?? null,
      card: { import: meta },
    });
  }

  /**
   * Registers a model derived from an existing version (e.g. its INT8 quantization) as the next version of the
   * same name. It keeps the source's lineage (run, dataset version) and metadata (classes, preprocessing,
   * temperature); its card shows the notes (naming the source version), `evaluations` per split and `metrics` —
   * figures measured on the derived model, never the source run's. The bytes are validated like any registration.
   */
  async registerDerived(o: {
    from: { name: string; version: number };
    bytes: Uint8Array;
    by: string;
    notes: string;
    evaluations?: Partial<Record<'val' | 'test' | 'finalEval', { count: number; accuracy: number }>>;
    metrics?: Record<string, number>;
  }): Promise<ModelVersion> {
    assertLabel('user', o.by);
    const src = await this.resolve(o.from.name, { version: o.from.version });
    const { metadata, producer } = await this.validate(o.bytes, () => src.metadata);
    const run = src.runId ? await this.tracker.getRun(src.runId) : null;
    const experiment = run ? await this.db.selectFrom('experiments').select('name').where('id', '=', run.experimentId).executeTakeFirst() : undefined;
    return this.store({
      name: src.name,
      bytes: o.bytes,
      metadata,
      producer,
      by: o.by,
      notes: o.notes,
      runId: src.runId,
      datasetVersion: src.datasetVersion,
      card: {
        ...(run ? { run: { ...run, summary: null, experiment: experiment?.name ?? null } } : {}),
        runMetrics: o.evaluations ?? null,
        import: { datasetVersion: src.datasetVersion ?? undefined, metrics: o.metrics },
      },
    });
  }

  /** Loads the model, derives its metadata, checks shapes and runs a smoke inference. */
  private async validate(bytes: Uint8Array, describe: (m: OpenedModel) => ModelMetadata): Promise<{ metadata: ModelMetadata; producer: string | null }> {
    const opened = await openModel(bytes);
    try {
      const metadata = describe(opened);
      checkShapes(opened, metadata);
      await smokeTest(opened, metadata);
      return { metadata, producer: opened.producer || null };
    } finally {
      await opened.session.release();
    }
  }

  private async readRunMetrics(runId: string): Promise<RunMetricsFile | null> {
    if (!(await this.tracker.hasArtifact(runId, 'metrics.json'))) return null;
    try {
      return parseRunMetrics(JSON.parse((await this.tracker.getArtifact(runId, 'metrics.json')).toString('utf8')));
    } catch {
      return null; // an unreadable metrics file leaves the card without figures, it does not block registration
    }
  }

  /**
   * Allocates the next version and writes the version's objects and row in one transaction: two
   * registrations of the same name serialize on the counter row; a failure rolls the number back.
   */
  private async store(c: Candidate): Promise<ModelVersion> {
    const sha256 = createHash('sha256').update(c.bytes).digest('hex');
    const createdAt = this.clock.now().toISOString();
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('registered_models')
        .values({ name: c.name, latest_version: 0, alias_events: 0, created_at: createdAt })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const { latest_version: version } = await trx
        .updateTable('registered_models')
        .set((eb) => ({ latest_version: eb('latest_version', '+', 1) }))
        .where('name', '=', c.name)
        .returning('latest_version')
        .executeTakeFirstOrThrow();
      const keys = modelObjectKeys(c.name, version);
      const card = buildModelCard({
        ...c.card,
        name: c.name,
        version,
        createdAt,
        createdBy: c.by,
        notes: c.notes,
        metadata: c.metadata,
        onnx: { sha256, bytes: c.bytes.length, producer: c.producer },
      });
      await this.objects.put(keys.onnx, c.bytes, { contentType: 'application/octet-stream' });
      await this.objects.put(keys.card, `${JSON.stringify(card, null, 2)}\n`, { contentType: 'application/json' });
      await this.objects.put(keys.cardMarkdown, modelCardMarkdown(card), { contentType: 'text/markdown; charset=utf-8' });
      const row: ModelVersionsTable = {
        name: c.name,
        version,
        source: c.runId ? 'run' : 'import',
        run_id: c.runId,
        dataset_version: c.datasetVersion,
        onnx_key: keys.onnx,
        onnx_sha256: sha256,
        onnx_bytes: c.bytes.length,
        metadata_json: JSON.stringify(c.metadata),
        card_key: keys.card,
        created_by: c.by,
        notes: c.notes,
        created_at: createdAt,
      };
      await trx.insertInto('model_versions').values(row).execute();
      return toModelVersion(row);
    });
  }

  /** Points `alias` at `version`, recording who and why. ConflictError when it already points there. */
  async setAlias(name: string, alias: string, version: number, o: { by: string; reason: string }): Promise<void> {
    assertModelName(name);
    const a = assertAlias(alias);
    assertVersion(version);
    assertLabel('user', o.by);
    assertLabel('reason', o.reason, 2000);
    await this.db.transaction().execute(async (trx) => {
      const seq = await this.nextEventSeq(trx, name);
      const exists = await trx.selectFrom('model_versions').select('version').where('name', '=', name).where('version', '=', version).executeTakeFirst();
      if (!exists) throw new NotFoundError('model version', `${name} v${version}`);
      const current = (await this.stacks(trx, name)).get(a)?.at(-1) ?? null;
      if (current === version) throw new ConflictError(`${name}@${a} already points at version ${version}`, { name, alias: a, version });
      await trx
        .insertInto('model_alias_events')
        .values({ name, seq, alias: a, action: 'set', version, previous_version: current, by: o.by, reason: o.reason, at: this.clock.now().toISOString() })
        .execute();
    });
  }

  /**
   * Moves `alias` back to the version it pointed at before its latest promotion still in effect
   * (recorded as a new `rollback` event). A second rollback goes one further back.
   */
  async rollback(name: string, alias: string, o: { by: string; reason: string }): Promise<{ from: number; to: number }> {
    assertModelName(name);
    const a = assertAlias(alias);
    assertLabel('user', o.by);
    assertLabel('reason', o.reason, 2000);
    return this.db.transaction().execute(async (trx) => {
      const seq = await this.nextEventSeq(trx, name);
      const stack = (await this.stacks(trx, name)).get(a) ?? [];
      if (stack.length === 0) throw new ConflictError(`${name}@${a} is not set: nothing to roll back`, { name, alias: a });
      if (stack.length === 1)
        throw new ConflictError(`${name}@${a} has no earlier version to roll back to (it points at its first version ${stack[0]})`, { name, alias: a });
      const from = stack[stack.length - 1]!;
      const to = stack[stack.length - 2]!;
      await trx
        .insertInto('model_alias_events')
        .values({
          name,
          seq,
          alias: a,
          action: 'rollback',
          version: to,
          previous_version: from,
          by: o.by,
          reason: o.reason,
          at: this.clock.now().toISOString(),
        })
        .execute();
      return { from, to };
    });
  }

  /** Locks the model's counter row and returns the next alias event number. */
  private async nextEventSeq(trx: Trx, name: string): Promise<number> {
    const row = await trx
      .updateTable('registered_models')
      .set((eb) => ({ alias_events: eb('alias_events', '+', 1) }))
      .where('name', '=', name)
      .returning('alias_events')
      .executeTakeFirst();
    if (!row) throw new NotFoundError('model', name);
    return row.alias_events;
  }

  private async stacks(db: Db | Trx, name: string): Promise<Map<Alias, number[]>> {
    const events = await db.selectFrom('model_alias_events').select(['alias', 'action', 'version']).where('name', '=', name).orderBy('seq').execute();
    return aliasStacks(events as Pick<AliasEvent, 'alias' | 'action' | 'version'>[]);
  }

  async aliases(name: string): Promise<Partial<Record<Alias, number>>> {
    await this.requireModel(name);
    const out: Partial<Record<Alias, number>> = {};
    for (const [a, s] of await this.stacks(this.db, name)) if (s.length) out[a] = s[s.length - 1]!;
    return out;
  }

  /** A version by number, by alias, or (neither) the latest. */
  async resolve(name: string, ref: ModelRef = {}): Promise<ModelVersion> {
    assertModelName(name);
    if (ref.version !== undefined && ref.alias !== undefined) throw new ValidationError('give a version or an alias, not both');
    let version = ref.version;
    if (ref.alias !== undefined) {
      const a = assertAlias(ref.alias);
      version = (await this.aliases(name))[a];
      if (version === undefined) throw new NotFoundError('model alias', `${name}@${a}`);
    }
    let q = this.db.selectFrom('model_versions').selectAll().where('name', '=', name);
    q = version !== undefined ? q.where('version', '=', assertVersion(version)) : q.orderBy('version', 'desc').limit(1);
    const row = await q.executeTakeFirst();
    if (!row) throw new NotFoundError(version !== undefined ? 'model version' : 'model', version !== undefined ? `${name} v${version}` : name);
    return toModelVersion(row);
  }

  async aliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    await this.requireModel(name);
    let q = this.db.selectFrom('model_alias_events').selectAll().where('name', '=', name);
    if (alias !== undefined) q = q.where('alias', '=', assertAlias(alias));
    const rows = await q.orderBy('seq').execute();
    return rows.map((r) => ({
      seq: r.seq,
      alias: r.alias as Alias,
      action: r.action as AliasEvent['action'],
      version: r.version,
      previousVersion: r.previous_version,
      by: r.by,
      reason: r.reason,
      at: r.at,
    }));
  }

  async listModels(): Promise<RegisteredModel[]> {
    const rows = await this.db.selectFrom('registered_models').selectAll().orderBy('name').execute();
    const events = await this.db.selectFrom('model_alias_events').select(['name', 'alias', 'action', 'version']).orderBy('name').orderBy('seq').execute();
    return rows.map((r) => {
      const aliases: Partial<Record<Alias, number>> = {};
      for (const [a, s] of aliasStacks(events.filter((e) => e.name === r.name) as Pick<AliasEvent, 'alias' | 'action' | 'version'>[]))
        if (s.length) aliases[a] = s[s.length - 1]!;
      return { name: r.name, latestVersion: r.latest_version, createdAt: r.created_at, aliases };
    });
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    await this.requireModel(name);
    const rows = await this.db.selectFrom('model_versions').selectAll().where('name', '=', name).orderBy('version').execute();
    return rows.map(toModelVersion);
  }

  async modelCard(name: string, version: number): Promise<ModelCard> {
    const mv = await this.resolve(name, { version });
    return JSON.parse((await this.objects.getBytes(mv.cardKey)).toString('utf8')) as ModelCard;
  }

  /** The version's ONNX bytes, checked against the sha256 recorded at registration. */
  async modelBytes(mv: ModelVersion, o: LoadOptions = {}): Promise<Uint8Array> {
    const cached = o.cacheDir ? join(o.cacheDir, mv.name, String(mv.version), `${mv.onnxSha256}.onnx`) : undefined;
    if (cached) {
      const hit = await readFile(cached).catch(() => undefined);
      if (hit && sha256(hit) === mv.onnxSha256) return hit;
    }
    const bytes = await this.objects.getBytes(mv.onnxKey);
    if (sha256(bytes) !== mv.onnxSha256)
      throw new InvalidModelError(`${mv.onnxKey} does not match the sha256 recorded at registration: the stored model was altered or corrupted`, {
        key: mv.onnxKey,
      });
    if (cached) {
      // Write-then-rename: a concurrent loader never reads a half-written cache file.
      await mkdir(join(o.cacheDir!, mv.name, String(mv.version)), { recursive: true });
      const tmp = `${cached}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, cached);
    }
    return bytes;
  }

  /** A version (by number or alias, default latest) ready to predict. */
  async loadForInference(name: string, ref: ModelRef = {}, o: LoadOptions = {}): Promise<LoadedModel> {
    const mv = await this.resolve(name, ref);
    return createLoadedModel({ name: mv.name, version: mv.version, bytes: await this.modelBytes(mv, o), metadata: mv.metadata, threads: o.threads });
  }

  private async requireModel(name: string): Promise<void> {
    assertModelName(name);
    const row = await this.db.selectFrom('registered_models').select('name').where('name', '=', name).executeTakeFirst();
    if (!row) throw new NotFoundError('model', name);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function toModelVersion(r: ModelVersionsTable): ModelVersion {
  return {
    name: r.name,
    version: Number(r.version),
    source: r.source as ModelVersion['source'],
    runId: r.run_id,
    datasetVersion: r.dataset_version,
    onnxKey: r.onnx_key,
    onnxSha256: r.onnx_sha256,
    onnxBytes: Number(r.onnx_bytes),
    cardKey: r.card_key,
    cardMarkdownKey: r.card_key.replace(/\.json$/, '.md'),
    metadata: parseStoredMetadata(r.metadata_json),
    createdBy: r.created_by,
    notes: r.notes,
    createdAt: r.created_at,
  };
}

export { ALIASES };
