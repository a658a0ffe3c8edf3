// A worklist: studies awaiting read A (reader) or read B (adjudicator), priority first, then oldest —
// the server's order. Refreshed every 10 s; each row opens the study for reading.
import type { WorklistResponse } from '../api/types.js';
import { ErrorBox, Link, Loading, PageHeader, StatusBadge, TableHead } from '../components/ui.js';
import { useApi } from '../hooks/useApi.js';
import { dateTime } from '../lib/format.js';
import { modalityName } from '../lib/labels.js';
import { hrefFor } from '../router.js';

export function WorklistPage({ which }: { which: 'A' | 'B' }) {
  const list = useApi((api, signal) => api.get<WorklistResponse>(`/v1/worklists/${which}`, { limit: 200 }, signal), [which], { intervalMs: 10_000 });
  const title = which === 'A' ? 'Worklist — read A' : 'Adjudication queue — read B';
  const open = (id: string) => hrefFor(which === 'A' ? { page: 'read', id } : { page: 'adjudicate', id });
  const items = list.data?.items ?? [];
  return (
    <>
      <PageHeader title={title}>
        <button type="button" onClick={list.reload} data-testid="worklist-refresh" aria-label="Refresh the list">
          Refresh
        </button>
      </PageHeader>
      <ErrorBox error={list.error} />
      {list.data === null && !list.error ? (
        <Loading />
      ) : (
        <>
          <p className="muted" role="status" data-testid="worklist-count">
            {items.length === 0 ? 'Nothing waiting. The list refreshes every 10 s.' : `${items.length} ${items.length === 1 ? 'study' : 'studies'} waiting.`}
          </p>
          {items.length > 0 && (
            <table className="table" data-testid={`worklist-${which}`} aria-labelledby="page-title">
              <TableHead cols={['Study', 'Modality', 'Priority', 'Received', 'Status']} />
              <tbody>
                {items.map((it, i) => (
                  <tr key={it.id} data-testid="worklist-row" data-study-id={it.id} className={it.priority ? 'priority' : undefined}>
                    <td>
                      <Link
                        href={open(it.id)}
                        id={i === 0 ? 'worklist-first' : undefined}
                        data-testid="worklist-open"
                        aria-label={`Open study ${it.id}, ${modalityName(it.modality)}${it.priority ? ', priority' : ''}`}
                      >
                        {it.id}
                      </Link>
                    </td>
                    <td>{modalityName(it.modality)}</td>
                    <td>{it.priority ? <strong>priority</strong> : 'routine'}</td>
                    <td>{dateTime(it.createdAt)}</td>
                    <td>
                      <StatusBadge status={it.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </>
  );
}
