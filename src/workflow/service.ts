// The second-reader workflow: intake (the model reads every study at once, its answer hidden from
// reader A), reader A's read and the policy's decision, reader B's adjudication, worklists. Every
// transition is one transaction: read the study, ask the state machine, write with a compare-and-set
// on (status, row_version), add the read, append the audit entries — so of two readers racing on one
// study exactly one wins, and the audit log holds an event iff the change it describes committed.
// Why one ~650-line file: every transition shares the same load → state machine → compare-and-set →
// audit transaction helpers, and splitting them would spread one invariant over several modules.
// DICOM received from the network (STOW-RS, DIMSE) enters through intakeDicomInstance; the index it
// writes and QIDO reads is dicom-index.ts, the sealed origin link origin-store.ts.
import type { Kysely } from 'kysely';

import { type Clock, systemClock } from '../core/clock.js';
import { describeError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId, sha256Hex } from '../core/ids.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { CLASS_MODALITY, classesOf, isSecondreadClass, MODALITIES, type Modality } from '../data/classes.js';
import { VERSION_ID_PATTERN } from '../data/datasets/types.js';
import type { DicomOrigin } from '../data/dicom/deid/origin.js';
import { observeRead } from '../monitoring/drift/observe.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Database, ReadsTable, StudiesTable } from '../storage/schema.js';
import { appendAudit, type AuditEntry, listAudit } from './audit.js';
import { type ClassProbability, type StudyView, studyView } from './blinding.js';
import { assertBoxMark, assertBoxRead, type BoxOutcome, type BoxReader, boxReadRow, loadBoxes, readBoxes } from './boxes.js';
import {
  type DicomIndexRow,
  type DicomQuery,
  type DicomSeriesMatch,
  type DicomStudyMatch,
  insertDicomIndex,
  searchInstances,
  searchSeries,
  searchStudies,
  studyOfSopInstance,
} from './dicom-index.js';
import { type DicomIntakeResult, refusalOf } from './dicom-intake.js';
import { type DicomPreparer, inlineDicomPreparer } from './dicom-prepare.js';
import { IllegalTransitionError, ModelReadInvalidError, WorkflowForbiddenError } from './errors.js';
import { DEFAULT_ECONOMICS, type Economics, type WorkflowMetrics, workflowMetrics } from './metrics.js';
import { type IntakeOrigin, loadOrigin, storeOrigin } from './origin-store.js';
import { PolicyStore } from './policies.js';
import { evaluatePolicy } from './policy.js';
import { assertTransition, STUDY_STATES, type StudyEvent, type StudyState } from './states.js';
import type { DicomIntakeSettings, StudyDicomFacts, StudyImage } from './study-image.js';
import type { Role } from './users.js';
import type { ModelDetection, WorklistItem } from './views.js';

/** The model's read of one image; the API backs this with ServingService (alias production, canary rules). */
export interface ModelRead {
  model: string;
  version: number;
  predictions: ClassProbability[];
  top: ClassProbability;
  /** How serving chose the version (`production`, `canary`, …), recorded in the audit entry when given. */
  route?: string;
  /** The model's pooled embedding when it exports one: kept for drift monitoring only, never in the clinical record. */
  embedding?: Float32Array;
  /**
   * Boxes in the ORIGINAL image's pixels, when this reader also detects (one model doing both). Without a
   * configured detector they become the study's box read; the configured detector (deps.detector) wins otherwise.
   */
  detections?: ModelDetection[];
}

export interface ModelReader {
  read(image: Uint8Array, o: { studyId: string }): Promise<ModelRead>;
}

/** The part of a user the workflow needs (an AuthenticatedUser fits). */
export interface WorkflowUser {
  id: string;
  name: string;
  role: Role;
}

export interface IntakeInput {
  modality: string;
  image: Uint8Array;
  priority?: boolean;
  /** A study replayed from a dataset version (simulation): where it came from and its truth. */
  dataset?: { version: string; sha256: string; truthClass: string };
  /** How a DICOM instance came in (upload, STOW-RS, DIMSE); its sealed origin is kept when results-return is on. */
  origin?: IntakeOrigin;
}

export type { IntakeOrigin } from './origin-store.js';
export type { DicomIntakeResult } from './dicom-intake.js';

export type Worklist = 'A' | 'B';

export type { WorklistItem } from './views.js';

export interface ListStudiesOptions {
  /** Only studies in this state. */
  status?: string;
  /** 1…500 (default 50). */
  limit?: number;
  /** Paging: studies listed after this one (the last id of the previous page). */
  before?: string;
}

