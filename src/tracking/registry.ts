// The model registry: versions and aliases. A version is immutable: its ONNX, model card and metadata
// are written once under models/<name>/<version>/. Versions are numbered per name by a counter row
// updated inside the registering transaction, so concurrent registrations (two processes, two API
// requests) get distinct, increasing numbers. Aliases (staging, canary, production) are not stored as
// pointers: each change is an event in an append-only history, and an alias's current version is
// derived by replaying it — `set` pushes a version, `rollback` pops the latest one still in effect.
//
// One way to create a version: `createVersion(NewVersion)` validates the bytes (metadata, shapes, a smoke
// inference) and stores them with their card. Where the bytes and the card's inputs come from (a run, an
// import, a derived model) is version-sources.ts; `register`, `importOnnx(Bytes)` and `registerDerived`
// are those sources composed with createVersion for the callers. Loading a version for inference is
// model-loader.ts; `modelBytes` and `loadForInference` here only resolve the version and hand it over.
// `onVersionCreated` lets a layer above run a step after every registration (the drift reference profile,
// docs/drift.md) without the registry knowing it: the step runs once the version is committed, and its failure
// never fails the registration.
import { createHash } from 'node:crypto';

import type { Transaction } from 'kysely';

import { type Clock, systemClock } from '../core/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Database, ModelVersionsTable } from '../storage/schema.js';
import type { LoadedModel } from './loaded-model.js';
import { buildModelCard, type ModelCard, modelCardMarkdown, type ProtocolCardSection } from './model-card.js';
import { loadModelVersion, type LoadOptions, modelBytes } from './model-loader.js';
import type { ModelMetadata } from './model-metadata.js';
import { type AliasEvent, modelArtifactKey, modelObjectKeys, type ModelRef, type ModelVersion, type RegisteredModel, toModelVersion } from './model-version.js';
import { type Alias, ALIASES, assertAlias, assertLabel, assertModelName, assertVersion } from './names.js';
import { checkShapes, type OpenedModel, openModel, smokeTest } from './onnx-model.js';
import type { Tracker } from './tracker.js';
import { type NewVersion, readModelFile, versionFromImport, versionFromRun, versionFromSource } from './version-sources.js';

export type { AliasEvent, ModelRef, ModelVersion, RegisteredModel } from './model-version.js';
export { modelArtifactKey, modelObjectKeys } from './model-version.js';
export type { LoadOptions } from './model-loader.js';

type Trx = Transaction<Database>;

/** A step run after a version is registered (committed). What it throws is handed to its `onError`, never to the registering caller. */
export type VersionCreatedListener = (mv: ModelVersion) => Promise<void>;

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

/** A validated version about to be stored. */
type Candidate = Omit<NewVersion, 'describe'> & { metadata: ModelMetadata; producer: string | null };

export class ModelRegistry {
  private readonly created: { listener: VersionCreatedListener; onError: (err: unknown, mv: ModelVersion) => void }[] = [];

