// The model registry: models and their aliases, a model's versions and alias history with promote and
// rollback (ml-engineer, admin — every move needs a reason and is recorded with who and when), its staged
// rollout with the change-protocol verdicts (RolloutPanel), and a version's model card with its per-class
// figures and change-protocol reports.
import { type FormEvent, useState } from 'react';

import type { AliasEvent, ClassFigures, ModelCard, SplitFigures } from '../api/catalog.js';
import { type Alias, ALIASES, type ModelDetail, type ModelSummary } from '../api/types.js';
import { useSession } from '../auth/SessionContext.js';
import { BarList } from '../components/charts/BarList.js';
import { PolicyPanel } from '../components/PolicyPanel.js';
import { CriteriaTable, RolloutPanel } from '../components/RolloutPanel.js';
import { ErrorBox, Facts, Link, ListBody, Loading, PageHeader, TableHead } from '../components/ui.js';
import { useApi } from '../hooks/useApi.js';
import { className, dateTime, num, percent } from '../lib/format.js';
import { hrefFor } from '../router.js';

const enc = encodeURIComponent;
const DEPLOYERS = ['ml-engineer', 'admin'];

function AliasList({ aliases }: { aliases: Partial<Record<Alias, number>> }) {
  const set = ALIASES.filter((a) => aliases[a] !== undefined);
  if (set.length === 0) return <span className="muted">none</span>;
  return (
    <>
      {set.map((a) => (
        <span key={a} className={`badge badge-alias-${a}`}>
          {a} → v{aliases[a]}
        </span>
      ))}
    </>
  );
}

