// Dataset versions: the list, and one version's images per split × class with sample thumbnails per
// class (fetched with the token, shown through object URLs).
import { useState } from 'react';
import { countTable, sampleList, type DatasetVersion } from '../api/catalog.js';
import { ErrorBox, Facts, Link, Loading, PageHeader } from '../components/ui.js';
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
      <ErrorBox error={list.error} />
      {list.data === null && !list.error ? (
        <Loading />
      ) : versions.length === 0 ? (
        <p className="muted">No dataset versions yet (secondread data build).</p>
      ) : (
        <table className="table" data-testid="datasets-table" aria-labelledby="page-title">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Images</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
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
      )}
    </>
  );
}

function Thumbnail({ dataset, sha256, cls }: { dataset: string; sha256: string; cls: string }) {
  const img = useObjectUrl(`/v1/datasets/${enc(dataset)}/samples/${enc(sha256)}/thumbnail`);
  return (
    <figure className="thumb">
      {img.url ? <img src={img.url} alt={`${className(cls)} sample ${sha256.slice(0, 12)}`} width={96} height={96} /> : <div className="thumb-empty" aria-hidden="true" />}
      <figcaption className="mono small">{sha256.slice(0, 10)}</figcaption>
    </figure>
  );
}

function ClassSamples({ dataset, cls }: { dataset: string; cls: string }) {
  const samples = useApi((api, signal) => api.get<unknown>(`/v1/datasets/${enc(dataset)}/samples`, { class: cls, n: 4 }, signal), [dataset, cls]);
  const list = samples.data ? sampleList(samples.data) : [];
  return (
    <div className="class-samples" data-testid="class-samples" data-class={cls}>
      <h3>
        {className(cls)} <span className="muted small">{cls}</span>
      </h3>
      <ErrorBox error={samples.error} />
      <div className="thumbs">
        {list.map((s) => (
          <Thumbnail key={s.sha256} dataset={dataset} sha256={s.sha256} cls={cls} />
        ))}
        {samples.data !== null && list.length === 0 && <p className="muted">No samples.</p>}
      </div>
    </div>
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
          ['Version', <span key="v" className="mono">{d.id}</span>],
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
      {validation && (
        <details>
          <summary>Validation report</summary>
          <pre>{JSON.stringify(validation, null, 2)}</pre>
        </details>
      )}
      {showSamples && (
        <section aria-labelledby="samples-title">
          <h2 id="samples-title">Samples per class</h2>
          <div className="samples-grid">
            {t.classes.map((c) => (
              <ClassSamples key={c} dataset={d.id} cls={c} />
            ))}
          </div>
        </section>
      )}
    </>
  );
}