export interface WorkflowServiceDeps {
  db: Db;
  objects: ObjectStore;
  model: ModelReader;
  /** The detector that also reads every CXR study (config `workflow.detector`); absent: no boxes. */
  detector?: BoxReader;
  logger?: Logger;
  clock?: Clock;
  /** Uniform draws in [0, 1) for QA sampling (tests pin it). */
  random?: () => number;
  /** Minutes and cost per read for the savings figures (default: DEFAULT_ECONOMICS placeholders). */
  economics?: Economics;
  /** DICOM intake (de-identification key and policy); without it a DICOM study is refused. */
  dicom?: DicomIntakeSettings;
  /** Where DICOM parsing, decoding and de-identification run (default: on the calling thread; serve: a worker pool). */
  dicomPreparer?: DicomPreparer;
}

/** Study ids: the API's rule, so anything that reaches a query is a plausible id. */
export const STUDY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** Largest page of a worklist or a study list. */
const MAX_LIST = 500;

const READER_OF: Partial<Record<Role, { reader: 'A' | 'B'; event: StudyEvent }>> = {
  reader: { reader: 'A', event: 'read_a' },
  adjudicator: { reader: 'B', event: 'read_b' },
};
const WORKLIST_ROLES: Record<Worklist, readonly Role[]> = { A: ['reader', 'admin'], B: ['adjudicator', 'admin'] };
const WORKLIST_STATE: Record<Worklist, StudyState> = { A: 'awaiting_a', B: 'awaiting_b' };
/** Who may list all studies and read a study's audit trail: not readers (the trail holds the model's read). */
const OVERSIGHT_ROLES: readonly Role[] = ['adjudicator', 'ml-engineer', 'admin'];

export class WorkflowService {
  private readonly db: Db;
  private readonly objects: ObjectStore;
  private readonly model: ModelReader;
  private readonly detector?: BoxReader;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly economics: Economics;
  private readonly dicom?: DicomIntakeSettings;
  private readonly preparer: DicomPreparer;
  readonly policies: PolicyStore;
  /** DICOM instances being taken in, by de-identified SOP Instance UID: a resend waits, then finds the first one's study. */
  private readonly dicomInFlight = new Map<string, Promise<unknown>>();

  constructor(deps: WorkflowServiceDeps) {
    this.db = deps.db;
    this.objects = deps.objects;
    this.model = deps.model;
    this.detector = deps.detector;
    this.logger = deps.logger ?? silentLogger;
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.economics = deps.economics ?? DEFAULT_ECONOMICS;
    this.dicom = deps.dicom;
    this.preparer = deps.dicomPreparer ?? inlineDicomPreparer(deps.dicom);
    this.policies = new PolicyStore(this.db, this.clock);
  }

  /**
   * Registers a study: stores the image under a key the server makes, has the model read it (outside
   * any transaction: inference must not hold database locks), then records study, model read and
   * audit entries in one transaction. A failed model read does not lose the study: it is recorded,
   * and the study will go to reader B whatever A says.
   */
  async intake(user: WorkflowUser, input: IntakeInput): Promise<StudyView> {
    const modality = assertModality(input.modality);
    const dataset = input.dataset ? assertDatasetOrigin(user, modality, input.dataset) : undefined;
    if (!(input.image instanceof Uint8Array)) throw new ValidationError('image must be bytes');
    const origin = input.origin === undefined ? undefined : assertIntakeOrigin(input.origin);
    // Decoded in full (and a DICOM de-identified) before anything is stored: see study-image.ts.
    const prepared = await this.preparer.upload(input.image);
    return this.register(user, { modality, dataset, priority: input.priority === true, origin }, prepared);
  }

