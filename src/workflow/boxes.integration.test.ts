// The detector's boxes on PostgreSQL with two connection pools (two API processes): the box read stored at
// intake, marks on the same box from both pools at once (one row, the latest verdict; every mark audited, each
// naming the verdict it really replaced; one unbroken chain) and the marks as box labels of the feedback selection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import type { Db } from '../storage/db.js';
import { listAudit, verifyAuditLog } from './audit.js';
import { finalizedStudies } from './feedback.js';
import type { WorkflowService } from './service.js';
import { boxRead, FakeBoxReader, modelRead, openWorkflowFixture, type WorkflowFixture } from './testing.js';

const url = await postgresUrlForTests();

describe.skipIf(!url)('boxes on PostgreSQL', () => {
  let fx: WorkflowFixture;
  let other: Db;
  let one: WorkflowService;
  let two: WorkflowService;
  beforeAll(async () => {
    fx = await openWorkflowFixture('postgres');
    other = fx.t.openAnother();
    const detector = new FakeBoxReader();
    one = fx.service({ detector, random: () => 0.5 });
    two = fx.service({ db: other, detector, random: () => 0.5 });
  });
  afterAll(async () => {
    await other?.destroy();
    await fx?.close();
  });

  it('marks from two pools on one box: one row, every mark audited with the verdict it replaced; labels for feedback', async () => {
    fx.model.next(modelRead('lung-covid', 0.95));
    const s = await one.intake(fx.users.admin, { modality: 'cxr', image: await fx.image(3) });
    expect((await two.getStudy(fx.users.adjudicator, s.id)).reads.model!.detections).toEqual(boxRead().detections);
    await one.commitRead(fx.users.reader, s.id, { label: 'lung-normal' }); // no policy: to B

    const rounds = 6;
    for (let i = 0; i < rounds; i++) {
      await Promise.all([one.markBox(fx.users.adjudicator, s.id, 0, { correct: true }), two.markBox(fx.users.adjudicator2, s.id, 0, { correct: false })]);
    }
    const rows = await fx.t.db.selectFrom('box_marks').selectAll().where('study_id', '=', s.id).execute();
    expect(rows).toHaveLength(1);
    const marks = (await listAudit(fx.t.db, { studyId: s.id })).filter((e) => e.event === 'box.marked');
    expect(marks).toHaveLength(2 * rounds);
    // Serialized per study: each mark's `previous` is the one before it in the chain, and the last one is stored.
    const verdicts = marks.map((e) => (e.payload as { correct: boolean }).correct);
    expect(marks.map((e) => (e.payload as { previous: { correct: boolean } | null }).previous?.correct ?? null)).toEqual([null, ...verdicts.slice(0, -1)]);
    expect(rows[0]!.correct === 1).toBe(verdicts.at(-1));
    expect(await verifyAuditLog(fx.t.db)).toMatchObject({ ok: true });

    await two.commitRead(fx.users.adjudicator, s.id, { label: 'lung-covid' });
    const [f] = await finalizedStudies(fx.t.db);
    expect(f!.boxLabels).toEqual([{ ...boxRead().detections[0]!, correct: verdicts.at(-1), detector: { name: 'cxr-det', version: 2 } }]);
  });
});
