// Readers of the files under deploy/ for their tests: the Prometheus rules and their promtool tests, the
// PromQL of every Grafana panel, the metric names /metrics exports today, an offline kustomize renderer and
// the invariants every rendered Kubernetes manifest must keep. No vitest import, so both tiers use it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { parse as parseYaml, parseAllDocuments } from 'yaml';

import { Metrics } from '../../../src/monitoring/metrics.js';
import { rolloutGauges } from '../../../src/rollout/gauges.js';
import { workflowGauges } from '../../../src/workflow/gauges.js';

export const REPO = resolve(import.meta.dirname, '..', '..', '..');
export const DEPLOY = join(REPO, 'deploy');
export const PROMETHEUS_DIR = join(DEPLOY, 'prometheus');
export const GRAFANA_DIR = join(DEPLOY, 'grafana');
export const K8S_DIR = join(DEPLOY, 'k8s');
export const RULE_FILES = ['rules/recording.yml', 'rules/alerts.yml'].map((f) => join(PROMETHEUS_DIR, f));
export const RULE_TEST_FILES = ['tests/recording_test.yml', 'tests/alerts_test.yml'].map((f) => join(PROMETHEUS_DIR, f));

export function readYaml<T = unknown>(path: string): T {
  return parseYaml(readFileSync(path, 'utf8')) as T;
}

// ---- Prometheus rules ----

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadRules(): { group: string; file: string; rule: Rule }[] {
  return RULE_FILES.flatMap((file) =>
    readYaml<{ groups: { name: string; rules: Rule[] }[] }>(file).groups.flatMap((g) => g.rules.map((rule) => ({ group: g.name, file, rule }))),
  );
}

// ---- Grafana ----

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

export interface Dashboard {
  file: string;
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: unknown[] };
}

export function loadDashboards(): Dashboard[] {
  const dir = join(GRAFANA_DIR, 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Omit<Dashboard, 'file'>), file: f }));
}

/** Every panel but rows, rows' nested panels included. */
export function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

export function dashboardQueries(): PanelQuery[] {
  return loadDashboards().flatMap((d) =>
    panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: d.title, panel: p.title, refId: t.refId, expr: t.expr }))),
  );
}

// ---- metric names ----

/**
 * Series names a PromQL expression reads: recording-rule names (level:metric:ops) and our metrics' names
 * (`secondread_…`, the seed's `model_…`), plus `up`. Quoted label values are removed first; label names
 * (`model`, `class_name`) carry no `secondread_`/`model_` prefix followed by more, so they do not match.
 */
export function seriesNamesIn(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w:])([a-z_]+:[a-z0-9_:]+|secondread_[a-z0-9_]+|model_[a-z0-9_]+|up)(?![\w:])/g)) names.add(m[1]!);
  // `model_version` etc. inside `by (…)` / `on (…)` are label lists, not series.
  for (const m of bare.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
    for (const label of m[1]!.split(',')) names.delete(label.trim());
  return [...names];
}

/** The series /metrics exports (histograms as _bucket/_sum/_count), from the same registrations the server makes. */
export async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = new Metrics();
  workflowGauges(metrics);
  rolloutGauges(metrics);
  const out = new Set<string>(['up']);
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
    else out.add(m.name);
  }
  return out;
}

// ---- Kubernetes ----

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