  /**
   * A DICOM instance received from the network (STOW-RS, DIMSE C-STORE): its Modality decides the
   * workflow modality (CR/DX → cxr, OPT/OCT → oct), then it is taken in like an upload. Bad input is an
   * answer (`ok: false` with a stable code), never an exception; an instance received before (same
   * de-identified SOP Instance UID) answers the study it made then, so a resend makes no second study.
   * `o.studyInstanceUid` (STOW-RS to /studies/{uid}): the instance must belong to that (as sent) study.
   */
  async intakeDicomInstance(user: WorkflowUser, bytes: Uint8Array, origin: IntakeOrigin, o: { studyInstanceUid?: string } = {}): Promise<DicomIntakeResult> {
    const via = assertIntakeOrigin(origin);
    const ready = await this.preparer.instance(bytes, o);
    if (!ready.ok) return ready;
    const { prepared, modality, sopClassUid, sopInstanceUid } = ready;
    try {
      const stored = {
        studyInstanceUid: prepared.dicom!.studyInstanceUid,
        seriesInstanceUid: prepared.index!.seriesInstanceUid,
        sopInstanceUid: prepared.dicom!.sopInstanceUid,
      };
      const key = stored.sopInstanceUid;
      for (let busy = this.dicomInFlight.get(key); busy; busy = this.dicomInFlight.get(key)) await busy.catch(() => undefined);
      const work = (async () => {
        const existing = await studyOfSopInstance(this.db, key);
        if (existing) return { study: await this.getStudy(user, existing), duplicate: true };
        return { study: await this.register(user, { modality, priority: false, origin: via }, prepared), duplicate: false };
      })();
      this.dicomInFlight.set(key, work);
      try {
        const { study, duplicate } = await work;
        return {
          ok: true,
          study,
          sopInstanceUid: sopInstanceUid ?? stored.sopInstanceUid,
          sopClassUid: sopClassUid ?? prepared.dicom!.sopClassUid,
          stored,
          duplicate,
        };
      } finally {
        if (this.dicomInFlight.get(key) === work) this.dicomInFlight.delete(key);
      }
    } catch (err) {
      const refusal = refusalOf(err);
      if (!refusal) throw err;
      return { ok: false, ...refusal, ...(sopInstanceUid ? { sopInstanceUid } : {}), ...(sopClassUid ? { sopClassUid } : {}) };
    }
  }

  /**
   * The identified origin of a DICOM study, opened from its seal — for the results exporter only, never
   * an API answer. Null when none was kept (results-return off when it came in, or not a DICOM study).
   */
  async getStudyOrigin(studyId: string): Promise<DicomOrigin | null> {
    const id = assertStudyId(studyId);
    if (!this.dicom) return null;
    return loadOrigin(this.db, this.dicom.key, id);
  }

  /** QIDO-RS, study level (de-identified values only). */
  async searchDicomStudies(q: DicomQuery): Promise<DicomStudyMatch[]> {
    return searchStudies(this.db, q);
  }

  /** QIDO-RS, series level. */
  async searchDicomSeries(q: DicomQuery): Promise<DicomSeriesMatch[]> {
    return searchSeries(this.db, q);
  }

  /** QIDO-RS instance level, and WADO-RS's lookup of what to send (by de-identified UIDs). */
  async searchDicomInstances(q: DicomQuery): Promise<DicomIndexRow[]> {
    return searchInstances(this.db, q);
  }