export function ModelsPage() {
  const list = useApi((api, signal) => api.get<{ models: ModelSummary[] }>('/v1/models', undefined, signal), []);
  const models = list.data?.models ?? [];
  return (
    <>
      <PageHeader title="Models" />
      <ListBody loaded={list} count={models.length} empty={<>No registered models (secondread models register / import).</>}>
        <table className="table" data-testid="models-table" aria-labelledby="page-title">
          <TableHead cols={['Model', 'Latest version', 'Aliases', 'Registered']} />
          <tbody>
            {models.map((m) => (
              <tr key={m.name} data-testid="model-row">
                <td>
                  <Link href={hrefFor({ page: 'model', name: m.name })}>{m.name}</Link>
                </td>
                <td>v{m.latestVersion}</td>
                <td>
                  <AliasList aliases={m.aliases} />
                </td>
                <td>{dateTime(m.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ListBody>
    </>
  );
}

function historyOf(body: unknown): AliasEvent[] {
  const b = body as { history?: AliasEvent[]; events?: AliasEvent[] } | AliasEvent[];
  const list = Array.isArray(b) ? b : (b.history ?? b.events ?? []);
  return [...list].sort((x, y) => y.seq - x.seq);
}

function AliasControls({ model, onChanged }: { model: ModelDetail; onChanged: () => void }) {
  const { api } = useSession();
  const versions = model.versions.map((v) => v.version).sort((a, b) => b - a);
  const [alias, setAlias] = useState<Alias>('staging');
  const [version, setVersion] = useState<number>(versions[0] ?? 1);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  const run = async (what: string, call: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await call();
      setDone(what);
      setReason('');
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const promote = (e: FormEvent) => {
    e.preventDefault();
    void run(`${alias} now points at v${version}.`, () => api.post(`/v1/models/${enc(model.name)}/aliases/${alias}`, { version, reason: reason.trim() }));
  };
  const rollback = (a: Alias) =>
    void run(`${a} rolled back.`, () => api.post(`/v1/models/${enc(model.name)}/aliases/${a}/rollback`, { reason: reason.trim() }));
  const noReason = reason.trim() === '';

  return (
    <section className="panel" aria-labelledby="deploy-title">
      <h2 id="deploy-title">Promote or roll back</h2>
      <form onSubmit={promote} data-testid="promote-form" className="inline-form">
        <label>
          Alias{' '}
          <select value={alias} onChange={(e) => setAlias(e.target.value as Alias)} data-testid="promote-alias" id="promote-alias">
            {ALIASES.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          Version{' '}
          <select value={version} onChange={(e) => setVersion(Number(e.target.value))} data-testid="promote-version" id="promote-version">
            {versions.map((v) => (
              <option key={v} value={v}>
                v{v}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          Reason (recorded){' '}
          <input
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            required
            maxLength={500}
            data-testid="promote-reason"
            id="promote-reason"
            placeholder="why this change"
          />
        </label>
        <button type="submit" className="primary" disabled={busy || noReason} data-testid="promote-button" id="promote-button">
          Promote
        </button>
      </form>
      <div className="rollbacks">
        {ALIASES.filter((a) => model.aliases[a] !== undefined).map((a) => (
          <button
            key={a}
            type="button"
            disabled={busy || noReason}
            onClick={() => rollback(a)}
            data-testid={`rollback-button-${a}`}
            aria-label={`Roll back ${a} to its previous version`}
          >
            Roll back {a}
          </button>
        ))}
        {noReason && <span className="muted small">A reason is required for every change.</span>}
      </div>
      {done && (
        <p role="status" className="notice" data-testid="alias-changed">
          {done}
        </p>
      )}
      <ErrorBox error={error} testId="alias-error" />
    </section>
  );
}

export function ModelPage({ name }: { name: string }) {
  const { session } = useSession();
  const model = useApi((api, signal) => api.get<ModelDetail>(`/v1/models/${enc(name)}`, undefined, signal), [name]);
  const history = useApi((api, signal) => api.get<unknown>(`/v1/models/${enc(name)}/aliases/history`, undefined, signal), [name]);
  const reload = () => {
    model.reload();
    history.reload();
  };
  if (!model.data) return model.error ? <ErrorBox error={model.error} /> : <Loading />;
  const m = model.data;
  const events = history.data ? historyOf(history.data) : [];
  return (
    <>
      <PageHeader title={`Model ${m.name}`} />
      <p>
        Aliases: <AliasList aliases={m.aliases} />
      </p>
      {DEPLOYERS.includes(session?.user.role ?? '') && <AliasControls model={m} onChanged={reload} />}
      <RolloutPanel name={m.name} onChanged={reload} />
      <h2>Versions</h2>
      <table className="table" data-testid="model-versions">
        <TableHead cols={['Version', 'Source', 'Dataset', 'Classes', 'Input', 'Registered']} />
        <tbody>
          {[...m.versions]
            .sort((a, b) => b.version - a.version)
            .map((v) => (
              <tr key={v.version}>
                <td>
                  <Link href={hrefFor({ page: 'modelVersion', name: m.name, version: v.version })}>v{v.version} — model card</Link>
                </td>
                <td>
                  {v.source}
                  {v.runId && (
                    <>
                      {' '}
                      (<Link href={hrefFor({ page: 'run', id: v.runId })}>run</Link>)
                    </>
                  )}
                </td>
                <td className="mono small">{v.datasetVersion ?? '—'}</td>
                <td>{v.classes.length}</td>
                <td>{v.inputSize} px</td>
                <td>
                  {dateTime(v.createdAt)} by {v.createdBy}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
      <h2>Alias history</h2>
      <ErrorBox error={history.error} />
      {events.length === 0 ? (
        <p className="muted">{history.data ? 'No alias changes yet.' : history.error ? '' : 'Loading…'}</p>
      ) : (
        <table className="table" data-testid="alias-history">
          <TableHead cols={['#', 'When', 'Alias', 'Change', 'Who', 'Why']} />
          <tbody>
            {events.map((e) => (
              <tr key={e.seq}>
                <td>{e.seq}</td>
                <td>{dateTime(e.at)}</td>
                <td>{e.alias}</td>
                <td>
                  {e.action === 'rollback' ? 'rolled back' : 'set'}: {e.previousVersion !== null ? `v${e.previousVersion}` : 'none'} → v{e.version}
                </td>
                <td>{e.by}</td>
                <td>{e.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Version answers: `{…, aliases, card}` (or the card itself). */
function cardOf(body: unknown): { card: ModelCard; aliases: string[] } {
  const b = body as { card?: ModelCard; aliases?: unknown } & ModelCard;
  return { card: b.card ?? b, aliases: Array.isArray(b.aliases) ? (b.aliases as string[]) : [] };
}

export function ModelVersionPage({ name, version }: { name: string; version: number }) {
  const v = useApi((api, signal) => api.get<unknown>(`/v1/models/${enc(name)}/versions/${version}`, undefined, signal), [name, version]);
  if (!v.data) return v.error ? <ErrorBox error={v.error} /> : <Loading />;
  const { card, aliases } = cardOf(v.data);
  const perClass: ClassFigures[] = card.metrics?.perClass ?? [];
  const overall: SplitFigures[] = card.metrics?.overall ?? [];
  return (
    <>
      <PageHeader title={`${name} v${version} — model card`}>
        <Link href={hrefFor({ page: 'model', name })} className="button">
          All versions
        </Link>
      </PageHeader>
      <Facts
        items={[
          ['Registered', `${dateTime(card.createdAt)} by ${card.createdBy ?? '—'}`],
          ['Aliases now', aliases.join(', ') || 'none'],
          ['Source', card.source ?? '—'],
          [
            'Run',
            card.lineage?.runId ? (
              <Link key="r" href={hrefFor({ page: 'run', id: card.lineage.runId })}>
                {card.lineage.runId}
              </Link>
            ) : (
              '—'
            ),
          ],
          ['Dataset', card.lineage?.datasetVersion ?? '—'],
          ['Classes', (card.model?.classes ?? []).join(', ') || '—'],
          ['Temperature', card.calibration ? num(card.calibration.temperature, 3) : '—'],
          ['ECE (calibrated / raw)', card.calibration ? `${num(card.calibration.ece, 4)} / ${num(card.calibration.eceUncalibrated, 4)}` : '—'],
          ['Notes', card.notes ?? '—'],
        ]}
      />
      {card.intendedUse && <p>{card.intendedUse}</p>}
      <h2>Figures per split</h2>
      {overall.length === 0 ? (
        <p className="muted">No evaluation figures in the card.</p>
      ) : (
        <table className="table numbers" data-testid="card-overall">
          <TableHead cols={['Split', 'Images', 'Accuracy', 'Macro F1', 'Macro AUC', 'NLL', 'ECE']} />
          <tbody>
            {overall.map((s) => (
              <tr key={s.split}>
                <th scope="row">{s.split}</th>
                <td>{num(s.count)}</td>
                <td>{percent(s.accuracy)}</td>
                <td>{num(s.macroF1, 3)}</td>
                <td>{num(s.macroAuc, 3)}</td>
                <td>{num(s.nll, 3)}</td>
                <td>{num(s.ece, 4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Per class{card.metrics?.perClassSplit ? ` (${card.metrics.perClassSplit})` : ''}</h2>
      {perClass.length === 0 ? (
        <p className="muted">No per-class figures.</p>
      ) : (
        <div className="two-col">
          <table className="table numbers" data-testid="card-per-class">
            <TableHead cols={['Class', 'Precision', 'Recall', 'F1', 'AUC', 'Support']} />
            <tbody>
              {perClass.map((c) => (
                <tr key={c.class}>
                  <th scope="row">{className(c.class)}</th>
                  <td>{num(c.precision, 3)}</td>
                  <td>{num(c.recall, 3)}</td>
                  <td>{num(c.f1, 3)}</td>
                  <td>{num(c.auc, 3)}</td>
                  <td>{num(c.support)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <BarList title="F1 per class" max={1} bars={perClass.map((c) => ({ label: className(c.class), value: c.f1 ?? 0, display: num(c.f1, 3) }))} />
        </div>
      )}
      <h2>Decision policy</h2>
      <PolicyPanel name={name} version={version} />
      {(card.changeProtocol ?? []).map((r) => (
        <section key={r.reportId} data-testid="card-change-protocol">
          <h2>
            Change protocol {r.protocol.name} v{r.protocol.version}: {r.passed ? 'passed' : 'rejected'}
          </h2>
          <p className="small">
            {dateTime(r.evaluatedAt)} by {r.evaluatedBy}, against {r.baselineVersion === null ? 'no production version' : `production v${r.baselineVersion}`} on
            dataset <span className="mono">{r.datasetVersion}</span>
          </p>
          <CriteriaTable criteria={r.criteria} />
        </section>
      ))}
      {card.limitations && card.limitations.length > 0 && (
        <>
          <h2>Limitations</h2>
          <ul>
            {card.limitations.map((l) => (
              <li key={l}>{l}</li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
