// Feedback datasets end to end on the workflow service: studies taken in, read by A (and B when the policy says
// so) become a dataset version whose rows, objects, lineage and report follow from the scripted reads.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { sha256Hex } from '../core/ids.js';
import { beginBuild, completeBuild, listImages } from '../data/datasets/repository.js';
import type { ManifestImage } from '../data/datasets/types.js';
import { readAnnotations } from '../data/detection/annotations.js';
import { type FeedbackLineage, lineageKey, NoNewLabelsError } from '../data/feedback/index.js';
import type { WorkflowService } from '../workflow/service.js';
import { boxRead, FakeBoxReader, modelRead, openWorkflowFixture, type WorkflowFixture } from '../workflow/testing.js';
import { buildFeedbackDataset } from './feedback.js';

let fx: WorkflowFixture;
let wf: WorkflowService;
let draws: number[];
let tick: number;

beforeEach(async () => {
  fx = await openWorkflowFixture('sqlite');
  draws = [];
  tick = Date.parse('2026-03-01T08:00:00.000Z');
  wf = fx.service({ random: () => draws.shift() ?? 0.5, clock: { now: () => new Date((tick += 1000)) } });
  await wf.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.9 }, qaFraction: 0.05 }, by: 'test' });
});
afterEach(async () => {
  await fx.close();
});

/** One study: the model reads lung-normal at 0.97; A's label; B's when it goes to B; `qa` forces the QA sample. */
async function study(seed: number, a: string, b?: string, o: { qa?: boolean; dataset?: { version: string; sha256: string } } = {}) {
  fx.model.next(modelRead('lung-normal', 0.97));
  const image = await fx.image(seed);
  const s = await wf.intake(fx.users.admin, {
    modality: 'cxr',
    image,
    ...(o.dataset ? { dataset: { ...o.dataset, truthClass: 'lung-normal' } } : {}),
  });
  draws.push(o.qa ? 0.01 : 0.5);
  await wf.commitRead(fx.users.reader, s.id, { label: a });
  if (b !== undefined) await wf.commitRead(fx.users.adjudicator, s.id, { label: b });
  return { id: s.id, sha256: sha256Hex(image) };
}

const deps = () => ({ db: fx.t.db, objects: fx.objects });

