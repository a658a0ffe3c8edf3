// Experiments: the runs (choose two to compare), one run's loss and accuracy curves, and two runs side
// by side (params and final metrics, the values that differ marked, their curves overlaid).
import { useState } from 'react';

import { curveGroups, type MetricPoint, metricSeries, type Run } from '../api/catalog.js';
import { BarList } from '../components/charts/BarList.js';
import { LineChart, type Series } from '../components/charts/LineChart.js';
import { ErrorBox, Facts, Link, ListBody, Loading, PageHeader, TableHead } from '../components/ui.js';
import { useApi } from '../hooks/useApi.js';
import { dateTime, num } from '../lib/format.js';
import { type SweepView, sweepViews } from '../lib/sweep.js';
import { hrefFor, navigate } from '../router.js';

const enc = encodeURIComponent;

function runsOf(body: unknown): Run[] {
  const b = body as { runs?: Run[] } | Run[];
  return Array.isArray(b) ? b : (b.runs ?? []);
}

/** Run detail answers: `{run, metrics}` (runDetails) or the run itself. */
function runOf(body: unknown): { run: Run; metrics: Record<string, number> } {
  const b = body as { run?: Run; metrics?: Record<string, number> } & Run;
  return b.run ? { run: b.run, metrics: b.metrics ?? {} } : { run: b, metrics: {} };
}

const toPoints = (ps: MetricPoint[]) => ps.map((p) => ({ x: p.epoch ?? p.step, y: p.value })).sort((a, b) => a.x - b.x);