interface Kustomization {
  resources?: string[];
  bases?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  patchesStrategicMerge?: string[];
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass', 'CustomResourceDefinition']);

function yamlDocs(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/**
 * The subset of kustomize these manifests use (base/kustomization.yaml says which): resources and bases,
 * strategic-merge patches matched by kind and name, `namespace` and `images`. Lists of objects with a `name`
 * (containers, env, ports, volumes) merge by name as Kubernetes' strategic merge does; other lists are replaced.
 * Anything else in a kustomization is refused, so a new feature cannot be silently ignored here.
 */
export function renderKustomize(dir: string): K8sObject[] {
  const k = readYaml<Kustomization & Record<string, unknown>>(join(dir, 'kustomization.yaml'));
  const known = new Set(['apiVersion', 'kind', 'resources', 'bases', 'namespace', 'images', 'patchesStrategicMerge']);
  const unknown = Object.keys(k).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml: the offline renderer does not implement ${unknown.join(', ')}`);
  const objects: K8sObject[] = [];
  for (const r of [...(k.bases ?? []), ...(k.resources ?? [])]) {
    const path = join(dir, r);
    objects.push(...(r.endsWith('.yaml') || r.endsWith('.yml') ? yamlDocs(path) : renderKustomize(path)));
  }
  for (const p of k.patchesStrategicMerge ?? [])
    for (const patch of yamlDocs(join(dir, p))) {
      const target = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (target < 0) throw new Error(`${dir}/${p}: no ${patch.kind} ${patch.metadata.name} to patch`);
      objects[target] = strategicMerge(objects[target], patch) as K8sObject;
    }
  for (const o of objects) {
    if (k.namespace !== undefined && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const c of containersOf(o)) {
      const img = (k.images ?? []).find((i) => c.image === i.name || c.image.startsWith(`${i.name}:`) || c.image.startsWith(`${i.name}@`));
      if (!img) continue;
      const tag = c.image.slice(img.name.length);
      c.image = (img.newName ?? img.name) + (img.newTag !== undefined ? `:${img.newTag}` : tag);
    }
  }
  return objects;
}

function strategicMerge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch)) {
    const named = (xs: unknown[]) => xs.every((x) => typeof x === 'object' && x !== null && typeof (x as { name?: unknown }).name === 'string');
    if (!named(base) || !named(patch)) return patch;
    const out = [...base] as { name: string }[];
    for (const p of patch as { name: string }[]) {
      const i = out.findIndex((b) => b.name === p.name);
      if (i >= 0) out[i] = strategicMerge(out[i], p) as { name: string };
      else out.push(p);
    }
    return out;
  }
  if (isMap(base) && isMap(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, v] of Object.entries(patch)) out[key] = key in base ? strategicMerge(base[key], v) : v;
    return out;
  }
  return patch;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[] } };
}

interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}

export function podSpecOf(o: K8sObject): PodSpec | undefined {
  const spec = o.spec as { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } | undefined;
  if (o.kind === 'Pod') return o.spec as PodSpec;
  return spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec;
}

export function containersOf(o: K8sObject): Container[] {
  const pod = podSpecOf(o);
  return pod ? [...pod.containers, ...(pod.initContainers ?? [])] : [];
}

/** Environment variables whose literal value would be a secret. */
const SECRET_ENV = /PASSWORD|SECRET|TOKEN|KEY|DATABASE_URL|REDIS_URL|CREDENTIAL/i;

/**
 * What must hold in every rendered manifest set: no Secret objects and no secret-looking literal values
 * (secrets are referenced, never inlined); every container's image pinned by a tag other than `latest` (or a
 * digest); requests and limits for CPU and memory; non-root, read-only root filesystem, no privilege
 * escalation, all capabilities dropped; every container that serves HTTP (has a port) with liveness and
 * readiness probes, the API's on /healthz and /readyz. Returns the violations, one line each.
 */
export function k8sViolations(objects: K8sObject[]): string[] {
  const v: string[] = [];
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Secret') v.push(`${where}: a Secret in the manifests (create it outside git, reference it)`);
    if (o.kind === 'ConfigMap')
      for (const key of Object.keys((o.data as Record<string, string> | undefined) ?? {}))
        if (SECRET_ENV.test(key)) v.push(`${where}: ${key} looks like a secret in a ConfigMap`);
    const pod = podSpecOf(o);
    if (!pod) continue;
    const podNonRoot = pod.securityContext?.runAsNonRoot === true;
    for (const c of containersOf(o)) {
      const at = `${where} container ${c.name}`;
      if (!/^[^@]+:[\w][\w.-]*$|@sha256:[0-9a-f]{64}$/.test(c.image) || /:latest$/.test(c.image))
        v.push(`${at}: image ${c.image} is not pinned by a tag or digest`);
      for (const r of ['cpu', 'memory'])
        for (const kind of ['requests', 'limits'] as const) if (c.resources?.[kind]?.[r] === undefined) v.push(`${at}: no ${r} ${kind.slice(0, -1)}`);
      for (const e of c.env ?? []) if (e.value !== undefined && SECRET_ENV.test(e.name)) v.push(`${at}: ${e.name} has an inline value (use secretKeyRef)`);
      const sc = c.securityContext ?? {};
      if (!podNonRoot && sc.runAsNonRoot !== true) v.push(`${at}: not runAsNonRoot`);
      if (sc.readOnlyRootFilesystem !== true) v.push(`${at}: root filesystem not read-only`);
      if (sc.allowPrivilegeEscalation !== false) v.push(`${at}: privilege escalation not disabled`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`${at}: capabilities not dropped`);
      const ports = (c as { ports?: unknown[] }).ports ?? [];
      if (ports.length > 0 && (c.livenessProbe === undefined || c.readinessProbe === undefined))
        v.push(`${at}: serves a port without liveness and readiness probes`);
      if (o.metadata.name.endsWith('-api')) {
        const path = (p: unknown) => (p as { httpGet?: { path?: string } } | undefined)?.httpGet?.path;
        if (path(c.livenessProbe) !== '/healthz') v.push(`${at}: liveness probe is not GET /healthz`);
        if (path(c.readinessProbe) !== '/readyz') v.push(`${at}: readiness probe is not GET /readyz`);
      }
    }
  }
  return v;
}

/** The overlays' directories (deploy/k8s/overlays/*). */
export function overlays(): string[] {
  const dir = join(K8S_DIR, 'overlays');
  return readdirSync(dir)
    .sort()
    .map((d) => join(dir, d));
}