  /** Stores a prepared study, has the model read it and records it (intake's second half). */
  private async register(
    user: WorkflowUser,
    input: { modality: Modality; dataset?: { version: string; sha256: string; truthClass: string }; priority: boolean; origin?: IntakeOrigin },
    prepared: StudyImage,
  ): Promise<StudyView> {
    const { modality, dataset, origin } = input;
    const id = newId('st_');
    const imageKey = `studies/${id}/image.${prepared.extension}`;
    const objects = [
      { key: imageKey, bytes: prepared.image, contentType: prepared.contentType },
      ...prepared.extras.map((e) => ({ ...e, key: `studies/${id}/${e.name}` })),
    ];
    const storedKeys = objects.map((o) => o.key);
    for (const o of objects) await this.objects.put(o.key, o.bytes, { ifNotExists: true, contentType: o.contentType });

    // The detector reads CXR studies beside the classifier (boxes.ts); its failure is an outcome, never thrown.
    const boxRead = modality === 'cxr' && this.detector ? readBoxes(this.detector, prepared.image, id) : undefined;
    let read: ModelRead | undefined;
    let modelError: string | undefined;
    try {
      read = assertModelRead(await this.model.read(prepared.image, { studyId: id }));
    } catch (err) {
      modelError = describeError(err);
      this.logger.warn({ studyId: id, err: modelError }, 'model read failed at intake; the study will be double-read');
    }
    let boxes: BoxOutcome | undefined = boxRead ? await boxRead : undefined;
    if (!boxes && read?.detections) {
      try {
        boxes = { ok: true, read: assertBoxRead({ model: read.model, version: read.version, detections: read.detections }) };
      } catch (err) {
        boxes = { ok: false, error: describeError(err) };
      }
    }
    if (boxes && !boxes.ok) this.logger.warn({ studyId: id, err: boxes.error }, 'detector read failed at intake; the study is taken in without boxes');

    const now = this.clock.now().toISOString();
    const row: StudiesTable = {
      id,
      modality,
      source: dataset ? 'dataset' : 'upload',
      dataset_version: dataset?.version ?? null,
      dataset_sha256: dataset?.sha256 ?? null,
      image_key: imageKey,
      truth_class: dataset?.truthClass ?? null,
      status: 'awaiting_a',
      priority: input.priority ? 1 : 0,
      qa: 0,
      decision: null,
      decision_reasons_json: null,
      model_name: read?.model ?? null,
      model_version: read?.version ?? null,
      policy_id: null,
      final_label: null,
      created_by: user.id,
      created_at: now,
      decided_at: null,
      finalized_at: null,
      row_version: 1,
    };
    const modelRow: ReadsTable | undefined = read && {
      study_id: id,
      reader: 'model',
      user_id: null,
      label: read.top.class,
      probabilities_json: JSON.stringify(read.predictions),
      created_at: now,
    };
    const boxRow = boxes && boxReadRow(id, boxes, now);
    const keptOrigin = prepared.origin !== undefined && this.dicom?.keepOrigin === true;
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('studies').values(row).execute();
        if (prepared.dicom && prepared.index) {
          await insertDicomIndex(trx, {
            study_id: id,
            study_instance_uid: prepared.dicom.studyInstanceUid,
            series_instance_uid: prepared.index.seriesInstanceUid,
            sop_instance_uid: prepared.dicom.sopInstanceUid,
            sop_class_uid: prepared.dicom.sopClassUid,
            transfer_syntax_uid: prepared.dicom.transferSyntaxUid,
            modality: prepared.dicom.modality ?? '',
            patient_key: prepared.dicom.patientKey,
            study_date: prepared.index.studyDate,
            rows: prepared.dicom.rows,
            columns: prepared.dicom.columns,
            created_at: now,
          });
        }
        if (keptOrigin) await storeOrigin(trx, this.dicom!.key, { studyId: id, origin: prepared.origin!, via: origin ?? { via: 'upload' }, at: now });
        await appendAudit(trx, {
          at: now,
          actor: actorOf(user),
          event: 'study.intake',
          studyId: id,
          payload: {
            modality,
            source: row.source,
            imageKey,
            imageSha256: sha256Hex(prepared.image),
            ...(prepared.dicom
              ? {
                  dicom: {
                    modality: prepared.dicom.modality,
                    sopClassUid: prepared.dicom.sopClassUid,
                    studyInstanceUid: prepared.dicom.studyInstanceUid,
                    deidentified: true,
                    // Whether results can go back into the original study (results-return was on).
                    originKept: keptOrigin,
                  },
                }
              : {}),
            ...(origin ? { via: { via: origin.via, callingAe: origin.callingAe ?? null, remoteAddress: origin.remoteAddress ?? null } } : {}),
            priority: row.priority === 1,
            datasetVersion: row.dataset_version,
            datasetSha256: row.dataset_sha256,
            userId: user.id,
          },
        });
        if (read && modelRow) {
          await trx.insertInto('reads').values(modelRow).execute();
          await appendAudit(trx, {
            at: now,
            actor: `model:${read.model}@${read.version}`,
            event: 'read.model',
            studyId: id,
            payload: { model: read.model, version: read.version, route: read.route ?? null, top: read.top, predictions: read.predictions },
          });
        } else {
          await appendAudit(trx, { at: now, actor: 'system', event: 'read.model_failed', studyId: id, payload: { error: modelError ?? 'unknown' } });
        }
        if (boxes && boxRow) {
          await trx.insertInto('box_reads').values(boxRow).execute();
          if (boxes.ok) {
            const b = boxes.read;
            await appendAudit(trx, {
              at: now,
              actor: `model:${b.model}@${b.version}`,
              event: 'read.detector',
              studyId: id,
              payload: { model: b.model, version: b.version, route: b.route ?? null, detections: b.detections },
            });
          } else {
            await appendAudit(trx, { at: now, actor: 'system', event: 'read.detector_failed', studyId: id, payload: { error: boxes.error } });
          }
        }
      });
    } catch (err) {
      // Nothing refers to the image now; leaving it would only leak storage.
      for (const key of storedKeys)
        await this.objects.delete(key).catch((e: unknown) => this.logger.warn({ key, err: describeError(e) }, 'could not delete an object of a failed intake'));
      throw err;
    }
    if (read) await this.observeForDrift(id, modality, prepared.image, read, now);
    this.logger.info({ studyId: id, modality, model: read ? `${read.model}@${read.version}` : null }, 'study intake');
    return studyView(user.role, row, modelRow ? [modelRow] : [], boxRow ? { read: boxRow, marks: [] } : undefined);
  }

  /**
   * Records the model read for the drift monitor (monitoring/drift). After the clinical transaction and outside it:
   * monitoring is not part of the clinical record, so a failure here is logged and the intake still succeeds.
   */
  private async observeForDrift(studyId: string, modality: Modality, image: Uint8Array, read: ModelRead, at: string): Promise<void> {
    try {
      await observeRead(this.db, { studyId, model: read.model, version: read.version, modality, top: read.top, image, embedding: read.embedding, at });
    } catch (err) {
      this.logger.warn({ studyId, err: describeError(err) }, 'could not record the model read for drift monitoring');
    }
  }

  /** The study as this user may see it (see blinding.ts). */
  async getStudy(user: WorkflowUser, id: string): Promise<StudyView> {
    const { study, reads } = await this.load(this.db, assertStudyId(id));
    return studyView(user.role, study, reads, (await loadBoxes(this.db, [study.id])).get(study.id));
  }

  /**
   * Reader B's verdict on one of the detector's boxes of a study waiting for B or adjudicated by B: stored
   * as a box label (feedback.ts carries it into the next feedback dataset) and audited (`box.marked`, with the
   * box and the verdict it replaced). The latest mark of a box counts.
   */
  async markBox(user: WorkflowUser, id: string, index: number, body: { correct: boolean }): Promise<StudyView> {
    if (user.role !== 'adjudicator')
      throw new WorkflowForbiddenError(`role '${user.role}' cannot mark boxes (reader B, the adjudicator, does)`, { role: user.role });
    const studyId = assertStudyId(id);
    await this.db.transaction().execute(async (trx) => {
      // Marks on one study run one after the other: a no-op write takes the study's row lock (PostgreSQL; SQLite
      // serializes writers anyway), so `previous` in the audit entry is the verdict this mark really replaced.
      await trx
        .updateTable('studies')
        .set((eb) => ({ row_version: eb.ref('row_version') }))
        .where('id', '=', studyId)
        .execute();
      const { study } = await this.load(trx, studyId);
      if (study.status !== 'awaiting_b' && study.status !== 'adjudicated') {
        throw new IllegalTransitionError(`study '${studyId}' is ${study.status}: boxes are marked by reader B (awaiting_b or adjudicated)`, {
          studyId,
          from: study.status,
          event: 'mark_box',
        });
      }
      const read = await trx.selectFrom('box_reads').selectAll().where('study_id', '=', studyId).executeTakeFirst();
      const mark = assertBoxMark(read, studyId, index, body?.correct);
      const previous = await trx.selectFrom('box_marks').selectAll().where('study_id', '=', studyId).where('box_index', '=', mark.index).executeTakeFirst();
      const now = this.clock.now().toISOString();
      const row = { study_id: studyId, box_index: mark.index, correct: mark.correct ? 1 : 0, user_id: user.id, created_at: now };
      await trx
        .insertInto('box_marks')
        .values(row)
        .onConflict((oc) => oc.columns(['study_id', 'box_index']).doUpdateSet({ correct: row.correct, user_id: row.user_id, created_at: row.created_at }))
        .execute();
      await appendAudit(trx, {
        at: now,
        actor: actorOf(user),
        event: 'box.marked',
        studyId,
        payload: {
          index: mark.index,
          correct: mark.correct,
          box: mark.box,
          detector: { name: read!.model_name, version: read!.model_version },
          previous: previous ? { correct: previous.correct === 1, userId: previous.user_id, at: previous.created_at } : null,
          userId: user.id,
        },
      });
    });
    this.logger.info({ studyId, index, correct: body.correct, user: user.name }, 'box marked');
    return this.getStudy(user, studyId);
  }

  /** The non-identifying DICOM header facts of a DICOM study (window, modality, spacing…), or null. */
  async getDicomFacts(id: string): Promise<StudyDicomFacts | null> {
    const bytes = await this.studyObject(id, 'dicom.json');
    return bytes && (JSON.parse(bytes.toString('utf8')) as StudyDicomFacts);
  }

  /** The de-identified DICOM instance of a DICOM study, or null. */
  async getDicomInstance(id: string): Promise<Buffer | null> {
    return this.studyObject(id, 'instance.dcm');
  }

  /** An object stored beside a study's image (study-image.ts's extras), or null when it has none. */
  private async studyObject(id: string, name: 'dicom.json' | 'instance.dcm'): Promise<Buffer | null> {
    const { study } = await this.load(this.db, assertStudyId(id));
    const key = `studies/${study.id}/${name}`;
    return (await this.objects.head(key)) ? this.objects.getBytes(key) : null;
  }

  /** The study's image bytes (any role may see the image: it is what they read). */
  async getImage(id: string): Promise<{ bytes: Buffer; contentType: string }> {
    const { study } = await this.load(this.db, assertStudyId(id));
    return { bytes: await this.objects.getBytes(study.image_key), contentType: study.image_key.endsWith('.png') ? 'image/png' : 'image/jpeg' };
  }

  /**
   * Commits a read: a reader's is read A (then the policy decides), an adjudicator's is read B (the
   * final label). IllegalTransitionError (409) when the study is not waiting for this read — also
   * for the loser of two concurrent commits.
   */
  async commitRead(user: WorkflowUser, id: string, body: { label: string }): Promise<StudyView> {
    const who = READER_OF[user.role];
    if (!who) throw new WorkflowForbiddenError(`role '${user.role}' cannot commit reads (readers commit read A, adjudicators read B)`, { role: user.role });
    const studyId = assertStudyId(id);
    const label = typeof body?.label === 'string' ? body.label : '';
    await this.db.transaction().execute(async (trx) => {
      const { study, reads } = await this.load(trx, studyId);
      if (!(classesOf(study.modality as Modality) as string[]).includes(label)) {
        throw new ValidationError(
          `label '${label.slice(0, 60)}' is not a ${study.modality} class (one of ${classesOf(study.modality as Modality).join(', ')})`,
          { label: label.slice(0, 60) },
        );
      }
      assertTransition(studyId, study.status, who.event);
      const now = this.clock.now().toISOString();
      const actor = actorOf(user);
      if (who.reader === 'A') {
        const modelRead = reads.find((r) => r.reader === 'model');
        const policy =
          study.model_name !== null && study.model_version !== null ? await this.policies.inForce(study.model_name, study.model_version, trx) : null;
        const draw = this.random();
        const top = modelRead ? (JSON.parse(modelRead.probabilities_json ?? '[]') as ClassProbability[])[0] : undefined;
        const outcome = evaluatePolicy({ label, model: top ? { top } : null, policy, draw });
        const auto = outcome.decision === 'auto_finalized';
        const to: StudyState = auto ? 'auto_finalized' : 'awaiting_b';
        assertTransition(studyId, study.status, who.event, to);
        await this.compareAndSet(trx, study, who.event, {
          status: to,
          decision: outcome.decision,
          decision_reasons_json: JSON.stringify(outcome.reasons),
          qa: outcome.qa ? 1 : 0,
          policy_id: policy?.id ?? null,
          decided_at: now,
          final_label: auto ? label : null,
          finalized_at: auto ? now : null,
        });
        await trx.insertInto('reads').values({ study_id: studyId, reader: 'A', user_id: user.id, label, probabilities_json: null, created_at: now }).execute();
        await appendAudit(trx, { at: now, actor, event: 'read.A', studyId, payload: { label, userId: user.id } });
        await appendAudit(trx, {
          at: now,
          actor: 'system',
          event: 'decision',
          studyId,
          payload: {
            decision: outcome.decision,
            reasons: outcome.reasons,
            qa: outcome.qa,
            qaDraw: draw,
            policy: policy
              ? { id: policy.id, version: policy.version, qaFraction: policy.qaFraction, threshold: top ? (policy.thresholds[top.class] ?? null) : null }
              : null,
            model: study.model_name !== null ? { name: study.model_name, version: study.model_version, top: top ?? null } : null,
          },
        });
        if (auto) await appendAudit(trx, { at: now, actor: 'system', event: 'study.finalized', studyId, payload: { finalLabel: label, by: 'A', state: to } });
      } else {
        await this.compareAndSet(trx, study, who.event, { status: 'adjudicated', final_label: label, finalized_at: now });
        await trx.insertInto('reads').values({ study_id: studyId, reader: 'B', user_id: user.id, label, probabilities_json: null, created_at: now }).execute();
        const a = reads.find((r) => r.reader === 'A');
        const m = reads.find((r) => r.reader === 'model');
        await appendAudit(trx, {
          at: now,
          actor,
          event: 'read.B',
          studyId,
          payload: { label, userId: user.id, agreesWithA: a ? a.label === label : null, agreesWithModel: m ? m.label === label : null },
        });
        await appendAudit(trx, { at: now, actor: 'system', event: 'study.finalized', studyId, payload: { finalLabel: label, by: 'B', state: 'adjudicated' } });
      }
    });
    this.logger.info({ studyId, reader: who.reader, user: user.name }, 'read committed');
    return this.getStudy(user, studyId);
  }

  /** A: studies waiting for reader A; B: waiting for reader B. Priority first, then oldest first. */
  async worklist(user: WorkflowUser, which: Worklist, o: { limit?: number } = {}): Promise<WorklistItem[]> {
    if (which !== 'A' && which !== 'B') throw new ValidationError(`worklist must be 'A' or 'B'`);
    if (!WORKLIST_ROLES[which].includes(user.role))
      throw new WorkflowForbiddenError(`role '${user.role}' cannot open worklist ${which}`, { role: user.role, worklist: which });
    const limit = assertLimit(o.limit ?? 50);
    const rows = await this.db
      .selectFrom('studies')
      .select(['id', 'modality', 'priority', 'created_at', 'status'])
      .where('status', '=', WORKLIST_STATE[which])
      .orderBy('priority', 'desc')
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, modality: r.modality, priority: r.priority === 1, createdAt: r.created_at, status: r.status }));
  }

  /**
   * Studies newest first (each as this user may see it), optionally in one state; `before` pages on
   * from a study id. For oversight (adjudicators, ml-engineers, admins), not for reader A's work.
   */
  async listStudies(user: WorkflowUser, o: ListStudiesOptions = {}): Promise<StudyView[]> {
    if (!OVERSIGHT_ROLES.includes(user.role))
      throw new WorkflowForbiddenError(`role '${user.role}' cannot list studies (readers work from worklist A)`, { role: user.role });
    if (o.status !== undefined && !(STUDY_STATES as readonly string[]).includes(o.status))
      throw new ValidationError(`status must be one of ${STUDY_STATES.join(', ')}`);
    const limit = assertLimit(o.limit ?? 50);
    let q = this.db.selectFrom('studies').selectAll();
    if (o.status !== undefined) q = q.where('status', '=', o.status);
    if (o.before !== undefined) {
      const { study: after } = await this.load(this.db, assertStudyId(o.before));
      q = q.where((eb) => eb.or([eb('created_at', '<', after.created_at), eb.and([eb('created_at', '=', after.created_at), eb('id', '<', after.id)])]));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    if (rows.length === 0) return [];
    const reads = await this.db
      .selectFrom('reads')
      .selectAll()
      .where(
        'study_id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    const boxes = await loadBoxes(
      this.db,
      rows.map((r) => r.id),
    );
    return rows.map((r) =>
      studyView(
        user.role,
        r,
        reads.filter((x) => x.study_id === r.id),
        boxes.get(r.id),
      ),
    );
  }

  /** A study's audit entries in seq order. Not for readers: the trail records the model's read. */
  async studyAudit(user: WorkflowUser, id: string): Promise<AuditEntry[]> {
    if (!OVERSIGHT_ROLES.includes(user.role)) throw new WorkflowForbiddenError(`role '${user.role}' cannot read audit trails`, { role: user.role });
    const { study } = await this.load(this.db, assertStudyId(id));
    const entries: AuditEntry[] = [];
    // A study has a handful of entries; pages keep each query bounded whatever happens.
    for (;;) {
      const page = await listAudit(this.db, { studyId: study.id, afterSeq: entries.at(-1)?.seq, limit: 1000 });
      entries.push(...page);
      if (page.length < 1000) return entries;
    }
  }

  /** Business and safety figures (metrics.ts), over studies created since `since` when given. */
  async metrics(o: { since?: string } = {}): Promise<WorkflowMetrics> {
    return workflowMetrics(this.db, { since: o.since, economics: this.economics });
  }

  private async load(db: Kysely<Database>, id: string) {
    const study = await db.selectFrom('studies').selectAll().where('id', '=', id).executeTakeFirst();
    if (!study) throw new NotFoundError('study', id);
    const reads = await db.selectFrom('reads').selectAll().where('study_id', '=', id).execute();
    return { study, reads };
  }

  /**
   * The write of a transition: only if the study is still in the state (and row version) it was read
   * in. On PostgreSQL a concurrent writer blocks on the row lock, then finds the row changed and
   * updates nothing; SQLite runs the transactions one after the other, so the second one already
   * reads the new state. Either way the loser gets a 409.
   */
  private async compareAndSet(trx: Kysely<Database>, study: StudiesTable, event: StudyEvent, set: Partial<StudiesTable>): Promise<void> {
    const r = await trx
      .updateTable('studies')
      .set({ ...set, row_version: study.row_version + 1 })
      .where('id', '=', study.id)
      .where('status', '=', study.status)
      .where('row_version', '=', study.row_version)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) {
      throw new IllegalTransitionError(`study '${study.id}' changed while '${event}' was being committed (another read won)`, {
        studyId: study.id,
        from: study.status,
        event,
      });
    }
  }
}

