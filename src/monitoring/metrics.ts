// Prometheus metrics of the serving process, in a registry of their own (not prom-client's global
// one), so two apps in one process (tests) or a library user never mix series. Serving reports
// through the ServingObserver methods; the API observes HTTP durations; evaluations set the accuracy
// gauges. Label values are bounded: routes are templates, models and classes come from the registry.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { ClassProbability } from '../core/probabilities.js';
import type { Route, ServingObserver } from './serving-observer.js';

type ModelRef = { model: string; version: number };

/** Seconds; serving latencies on a CPU range from ~1 ms (tiny model, batch 1) to seconds (queueing under overload). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];
const CONFIDENCE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1];

export interface EvaluationGauges {
  dataset: string;
  accuracy: number;
  /** Per-class accuracy is the class's recall (as the seed's dashboard defines it). */
  perClass: { class: string; recall: number }[];
}

/** What the drift gauges show of a check (monitoring/drift's DriftCheck fits). */
export interface DriftGauges {
  model: string;
  tests: { test: string; adjustedPValue: number }[];
  skipped: { test: string }[];
  detected: boolean;
  estimatedAccuracy: number | null;
  realizedAgreement: number | null;
}

export interface MetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event-loop lag, GC) — default true. */
  processMetrics?: boolean;
}

export class Metrics implements ServingObserver {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly inferenceLatency: Histogram<'model' | 'version' | 'route'>;
  readonly queueTime: Histogram<'model' | 'version'>;
  readonly computeTime: Histogram<'model' | 'version'>;
  readonly batchSize: Histogram<'model' | 'version'>;
  readonly queueDepthGauge: Gauge<'model' | 'version'>;
  readonly droppedRequests: Counter<'model' | 'version' | 'reason'>;
  readonly predictionsByClass: Counter<'model' | 'version' | 'class_name'>;
  readonly confidence: Histogram<'model' | 'version'>;
  readonly shadowComparisons: Counter<'model' | 'agree'>;
  readonly modelSwaps: Counter<'model' | 'alias'>;
  readonly overallAccuracy: Gauge<'dataset'>;
  readonly accuracyPerClass: Gauge<'dataset' | 'class_name'>;
  readonly driftPValue: Gauge<'model' | 'test'>;
  readonly driftDetected: Gauge<'model'>;
  readonly driftEstimatedAccuracy: Gauge<'model'>;
  readonly driftRealizedAgreement: Gauge<'model'>;
  /** Classes last set per dataset, so a new evaluation does not leave stale class series behind. */
  private readonly classesByDataset = new Map<string, Set<string>>();
  private readonly collectors: (() => Promise<void>)[] = [];

