// The Monitoring page's live figures from two consecutive scrapes of GET /metrics: request and
// prediction throughput (counter rates) and inference latency quantiles over the interval between
// them (histogram deltas) — what Grafana would show from the same series.
import { counterRate, histogramDelta, histogramOf, histogramQuantile, type Sample, sumBy, sumOf } from './prometheus.js';

export interface Scrape {
  /** When it was taken (ms since epoch). */
  t: number;
  samples: Sample[];
}

export interface LivePoint {
  t: number;
  /** HTTP requests per second over the interval (all routes). */
  requestsPerSecond: number | null;
  /** Model predictions per second over the interval. */
  predictionsPerSecond: number | null;
  /** Inference latency quantiles over the interval, in seconds (null: no inference in it). */
  latencyP50: number | null;
  latencyP95: number | null;
}

const HTTP = 'secondread_http_request_duration_seconds';
const INFERENCE = 'secondread_inference_latency_seconds';
const PREDICTIONS = 'secondread_predictions_total';

export function livePoint(prev: Scrape | null, cur: Scrape): LivePoint {
  if (!prev) return { t: cur.t, requestsPerSecond: null, predictionsPerSecond: null, latencyP50: null, latencyP95: null };
  const seconds = (cur.t - prev.t) / 1000;
  const window = histogramDelta(histogramOf(prev.samples, INFERENCE), histogramOf(cur.samples, INFERENCE));
  return {
    t: cur.t,
    requestsPerSecond: counterRate(sumOf(prev.samples, `${HTTP}_count`), sumOf(cur.samples, `${HTTP}_count`), seconds),
    predictionsPerSecond: counterRate(sumOf(prev.samples, PREDICTIONS), sumOf(cur.samples, PREDICTIONS), seconds),
    latencyP50: window.count > 0 ? histogramQuantile(window, 0.5) : null,
    latencyP95: window.count > 0 ? histogramQuantile(window, 0.95) : null,
  };
}

export interface Totals {
  /** Predictions by top class since the server started. */
  predictionMix: Record<string, number>;
  /** Inference latency quantiles since the server started (seconds). */
  latencyP50: number | null;
  latencyP95: number | null;
  inferences: number;
}

export function totals(samples: Sample[]): Totals {
  const h = histogramOf(samples, INFERENCE);
  return {
    predictionMix: sumBy(samples, PREDICTIONS, 'class_name'),
    latencyP50: histogramQuantile(h, 0.5),
    latencyP95: histogramQuantile(h, 0.95),
    inferences: h.count,
  };
}

/** Keeps the newest `max` items (the live charts' window). */
export function pushBounded<T>(list: readonly T[], item: T, max: number): T[] {
  const out = [...list, item];
  return out.length > max ? out.slice(out.length - max) : out;
}