  constructor(
    readonly db: Db,
    readonly objects: ObjectStore,
    readonly tracker: Tracker,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The one way a version is created: validates the bytes (metadata, shapes, smoke inference), then stores them as the next version. */
  async createVersion(nv: NewVersion): Promise<ModelVersion> {
    const name = assertModelName(nv.name);
    assertLabel('user', nv.by);
    const { metadata, producer } = await validate(nv.bytes, nv.describe);
    const mv = await this.store({ ...nv, name, metadata, producer });
    for (const c of this.created) {
      try {
        await c.listener(mv);
      } catch (err) {
        c.onError(err, mv);
      }
    }
    return mv;
  }

  /**
   * Runs `listener` after every version this registry object creates, awaited before `createVersion` returns (so a
   * CLI process does not exit under it); a listener that throws is reported to `onError` and the registration stands.
   */
  onVersionCreated(listener: VersionCreatedListener, onError: (err: unknown, mv: ModelVersion) => void): () => void {
    const entry = { listener, onError };
    this.created.push(entry);
    return () => {
      const i = this.created.indexOf(entry);
      if (i >= 0) this.created.splice(i, 1);
    };
  }

  /** Registers a finished run's exported ONNX (default artifact `model.onnx`) as the next version of `name`. */
  async register(o: { runId: string; name: string; onnxArtifact?: string; by: string; notes?: string }): Promise<ModelVersion> {
    return this.createVersion(await versionFromRun(this, o));
  }

  /** Imports an ONNX classifier exported elsewhere (`file` is a path given by the CLI user). */
  async importOnnx(o: { name: string; file: string; meta: unknown; by: string; notes?: string }): Promise<ModelVersion> {
    return this.importOnnxBytes({ ...o, bytes: await readModelFile(o.file) });
  }

  async importOnnxBytes(o: { name: string; bytes: Uint8Array; meta: unknown; by: string; notes?: string }): Promise<ModelVersion> {
    return this.createVersion(versionFromImport(o));
  }

  /** Registers a model derived from an existing version (e.g. its INT8 quantization) as the next version of the same name (see versionFromSource). */
  async registerDerived(o: Parameters<typeof versionFromSource>[2] & { from: { name: string; version: number } }): Promise<ModelVersion> {
    assertLabel('user', o.by);
    const src = await this.resolve(o.from.name, { version: o.from.version });
    return this.createVersion(await versionFromSource(this, src, o));
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

  /** The card as registered, with the change-protocol evaluations attached since (attachProtocolReport). */
  async modelCard(name: string, version: number): Promise<ModelCard> {
    const mv = await this.resolve(name, { version });
    const card = JSON.parse((await this.objects.getBytes(mv.cardKey)).toString('utf8')) as ModelCard;
    const reports = await this.protocolReports(mv.name, mv.version);
    return reports.length ? { ...card, changeProtocol: reports } : card;
  }

  private async protocolReports(name: string, version: number): Promise<ProtocolCardSection[]> {
    const key = modelObjectKeys(name, version).protocolReports;
    return (await this.objects.head(key)) ? (JSON.parse((await this.objects.getBytes(key)).toString('utf8')) as ProtocolCardSection[]) : [];
  }

  /**
   * Adds a change-protocol evaluation to the version's card: the registered card JSON and the ONNX stay as they
   * were; the evaluations are kept beside them (oldest first) and the card's Markdown is rendered again with them.
   * Evaluations of one version are made one at a time (the rollout service serializes them per model).
   */
  async attachProtocolReport(name: string, version: number, section: ProtocolCardSection): Promise<void> {
    const mv = await this.resolve(name, { version });
    const keys = modelObjectKeys(mv.name, mv.version);
    const reports = [...(await this.protocolReports(mv.name, mv.version)), section];
    await this.objects.put(keys.protocolReports, `${JSON.stringify(reports, null, 2)}\n`, { contentType: 'application/json' });
    const card = JSON.parse((await this.objects.getBytes(mv.cardKey)).toString('utf8')) as ModelCard;
    await this.objects.put(keys.cardMarkdown, modelCardMarkdown({ ...card, changeProtocol: reports }), { contentType: 'text/markdown; charset=utf-8' });
  }

  /** The version's ONNX bytes, checked against the sha256 recorded at registration (model-loader.ts). */
  /**
   * Stores an artifact of a registered version (e.g. the drift reference profile, computed at or after registration).
   * The version's model and card stay immutable; an artifact is replaced by writing it again.
   */
  async putVersionArtifact(name: string, version: number, artifact: string, body: string | Uint8Array, contentType = 'application/json'): Promise<string> {
    const mv = await this.resolve(name, { version });
    const key = modelArtifactKey(mv.name, mv.version, artifact);
    await this.objects.put(key, body, { contentType });
    return key;
  }

  /** A version's artifact, or null when none was stored under that name. */
  async getVersionArtifact(name: string, version: number, artifact: string): Promise<Buffer | null> {
    const key = modelArtifactKey(name, version, artifact);
    if ((await this.objects.head(key)) === undefined) return null;
    return this.objects.getBytes(key);
  }

  async modelBytes(mv: ModelVersion, o: LoadOptions = {}): Promise<Uint8Array> {
    return modelBytes(this.objects, mv, o);
  }

  /** A version (by number or alias, default latest) ready to predict (model-loader.ts). */
  async loadForInference(name: string, ref: ModelRef = {}, o: LoadOptions = {}): Promise<LoadedModel> {
    return loadModelVersion(this.objects, await this.resolve(name, ref), o);
  }

  private async requireModel(name: string): Promise<void> {
    assertModelName(name);
    const row = await this.db.selectFrom('registered_models').select('name').where('name', '=', name).executeTakeFirst();
    if (!row) throw new NotFoundError('model', name);
  }
}

/** Loads the model, derives its metadata, checks shapes and runs a smoke inference. */
async function validate(bytes: Uint8Array, describe: (m: OpenedModel) => ModelMetadata): Promise<{ metadata: ModelMetadata; producer: string | null }> {
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

export { ALIASES };