function actorOf(user: WorkflowUser): string {
  return `user:${user.name}`;
}

function assertStudyId(id: string): string {
  if (typeof id !== 'string' || !STUDY_ID.test(id)) throw new ValidationError('invalid study id', { id: String(id).slice(0, 80) });
  return id;
}

const AE_TITLE = /^[\x20-\x5b\x5d-\x7e]{1,16}$/;

/** The origin is recorded in the audit trail: only plain, bounded values get there. */
function assertIntakeOrigin(o: IntakeOrigin): IntakeOrigin {
  if (!o || (o.via !== 'upload' && o.via !== 'stow' && o.via !== 'dimse')) throw new ValidationError(`origin.via must be upload, stow or dimse`);
  if (o.callingAe !== undefined && (typeof o.callingAe !== 'string' || !AE_TITLE.test(o.callingAe)))
    throw new ValidationError('origin.callingAe must be an AE title (1–16 printable characters, no backslash)');
  if (o.remoteAddress !== undefined && (typeof o.remoteAddress !== 'string' || o.remoteAddress.length > 100))
    throw new ValidationError('origin.remoteAddress must be an address of at most 100 characters');
  return {
    via: o.via,
    ...(o.callingAe !== undefined ? { callingAe: o.callingAe.trim() } : {}),
    ...(o.remoteAddress !== undefined ? { remoteAddress: o.remoteAddress } : {}),
  };
}

function assertLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) throw new ValidationError(`limit must be an integer in 1…${MAX_LIST}`);
  return limit;
}

function assertModality(m: string): Modality {
  if (!(MODALITIES as readonly string[]).includes(m))
    throw new ValidationError(`modality must be one of ${MODALITIES.join(', ')}`, { modality: String(m).slice(0, 20) });
  return m as Modality;
}

/** Dataset studies carry ground truth: only roles that run simulations may create them. */
function assertDatasetOrigin(user: WorkflowUser, modality: Modality, d: { version: string; sha256: string; truthClass: string }) {
  if (user.role !== 'admin' && user.role !== 'ml-engineer')
    throw new WorkflowForbiddenError(`role '${user.role}' cannot register dataset studies`, { role: user.role });
  if (typeof d.version !== 'string' || !VERSION_ID_PATTERN.test(d.version)) throw new ValidationError('invalid dataset version id');
  if (typeof d.sha256 !== 'string' || !SHA256.test(d.sha256)) throw new ValidationError('dataset image sha256 must be 64 hex digits');
  if (typeof d.truthClass !== 'string' || !isSecondreadClass(d.truthClass) || CLASS_MODALITY[d.truthClass] !== modality) {
    throw new ValidationError(`truth class '${String(d.truthClass).slice(0, 60)}' is not a ${modality} class`);
  }
  return d;
}

