// The CPU-heavy half of taking in a DICOM — parse, header checks, pixel decode, de-identification, PNG rendering —
// as one function of the bytes, so it can run on the calling thread or in a worker thread. On the event loop a
// large or compressed instance holds the server for 100–300 ms (all JavaScript: dcmjs parsing, the lossless-JPEG
// decoder, de-identification), and every other request waits; in a pool sized to the cores, instances are
// prepared in parallel and the loop keeps answering.
import { ValidationError } from '../core/errors.js';
import { createWorkerPool, defaultWorkerCount, siblingModule, type WorkerPool } from '../core/workers.js';
import type { Modality } from '../data/classes.js';
import { DicomNotAnImageError } from '../data/dicom/errors.js';
import { parseDicom } from '../data/dicom/parse.js';
import { nonImageKind } from '../data/dicom/sop-classes.js';
import { DicomStudyMismatchError, refusalOf, workflowModalityOf } from './dicom-intake.js';
import { type DicomIntakeSettings, prepareDicomStudyImage, prepareStudyImage, type StudyImage } from './study-image.js';

/** A received instance ready to register, or its refusal (the UIDs as far as they could be read). */
export type PreparedInstance =
  | { ok: true; prepared: StudyImage; modality: Modality; sopClassUid?: string; sopInstanceUid?: string }
  | { ok: false; code: string; reason: string; sopClassUid?: string; sopInstanceUid?: string };

/** A UID as read (dcmjs may leave the NUL padding of an odd-length value). */
const text = (v: unknown): string => (typeof v === 'string' ? v.replace(/\0/g, '').trim() : '');

/**
 * A DICOM instance from the network: its SOP class must be an image, it must belong to `studyInstanceUid` when
 * given, and its Modality picks the workflow modality. Bad input is a refusal, never an exception.
 */
export async function prepareInstance(bytes: Uint8Array, settings: DicomIntakeSettings, o: { studyInstanceUid?: string } = {}): Promise<PreparedInstance> {
  let sopClassUid: string | undefined;
  let sopInstanceUid: string | undefined;
  try {
    if (!(bytes instanceof Uint8Array)) throw new ValidationError('the instance must be bytes');
    const file = parseDicom(bytes);
    sopClassUid = text(file.dataset.SOPClassUID) || text(file.meta.MediaStorageSOPClassUID) || undefined;
    sopInstanceUid = text(file.dataset.SOPInstanceUID) || text(file.meta.MediaStorageSOPInstanceUID) || undefined;
    const kind = sopClassUid ? nonImageKind(sopClassUid) : null;
    if (kind) throw new DicomNotAnImageError(sopClassUid!, kind);
    if (o.studyInstanceUid !== undefined && text(file.dataset.StudyInstanceUID) !== o.studyInstanceUid) throw new DicomStudyMismatchError();
    const modality = workflowModalityOf(file.dataset.Modality);
    const prepared = await prepareDicomStudyImage(file, settings);
    return { ok: true, prepared, modality, ...(sopClassUid ? { sopClassUid } : {}), ...(sopInstanceUid ? { sopInstanceUid } : {}) };
  } catch (err) {
    const refusal = refusalOf(err);
    if (!refusal) throw err;
    return { ok: false, ...refusal, ...(sopClassUid ? { sopClassUid } : {}), ...(sopInstanceUid ? { sopInstanceUid } : {}) };
  }
}

/** Where DICOM preparation runs: on the calling thread, or in a worker pool. */
export interface DicomPreparer {
  /** An uploaded image (PNG/JPEG checked inline — sharp is already off the loop; DICOM prepared). */
  upload(bytes: Uint8Array): Promise<StudyImage>;
  instance(bytes: Uint8Array, o?: { studyInstanceUid?: string }): Promise<PreparedInstance>;
  close(): Promise<void>;
}

export function inlineDicomPreparer(settings: DicomIntakeSettings | undefined): DicomPreparer {
  return {
    upload: (bytes) => prepareStudyImage(bytes, settings),
    instance: (bytes, o) => {
      if (!settings) return prepareStudyImage(bytes, settings).then(() => ({ ok: false, code: 'config_invalid', reason: 'no de-identification key' }));
      return prepareInstance(bytes, settings, o);
    },
    close: async () => undefined,
  };
}

export type DicomPrepareTask =
  | { kind: 'upload'; bytes: Uint8Array; settings: DicomIntakeSettings }
  | { kind: 'instance'; bytes: Uint8Array; settings: DicomIntakeSettings; studyInstanceUid?: string };
export type DicomPrepareResult = StudyImage | PreparedInstance;

/** Below this size an instance is prepared inline: the hop to a worker (a copy each way) would cost more than it saves. */
export const INLINE_BELOW_BYTES = 64 * 1024;

/** The default pool: one worker per core, at most 4 (SECONDREAD_DICOM_WORKERS overrides; 0 = inline). */
export function dicomWorkerCount(env: string | undefined): number {
  if (env === undefined || env.trim() === '') return defaultWorkerCount(4);
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new ValidationError(`SECONDREAD_DICOM_WORKERS must be an integer from 0 to 64, got '${env}'`);
  return n;
}

/** DICOM preparation in `size` worker threads (PNG/JPEG uploads and small instances stay inline). */
export function pooledDicomPreparer(settings: DicomIntakeSettings, size: number, o: { inlineBelowBytes?: number } = {}): DicomPreparer {
  const inlineBelow = o.inlineBelowBytes ?? INLINE_BELOW_BYTES;
  const inline = inlineDicomPreparer(settings);
  let pool: WorkerPool<DicomPrepareTask, DicomPrepareResult> | undefined;
  // Started on first use: a server that never sees a DICOM never starts the threads.
  const workers = () => (pool ??= createWorkerPool<DicomPrepareTask, DicomPrepareResult>(siblingModule(import.meta.url, 'dicom-prepare-worker'), size));
  const large = (bytes: Uint8Array) => bytes instanceof Uint8Array && bytes.length >= inlineBelow;
  return {
    async upload(bytes) {
      if (!large(bytes) || !isDicomBytes(bytes)) return inline.upload(bytes);
      return (await workers().run({ kind: 'upload', bytes, settings })) as StudyImage;
    },
    async instance(bytes, o = {}) {
      if (!large(bytes)) return inline.instance(bytes, o);
      return (await workers().run({ kind: 'instance', bytes, settings, ...o })) as PreparedInstance;
    },
    close: async () => {
      await pool?.close();
    },
  };
}

/** 'DICM' at offset 128 (the Part 10 preamble); what isDicom checks, without importing the image decoders here. */
function isDicomBytes(bytes: Uint8Array): boolean {
  return bytes.length > 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}
