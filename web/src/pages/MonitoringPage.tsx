// Safety and value, live: every few seconds the page scrapes GET /metrics (latency, throughput,
// prediction mix) and GET /v1/workflow/metrics (second-review reduction, false-clear rate from QA,
// minutes and cost saved, worklists), and charts the last minutes it has seen.
import { useEffect, useRef, useState } from 'react';

import type { WorkflowMetrics } from '../api/types.js';
import { useSession } from '../auth/SessionContext.js';
import { BarList } from '../components/charts/BarList.js';
import { LineChart } from '../components/charts/LineChart.js';
import { ErrorBox, PageHeader } from '../components/ui.js';
import { className, duration, money, num, percent } from '../lib/format.js';
import { type LivePoint, livePoint, pushBounded, type Scrape, type Totals, totals } from '../lib/monitoring.js';
import { parsePrometheus } from '../lib/prometheus.js';

const INTERVAL_MS = 5000;
const HISTORY = 120; // 10 minutes at 5 s

interface WorkflowPoint {
  t: number;
  reduction: number | null;
  falseClearQa: number | null;
  minutesSaved: number;
  costSaved: number;
}

function Tile({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId: string }) {
  return (
    <div className="tile" data-testid={testId}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      {hint && <div className="tile-hint muted small">{hint}</div>}
    </div>
  );
}

const clock = (t: number) => new Date(t).toLocaleTimeString('en-GB');

