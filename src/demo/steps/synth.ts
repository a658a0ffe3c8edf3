// Step 1: the demo's raw data — synthetic phantom archives in the public datasets' layouts, under
// $SECONDREAD_HOME/demo/raw. Written to a sibling folder and renamed into place, so `raw` holds either a
// complete set (its synth-manifest.json says with which options) or nothing.
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { synthesizeArchives, type SynthManifest } from '../../data/synth/index.js';
import type { DemoContext, StepResult } from '../context.js';
import type { DemoOptions } from '../options.js';
import { readJsonFile } from '../state.js';

const MANIFEST = 'synth-manifest.json';

function synthOptions(o: DemoOptions) {
  return { perClass: o.perClass, seed: o.seed, cxrSize: o.cxrSize, octWidth: o.octWidth, octHeight: o.octHeight };
}

/** Whether `raw` holds the archives these options make: its manifest matches and every archive has its size. */
async function rawMatches(dir: string, o: DemoOptions): Promise<SynthManifest | undefined> {
  const m = (await readJsonFile(join(dir, MANIFEST))) as SynthManifest | undefined;
  const want = synthOptions(o);
  if (!m || m.seed !== want.seed || !m.options || !Array.isArray(m.archives)) return undefined;
  const { perClass, cxrSize, octWidth, octHeight } = m.options;
  if (perClass !== want.perClass || cxrSize !== want.cxrSize || octWidth !== want.octWidth || octHeight !== want.octHeight) return undefined;
  for (const a of m.archives) {
    const size = await stat(join(dir, a.file)).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== a.bytes) return undefined;
  }
  return m;
}

const describe = (m: SynthManifest) =>
  `${m.archives.reduce((n, a) => n + a.entries, 0)} images in ${m.archives.length} archives (${m.options.cxrSize} px CXR, ${m.options.octWidth}×${m.options.octHeight} OCT)`;

export async function synthStep(c: DemoContext): Promise<StepResult> {
  const existing = await rawMatches(c.paths.raw, c.options);
  if (existing) return { outcome: 'reused', detail: describe(existing) };
  await rm(c.paths.rawPartial, { recursive: true, force: true });
  const r = await synthesizeArchives({ outDir: c.paths.rawPartial, ...synthOptions(c.options), onProgress: c.onProgress });
  await rm(c.paths.raw, { recursive: true, force: true });
  await rename(c.paths.rawPartial, c.paths.raw);
  return { outcome: 'ran', detail: describe(r.manifest) };
}
