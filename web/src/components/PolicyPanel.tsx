// The decision policy in force for a model version, with what its fit promises: the false-clear bound, the
// confidence it holds at out of sample (Learn then Test) or that it holds only on the fitting split
// (empirical), the upper bound reached, and the second-review reduction the guarantee cost (docs/policy.md).
import { inForceFor, type Policy, type PolicyFitFigures, policyFitFigures, type PolicySummary } from '../api/policy.js';
import { useApi } from '../hooks/useApi.js';
import { dateTime, num, percent } from '../lib/format.js';
import { ErrorBox, Facts, Loading } from './ui.js';

const enc = encodeURIComponent;

function fitFacts(f: PolicyFitFigures): [string, string][] {
  const rows: [string, string][] = [['False-clear bound', `≤ ${percent(f.bound, 2)} of auto-finalized studies`]];
  if (f.method === 'ltt') {
    rows.push(['Guarantee', `holds out of sample with probability ≥ ${percent(f.confidence, 0)} (Learn then Test: exact binomial tests in a fixed sequence)`]);
    rows.push([
      'Upper bound reached',
      f.certified
        ? `${percent(f.upperBound, 2)} (Clopper–Pearson ${percent(f.confidence, 0)}; ${num(f.testFalseClears)} false clears of ${num(f.testAutoFinalized)} clears on ${num(f.testStudies)} held-out studies)`
        : 'none: nothing could be certified',
    ]);
  } else {
    rows.push(['Guarantee', 'none: empirical fit, within the bound on the fitting split only (out of sample it is often above)']);
  }
  rows.push(['Fitted on', `${num(f.studies)} studies`]);
  rows.push(['Second-review reduction', `${percent(f.reduction, 1)} at a false-clear rate of ${percent(f.falseClearRate, 2)} on the fitting split`]);
  if (f.method === 'ltt' && f.empiricalReduction !== null)
    rows.push([
      'Price of the guarantee',
      `${num(f.price === null ? null : 100 * f.price, 1)} points of reduction: the empirical fit would clear ${percent(f.empiricalReduction, 1)} (at ${percent(f.empiricalFalseClearRate, 2)} in sample, no guarantee)`,
    ]);
  return rows;
}

export function PolicyPanel({ name, version }: { name: string; version: number }) {
  const loaded = useApi(
    async (api, signal) => {
      const { policies } = await api.get<{ policies: PolicySummary[] }>('/v1/policies', { model: name }, signal);
      const current = inForceFor(policies, name, version);
      return current ? api.get<Policy>(`/v1/policies/${enc(current.id)}`, undefined, signal) : null;
    },
    [name, version],
  );
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  if (loaded.loading && !loaded.data) return <Loading what="Loading the policy" />;
  const p = loaded.data;
  if (!p)
    return (
      <p className="muted" data-testid="policy-none">
        No policy in force for this version: every study goes to reader B. Fit one with{' '}
        <code>
          secondread policy fit --model {name}:{version}
        </code>
        .
      </p>
    );
  const f = policyFitFigures(p.report);
  const classes = Object.keys(p.thresholds).length;
  return (
    <div data-testid="policy-panel">
      {f && !f.certified && (
        <p className="notice" role="alert">
          Nothing certified: no thresholds could be shown to keep the false-clear rate within {percent(f.bound, 2)} at {percent(f.confidence, 0)} confidence on
          this split, so this policy clears nothing. A larger validation split, a higher bound or a lower confidence would.
        </p>
      )}
      <Facts
        items={[
          ['Policy', `${p.id}, version ${p.version}, ${dateTime(p.createdAt)} by ${p.createdBy}`],
          [
            'Thresholds',
            classes
              ? `${classes} classes: ${Object.entries(p.thresholds)
                  .map(([c, t]) => `${c} ≥ ${t.toFixed(4)}`)
                  .join(', ')}`
              : 'none: nothing is auto-finalized',
          ],
          ['QA sample', `${percent(p.qaFraction, 1)} of would-be clears still go to B`],
          ['Always double-read', p.alwaysDoubleRead.join(', ') || 'none'],
          ...(f ? fitFacts(f) : [['Fit', 'no fit report with this policy'] as [string, string]]),
        ]}
      />
    </div>
  );
}
