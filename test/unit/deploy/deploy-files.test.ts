// The files under deploy/ hold together without running anything: every series a rule or a Grafana panel
// reads is exported by /metrics today (or recorded by our rules), every alert and recording rule has a
// promtool unit test and a runbook section, the dashboards use the provisioned datasource, the Kubernetes
// overlays render (offline) to manifests that keep the invariants, and docker-compose wires Prometheus and
// Grafana to these files. promtool, a live Prometheus and kubectl: test/integration/deploy/.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  dashboardQueries,
  DEPLOY,
  exportedSeriesNames,
  GRAFANA_DIR,
  type K8sObject,
  k8sViolations,
  loadDashboards,
  loadRules,
  overlays,
  panelsOf,
  PROMETHEUS_DIR,
  readYaml,
  renderKustomize,
  REPO,
  RULE_TEST_FILES,
  seriesNamesIn,
} from './deploy-files.js';

const rules = loadRules();
const recorded = new Set(rules.flatMap((r) => (r.rule.record ? [r.rule.record] : [])));

describe('seriesNamesIn', () => {
  it('finds metric and recording-rule names, not label names or label values', () => {
    expect(
      seriesNamesIn(
        'sum by (model, version) (rate(secondread_predictions_total{class_name="model_x"}[5m])) / on (model) model_version:secondread_predictions:rate5m and up{job="secondread"}',
      ).sort(),
    ).toEqual(['model_version:secondread_predictions:rate5m', 'secondread_predictions_total', 'up']);
    expect(seriesNamesIn('max by (dataset, class_name) (model_accuracy_per_class)')).toEqual(['model_accuracy_per_class']);
  });
});

describe('Prometheus rules and Grafana panels read only series that exist', () => {
  it('every series in a rule or a panel is exported by /metrics or recorded by a rule', async () => {
    const exported = await exportedSeriesNames();
    const sources = [
      ...rules.map((r) => ({ where: `rule ${r.rule.record ?? r.rule.alert}`, expr: r.rule.expr })),
      ...dashboardQueries().map((q) => ({ where: `panel "${q.panel}" (${q.dashboard})`, expr: q.expr })),
    ];
    const missing = sources.flatMap((s) => seriesNamesIn(s.expr).flatMap((n) => (exported.has(n) || recorded.has(n) ? [] : [`${s.where}: ${n}`])));
    expect(missing).toEqual([]);
    // The check itself sees names: a made-up one is reported.
    expect(seriesNamesIn('rate(secondread_made_up_total[5m])').filter((n) => !exported.has(n))).toEqual(['secondread_made_up_total']);
  });

  it('the workflow and accuracy gauges the dashboards promise are among them', async () => {
    const exported = await exportedSeriesNames();
    for (const name of [
      'secondread_second_review_reduction_ratio',
      'secondread_false_clear_rate',
      'secondread_worklist_depth',
      'secondread_minutes_saved_total',
      'model_accuracy_per_class',
    ])
      expect(exported.has(name), name).toBe(true);
  });
});

