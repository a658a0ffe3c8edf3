// Step 8: demo studies, so the worklists are not empty on first login. A few images per class of the demo
// dataset's final_eval split (untouched by training and by the policy fit) are taken in through the
// WorkflowService as ml-engineer (dataset origin recorded, so the monitoring can compare with the truth), and
// the simulated reader A of the policy fit reads some of them as `reader-a`: the policy then finalizes or sends
// each to worklist B. The rest wait in worklist A for a person to read.
import { CLASS_MODALITY, SECONDREAD_CLASSES } from '../../data/classes.js';
import type { ManifestImage } from '../../data/datasets/types.js';
import { splitImages } from '../../monitoring/evaluations/run.js';
import { type ModelReader, WorkflowService, type WorkflowUser } from '../../workflow/service.js';
import { type DemoContext, need, type StepResult } from '../context.js';
import { DEMO_USERS } from '../credentials.js';
import { type ClosableModelReader, openProductionReader } from '../model-reader.js';
import { DEMO_MODEL } from '../options.js';
import { demoReaderA } from './policy.js';

/** The first `n` images of each class, by sha256 (a fixed, class-balanced choice). */
export function pickPerClass(images: readonly ManifestImage[], n: number): ManifestImage[] {
  return SECONDREAD_CLASSES.flatMap((cls) =>
    images
      .filter((i) => i.class === cls)
      .sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0))
      .slice(0, n),
  );
}

async function demoUser(c: DemoContext, role: string): Promise<WorkflowUser> {
  const name = DEMO_USERS.find((u) => u.role === role)!.name;
  const u = await c.users.getUser(name);
  return { id: u.id, name: u.name, role: u.role };
}

/** Studies of the dataset version taken in before, by image sha256. */
async function existingStudies(c: DemoContext, datasetVersion: string): Promise<Map<string, { id: string; status: string }>> {
  const rows = await c.db
    .selectFrom('studies')
    .select(['id', 'dataset_sha256', 'status'])
    .where('source', '=', 'dataset')
    .where('dataset_version', '=', datasetVersion)
    .execute();
  return new Map(rows.filter((r) => r.dataset_sha256 !== null).map((r) => [r.dataset_sha256!, { id: r.id, status: r.status }]));
}

/** Reads nothing: the studies were all taken in before (reads A need no model). */
const NO_MODEL: ModelReader = {
  read: () => Promise.reject(new Error('the demo bootstrap opens the model only to take in new studies')),
};

export async function studiesStep(c: DemoContext): Promise<StepResult> {
  const datasetVersion = need(c.out.datasetVersion, 'the dataset version');
  need(c.out.model, 'the production model');
  const chosen = pickPerClass(await splitImages(c.db, datasetVersion, 'final_eval'), c.options.studiesPerClass);
  const toRead = new Set(pickPerClass(chosen, c.options.readPerClass).map((i) => i.sha256));
  const have = await existingStudies(c, datasetVersion);
  const missing = chosen.filter((i) => !have.has(i.sha256));

  let reader: ClosableModelReader | undefined;
  let taken = 0;
  let read = 0;
  try {
    if (missing.length > 0) reader = await openProductionReader(c.registry, DEMO_MODEL, c.modelCacheDir);
    const workflow = new WorkflowService({ db: c.db, objects: c.objects, model: reader ?? NO_MODEL, logger: c.logger });
    const engineer = await demoUser(c, 'ml-engineer');
    for (const [i, img] of missing.entries()) {
      c.signal?.throwIfAborted();
      const bytes = await c.objects.getBytes(img.objectKey);
      const view = await workflow.intake(engineer, {
        modality: CLASS_MODALITY[img.class],
        image: bytes,
        dataset: { version: datasetVersion, sha256: img.sha256, truthClass: img.class },
      });
      have.set(img.sha256, { id: view.id, status: view.status });
      taken++;
      c.onProgress?.({ phase: 'intake', done: i + 1, total: missing.length });
    }
    const readerA = await demoUser(c, 'reader');
    const simulated = demoReaderA(c);
    for (const img of chosen) {
      const study = have.get(img.sha256)!;
      if (!toRead.has(img.sha256) || study.status !== 'awaiting_a') continue;
      const view = await workflow.commitRead(readerA, study.id, { label: simulated.read(img.sha256, img.class) });
      have.set(img.sha256, { id: study.id, status: view.status });
      read++;
    }
  } finally {
    await reader?.close();
  }
  const byStatus: Record<string, number> = {};
  for (const img of chosen) {
    const s = have.get(img.sha256)!.status;
    byStatus[s] = (byStatus[s] ?? 0) + 1;
  }
  c.out.studies = { total: chosen.length, readA: toRead.size, byStatus };
  const statuses = Object.entries(byStatus)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  return {
    outcome: taken + read > 0 ? 'ran' : 'reused',
    detail: `${chosen.length} studies from final_eval (${statuses}); ${toRead.size} read by a simulated reader A`,
  };
}
