// Leakage between splits: the same patient, or the same image bytes, in two splits lets a model be
// evaluated on what it trained on. The build asserts none exists; `data validate` reports any it finds
// (e.g. in a hand-edited or corrupted manifest) as errors.
import type { ManifestImage, Split } from '../datasets/types.js';

export type LeakKind = 'patient_in_several_splits' | 'image_in_several_splits' | 'final_eval_outside_val_test';

export interface Leak {
  kind: LeakKind;
  /** The patient key or sha256 concerned. */
  key: string;
  splits: Split[];
  images: number;
}

type LeakInput = Pick<ManifestImage, 'sha256' | 'split' | 'patientKey' | 'finalEval'>;

function spread(images: readonly LeakInput[], keyOf: (i: LeakInput) => string | null, kind: LeakKind): Leak[] {
  const by = new Map<string, { splits: Set<Split>; images: number }>();
  for (const img of images) {
    const key = keyOf(img);
    if (key === null) continue;
    const e = by.get(key) ?? { splits: new Set<Split>(), images: 0 };
    e.splits.add(img.split);
    e.images += 1;
    by.set(key, e);
  }
  const leaks: Leak[] = [];
  for (const [key, e] of by) if (e.splits.size > 1) leaks.push({ kind, key, splits: [...e.splits].sort(), images: e.images });
  return leaks;
}

export function findLeaks(images: readonly LeakInput[]): Leak[] {
  const finalInTrain = images.filter((i) => i.finalEval && i.split === 'train');
  return [
    ...spread(images, (i) => i.patientKey, 'patient_in_several_splits'),
    ...spread(images, (i) => i.sha256, 'image_in_several_splits'),
    ...finalInTrain.map((i): Leak => ({ kind: 'final_eval_outside_val_test', key: i.sha256, splits: ['train'], images: 1 })),
  ];
}