export function MonitoringPage() {
  const { api } = useSession();
  const [live, setLive] = useState(true);
  const [points, setPoints] = useState<LivePoint[]>([]);
  const [wfPoints, setWfPoints] = useState<WorkflowPoint[]>([]);
  const [sinceStart, setSinceStart] = useState<Totals | null>(null);
  const [workflow, setWorkflow] = useState<WorkflowMetrics | null>(null);
  const [errors, setErrors] = useState<{ metrics: unknown; workflow: unknown }>({ metrics: null, workflow: null });
  const [updated, setUpdated] = useState<number | null>(null);
  const prev = useRef<Scrape | null>(null);

  useEffect(() => {
    if (!live) return;
    const ctl = new AbortController();
    let timer: number | undefined;
    const poll = async () => {
      const [m, w] = await Promise.allSettled([
        api.text('/metrics', undefined, ctl.signal),
        api.get<WorkflowMetrics>('/v1/workflow/metrics', undefined, ctl.signal),
      ]);
      if (ctl.signal.aborted) return;
      const t = Date.now();
      let metricsError: unknown = null;
      if (m.status === 'fulfilled') {
        try {
          const cur = { t, samples: parsePrometheus(m.value) };
          const p = livePoint(prev.current, cur);
          prev.current = cur;
          setPoints((ps) => pushBounded(ps, p, HISTORY));
          setSinceStart(totals(cur.samples));
        } catch (err) {
          metricsError = err;
        }
      } else metricsError = m.reason;
      if (w.status === 'fulfilled') {
        const wf = w.value;
        setWorkflow(wf);
        setWfPoints((ps) =>
          pushBounded(
            ps,
            {
              t,
              reduction: wf.secondReviewReduction.rate,
              falseClearQa: wf.falseClear.qa.rate,
              minutesSaved: wf.savings.minutesSaved,
              costSaved: wf.savings.costSaved,
            },
            HISTORY,
          ),
        );
      }
      setErrors({ metrics: metricsError, workflow: w.status === 'rejected' ? w.reason : null });
      setUpdated(t);
      timer = window.setTimeout(() => void poll(), INTERVAL_MS);
    };
    void poll();
    return () => {
      ctl.abort();
      window.clearTimeout(timer);
    };
  }, [api, live]);

  const currency = workflow?.savings.economics.currency ?? 'USD';
  const series = (name: string, pick: (p: LivePoint) => number | null, scale = 1) => ({
    name,
    points: points.flatMap((p) => {
      const y = pick(p);
      return y === null ? [] : [{ x: p.t, y: y * scale }];
    }),
  });
  const wfSeries = (name: string, pick: (p: WorkflowPoint) => number | null) => ({
    name,
    points: wfPoints.flatMap((p) => {
      const y = pick(p);
      return y === null ? [] : [{ x: p.t, y }];
    }),
  });
  const mix = Object.entries(sinceStart?.predictionMix ?? {}).sort((a, b) => b[1] - a[1]);
  const mixTotal = mix.reduce((s, [, n]) => s + n, 0);

  return (
    <>
      <PageHeader title="Monitoring">
        <span className="muted small" aria-live="polite" data-testid="monitoring-updated">
          {updated ? `updated ${clock(updated)}` : 'loading…'}
        </span>
        <button type="button" aria-pressed={live} onClick={() => setLive((x) => !x)} data-testid="monitoring-live">
          {live ? `Pause live updates (every ${INTERVAL_MS / 1000} s)` : 'Resume live updates'}
        </button>
      </PageHeader>
      <ErrorBox error={errors.metrics} testId="metrics-error" />
      <ErrorBox error={errors.workflow} testId="workflow-metrics-error" />

      <section aria-labelledby="value-title">
        <h2 id="value-title">Safety and value{workflow?.since ? ` since ${workflow.since}` : ''}</h2>
        <div className="tiles">
          <Tile
            testId="tile-reduction"
            label="Second-review reduction"
            value={percent(workflow?.secondReviewReduction.rate)}
            hint={workflow ? `${num(workflow.autoFinalized)} auto-finalized of ${num(workflow.decided)} decided` : undefined}
          />
          <Tile
            testId="tile-false-clear"
            label="False-clear rate (QA)"
            value={percent(workflow?.falseClear.qa.rate, 2)}
            hint={
              workflow ? `${num(workflow.falseClear.qa.numerator)} of ${num(workflow.falseClear.qa.denominator)} QA studies adjudicated differently` : undefined
            }
          />
          {workflow && workflow.falseClear.truth.denominator > 0 && (
            <Tile
              testId="tile-false-clear-truth"
              label="False-clear rate (truth, simulation)"
              value={percent(workflow.falseClear.truth.rate, 2)}
              hint={`${workflow.falseClear.truth.numerator} of ${workflow.falseClear.truth.denominator}`}
            />
          )}
          <Tile
            testId="tile-minutes"
            label="Physician minutes saved"
            value={num(workflow?.savings.minutesSaved)}
            hint={workflow ? `${num(workflow.savings.minutesSaved / 60, 1)} physician hours` : undefined}
          />
          <Tile
            testId="tile-cost"
            label="Cost saved"
            value={money(workflow?.savings.costSaved, currency)}
            hint={
              workflow?.savings.costSavedPerScan !== null && workflow ? `${money(workflow.savings.costSavedPerScan, currency)} per decided scan` : undefined
            }
          />
          <Tile
            testId="tile-worklists"
            label="Waiting: A / B (QA)"
            value={workflow ? `${workflow.worklistDepth.A} / ${workflow.worklistDepth.B}` : '—'}
            hint={workflow ? `${workflow.worklistDepth.qaInB} QA samples in B` : undefined}
          />
          <Tile
            testId="tile-turnaround"
            label="Turnaround (median / p90)"
            value={workflow ? `${duration(workflow.turnaroundSeconds.median)} / ${duration(workflow.turnaroundSeconds.p90)}` : '—'}
            hint={workflow ? `${workflow.turnaroundSeconds.count} finalized` : undefined}
          />
        </div>
        {workflow && (
          <p className="muted small">
            Economics used:{' '}
            {Object.entries(workflow.savings.economics.minutesPerRead)
              .map(
                ([m, v]) =>
                  `${m} ${v} min / ${money(workflow.savings.economics.costPerRead[m as keyof typeof workflow.savings.economics.costPerRead], currency)} per read`,
              )
              .join(', ')}
            ; model {money(workflow.savings.economics.inferenceCostPerStudy, currency)} per study.
          </p>
        )}
        <div className="chart-grid">
          <LineChart
            title="Second-review reduction and false-clear rate (QA)"
            testId="chart-safety"
            series={[wfSeries('second-review reduction', (p) => p.reduction), wfSeries('false-clear rate (QA)', (p) => p.falseClearQa)]}
            yDomain={[0, 1]}
            formatX={clock}
            formatY={(y) => percent(y, 0)}
          />
          <LineChart
            title={`Minutes and cost (${currency}) saved`}
            testId="chart-savings"
            series={[wfSeries('minutes saved', (p) => p.minutesSaved), wfSeries(`cost saved (${currency})`, (p) => p.costSaved)]}
            formatX={clock}
          />
        </div>
        {workflow && (
          <BarList
            title="Agreement of the model with reader A, by A's label"
            testId="agreement-by-class"
            max={1}
            bars={workflow.agreementByClass.map((a) => ({
              label: className(a.class),
              value: a.rate ?? 0,
              display: `${percent(a.rate)} (${a.numerator}/${a.denominator})`,
            }))}
          />
        )}
      </section>

      <section aria-labelledby="serving-title">
        <h2 id="serving-title">Serving</h2>
        <div className="tiles">
          <Tile
            testId="tile-latency"
            label="Inference latency p50 / p95 (since start)"
            value={sinceStart ? `${duration(sinceStart.latencyP50)} / ${duration(sinceStart.latencyP95)}` : '—'}
            hint={sinceStart ? `${num(sinceStart.inferences)} inferences` : undefined}
          />
          <Tile testId="tile-throughput" label="Requests / s (last interval)" value={num(points.at(-1)?.requestsPerSecond, 2)} />
        </div>
        <div className="chart-grid">
          <LineChart
            title="Throughput"
            testId="chart-throughput"
            series={[series('HTTP requests / s', (p) => p.requestsPerSecond), series('predictions / s', (p) => p.predictionsPerSecond)]}
            formatX={clock}
          />
          <LineChart
            title="Inference latency (ms), per interval"
            testId="chart-latency"
            series={[series('p50', (p) => p.latencyP50, 1000), series('p95', (p) => p.latencyP95, 1000)]}
            formatX={clock}
          />
        </div>
        <BarList
          title="Prediction mix (top class, since start)"
          testId="prediction-mix"
          bars={mix.map(([c, n]) => ({
            label: className(c) + (className(c) !== c ? ` (${c})` : ''),
            value: n,
            display: `${num(n)} · ${percent(mixTotal ? n / mixTotal : null)}`,
          }))}
        />
      </section>
    </>
  );
}