describe('buildFeedbackDataset', () => {
  it('carries reader B’s box marks: confirmed boxes become the box labels (annotations.jsonl), all marks the lineage', async () => {
    const boxes = fx.service({ detector: new FakeBoxReader(), random: () => 0.5, clock: { now: () => new Date((tick += 1000)) } });
    const marked: string[] = [];
    for (const seed of [11, 12]) {
      fx.model.next(modelRead('lung-normal', 0.97));
      const s = await boxes.intake(fx.users.admin, { modality: 'cxr', image: await fx.image(seed) });
      await boxes.commitRead(fx.users.reader, s.id, { label: 'lung-opacity' }); // no policy for this clock: to B
      marked.push(s.id);
    }
    await boxes.markBox(fx.users.adjudicator, marked[0]!, 0, { correct: true });
    await boxes.markBox(fx.users.adjudicator, marked[0]!, 1, { correct: false });
    await boxes.markBox(fx.users.adjudicator, marked[0]!, 2, { correct: true });
    await boxes.markBox(fx.users.adjudicator, marked[1]!, 0, { correct: false });
    for (const id of marked) await boxes.commitRead(fx.users.adjudicator, id, { label: 'lung-opacity' });

    const r = await buildFeedbackDataset(deps(), {});
    const annotated = await readAnnotations(fx.objects, r.versionId);
    // Only the image with a confirmed box is labelled; its reference is exactly the boxes B confirmed.
    expect(annotated).toHaveLength(1);
    const [one] = annotated!;
    const [d0, , d2] = boxRead().detections;
    expect(one!.readers).toEqual(['B']);
    expect(one!.reference!.map((b) => [b.classId, b.x0, b.y0, b.x1, b.y1])).toEqual([
      [3, ...d0!.box], // Cardiomegaly
      [10, ...d2!.box], // Pleural effusion
    ]);
    const lineage = (await fx.objects.getBytes(lineageKey(r.versionId)))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FeedbackLineage);
    const first = lineage.find((l) => l.study_id === marked[0])!;
    expect(first.box_labels!.map((b) => [b.class, b.correct])).toEqual([
      ['Cardiomegaly', true],
      ['Nodule/Mass', false],
      ['Pleural effusion', true],
    ]);
    expect(lineage.find((l) => l.study_id === marked[1])!.box_labels).toEqual([
      { ...boxRead().detections[0]!, correct: false, detector: { name: 'cxr-det', version: 2 } },
    ]);
    expect(one!.objectKey).toBe(first.object_key);
  });

  it('takes adjudicated studies and QA samples with their labellers, drops repeats and label conflicts, and stores lineage', async () => {
    const disagree = await study(1, 'lung-covid', 'lung-opacity'); // A ≠ model → B decides
    const qa = await study(2, 'lung-normal', 'lung-normal', { qa: true }); // would be auto-finalized; B confirms
    const qaCorrected = await study(3, 'lung-normal', 'lung-covid', { qa: true });
    const auto = await study(4, 'lung-normal'); // auto-finalized, never reviewed: left out by default
    await study(1, 'lung-covid', 'lung-opacity'); // the same image again, same final label
    await study(5, 'lung-covid', 'lung-covid');
    await study(5, 'lung-covid', 'lung-opacity'); // the same image, another final label: a conflict
    fx.model.next(modelRead('lung-normal', 0.97));
    const pending = await wf.intake(fx.users.admin, { modality: 'cxr', image: await fx.image(6) });
    draws.push(0.5);
    await wf.commitRead(fx.users.reader, pending.id, { label: 'lung-covid' }); // awaiting B: not final

    const r = await buildFeedbackDataset(deps(), {});
    expect(r.built).toBe(true);
    expect(r.report).toMatchObject({
      kind: 'feedback',
      studies: 6,
      added: 3,
      images: 3,
      base: null,
      labelledBy: { B: 1, QA: 2, 'A+model': 0 },
      duplicates: { withinStudies: 1, inBase: 0, inEarlierVersions: {} },
      undecodable: [],
    });
    expect(r.report.conflicts).toHaveLength(1);
    expect(r.report.conflicts[0]!.labels.sort()).toEqual(['lung-covid', 'lung-opacity']);

    const rows = await listImages(fx.t.db, r.versionId);
    expect(rows.map((i) => [i.sha256, i.class, i.sourceClass]).sort()).toEqual(
      [
        [disagree.sha256, 'lung-opacity', 'B'],
        [qa.sha256, 'lung-normal', 'QA'],
        [qaCorrected.sha256, 'lung-covid', 'QA'],
      ].sort(),
    );
    for (const i of rows) {
      expect(i.dataset).toBe('feedback');
      expect(i.objectKey.startsWith(`datasets/${r.versionId}/images/${i.class}/feedback-${i.class}-st_`)).toBe(true);
      expect(sha256Hex(await fx.objects.getBytes(i.objectKey))).toBe(i.sha256);
    }
    expect(rows.some((i) => i.sha256 === auto.sha256)).toBe(false);

    const lineage = (await fx.objects.getBytes(lineageKey(r.versionId)))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FeedbackLineage);
    const byStudy = new Map(lineage.map((l) => [l.study_id, l]));
    expect(byStudy.get(disagree.id)).toMatchObject({
      labelled_by: 'B',
      final_label: 'lung-opacity',
      reads: { A: 'lung-covid', model: 'lung-normal', B: 'lung-opacity' },
    });
    expect(byStudy.get(qa.id)).toMatchObject({ labelled_by: 'QA', qa_confirmed: true, model: { name: 'cxr-oct', version: 1 } });
    expect(byStudy.get(qaCorrected.id)).toMatchObject({ labelled_by: 'QA', qa_confirmed: false, final_label: 'lung-covid' });

    // The same studies again: everything is in the version just built, so there is nothing new.
    await expect(buildFeedbackDataset(deps(), {})).rejects.toBeInstanceOf(NoNewLabelsError);
    // Unreviewed auto-finalized studies only on request, labelled A+model.
    const withAuto = await buildFeedbackDataset(deps(), { includeAutoFinalized: true });
    expect(withAuto.report).toMatchObject({ added: 1, labelledBy: { 'A+model': 1 }, duplicates: { inEarlierVersions: { [r.versionId]: 3 } } });
  });

  it('--since takes later studies only; --base merges them, keeping the base rows and a known patient in its base split', async () => {
    await study(1, 'lung-covid', 'lung-covid');
    const first = await buildFeedbackDataset(deps(), {});
    const cut = new Date(tick + 500).toISOString();

    // A stream image from another dataset version whose patient the base already holds in its test split.
    const patientImage = await fx.image(20);
    const streamVersion = await publish('ds-a0000000000000000002', [row('ds-a0000000000000000002', sha256Hex(patientImage), 'p:7', 'train')]);
    const base = await publish('ds-b0000000000000000001', [
      row('ds-b0000000000000000001', 'e'.repeat(64), 'p:7', 'test'),
      row('ds-b0000000000000000001', 'f'.repeat(64), null, 'train'),
    ]);
    const known = await study(20, 'lung-covid', 'lung-covid', { dataset: { version: streamVersion, sha256: sha256Hex(patientImage) } });
    const later = await study(21, 'lung-covid', 'lung-opacity');

    const merged = await buildFeedbackDataset(deps(), { since: cut, base: base.slice(0, 8) });
    expect(merged.report).toMatchObject({ studies: 2, added: 2, images: 4, base: { version: base, images: 2 }, patientsFromBase: 1 });
    const rows = await listImages(fx.t.db, merged.versionId);
    expect(rows.filter((i) => i.dataset !== 'feedback').map((i) => [i.sha256, i.split, i.objectKey])).toEqual(
      (await listImages(fx.t.db, base)).map((i) => [i.sha256, i.split, i.objectKey]),
    );
    const mine = rows.find((i) => i.sha256 === known.sha256)!;
    expect(mine).toMatchObject({ patientKey: 'p:7', split: 'test', finalEval: false });
    expect(rows.some((i) => i.sha256 === later.sha256)).toBe(true);
    expect(merged.versionId).not.toBe(first.versionId);
  });

  it('refuses a bad --since and a base that does not exist', async () => {
    await expect(buildFeedbackDataset(deps(), { since: 'yesterday' })).rejects.toMatchObject({ code: 'invalid_input' });
    await study(1, 'lung-covid', 'lung-covid');
    await expect(buildFeedbackDataset(deps(), { base: 'ds-ffff' })).rejects.toMatchObject({ code: 'not_found' });
  });
});

function row(version: string, sha256: string, patientKey: string | null, split: 'train' | 'val' | 'test'): ManifestImage {
  return {
    sha256,
    objectKey: `datasets/${version}/images/lung-covid/x-${sha256.slice(0, 8)}.png`,
    fileName: `x-${sha256.slice(0, 8)}.png`,
    dataset: 'x',
    sourceArchive: 'x.zip',
    archiveSha256: '0'.repeat(64),
    entryPath: 'x.png',
    sourceClass: 'COVID',
    class: 'lung-covid',
    split,
    finalEval: false,
    patientKey,
    width: 16,
    height: 16,
    bytes: 100,
    format: 'png',
    bitDepth: 8,
    meanIntensity: 100,
    stdIntensity: 10,
  };
}

async function publish(id: string, images: ManifestImage[]): Promise<string> {
  await beginBuild(fx.t.db, { id, name: null, inputs: {}, now: '2026-01-01T00:00:00.000Z' });
  await completeBuild(fx.t.db, id, images, {}, '2026-01-01T00:00:00.000Z');
  return id;
}
