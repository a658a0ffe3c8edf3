// Steps 4 and 5: the demo run's model in the registry, and the `production` alias on it (so `serve` reads
// studies with it: the workflow uses the one model with a production alias). Both recorded as by `demo`.
import { NotFoundError } from '../../core/errors.js';
import type { ModelVersion } from '../../tracking/index.js';
import { type DemoContext, need, type StepResult } from '../context.js';
import { DEMO_MODEL } from '../options.js';

export const DEMO_ACTOR = 'demo';

async function versionsOf(c: DemoContext): Promise<ModelVersion[]> {
  try {
    return await c.registry.listVersions(DEMO_MODEL);
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    throw err;
  }
}

export async function registerStep(c: DemoContext): Promise<StepResult> {
  const runId = need(c.out.runId, 'the training run');
  const model = need(c.out.model, 'the model figures');
  let mv = (await versionsOf(c)).find((v) => v.runId === runId);
  const outcome = mv ? 'reused' : 'ran';
  mv ??= await c.registry.register({
    runId,
    name: DEMO_MODEL,
    by: DEMO_ACTOR,
    notes: 'Demo model made by `npm start` on synthetic phantoms: shows the platform, says nothing about patients.',
  });
  model.version = mv.version;
  return { outcome, detail: `${DEMO_MODEL} version ${mv.version} (model card: ${mv.cardMarkdownKey})` };
}

export async function promoteStep(c: DemoContext): Promise<StepResult> {
  const version = need(c.out.model, 'the registered model').version;
  const aliases = await c.registry.aliases(DEMO_MODEL);
  if (aliases.production === version) return { outcome: 'reused', detail: `${DEMO_MODEL}@production → version ${version}` };
  await c.registry.setAlias(DEMO_MODEL, 'production', version, {
    by: DEMO_ACTOR,
    reason: 'demo bootstrap (npm start): the demo model serves the demo workflow',
  });
  return { outcome: 'ran', detail: `${DEMO_MODEL}@production → version ${version}` };
}
