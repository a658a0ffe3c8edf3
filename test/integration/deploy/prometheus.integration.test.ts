// deploy/prometheus and deploy/grafana against Debian's Prometheus. promtool checks the config and rules and
// runs their unit tests (and fails on a broken copy). Then a real `prometheus` (temporary directory, free
// port, 1 s scrape and rule interval, the repository's scrape config and rule files, the token from a file)
// scrapes, first, a secondread API listening on a port — the real app with the registry `serve` uses, the real
// workflow on its database: studies go through the workflow over HTTP and the serving observer is fed as
// serving would; the gauges are read back through Prometheus' HTTP API and compared with what the server
// computed, a scrape without the token is refused, every rule loads and evaluates, a queue_full drop fires its
// alert, and every Grafana panel's PromQL runs and returns data. Second, a `secondread serve` child process on
// a fresh home: its gauges read back equal its own /metrics, and stopping it makes SecondreadDown pending.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';

import { type ApiFixture, openApiFixture } from '../../../src/api/testing/fixture.js';
import { postRead, postStudy } from '../../../src/api/testing/http.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/monitoring/metrics.js';
import { rolloutGauges } from '../../../src/rollout/gauges.js';
import { collectWorkflowGauges } from '../../../src/workflow/gauges.js';
import { modelRead } from '../../../src/workflow/testing.js';
import { dashboardQueries, loadRules, PROMETHEUS_DIR, readYaml, REPO, RULE_FILES, RULE_TEST_FILES } from '../../unit/deploy/deploy-files.js';
import { commandAvailable } from '../helpers/peers.js';

const INSTALL = 'apt-get install prometheus (Debian ships promtool with it)';
const hasPrometheus = commandAvailable('prometheus', INSTALL) && commandAvailable('promtool', INSTALL);

const dir = mkdtempSync(join(tmpdir(), 'secondread-prometheus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function promtool(args: string[], cwd = PROMETHEUS_DIR): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!hasPrometheus)('promtool on deploy/prometheus', () => {
  it('the rule files pass `promtool check rules`', () => {
    const r = promtool(['check', 'rules', ...RULE_FILES]);
    expect(r.out).not.toMatch(/FAILED/);
    expect(r.status, r.out).toBe(0);
  });

  it('prometheus.yml passes `promtool check config` (syntax as shipped; in full with the token file present)', () => {
    const syntax = promtool(['check', 'config', '--syntax-only', 'prometheus.yml']);
    expect(syntax.status, syntax.out).toBe(0);
    // The full check also opens the token file and the rule files: give it both.
    const token = join(dir, 'check-token');
    writeFileSync(token, 'not-a-real-token');
    const cfg = readYaml<PromConfig>(join(PROMETHEUS_DIR, 'prometheus.yml'));
    cfg.rule_files = RULE_FILES;
    cfg.scrape_configs[0]!.authorization!.credentials_file = token;
    writeFileSync(join(dir, 'check.yml'), toYaml(cfg));
    const full = promtool(['check', 'config', join(dir, 'check.yml')]);
    expect(full.out).toMatch(/SUCCESS/);
    expect(full.status, full.out).toBe(0);
  });

  it('the rules pass their unit tests (`promtool test rules`)', () => {
    const r = promtool(['test', 'rules', ...RULE_TEST_FILES]);
    expect(r.status, r.out).toBe(0);
    expect(r.out.match(/SUCCESS/g)).toHaveLength(RULE_TEST_FILES.length);
  });

  it('the unit tests fail when a threshold moves (they can fail)', () => {
    const copy = join(dir, 'mutant');
    cpSync(PROMETHEUS_DIR, copy, { recursive: true });
    const alerts = join(copy, 'rules', 'alerts.yml');
    writeFileSync(alerts, readFileSync(alerts, 'utf8').replace('> 0.005', '>= 0.005'));
    const r = promtool(['test', 'rules', 'tests/alerts_test.yml'], copy);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/SecondreadFalseClearRateAboveBound/);
  });
});

interface PromConfig {
  global?: Record<string, string>;
  rule_files: string[];
  scrape_configs: { job_name: string; authorization?: { type: string; credentials_file: string }; static_configs: { targets: string[] }[] }[];
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Debian's prometheus on a free port in its own directory, with the repository's prometheus.yml pointed at `target`. */
class LivePrometheus {
  private proc?: ChildProcess;
  private log = '';
  url = '';

