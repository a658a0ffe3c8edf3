// deploy/k8s rendered by kubectl's own kustomize (Debian's kubernetes-client: kubectl 1.20 with kustomize
// 2.0, offline; newer kubectl too): each overlay renders, the rendered manifests keep the invariants of
// deploy-files.ts (probes, limits, pinned images, non-root read-only containers, no inline secrets), and they
// equal what the offline renderer of the unit tier produces — so the unit tier checks what kubectl applies.
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { type K8sObject, k8sViolations, overlays, renderKustomize } from '../../unit/deploy/deploy-files.js';

function kubectlAvailable(): boolean {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  const reason = 'kubectl is not installed (apt-get install kubernetes-client)';
  if (process.env.CI) throw new Error(`${reason} (CI is set, so this is a failure, not a skip)`);
  console.warn(`SKIPPING: ${reason}`);
  return false;
}

/** Objects keyed by kind/namespace/name, for a comparison that ignores kustomize's output order. */
function byKey(objects: K8sObject[]): Record<string, K8sObject> {
  return Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
}

describe.skipIf(!kubectlAvailable())('kubectl kustomize deploy/k8s/overlays/*', () => {
  it.each(overlays())('%s renders, keeps the invariants, and equals the offline rendering', (dir) => {
    const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
    expect(objects.length).toBeGreaterThanOrEqual(8);
    expect(k8sViolations(objects)).toEqual([]);
    expect(byKey(objects)).toEqual(byKey(renderKustomize(dir)));
  });
});
