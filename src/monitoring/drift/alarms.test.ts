// The alarm hook: a detecting check is a durable drift_checks row that pollers in any process read back with a
// cursor, and subscribers in the checking process are called; a failing subscriber does not stop the others.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../../core/logger.js';
import { openTestDatabase, type TestDatabase } from '../../storage/testing.js';
import { alarmOfCheck, type DriftAlarm, DriftAlarms, driftAlarmsSince } from './alarms.js';
import { decodeEmbedding, encodeEmbedding, insertCheck, listChecks, recordObservation, windowObservations } from './store.js';
import type { DriftCheck } from './types.js';

function check(id: string, at: string, detected: boolean, model = 'cxr-vit'): DriftCheck {
  return {
    id,
    model,
    version: 2,
    modality: 'cxr',
    window: { kind: 'count', start: '2026-01-01T00:00:00.000Z', end: at, observations: 50 },
    alpha: 0.05,
    correction: 'holm',
    tests: [
      { test: 'confidence_ks', statistic: 0.4, pValue: 0.001, adjustedPValue: detected ? 0.004 : 0.4, detected },
      { test: 'class_chi2', statistic: 3, pValue: 0.5, adjustedPValue: 0.5, detected: false },
    ],
    skipped: [{ test: 'embedding_mmd', reason: 'the model exports no embedding' }],
    detected,
    estimatedAccuracy: 0.8,
    realizedAgreement: null,
    agreementReads: 0,
    createdBy: 'test',
    createdAt: at,
  };
}

describe('drift alarms and store', () => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await openTestDatabase('sqlite');
  });
  afterEach(async () => t.close());

  it('polls detecting checks after a cursor, oldest first', async () => {
    await insertCheck(t.db, check('c1', '2026-01-01T01:00:00.000Z', true));
    await insertCheck(t.db, check('c2', '2026-01-01T02:00:00.000Z', false));
    await insertCheck(t.db, check('c3', '2026-01-01T03:00:00.000Z', true, 'oct-vit'));
    const all = await driftAlarmsSince(t.db);
    expect(all.map((a) => a.checkId)).toEqual(['c1', 'c3']);
    expect(all[0]!.tests).toEqual(['confidence_ks']);
    expect((await driftAlarmsSince(t.db, { after: all[0]!.at })).map((a) => a.checkId)).toEqual(['c3']);
    expect((await driftAlarmsSince(t.db, { model: 'cxr-vit' })).map((a) => a.checkId)).toEqual(['c1']);
    const listed = await listChecks(t.db);
    expect(listed.map((c) => c.id)).toEqual(['c3', 'c2', 'c1']);
    expect(listed[2]).toEqual(check('c1', '2026-01-01T01:00:00.000Z', true));
  });

  it('calls subscribers; one failing does not stop the next; unsubscribe stops delivery', async () => {
    const alarms = new DriftAlarms(silentLogger);
    const got: DriftAlarm[] = [];
    alarms.subscribe(() => {
      throw new Error('trigger down');
    });
    const off = alarms.subscribe((a) => {
      got.push(a);
    });
    const a = alarmOfCheck(check('c1', '2026-01-01T01:00:00.000Z', true));
    await alarms.emit(a);
    off();
    await alarms.emit(a);
    expect(got).toEqual([a]);
  });

  it('windows observations by count and by time, per modality; embeddings round-trip', async () => {
    const emb = Float32Array.from([0.5, -1.25, 3]);
    for (let i = 0; i < 6; i++) {
      await recordObservation(t.db, {
        studyId: `s${i}`,
        model: 'm',
        version: 1,
        modality: i % 2 === 0 ? 'cxr' : 'oct',
        topClass: 'lung-normal',
        topProbability: 0.5 + i / 20,
        image: i === 0 ? null : { mean: 100 + i, std: 40, width: 256, height: 256 },
        embedding: i === 5 ? emb : null,
        at: `2026-01-01T00:0${i}:00.000Z`,
      });
    }
    const now = new Date('2026-01-01T00:05:30.000Z');
    const last3 = await windowObservations(t.db, { model: 'm', version: 1, modality: 'all', window: { kind: 'count', size: 3 }, now });
    expect(last3.map((o) => o.studyId)).toEqual(['s3', 's4', 's5']);
    expect(last3[2]!.embedding).toEqual(emb);
    const cxr = await windowObservations(t.db, { model: 'm', version: 1, modality: 'cxr', window: { kind: 'time', seconds: 210 }, now });
    expect(cxr.map((o) => o.studyId)).toEqual(['s4']);
    const first = await windowObservations(t.db, { model: 'm', version: 1, modality: 'cxr', window: { kind: 'count', size: 10 }, now });
    expect(first[0]!.image).toBeNull();
    expect(decodeEmbedding(encodeEmbedding(emb.subarray(1)))).toEqual(Float32Array.from([-1.25, 3]));
  });
});
