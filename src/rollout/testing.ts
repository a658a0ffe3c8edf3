// Test fixtures for rollout: the evaluation fixture's registry (the brightness classifier, a real ONNX model whose
// answers follow from each image's mean) over a larger dataset version it classifies perfectly, a candidate
// version of it (the same classifier) and a bad one (class names permuted), a protocol for it, and a way to write
// what the workflow would record for an arm of a canary (studies read by the model version, reader A, QA by B).
import { type ManualClock, manualClock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { SecondreadClass } from '../data/classes.js';
import {
  brightnessClassifierOnnx,
  brightnessMeta,
  type EvaluationFixture,
  type FixtureImage,
  openEvaluationFixture,
  publishTinyVersion,
} from '../monitoring/evaluations/testing.js';
import type { Db } from '../storage/db.js';
import type { StudiesTable } from '../storage/schema.js';
import { type LoadedProtocol, parseProtocol } from './protocol.js';

/** 30 images per class in val and test, each class's gray values inside the brightness classifier's band for it. */
export function rolloutImages(): FixtureImage[] {
  const bands: [SecondreadClass, number][] = [
    ['lung-normal', 5],
    ['lung-covid', 90],
    ['oct-cnv', 190],
  ];
  const out: FixtureImage[] = [];
  for (const [cls, base] of bands)
    for (let i = 0; i < 30; i++) {
      out.push({ class: cls, split: 'val', value: base + 2 * i, finalEval: i % 3 === 0 });
      out.push({ class: cls, split: 'test', value: base + 1 + 2 * i, finalEval: i % 3 === 0 });
    }
  return out;
}

export interface RolloutFixture extends EvaluationFixture {
  clock: ManualClock;
  /** The larger dataset version (rolloutImages). */
  lockedDataset: string;
  /** Registers the brightness classifier again (`permuted`: class names in reverse order, so it is mostly wrong). */
  candidate(o?: { permuted?: boolean; temperature?: number }): Promise<number>;
}

export async function openRolloutFixture(): Promise<RolloutFixture> {
  const fx = await openEvaluationFixture();
  const lockedDataset = await publishTinyVersion(fx.db, fx.objects, rolloutImages());
  return {
    ...fx,
    clock: manualClock('2026-01-05T09:00:00.000Z'),
    lockedDataset,
    candidate: async (o = {}) => {
      const meta = brightnessMeta(o.permuted ? ['oct-cnv', 'lung-covid', 'lung-normal'] : undefined);
      const mv = await fx.registry.importOnnxBytes({
        name: fx.model,
        bytes: brightnessClassifierOnnx(),
        meta: { ...meta, temperature: o.temperature ?? meta.temperature },
        by: 'fixture',
      });
      return mv.version;
    },
  };
}

/** A protocol for the fixture: criteria the brightness classifier meets, small canary samples. */
export function testProtocol(
  datasetVersion: string,
  over: { steps?: number[]; minStudies?: number; minQaReviews?: number; minRequests?: number } = {},
): LoadedProtocol {
  return parseProtocol(`
schema: secondread.change-protocol/1
name: test-protocol
version: 3
evaluation:
  dataset: ${datasetVersion}
  splits: [test, final_eval]
  bootstrap: { resamples: 300, confidence: 0.95, seed: 2 }
criteria:
  accuracy: { margin: 0.02 }
  macroF1: { margin: 0.02 }
  falseClear: { max: 0.1, fitSplit: val, testSplit: test, readerA: { accuracy: 0.9, seed: 4 }, confidence: 0.9 }
  ece: { max: 0.2, split: test }
  latency: { p95MaxMs: 2000, requests: 20, warmup: 2 }
canary:
  steps: ${JSON.stringify(over.steps ?? [0.05, 0.25, 1])}
  minStudies: ${over.minStudies ?? 40}
  minQaReviews: ${over.minQaReviews ?? 2}
  minRequests: ${over.minRequests ?? 40}
  guards:
    agreementDrop: { max: 0.05, alpha: 0.05 }
    qaFalseClear: { max: 0.2 }
    errorRate: { maxIncrease: 0.02 }
    latencyP95: { maxMs: 1000, maxRatio: 2 }
`);
}

/**
 * Writes `n` studies the model version read at `at`, each read by A (agreeing with the model on the first
 * `agree`); the first `qa` of them QA-sampled and adjudicated by B, who disagrees with A on the first `qaWrong`.
 */
export async function recordArm(
  db: Db,
  o: { model: string; version: number; at: string; n: number; agree: number; qa?: number; qaWrong?: number },
): Promise<void> {
  for (let i = 0; i < o.n; i++) {
    const id = newId('st_');
    const qa = i < (o.qa ?? 0);
    const modelLabel = 'lung-covid';
    const aLabel = i < o.agree ? modelLabel : 'lung-normal';
    const row: StudiesTable = {
      id,
      modality: 'cxr',
      source: 'upload',
      dataset_version: null,
      dataset_sha256: null,
      image_key: `studies/${id}/image.png`,
      truth_class: null,
      status: qa ? 'adjudicated' : 'awaiting_b',
      priority: 0,
      qa: qa ? 1 : 0,
      decision: 'second_read',
      decision_reasons_json: '[]',
      model_name: o.model,
      model_version: o.version,
      policy_id: null,
      final_label: null,
      created_by: 'fixture',
      created_at: o.at,
      decided_at: o.at,
      finalized_at: null,
      row_version: 1,
    };
    await db.insertInto('studies').values(row).execute();
    const read = (reader: string, label: string) => ({ study_id: id, reader, user_id: null, label, probabilities_json: null, created_at: o.at });
    await db.insertInto('reads').values(read('model', modelLabel)).execute();
    await db.insertInto('reads').values(read('A', aLabel)).execute();
    if (qa)
      await db
        .insertInto('reads')
        .values(read('B', i < (o.qaWrong ?? 0) ? 'lung-opacity' : aLabel))
        .execute();
  }
}