  constructor(o: MetricsOptions = {}) {
    const registers = [this.registry];
    this.httpDuration = new Histogram({
      name: 'secondread_http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.inferenceLatency = new Histogram({
      name: 'secondread_inference_latency_seconds',
      help: 'End-to-end latency of one prediction in the serving runtime (decode, queue, compute)',
      labelNames: ['model', 'version', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.queueTime = new Histogram({
      name: 'secondread_batch_queue_seconds',
      help: 'Time a request waited in the dynamic batcher before its batch ran',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.computeTime = new Histogram({
      name: 'secondread_batch_compute_seconds',
      help: 'Model compute time per batch',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'secondread_batch_size',
      help: 'Requests per executed batch',
      labelNames: ['model', 'version'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.queueDepthGauge = new Gauge({
      name: 'secondread_batch_queue_depth',
      help: 'Requests waiting in the dynamic batcher',
      labelNames: ['model', 'version'],
      registers,
    });
    this.droppedRequests = new Counter({
      name: 'secondread_requests_dropped_total',
      help: 'Requests dropped before compute (timeout, client gone, queue full)',
      labelNames: ['model', 'version', 'reason'],
      registers,
    });
    this.predictionsByClass = new Counter({
      name: 'secondread_predictions_total',
      help: 'Predictions by top class',
      labelNames: ['model', 'version', 'class_name'],
      registers,
    });
    this.confidence = new Histogram({
      name: 'secondread_prediction_confidence',
      help: 'Probability of the top class',
      labelNames: ['model', 'version'],
      buckets: CONFIDENCE_BUCKETS,
      registers,
    });
    this.shadowComparisons = new Counter({
      name: 'secondread_shadow_comparisons_total',
      help: 'Requests scored by production and shadow, by whether the top classes agree',
      labelNames: ['model', 'agree'],
      registers,
    });
    this.modelSwaps = new Counter({
      name: 'secondread_model_swaps_total',
      help: 'Model versions swapped in after an alias moved',
      labelNames: ['model', 'alias'],
      registers,
    });
    // The seed's gauge names, unprefixed, so its Grafana dashboards keep working.
    this.overallAccuracy = new Gauge({
      name: 'model_overall_accuracy',
      help: 'Accuracy of the latest evaluation on the dataset',
      labelNames: ['dataset'],
      registers,
    });
    this.accuracyPerClass = new Gauge({
      name: 'model_accuracy_per_class',
      help: 'Per-class accuracy (recall) of the latest evaluation on the dataset',
      labelNames: ['dataset', 'class_name'],
      registers,
    });
    this.driftPValue = new Gauge({
      name: 'secondread_drift_p_value',
      help: 'Holm-adjusted p-value of each drift test in the latest drift check of the model (drift when <= the check alpha)',
      labelNames: ['model', 'test'],
      registers,
    });
    this.driftDetected = new Gauge({
      name: 'secondread_drift_detected',
      help: '1 when the latest drift check of the model detected drift, else 0',
      labelNames: ['model'],
      registers,
    });
    this.driftEstimatedAccuracy = new Gauge({
      name: 'secondread_drift_estimated_accuracy',
      help: 'Label-free accuracy estimate (CBPE: mean calibrated top-class probability) of the latest drift window',
      labelNames: ['model'],
      registers,
    });
    this.driftRealizedAgreement = new Gauge({
      name: 'secondread_drift_realized_agreement',
      help: "Share of the latest drift window's studies where reader A agreed with the model's top class",
      labelNames: ['model'],
      registers,
    });
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'secondread_' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Runs before every render (e.g. to refresh gauges from the database); it handles its own errors. */
  addCollector(fn: () => Promise<void>): void {
    this.collectors.push(fn);
  }

  async render(): Promise<string> {
    await Promise.all(this.collectors.map((fn) => fn()));
    return this.registry.metrics();
  }

  observeHttp(e: { method: string; route: string; statusCode: number; seconds: number }): void {
    this.httpDuration.observe({ method: e.method, route: e.route, status_code: String(e.statusCode) }, e.seconds);
  }

  setEvaluationGauges(e: EvaluationGauges): void {
    this.overallAccuracy.set({ dataset: e.dataset }, e.accuracy);
    const now = new Set(e.perClass.map((c) => c.class));
    for (const stale of this.classesByDataset.get(e.dataset) ?? [])
      if (!now.has(stale)) this.accuracyPerClass.remove({ dataset: e.dataset, class_name: stale });
    for (const c of e.perClass) this.accuracyPerClass.set({ dataset: e.dataset, class_name: c.class }, c.recall);
    this.classesByDataset.set(e.dataset, now);
  }

  /** The latest drift check of a model (a test skipped this time loses its series: no stale p-value is left). */
  setDriftGauges(c: DriftGauges): void {
    for (const t of c.skipped) this.driftPValue.remove({ model: c.model, test: t.test });
    for (const t of c.tests) this.driftPValue.set({ model: c.model, test: t.test }, t.adjustedPValue);
    this.driftDetected.set({ model: c.model }, c.detected ? 1 : 0);
    if (c.estimatedAccuracy !== null) this.driftEstimatedAccuracy.set({ model: c.model }, c.estimatedAccuracy);
    if (c.realizedAgreement !== null) this.driftRealizedAgreement.set({ model: c.model }, c.realizedAgreement);
  }

  // ---- ServingObserver ----

  batch(m: ModelRef, e: { size: number; queueMs: number[]; computeMs: number }): void {
    const l = labels(m);
    this.batchSize.observe(l, e.size);
    this.computeTime.observe(l, e.computeMs / 1000);
    for (const q of e.queueMs) this.queueTime.observe(l, q / 1000);
  }

  queueDepth(m: ModelRef, depth: number): void {
    this.queueDepthGauge.set(labels(m), depth);
  }

  dropped(m: ModelRef, reason: string): void {
    this.droppedRequests.inc({ ...labels(m), reason });
  }

  prediction(m: ModelRef & { route: Route }, top: ClassProbability, latencyMs: number): void {
    const l = labels(m);
    this.inferenceLatency.observe({ ...l, route: m.route }, latencyMs / 1000);
    this.predictionsByClass.inc({ ...l, class_name: top.class });
    this.confidence.observe(l, top.probability);
  }

  shadow(m: { model: string; productionVersion: number; shadowVersion: number }, agree: boolean): void {
    this.shadowComparisons.inc({ model: m.model, agree: agree ? 'true' : 'false' });
  }

  swapped(m: { model: string; alias: string; from: number | null; to: number }): void {
    this.modelSwaps.inc({ model: m.model, alias: m.alias });
  }
}

function labels(m: ModelRef): { model: string; version: string } {
  return { model: m.model, version: String(m.version) };
}
