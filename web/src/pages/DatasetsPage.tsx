// Dataset versions: the list, and one version's images per split × class with sample thumbnails per
// class (fetched with the token, shown through object URLs).
import { useState } from 'react';

import { countTable, type DatasetVersion, type Sample, sampleList } from '../api/catalog.js';
import { ErrorBox, Facts, Link, ListBody, Loading, PageHeader, TableHead } from '../components/ui.js';
import { useApi, useObjectUrl } from '../hooks/useApi.js';
import { className, dateTime, num } from '../lib/format.js';
import { hrefFor } from '../router.js';

const enc = encodeURIComponent;

function versionsOf(body: unknown): DatasetVersion[] {
  const b = body as { datasets?: DatasetVersion[]; versions?: DatasetVersion[] } | DatasetVersion[];
  return Array.isArray(b) ? b : (b.datasets ?? b.versions ?? []);
}

export function DatasetsPage() {
  const list = useApi((api, signal) => api.get<unknown>('/v1/datasets', undefined, signal), []);
  const versions = list.data ? versionsOf(list.data) : [];
  return (
    <>
      <PageHeader title="Datasets" />
      <ListBody loaded={list} count={versions.length} empty={<>No dataset versions yet (secondread data build).</>}>
        <table className="table" data-testid="datasets-table" aria-labelledby="page-title">
          <TableHead cols={['Version', 'Name', 'Status', 'Images', 'Created']} />
          <tbody>
            {versions.map((v) => (
              <tr key={v.id} data-testid="dataset-row">
                <td>
                  <Link href={hrefFor({ page: 'dataset', id: v.id })} className="mono">
                    {v.id}
                  </Link>
                </td>
                <td>{v.name ?? '—'}</td>
                <td>{v.status ?? '—'}</td>
                <td>{num(v.imageCount ?? countTable(v.counts).total)}</td>
                <td>{dateTime(v.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ListBody>
    </>
  );
}

function Thumbnail({ sample }: { sample: Sample }) {
  // The API names each sample's thumbnail URL; only a same-origin API path is fetched.
  const path = sample.thumbnail?.startsWith('/v1/') ? sample.thumbnail.split('?')[0]! : null;
  const img = useObjectUrl(path);
  const cls = sample.class ?? '';
  return (
    <figure className="thumb" data-testid="sample-thumbnail">
      {img.url ? (
        <img src={img.url} alt={`${className(cls)} sample ${sample.sha256.slice(0, 12)}${sample.split ? `, ${sample.split}` : ''}`} width={96} height={96} />
      ) : (
        <div className="thumb-empty" aria-hidden="true" />
      )}
      <figcaption className="mono small">
        {sample.sha256.slice(0, 10)}
        {sample.split ? ` · ${sample.split}` : ''}
      </figcaption>
    </figure>
  );
}

function Samples({ dataset, classes }: { dataset: string; classes: string[] }) {
  const [seed, setSeed] = useState(0);
  // One request: n samples of every class (the server draws them uniformly, by seed).
  const samples = useApi((api, signal) => api.get<unknown>(`/v1/datasets/${enc(dataset)}/samples`, { n: 4, seed }, signal), [dataset, seed]);
  const list = samples.data ? sampleList(samples.data) : [];
  return (
    <section aria-labelledby="samples-title">
      <div className="page-header">
        <h2 id="samples-title">Samples per class</h2>
        <button type="button" onClick={() => setSeed((x) => x + 1)} data-testid="samples-reshuffle">
          Other samples
        </button>
      </div>
      <ErrorBox error={samples.error} />
      {samples.data === null && !samples.error && <Loading what="Loading samples" />}
      <div className="samples-grid">
        {classes.map((c) => {
          const mine = list.filter((x) => x.class === c);
          return (
            <div key={c} className="class-samples" data-testid="class-samples" data-class={c}>
              <h3>
                {className(c)} <span className="muted small">{c}</span>
              </h3>
              <div className="thumbs">
                {mine.map((x) => (
                  <Thumbnail key={x.sha256} sample={x} />
                ))}
                {samples.data !== null && mine.length === 0 && <p className="muted">No samples.</p>}
              </div>
            </div>
          );
        })}
      </div>
    </section>
  );
}

interface Validation {
  ok: boolean;
  errors: number;
  warnings: number;
  duplicates?: number;
  leaks?: number;
  issues?: { level: string; code: string; message: string }[];
}

function ValidationSummary({ v }: { v: Validation }) {
  return (
    <section className="panel" aria-labelledby="validation-title" data-testid="dataset-validation">
      <h2 id="validation-title">Validation: {v.ok ? 'passed' : 'failed'}</h2>
      <Facts
        items={[
          ['Errors', num(v.errors)],
          ['Warnings', num(v.warnings)],
          ['Duplicates', num(v.duplicates)],
          ['Patient leaks across splits', num(v.leaks)],
        ]}
      />
      {v.issues && v.issues.length > 0 && (
        <ul>
          {v.issues.map((i, k) => (
            <li key={k}>
              <strong>{i.level}</strong> {i.code}: {i.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function DatasetPage({ id }: { id: string }) {
  const v = useApi((api, signal) => api.get<DatasetVersion & { version?: DatasetVersion }>(`/v1/datasets/${enc(id)}`, undefined, signal), [id]);
  const [showSamples, setShowSamples] = useState(true);
  if (!v.data) return v.error ? <ErrorBox error={v.error} /> : <Loading />;
  const d = v.data.version ?? v.data;
  const t = countTable(d.counts ?? v.data.counts);
  const validation = d.validation ?? v.data.validation ?? null;
  return (
    <>
      <PageHeader title={`Dataset ${d.name ?? d.id}`}>
        <button type="button" aria-pressed={showSamples} onClick={() => setShowSamples((x) => !x)}>
          {showSamples ? 'Hide samples' : 'Show samples'}
        </button>
      </PageHeader>
      <Facts
        items={[
          [
            'Version',
            <span key="v" className="mono">
              {d.id}
            </span>,
          ],
          ['Status', d.status ?? '—'],
          ['Images', num(d.imageCount ?? t.total)],
          ['Created', dateTime(d.createdAt)],
          ['Completed', dateTime(d.completedAt ?? null)],
        ]}
      />
      <h2>Images per split and class</h2>
      <div className="table-scroll">
        <table className="table numbers" data-testid="dataset-counts">
          <thead>
            <tr>
              <th scope="col">Class</th>
              {t.splits.map((s) => (
                <th key={s} scope="col">
                  {s}
                </th>
              ))}
              <th scope="col">total</th>
            </tr>
          </thead>
          <tbody>
            {t.classes.map((c) => (
              <tr key={c}>
                <th scope="row">
                  {className(c)} <span className="muted small">{c}</span>
                </th>
                {t.splits.map((s) => (
                  <td key={s}>{num(t.cell(s, c))}</td>
                ))}
                <td>{num(t.classTotal(c))}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">total</th>
              {t.splits.map((s) => (
                <td key={s}>{num(t.splitTotal(s))}</td>
              ))}
              <td>{num(t.total)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
      {validation && <ValidationSummary v={validation as unknown as Validation} />}
      {showSamples && d.status !== 'building' && <Samples dataset={d.id} classes={t.classes} />}
    </>
  );
}