  constructor(private readonly home: string) {}

  /** The shipped scrape config with a 1 s interval, this target and token file; plus a job without the token. */
  async start(target: string, tokenFile: string): Promise<void> {
    mkdirSync(this.home, { recursive: true });
    const cfg = readYaml<PromConfig>(join(PROMETHEUS_DIR, 'prometheus.yml'));
    cfg.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    cfg.rule_files = RULE_FILES;
    const job = cfg.scrape_configs[0]!;
    job.authorization!.credentials_file = tokenFile;
    job.static_configs = [{ targets: [target] }];
    cfg.scrape_configs.push({ job_name: 'secondread-no-token', static_configs: [{ targets: [target] }] });
    writeFileSync(join(this.home, 'prometheus.yml'), toYaml(cfg));
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const args = [
      `--config.file=${join(this.home, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(this.home, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ];
    this.proc = spawn('prometheus', [...args, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (b: Buffer) => (this.log += b.toString()));
    this.proc.stderr!.on('data', (b: Buffer) => (this.log += b.toString()));
    await until('prometheus ready', async () => ((await fetch(`${this.url}/-/ready`)).ok ? true : undefined), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.log}`);
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }

  async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}${path}?${new URLSearchParams(params).toString()}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  }

  query(q: string) {
    return this.api<{ resultType: string; result: PromSample[] }>('/api/v1/query', { query: q });
  }

  /** The value of a query that answers one series; undefined when it answers none or several. */
  async scalar(q: string): Promise<number | undefined> {
    const r = (await this.query(q)).result;
    return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
  }

  target(job: string) {
    type Target = { labels: { job: string }; health: string; lastError: string; scrapeUrl: string };
    return this.api<{ activeTargets: Target[] }>('/api/v1/targets').then((d) => d.activeTargets.find((t) => t.labels.job === job));
  }

  /** rate() needs two samples in its window; a few more make every panel's query answer. */
  scrapes(n: number): Promise<true> {
    return until(`${n} scrapes`, async () => ((await this.scalar('count_over_time(up{job="secondread"}[1m])')) ?? 0) >= n || undefined);
  }
}