export function ExperimentsPage() {
  const [experiment, setExperiment] = useState('');
  const list = useApi((api, signal) => api.get<unknown>('/v1/runs', { experiment, limit: 100 }, signal), [experiment]);
  const [picked, setPicked] = useState<string[]>([]);
  const runs = list.data ? runsOf(list.data) : [];
  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
  return (
    <>
      <PageHeader title="Experiments">
        <label>
          Experiment{' '}
          <input
            value={experiment}
            onChange={(e) => setExperiment(e.target.value)}
            placeholder="all"
            aria-label="Filter by experiment name"
            data-testid="experiment-filter"
          />
        </label>
        <button
          type="button"
          className="primary"
          disabled={picked.length !== 2}
          onClick={() => navigate(hrefFor({ page: 'compare', ids: picked }))}
          data-testid="compare-runs"
        >
          Compare {picked.length}/2
        </button>
      </PageHeader>
      {sweepViews(runs).map((v) => (
        <SweepTable key={v.name} view={v} />
      ))}
      <ListBody loaded={list} count={runs.length} empty={<>No runs{experiment ? ` in “${experiment}”` : ''}.</>}>
        <table className="table" data-testid="runs-table" aria-labelledby="page-title">
          <TableHead cols={['Compare', 'Run', 'Experiment', 'Status', 'Started', 'Dataset', 'Summary']} />
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-testid="run-row">
                <td>
                  <input type="checkbox" checked={picked.includes(r.id)} onChange={() => toggle(r.id)} aria-label={`Compare run ${r.name || r.id}`} />
                </td>
                <td>
                  <Link href={hrefFor({ page: 'run', id: r.id })}>{r.name || r.id}</Link>
                </td>
                <td>{r.experiment ?? r.experimentId ?? '—'}</td>
                <td>{r.status}</td>
                <td>{dateTime(r.startedAt)}</td>
                <td className="mono small">{r.datasetVersion ?? '—'}</td>
                <td className="small">
                  {Object.entries(r.summary ?? {})
                    .slice(0, 3)
                    .map(([k, v]) => `${k} ${num(v, 3)}`)
                    .join(' · ') || '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ListBody>
    </>
  );
}

/** A sweep's trials best first: the options that vary, validation and test accuracy, and the ranking as bars. */
function SweepTable({ view }: { view: SweepView }) {
  return (
    <section className="panel" data-testid="sweep-table" aria-label={`Sweep ${view.name}`}>
      <h2>
        Sweep {view.name} · {view.rows.length} trials
      </h2>
      <table className="table">
        <TableHead cols={['Rank', 'Trial', 'Run', ...view.keys, 'val accuracy', 'test accuracy']} />
        <tbody>
          {view.rows.map((r, i) => (
            <tr key={r.run.id}>
              <td>{r.metric === null ? '—' : i + 1}</td>
              <td>{r.trial}</td>
              <td>
                <Link href={hrefFor({ page: 'run', id: r.run.id })}>{r.run.name || r.run.id}</Link>
              </td>
              {view.keys.map((k) => (
                <td key={k} className="mono small">
                  {r.values[k]}
                </td>
              ))}
              <td>{r.metric === null ? r.run.status : num(r.metric, 3)}</td>
              <td>{r.test === null ? '—' : num(r.test, 3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <BarList
        title="Validation accuracy by trial"
        bars={view.rows
          .filter((r) => r.metric !== null)
          .map((r, i) => ({
            key: r.run.id,
            label: `#${r.trial} ${view.keys.map((k) => `${k}=${r.values[k]}`).join(' ')}`,
            value: r.metric!,
            display: num(r.metric!, 3),
            highlight: i === 0,
          }))}
        max={1}
      />
    </section>
  );
}

function Curves({ runs }: { runs: { id: string; label: string }[] }) {
  const series = useApi(
    (api, signal) => Promise.all(runs.map(async (r) => metricSeries(await api.get<unknown>(`/v1/runs/${enc(r.id)}/metrics`, undefined, signal)))),
    [runs.map((r) => r.id).join(',')],
  );
  if (!series.data) return series.error ? <ErrorBox error={series.error} /> : <Loading what="Loading metrics" />;
  const merged: Record<string, MetricPoint[]> = Object.assign({}, ...series.data);
  const groups = curveGroups(merged);
  if (groups.length === 0) return <p className="muted">No metrics logged.</p>;
  return (
    <div className="chart-grid">
      {groups.map((g) => {
        const lines: Series[] = runs.flatMap((r, i) =>
          g.keys.filter((k) => series.data![i]![k]).map((k) => ({ name: runs.length > 1 ? `${r.label}: ${k}` : k, points: toPoints(series.data![i]![k]!) })),
        );
        return (
          <LineChart key={g.title} title={g.title} series={lines} xLabel="epoch / step" testId={`curve-${g.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`} />
        );
      })}
    </div>
  );
}

export function RunPage({ id }: { id: string }) {
  const details = useApi((api, signal) => api.get<unknown>(`/v1/runs/${enc(id)}`, undefined, signal), [id]);
  if (!details.data) return details.error ? <ErrorBox error={details.error} /> : <Loading />;
  const { run, metrics } = runOf(details.data);
  return (
    <>
      <PageHeader title={`Run ${run.name || run.id}`} />
      <Facts
        items={[
          [
            'Id',
            <span key="i" className="mono">
              {run.id}
            </span>,
          ],
          ['Experiment', run.experiment ?? run.experimentId ?? '—'],
          ['Status', run.status],
          ['Dataset', run.datasetVersion ?? '—'],
          ['Started', dateTime(run.startedAt)],
          ['Ended', dateTime(run.endedAt ?? null)],
          ['Parent run', run.parentRunId ?? '—'],
        ]}
      />
      <h2>Curves</h2>
      <Curves runs={[{ id: run.id, label: run.name || run.id }]} />
      <div className="two-col">
        <section>
          <h2>Final metrics</h2>
          <KeyValues values={{ ...(run.summary ?? {}), ...metrics }} />
        </section>
        <section>
          <h2>Parameters</h2>
          <pre className="params">{JSON.stringify(run.params ?? {}, null, 2)}</pre>
        </section>
      </div>
    </>
  );
}

function KeyValues({ values }: { values: Record<string, number> }) {
  const entries = Object.entries(values);
  if (entries.length === 0) return <p className="muted">None.</p>;
  return (
    <table className="table numbers">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{num(v, 4)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface ComparisonRow {
  key: string;
  values: (string | number | null)[];
  differs: boolean;
}

export function ComparePage({ ids }: { ids: string[] }) {
  const cmp = useApi(
    (api, signal) => api.get<{ runs: Run[]; params: ComparisonRow[]; metrics: ComparisonRow[] }>('/v1/runs/compare', { ids: ids.join(',') }, signal),
    [ids.join(',')],
    { enabled: ids.length >= 2 },
  );
  if (ids.length < 2)
    return (
      <p>
        Choose two runs on the <Link href="/experiments">Experiments</Link> page.
      </p>
    );
  if (!cmp.data) return cmp.error ? <ErrorBox error={cmp.error} /> : <Loading />;
  const { runs, params, metrics } = cmp.data;
  const table = (title: string, rows: ComparisonRow[], testId: string) => (
    <section>
      <h2>{title}</h2>
      <table className="table numbers" data-testid={testId}>
        <thead>
          <tr>
            <th scope="col">{title === 'Parameters' ? 'parameter' : 'metric'}</th>
            {runs.map((r) => (
              <th key={r.id} scope="col">
                {r.name || r.id}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key} className={row.differs ? 'differs' : undefined}>
              <th scope="row">
                {row.key}
                {row.differs && <span className="visually-hidden"> (differs)</span>}
              </th>
              {row.values.map((v, i) => (
                <td key={i}>{typeof v === 'number' ? num(v, 4) : (v ?? '—')}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
  return (
    <>
      <PageHeader title="Compare runs" />
      <Curves runs={runs.map((r) => ({ id: r.id, label: r.name || r.id }))} />
      <p className="muted small">Rows whose values differ are highlighted.</p>
      <div className="two-col">
        {table('Metrics', metrics, 'compare-metrics')}
        {table('Parameters', params, 'compare-params')}
      </div>
    </>
  );
}