describe('alert and recording rules', () => {
  const alerts = rules.filter((r) => r.rule.alert);
  const tests = RULE_TEST_FILES.map((f) => readFileSync(f, 'utf8')).join('\n');
  const monitoringDoc = readFileSync(join(REPO, 'docs', 'monitoring.md'), 'utf8');

  it('every alert has a severity, a summary and a runbook section in docs/monitoring.md', () => {
    expect(alerts.length).toBeGreaterThan(0);
    for (const { rule } of alerts) {
      expect(['page', 'warn', 'info'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.runbook, rule.alert).toBe(`docs/monitoring.md#${rule.alert!.toLowerCase()}`);
      expect(monitoringDoc, `docs/monitoring.md has no section "### ${rule.alert}"`).toMatch(new RegExp(`^### ${rule.alert}$`, 'm'));
    }
  });

  it('every alert fires in a promtool test and every recording rule is evaluated in one', () => {
    type AlertTest = { alertname: string; exp_alerts?: unknown[] };
    type RuleTests = { tests: { alert_rule_test?: AlertTest[]; promql_expr_test?: { expr: string }[] }[] };
    const parsed = RULE_TEST_FILES.map((f) => readYaml<RuleTests>(f));
    const firing = new Set(
      parsed.flatMap((p) => p.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname))),
    );
    const quiet = new Set(
      parsed.flatMap((p) => p.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length === 0).map((a) => a.alertname))),
    );
    const evaluated = parsed.flatMap((p) => p.tests.flatMap((t) => (t.promql_expr_test ?? []).map((e) => e.expr))).join('\n');
    for (const { rule } of alerts) {
      expect(firing.has(rule.alert!), `${rule.alert} never fires in tests/`).toBe(true);
      expect(quiet.has(rule.alert!), `${rule.alert} is never shown to stay quiet in tests/`).toBe(true);
    }
    for (const r of recorded) expect(evaluated, `${r} is not evaluated in tests/recording_test.yml`).toContain(r);
    expect(tests).toContain('rule_files:');
  });

  it('the drift alert reads the drift gauge monitoring/metrics.ts exports', () => {
    const drift = alerts.find((r) => r.rule.alert === 'SecondreadDriftDetected');
    expect(drift?.rule.expr).toContain('secondread_drift_detected');
  });
});

