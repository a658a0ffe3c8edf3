// Drift (docs/drift.md): the recorded drift checks of every model — whether each detected drift and which tests
// fired, the smallest Holm-adjusted p-value over time, and the label-free accuracy estimate (CBPE) beside the
// realized agreement with reader A. Refreshed every 30 s; checks are run by `secondread drift check` or the API.
import type { DriftCheck } from '../api/types.js';
import { LineChart } from '../components/charts/LineChart.js';
import { Badge, ErrorBox, Loading, PageHeader } from '../components/ui.js';
import { useApi } from '../hooks/useApi.js';
import { percent } from '../lib/format.js';

const day = (t: number) => new Date(t).toISOString().slice(5, 16).replace('T', ' ');
const pv = (p: number) => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

/** One series per model (oldest first) of `value` over the checks' times. */
function perModel(checks: readonly DriftCheck[], value: (c: DriftCheck) => number | null, suffix = ''): { name: string; points: { x: number; y: number }[] }[] {
  const by = new Map<string, { x: number; y: number }[]>();
  for (const c of [...checks].reverse()) {
    const y = value(c);
    if (y === null) continue;
    const k = `${c.model} (${c.modality})${suffix}`;
    by.set(k, [...(by.get(k) ?? []), { x: Date.parse(c.createdAt), y }]);
  }
  return [...by].map(([name, points]) => ({ name, points }));
}

export function DriftPage() {
  const loaded = useApi((api, signal) => api.get<{ checks: DriftCheck[] }>('/v1/drift/checks', { limit: '100' }, signal), [], { intervalMs: 30_000 });
  const checks = loaded.data?.checks ?? [];
  return (
    <>
      <PageHeader title="Drift" />
      <p className="muted">
        Production windows tested against each model version&apos;s validation profile (KS on confidence and image statistics, chi-square on predicted classes,
        MMD on embeddings; Holm-corrected). Run a check with <code>secondread drift check &lt;model&gt;</code>.
      </p>
      {loaded.error ? <ErrorBox error={loaded.error} /> : null}
      {loaded.loading && !loaded.data ? <Loading what="Loading drift checks" /> : null}
      {loaded.data && checks.length === 0 ? <p data-testid="drift-empty">No drift checks yet.</p> : null}
      {checks.length > 0 && (
        <>
          <div className="charts">
            <LineChart
              title="Smallest adjusted p-value per check (drift at or below α)"
              testId="chart-drift-p"
              series={perModel(checks, (c) => (c.tests.length ? Math.min(...c.tests.map((t) => t.adjustedPValue)) : null))}
              yDomain={[0, 1]}
              formatX={day}
              formatY={(y) => y.toFixed(2)}
            />
            <LineChart
              title="Estimated accuracy (CBPE, label-free) and agreement with reader A"
              testId="chart-drift-cbpe"
              series={[...perModel(checks, (c) => c.estimatedAccuracy, ' estimated'), ...perModel(checks, (c) => c.realizedAgreement, ' agreement with A')]}
              yDomain={[0, 1]}
              formatX={day}
              formatY={(y) => percent(y, 0)}
            />
          </div>
          <table data-testid="drift-checks">
            <thead>
              <tr>
                <th>When</th>
                <th>Model</th>
                <th>Window</th>
                <th>Drift</th>
                <th>Tests (Holm-adjusted p)</th>
                <th>Estimated accuracy</th>
                <th>Agreement with A</th>
              </tr>
            </thead>
            <tbody>
              {checks.map((c) => (
                <tr key={c.id} data-testid="drift-check">
                  <td>{day(Date.parse(c.createdAt))}</td>
                  <td>
                    {c.model} v{c.version} ({c.modality})
                  </td>
                  <td>{c.window.observations} reads</td>
                  <td>{c.detected ? <Badge kind="drift">drift</Badge> : <Badge kind="no-drift">no drift</Badge>}</td>
                  <td className="small">
                    {c.tests.map((t) => (
                      <span key={t.test} className={t.detected ? 'strong' : 'muted'}>
                        {t.test} {pv(t.adjustedPValue)}{' '}
                      </span>
                    ))}
                    {c.skipped.map((s) => (
                      <span key={s.test} className="muted" title={s.reason}>
                        {s.test} skipped{' '}
                      </span>
                    ))}
                  </td>
                  <td>{percent(c.estimatedAccuracy)}</td>
                  <td>{c.realizedAgreement === null ? '—' : `${percent(c.realizedAgreement)} (${c.agreementReads})`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
