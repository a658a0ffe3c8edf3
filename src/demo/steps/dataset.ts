// Step 2: the demo dataset version — the seed datasets' ETL config (examples/datasets.yaml) over the demo's
// archives, validated. The ETL is idempotent by content (same archives and rules → same version id; an
// interrupted build is rebuilt), so this step only asks it.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { ValidationError } from '../../core/errors.js';
import { buildDataset } from '../../data/etl/build.js';
import { parseDatasetConfig } from '../../data/etl/config.js';
import { validateVersion } from '../../data/validate/validate-version.js';
import type { DemoContext, StepResult } from '../context.js';

const SEED_CONFIG = resolve(import.meta.dirname, '../../../examples/datasets.yaml');
export const DEMO_DATASET_NAME = 'secondread-demo';

export async function datasetStep(c: DemoContext): Promise<StepResult> {
  const raw = parseYaml(await readFile(SEED_CONFIG, 'utf8')) as Record<string, unknown>;
  const config = parseDatasetConfig({ ...raw, name: DEMO_DATASET_NAME }, dirname(SEED_CONFIG), { rawDir: c.paths.raw });
  const built = await buildDataset({ db: c.db, objects: c.objects, config, onProgress: c.onProgress });
  // Freshly written objects are checked against the manifest; a version found ready only re-checks its rows.
  const report = await validateVersion(c.db, built.versionId, { objects: built.built ? c.objects : undefined, onProgress: c.onProgress });
  if (!report.ok)
    throw new ValidationError(
      `the demo dataset version ${built.versionId} failed validation: ${report.issues
        .filter((i) => i.level === 'error')
        .map((i) => i.message)
        .join('; ')}`,
    );
  const finalEval = Object.values(report.finalEval).reduce((a, b) => a + b, 0);
  c.out.datasetVersion = built.versionId;
  c.out.images = { total: report.images, bySplit: { ...report.splitTotals }, finalEval };
  const t = report.splitTotals;
  return {
    outcome: built.built ? 'ran' : 'reused',
    detail: `${built.versionId}: ${report.images} images (train ${t.train}, val ${t.val}, test ${t.test}; ${finalEval} flagged final_eval)`,
  };
}
