// All studies, newest first, filtered by state, a page at a time (oversight roles).
import { useState } from 'react';

import type { StudyView } from '../api/types.js';
import { Link, ListBody, PageHeader, StatusBadge, statusText, TableHead } from '../components/ui.js';
import { useApi } from '../hooks/useApi.js';
import { className, dateTime } from '../lib/format.js';
import { modalityName } from '../lib/labels.js';
import { hrefFor } from '../router.js';

const STATES = ['awaiting_a', 'awaiting_b', 'auto_finalized', 'adjudicated'];
const PAGE = 50;

export function StudiesPage() {
  const [status, setStatus] = useState('');
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  const before = pages.at(-1);
  const list = useApi((api, signal) => api.get<{ studies: StudyView[] }>('/v1/studies', { status, limit: PAGE, before }, signal), [status, before]);
  const studies = list.data?.studies ?? [];
  return (
    <>
      <PageHeader title="Studies">
        <label>
          State{' '}
          <select
            value={status}
            data-testid="studies-status"
            onChange={(e) => {
              setStatus(e.target.value);
              setPages([undefined]);
            }}
          >
            <option value="">all</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {statusText(s)}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      <ListBody loaded={list} count={studies.length} empty={<>No studies{status ? ` ${statusText(status)}` : ''}.</>}>
        <table className="table" data-testid="studies-table" aria-labelledby="page-title">
          <TableHead cols={['Study', 'Modality', 'Received', 'State', 'Read A', 'Model', 'Final']} />
          <tbody>
            {studies.map((s) => (
              <tr key={s.id} data-testid="studies-row">
                <td>
                  <Link href={hrefFor({ page: 'study', id: s.id })}>{s.id}</Link>
                  {s.priority && <span className="muted small"> priority</span>}
                </td>
                <td>{modalityName(s.modality)}</td>
                <td>{dateTime(s.createdAt)}</td>
                <td>
                  <StatusBadge status={s.status} />
                  {s.decision?.qa && <span className="muted small"> QA</span>}
                </td>
                <td>{s.reads.A ? className(s.reads.A.label) : '—'}</td>
                <td>{s.reads.model ? className(s.reads.model.top.class) : '—'}</td>
                <td>{s.finalLabel ? className(s.finalLabel) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ListBody>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={pages.length < 2} onClick={() => setPages((p) => p.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={studies.length < PAGE} onClick={() => setPages((p) => [...p, studies.at(-1)?.id])}>
          Older
        </button>
      </nav>
    </>
  );
}