describe.skipIf(!hasPrometheus)('a live Prometheus scraping secondread', () => {
  let f: ApiFixture;
  let metrics: Metrics;
  const prom = new LivePrometheus(join(dir, 'fixture'));
  const api = <T>(path: string, params: Record<string, string> = {}) => prom.api<T>(path, params);
  const query = (q: string) => prom.query(q);
  const scalar = (q: string) => prom.scalar(q);

  beforeAll(async () => {
    // The registry `secondread serve` builds (process metrics on), with the workflow gauges as compose.ts wires them.
    metrics = new Metrics();
    f = await openApiFixture({ deps: { metrics } });
    collectWorkflowGauges(f.workflow, metrics, silentLogger);
    await f.workflow.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.9 }, qaFraction: 0.05 }, by: 'test' });
    const address = await f.app.listen({ host: '127.0.0.1', port: 0 });
    const target = new URL(address).host;

    // Studies through the workflow over HTTP: one auto-finalized, one QA sample that B overturns (a false
    // clear), one disagreement waiting for B, one waiting for A.
    const study = async (read: ReturnType<typeof modelRead>) => {
      f.model.next(read);
      return (await postStudy(f.app, f.auth('reader'))).json<{ id: string }>().id;
    };
    const auto = await study(modelRead('lung-normal', 0.97));
    expect((await postRead(f.app, f.auth('reader'), auto, 'lung-normal')).json()).toMatchObject({ status: 'auto_finalized' });
    const qa = await study(modelRead('lung-normal', 0.97));
    f.draws.push(0.01);
    expect((await postRead(f.app, f.auth('reader'), qa, 'lung-normal')).json()).toMatchObject({ status: 'awaiting_b', decision: { qa: true } });
    expect((await postRead(f.app, f.auth('adjudicator'), qa, 'lung-covid')).json()).toMatchObject({ status: 'adjudicated' });
    const disagree = await study(modelRead('lung-covid', 0.95));
    expect((await postRead(f.app, f.auth('reader'), disagree, 'lung-normal')).json()).toMatchObject({ status: 'awaiting_b' });
    await study(modelRead('lung-normal', 0.99));

    // What serving reports through its observer, and an evaluation's accuracy gauges.
    const m = { model: 'cxr-oct', version: 1 };
    for (let i = 0; i < 5; i++) metrics.prediction({ ...m, route: 'production' }, { class: i < 4 ? 'lung-normal' : 'lung-covid', probability: 0.9 }, 20 + i);
    metrics.batch(m, { size: 5, queueMs: [1, 2, 3, 4, 5], computeMs: 15 });
    metrics.queueDepth(m, 0);
    metrics.dropped(m, 'timeout');
    metrics.shadow({ model: 'cxr-oct', productionVersion: 1, shadowVersion: 2 }, true);
    metrics.shadow({ model: 'cxr-oct', productionVersion: 1, shadowVersion: 2 }, false);
    metrics.swapped({ model: 'cxr-oct', alias: 'production', from: null, to: 1 });
    // A server fault, as the HTTP hook records it (a second one follows once Prometheus has seen the first).
    metrics.observeHttp({ method: 'POST', route: '/v1/predict', statusCode: 500, seconds: 0.01 });
    // A drift check's gauges and an active canary, as the drift service and the rollout gauges set them at a scrape.
    metrics.setDriftGauges({
      model: 'cxr-oct',
      tests: [
        { test: 'confidence_ks', adjustedPValue: 0.4 },
        { test: 'class_chi2', adjustedPValue: 0.03 },
      ],
      skipped: [],
      detected: true,
      estimatedAccuracy: 0.9,
      realizedAgreement: 0.85,
    });
    const rollout = rolloutGauges(metrics);
    rollout.weight.set({ model: 'cxr-oct' }, 0.05);
    rollout.degraded.set({ model: 'cxr-oct' }, 0);
    rollout.rollouts.set({ model: 'cxr-oct', status: 'active' }, 1);
    metrics.setEvaluationGauges({
      dataset: 'demo@1/test',
      accuracy: 0.9,
      perClass: [
        { class: 'lung-normal', recall: 0.95 },
        { class: 'lung-covid', recall: 0.8 },
      ],
    });

    // The repository's scrape config, pointed at this server, with a 1 s interval and the token in a file;
    // a second job scrapes without the token.
    const token = join(dir, 'token');
    writeFileSync(token, f.tokens.reader, { mode: 0o600 });
    await prom.start(target, token);
    await prom.scrapes(4);
    // Counters seen from their first sample on have no rate yet: a second server fault and two more shadow
    // comparisons now give the ratio rules something to divide.
    metrics.observeHttp({ method: 'POST', route: '/v1/predict', statusCode: 500, seconds: 0.01 });
    metrics.shadow({ model: 'cxr-oct', productionVersion: 1, shadowVersion: 2 }, true);
    metrics.shadow({ model: 'cxr-oct', productionVersion: 1, shadowVersion: 2 }, false);
    await until('a scrape with them', async () =>
      (await scalar('sum(secondread_shadow_comparisons_total)')) === 4 &&
      (await scalar('sum(secondread_http_request_duration_seconds_count{status_code="500"})')) === 2
        ? true
        : undefined,
    );
  });

  afterAll(async () => {
    await prom.stop();
    await f?.close();
  });

  it('scrapes /metrics with the token from the file; without it the scrape is refused', async () => {
    expect(await prom.target('secondread')).toMatchObject({ health: 'up', lastError: '', scrapeUrl: expect.stringMatching(/\/metrics$/) });
    const refused = await until('the untokened scrape to fail', async () => {
      const t = await prom.target('secondread-no-token');
      return t?.health === 'down' ? t : undefined;
    });
    expect(refused.lastError).toMatch(/401/);
  });

  it('reads the workflow gauges back as the server computed them', async () => {
    const wm = await f.workflow.metrics();
    expect(wm.worklistDepth).toEqual({ A: 1, B: 1, qaInB: 0 });
    const depth = Object.fromEntries((await query('secondread_worklist_depth{job="secondread"}')).result.map((s) => [s.metric.worklist, Number(s.value[1])]));
    expect(depth).toEqual({ A: wm.worklistDepth.A, B: wm.worklistDepth.B, B_qa: wm.worklistDepth.qaInB });
    expect(await scalar('secondread_second_review_reduction_ratio{job="secondread"}')).toBeCloseTo(wm.secondReviewReduction.rate!, 12);
    expect(wm.falseClear.qa.rate).toBe(1);
    expect(await scalar('secondread_false_clear_rate{job="secondread",source="qa"}')).toBe(1);
    expect(await scalar('secondread_minutes_saved_total{job="secondread"}')).toBeCloseTo(wm.savings.minutesSaved, 9);
    const agreement = (await query('secondread_agreement_rate{job="secondread"}')).result.map((s) => [s.metric.class_name, Number(s.value[1])]);
    expect(Object.fromEntries(agreement)).toEqual(Object.fromEntries(wm.agreementByClass.filter((c) => c.rate !== null).map((c) => [c.class, c.rate])));
  });

  it('reads the serving, accuracy and process series back', async () => {
    expect(await scalar('sum(secondread_predictions_total{job="secondread"})')).toBe(5);
    expect(await scalar('secondread_predictions_total{job="secondread",class_name="lung-covid"}')).toBe(1);
    expect(await scalar('model_accuracy_per_class{job="secondread",dataset="demo@1/test",class_name="lung-covid"}')).toBe(0.8);
    expect(await scalar('secondread_inference_latency_seconds_count{job="secondread"}')).toBe(5);
    expect(await scalar('secondread_process_resident_memory_bytes{job="secondread"}')).toBeGreaterThan(0);
    // HTTP requests the tests made (the workflow's POSTs) counted by route template.
    expect(await scalar('sum(secondread_http_request_duration_seconds_count{job="secondread",route="/v1/studies/:id/reads",status_code="200"})')).toBe(4);
  });

  it('loads every rule, and every rule evaluates without error', async () => {
    type R = { name: string; health: string; lastError?: string; type: string; evaluationTime: number };
    const expected = loadRules().map((r) => r.rule.record ?? r.rule.alert);
    const rules = await until('every rule evaluated', async () => {
      const { groups } = await api<{ groups: { rules: (R & { lastEvaluation: string })[] }[] }>('/api/v1/rules');
      const all = groups.flatMap((g) => g.rules);
      return all.length === expected.length && all.every((r) => !r.lastEvaluation.startsWith('0001')) ? all : undefined;
    });
    expect(rules.map((r) => r.name).sort()).toEqual([...expected].sort());
    for (const r of rules) expect({ name: r.name, health: r.health, lastError: r.lastError ?? '' }).toEqual({ name: r.name, health: 'ok', lastError: '' });
    // The recording rules have data: one 5xx among the requests made, one of two new comparisons disagreeing.
    await until('the ratios', async () => ((await scalar('job:secondread_http_requests_errors:ratio_rate5m')) ?? 0) > 0 || undefined);
    await until('the shadow ratio', async () =>
      (await scalar('model:secondread_shadow_disagreement:ratio_rate1h{model="cxr-oct"}')) === 0.5 ? true : undefined,
    );
  });

  it('a queue_full drop in the server fires SecondreadBatcherQueueFull', async () => {
    metrics.dropped({ model: 'cxr-oct', version: 1 }, 'queue_full');
    await until('a scrape with the drop', async () => ((await scalar('secondread_requests_dropped_total{reason="queue_full"}')) === 1 ? true : undefined));
    // A counter's first sample is no increase: the second drop after a scrape is.
    metrics.dropped({ model: 'cxr-oct', version: 1 }, 'queue_full');
    const alert = await until('the alert to fire', async () => {
      const { alerts } = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts');
      return alerts.find((a) => a.labels.alertname === 'SecondreadBatcherQueueFull' && a.state === 'firing');
    });
    expect(alert.labels).toMatchObject({ model: 'cxr-oct', version: '1', severity: 'page' });
  });

  it("executes every Grafana panel's PromQL without error, and each returns data", async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const empty: string[] = [];
    for (const q of queries) {
      const r = await query(q.expr).catch((err: Error) => {
        throw new Error(`panel "${q.panel}" (${q.dashboard}) ${q.refId}: ${err.message}`);
      });
      // A range query too, as Grafana's time series panels send it.
      const now = Math.floor(Date.now() / 1000);
      await api('/api/v1/query_range', { query: q.expr, start: String(now - 60), end: String(now), step: '5' });
      if (r.result.length === 0) empty.push(`${q.dashboard} / ${q.panel} / ${q.refId}: ${q.expr}`);
    }
    expect(empty).toEqual([]);
  });
});

