// The sealed origin link of a DICOM study (Contract 1 of issue 17): the identified origin read from the
// received file (data/dicom/deid/origin.ts) is stored only sealed with the site's de-identification key
// (core/seal.ts), beside how the instance came (upload, STOW-RS, DIMSE and the calling AE title).
// Opening it is for the results exporter only; no API answer carries it.
import type { Kysely } from 'kysely';

import { openSealed, sealJson } from '../core/seal.js';
import type { DicomOrigin } from '../data/dicom/deid/origin.js';
import type { Database } from '../storage/schema.js';

export const ORIGIN_PURPOSE = 'secondread/origin/v1';

/** How a DICOM instance reached intake. */
export interface IntakeOrigin {
  via: 'upload' | 'stow' | 'dimse';
  /** DIMSE: the calling AE title of the association. */
  callingAe?: string;
  /** The peer's address (for the audit trail). */
  remoteAddress?: string;
}

export async function storeOrigin(
  trx: Kysely<Database>,
  key: Uint8Array,
  row: { studyId: string; origin: DicomOrigin; via: IntakeOrigin; at: string },
): Promise<void> {
  await trx
    .insertInto('study_origins')
    .values({
      study_id: row.studyId,
      sealed: sealJson(key, ORIGIN_PURPOSE, row.origin),
      via: row.via.via,
      calling_ae: row.via.callingAe ?? null,
      created_at: row.at,
    })
    .execute();
}

/** The opened origin of a study, or null when none was kept (results-return off, or not a DICOM study). */
export async function loadOrigin(db: Kysely<Database>, key: Uint8Array, studyId: string): Promise<DicomOrigin | null> {
  const row = await db.selectFrom('study_origins').select('sealed').where('study_id', '=', studyId).executeTakeFirst();
  return row ? openSealed<DicomOrigin>(key, ORIGIN_PURPOSE, row.sealed) : null;
}
