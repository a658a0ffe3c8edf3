// A model's staged rollout (docs/rollout.md) on its page: the canary's steps and share, the guards of the current
// step as the server judges them now, the buttons of ML engineers and admins (start the staging version's canary,
// judge the step now, roll back with a reason), and every change-protocol verdict of the model's versions.
import { useState } from 'react';

import { ApiError } from '../api/client.js';
import type { CriterionResult, ProtocolReport, RolloutStatus } from '../api/rollout.js';
import { useSession } from '../auth/SessionContext.js';
import { useApi } from '../hooks/useApi.js';
import { dateTime } from '../lib/format.js';
import { ErrorBox, TableHead } from './ui.js';

const enc = encodeURIComponent;
const share = (w: number): string => `${+(w * 100).toFixed(2)}%`;
const DEPLOYERS = ['ml-engineer', 'admin'];

/** The criteria of one report, one line each. */
export function CriteriaTable({ criteria, testId }: { criteria: CriterionResult[]; testId?: string }) {
  return (
    <table className="table" data-testid={testId}>
      <TableHead cols={['Criterion', 'Split', 'Result', 'Figures']} />
      <tbody>
        {criteria.map((c, i) => (
          <tr key={i}>
            <td>{c.criterion}</td>
            <td>{c.split ?? '—'}</td>
            <td>{c.passed ? 'pass' : <strong>fail</strong>}</td>
            <td className="small">{c.summary}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RolloutPanel({ name, onChanged }: { name: string; onChanged: () => void }) {
  const { api, session } = useSession();
  const status = useApi(
    (a, signal) =>
      a.get<RolloutStatus>(`/v1/models/${enc(name)}/rollout`, undefined, signal).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return null; // never had a rollout
        throw err;
      }),
    [name],
  );
  const reports = useApi((a, signal) => a.get<{ reports: ProtocolReport[] }>(`/v1/models/${enc(name)}/protocol-reports`, undefined, signal), [name]);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const deployer = DEPLOYERS.includes(session?.user.role ?? '');

  const run = async (what: (body: unknown) => string, call: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      setDone(what(await call()));
      setReason('');
      status.reload();
      reports.reload();
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const s = status.data;
  const r = s?.rollout;
  const active = r?.status === 'active';
  return (
    <section className="panel" aria-labelledby="rollout-title" data-testid="rollout-panel">
      <h2 id="rollout-title">Staged rollout</h2>
      <ErrorBox error={status.error} />
      {status.loading && !s && !status.error && <p className="muted">Loading…</p>}
      {!status.loading && !s && !status.error && (
        <p className="muted">No rollout yet: a candidate that passes the change protocol goes to staging, then to a canary.</p>
      )}
      {r && (
        <>
          <p data-testid="rollout-summary">
            v{r.candidateVersion} against production v{r.baselineVersion}: <strong>{r.status.replace('_', ' ')}</strong>
            {active ? ` — canary at ${share(r.weight)} since ${dateTime(r.stepStartedAt)}` : r.endedAt ? ` ${dateTime(r.endedAt)}: ${r.endedReason ?? ''}` : ''}
          </p>
          <p className="small">
            Steps:{' '}
            {r.steps.map((w, i) => (
              <span key={i}>
                {i > 0 && ' → '}
                {i === r.step && active ? <strong>{share(w)}</strong> : share(w)}
              </span>
            ))}{' '}
            (the last is promotion) · started {dateTime(r.createdAt)} by {r.startedBy}
          </p>
          {s.judgement && (
            <>
              <p>
                Gate: <strong data-testid="rollout-decision">{s.judgement.decision}</strong>
                {s.judgement.reasons.length > 0 && ` — ${s.judgement.reasons.join('; ')}`}
              </p>
              <table className="table" data-testid="rollout-guards">
                <TableHead cols={['Guard', 'Status', 'Figures']} />
                <tbody>
                  {s.judgement.guards.map((g) => (
                    <tr key={g.guard}>
                      <td>{g.guard}</td>
                      <td>{g.status === 'degraded' ? <strong>degraded</strong> : g.status}</td>
                      <td className="small">{g.message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
      {deployer && (
        <div className="inline-form">
          <button
            type="button"
            disabled={busy || active}
            data-testid="rollout-start"
            onClick={() =>
              void run(
                (b) => `Canary started at ${share((b as { weight: number }).weight)}.`,
                () => api.post(`/v1/models/${enc(name)}/rollout`, {}),
              )
            }
          >
            Start canary of staging
          </button>
          <button
            type="button"
            disabled={busy || !active}
            data-testid="rollout-step"
            onClick={() =>
              void run(
                (b) => `Gate: ${(b as { action: string }).action}.`,
                () => api.post(`/v1/models/${enc(name)}/rollout/step`, {}),
              )
            }
          >
            Judge step now
          </button>
          <label className="grow">
            Reason <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} data-testid="rollout-reason" placeholder="why roll back" />
          </label>
          <button
            type="button"
            disabled={busy || !active || reason.trim() === ''}
            data-testid="rollout-rollback"
            onClick={() =>
              void run(
                () => 'Canary rolled back.',
                () => api.post(`/v1/models/${enc(name)}/rollout/rollback`, { reason: reason.trim() }),
              )
            }
          >
            Roll back canary
          </button>
        </div>
      )}
      {done && (
        <p role="status" className="notice" data-testid="rollout-changed">
          {done}
        </p>
      )}
      <ErrorBox error={error} testId="rollout-error" />
      <h3>Change-protocol reports</h3>
      <ErrorBox error={reports.error} />
      {reports.data && reports.data.reports.length === 0 && <p className="muted">No version has been evaluated against a change protocol.</p>}
      {reports.data && reports.data.reports.length > 0 && (
        <table className="table" data-testid="protocol-reports">
          <TableHead cols={['When', 'Version', 'Against', 'Protocol', 'Verdict', 'Failed criteria', 'By']} />
          <tbody>
            {reports.data.reports.map((p) => (
              <tr key={p.id}>
                <td>{dateTime(p.createdAt)}</td>
                <td>v{p.version}</td>
                <td>{p.baselineVersion === null ? '—' : `production v${p.baselineVersion}`}</td>
                <td>
                  {p.protocol.name} v{p.protocol.version}
                </td>
                <td>{p.passed ? 'passed → staging' : <strong>rejected</strong>}</td>
                <td className="small">{p.failures.join('; ') || '—'}</td>
                <td>{p.createdBy}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