describe.skipIf(!hasPrometheus)('a live Prometheus scraping `secondread serve`', () => {
  const home = join(dir, 'serve-home');
  const prom = new LivePrometheus(join(dir, 'serve-prometheus'));
  let serve: ChildProcess | undefined;
  let serveLog = '';
  let base = '';
  let token = '';
  // A fresh embedded home: no database, object store or queue from the environment.
  const env: NodeJS.ProcessEnv = { ...process.env, SECONDREAD_HOME: home, LOG_LEVEL: 'warn' };
  for (const k of ['DATABASE_URL', 'OBJECT_STORE_URL', 'REDIS_URL', 'SECONDREAD_CONFIG']) delete env[k];
  const cli = join(REPO, 'bin', 'secondread.js');

  beforeAll(async () => {
    const added = spawnSync(process.execPath, [cli, 'users', 'add', 'prometheus', '--role', 'reader'], { env, encoding: 'utf8' });
    expect(added.status, added.stderr).toBe(0);
    token = /token \(shown once[^)]*\): (\S+)/.exec(added.stdout)?.[1] ?? '';
    expect(token).toMatch(/^sr_/);
    const tokenFile = join(dir, 'serve-token');
    writeFileSync(tokenFile, token, { mode: 0o600 });

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    serve = spawn(process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', String(port), '--shutdown-timeout', '5'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    serve.stdout!.on('data', (b: Buffer) => (serveLog += b.toString()));
    serve.stderr!.on('data', (b: Buffer) => (serveLog += b.toString()));
    await until('secondread serve to answer /healthz', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${serveLog}`);
    });
    await prom.start(`127.0.0.1:${port}`, tokenFile);
    await prom.scrapes(3);
  });

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve!.once('exit', r));
      serve.kill('SIGKILL');
      await exited;
    }
    await prom.stop();
  });

  it("reads the server's gauges back as its own /metrics shows them", async () => {
    expect(await prom.target('secondread')).toMatchObject({ health: 'up', lastError: '' });
    const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const served = (line: RegExp) => Number(text.match(line)?.[1]);
    for (const w of ['A', 'B', 'B_qa'])
      expect(await prom.scalar(`secondread_worklist_depth{job="secondread",worklist="${w}"}`), w).toBe(
        served(new RegExp(`^secondread_worklist_depth\\{worklist="${w}"\\} (\\S+)$`, 'm')),
      );
    expect(await prom.scalar('secondread_minutes_saved_total{job="secondread"}')).toBe(served(/^secondread_minutes_saved_total (\S+)$/m));
    expect(await prom.scalar('secondread_process_start_time_seconds{job="secondread"}')).toBe(served(/^secondread_process_start_time_seconds (\S+)$/m));
    expect(await prom.scalar('sum(secondread_cost_saved_total{job="secondread"})')).toBe(served(/^secondread_cost_saved_total\{currency="[A-Z]{3}"\} (\S+)$/m));
  });

  it('when serve stops, the target goes down and SecondreadDown is pending', async () => {
    const exited = new Promise<number | null>((r) => serve!.once('exit', (code) => r(code)));
    serve!.kill('SIGTERM');
    expect(await exited).toBe(0);
    await until('up == 0', async () => ((await prom.scalar('up{job="secondread"}')) === 0 ? true : undefined));
    const alert = await until('SecondreadDown pending', async () => {
      const { alerts } = await prom.api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts');
      return alerts.find((a) => a.labels.alertname === 'SecondreadDown' && a.labels.job === 'secondread');
    });
    // `for: 2m` holds it pending; promtool's tests show it firing after two minutes.
    expect(alert).toMatchObject({ state: 'pending', labels: { severity: 'page', instance: expect.stringMatching(/^127\.0\.0\.1:\d+$/) } });
  });
});