/** The model reader is another component: its answer is checked before it becomes a clinical record. */
function assertModelRead(r: ModelRead): ModelRead {
  const okProb = (p: ClassProbability | undefined): p is ClassProbability =>
    !!p && typeof p.class === 'string' && typeof p.probability === 'number' && p.probability >= 0 && p.probability <= 1;
  if (
    !r ||
    typeof r.model !== 'string' ||
    !Number.isInteger(r.version) ||
    !okProb(r.top) ||
    !Array.isArray(r.predictions) ||
    r.predictions.length === 0 ||
    !r.predictions.every(okProb)
  ) {
    throw new ModelReadInvalidError('the model reader returned a malformed read');
  }
  // Most probable first, so the first entry is the model's label wherever the read is shown.
  const predictions = [...r.predictions].sort((x, y) => y.probability - x.probability || Number(y.class === r.top.class) - Number(x.class === r.top.class));
  if (predictions[0]!.class !== r.top.class) throw new ModelReadInvalidError(`the model read's top class '${r.top.class}' is not its most probable class`);
  return {
    model: r.model,
    version: r.version,
    top: r.top,
    predictions,
    ...(typeof r.route === 'string' ? { route: r.route.slice(0, 40) } : {}),
    ...(r.embedding instanceof Float32Array ? { embedding: r.embedding } : {}),
    ...(Array.isArray(r.detections) ? { detections: r.detections } : {}),
  };
}