describe('Grafana provisioning and dashboards', () => {
  const ds = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>(join(GRAFANA_DIR, 'provisioning', 'datasources', 'prometheus.yml'));
  const provider = readYaml<{ providers: { options: { path: string } }[] }>(join(GRAFANA_DIR, 'provisioning', 'dashboards', 'secondread.yml'));
  const dashboards = loadDashboards();

  it('one Prometheus datasource, and every panel and target names it by uid', () => {
    expect(ds.datasources).toHaveLength(1);
    const uid = ds.datasources[0]!.uid;
    expect(ds.datasources[0]!.type).toBe('prometheus');
    for (const d of dashboards)
      for (const p of panelsOf(d)) {
        expect(p.datasource?.uid, `${d.file}: ${p.title}`).toBe(uid);
        for (const t of p.targets ?? []) expect(t.datasource?.uid ?? uid, `${d.file}: ${p.title} ${t.refId}`).toBe(uid);
      }
    expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards/secondread');
  });

  it('dashboards have unique uids, every panel a query, and no template variables (the PromQL runs as written)', () => {
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
    for (const d of dashboards) {
      expect(d.templating?.list ?? []).toEqual([]);
      for (const p of panelsOf(d)) {
        expect((p.targets ?? []).length, `${d.file}: ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(t.expr, `${d.file}: ${p.title}`).not.toMatch(/\$/);
      }
    }
  });

  it("has the seed's panels and the safety/value panels", () => {
    const exprs = dashboardQueries().map((q) => q.expr);
    for (const needle of [
      'model_accuracy_per_class',
      'secondread_inference_latency_seconds',
      'secondread_predictions',
      'secondread_second_review_reduction_ratio',
      'secondread_false_clear_rate',
      'secondread_minutes_saved_total',
      'secondread_worklist_depth',
    ])
      expect(
        exprs.some((e) => e.includes(needle)),
        needle,
      ).toBe(true);
  });
});

describe('Kubernetes manifests', () => {
  const rendered = overlays().map((dir) => ({ dir, objects: renderKustomize(dir) }));

  it('staging and production render and keep the invariants', () => {
    expect(rendered.map((r) => r.dir.split('/').pop())).toEqual(['production', 'staging']);
    for (const { dir, objects } of rendered) {
      expect(k8sViolations(objects), dir).toEqual([]);
      const kinds = objects.map((o) => o.kind).sort();
      expect(kinds, dir).toEqual(
        ['ConfigMap', 'Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'PodDisruptionBudget', 'Service', 'ServiceAccount'].sort(),
      );
      for (const o of objects) expect(o.metadata.namespace, `${dir} ${o.kind}`).toMatch(/^secondread/);
    }
  });

  it('the overlays differ where they should: namespace, replicas, image registry', () => {
    const by = (name: string) => rendered.find((r) => r.dir.endsWith(name))!.objects;
    const api = (objs: K8sObject[]) => objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'secondread-api')!;
    const hpa = (objs: K8sObject[]) => objs.find((o) => o.kind === 'HorizontalPodAutoscaler')!.spec as { minReplicas: number };
    expect(api(by('production')).metadata.namespace).toBe('secondread');
    expect(api(by('staging')).metadata.namespace).toBe('secondread-staging');
    expect(hpa(by('production')).minReplicas).toBeGreaterThanOrEqual(3);
    expect(hpa(by('staging')).minReplicas).toBe(1);
    const image = (objs: K8sObject[]) => (api(objs).spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image;
    expect(image(by('production'))).toMatch(/^registry\.example\.org\/radiology\/secondread:\d+\.\d+\.\d+$/);
    // A patch that replaces one container's resources leaves its probes and env in place.
    const c = (api(by('staging')).spec as { template: { spec: { containers: { env: unknown[]; resources: { requests: { cpu: string } } }[] } } }).template.spec
      .containers[0]!;
    expect(c.resources.requests.cpu).toBe('500m');
    expect(c.env.length).toBeGreaterThanOrEqual(5);
  });

  it('secrets are referenced by name and key, never inlined', () => {
    for (const { objects } of rendered) {
      const refs = objects.flatMap((o) =>
        (
          (o.spec as { template?: { spec?: { containers: { env?: { valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }[] } } })?.template?.spec
            ?.containers ?? []
        ).flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []))),
      );
      expect(refs.map((r) => r.key)).toEqual(expect.arrayContaining(['database-url', 'redis-url', 'aws-secret-access-key', 'deid-key']));
    }
  });

  it('the invariant check reports what breaks it', () => {
    const base = renderKustomize(join(DEPLOY, 'k8s', 'base'));
    const broken = structuredClone(base);
    const api = broken.find((o) => o.metadata.name === 'secondread-api' && o.kind === 'Deployment')!;
    const c = (api.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!;
    c.image = 'secondread:latest';
    delete c.readinessProbe;
    delete (c.resources as { limits?: unknown }).limits;
    (c.env as { name: string; value?: string }[]).push({ name: 'DATABASE_URL', value: 'postgres://u:p@db/x' });
    (c.securityContext as { readOnlyRootFilesystem: boolean }).readOnlyRootFilesystem = false;
    broken.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'oops' }, stringData: { a: 'b' } });
    const v = k8sViolations(broken).join('\n');
    for (const needle of [
      'not pinned',
      'without liveness and readiness',
      'readiness probe is not GET /readyz',
      'no cpu limit',
      'inline value',
      'read-only',
      'Secret/oops',
    ])
      expect(v).toContain(needle);
    expect(k8sViolations(base)).toEqual([]);
  });
});

describe('docker-compose', () => {
  type Service = { image?: string; volumes?: string[]; depends_on?: unknown; ports?: string[] };
  const compose = readYaml<{ services: Record<string, Service> }>(join(DEPLOY, 'docker-compose.yml'));

  it('runs Prometheus and Grafana, pinned by tag, on the files in deploy/', () => {
    for (const name of ['prometheus', 'grafana']) {
      const s = compose.services[name];
      expect(s, name).toBeDefined();
      expect(s!.image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
      for (const v of s!.volumes ?? []) {
        const host = v.split(':')[0]!;
        if (host.startsWith('.')) expect(existsSync(join(DEPLOY, host)), `${name}: ${host}`).toBe(true);
      }
    }
    const mounts = (name: string) => (compose.services[name]!.volumes ?? []).map((v) => v.split(':').slice(0, 2).join(':'));
    expect(mounts('prometheus')).toContain('./prometheus:/etc/prometheus');
    expect(mounts('grafana')).toEqual(
      expect.arrayContaining(['./grafana/provisioning:/etc/grafana/provisioning', './grafana/dashboards:/var/lib/grafana/dashboards/secondread']),
    );
    // prometheus.yml scrapes the compose service by its name and port.
    const prom = readYaml<{ scrape_configs: { static_configs: { targets: string[] }[] }[] }>(join(PROMETHEUS_DIR, 'prometheus.yml'));
    expect(prom.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['secondread:8080']);
    expect(compose.services.secondread).toBeDefined();
  });
});
