// Small building blocks every page uses: links that navigate without reloading, error and loading
// states that screen readers announce, status badges, definition lists.
import type { AnchorHTMLAttributes, ReactNode } from 'react';

import { ApiError, describeError } from '../api/client.js';
import { navigate } from '../router.js';

/** An <a> that changes page through the history API (ctrl/cmd/middle-click still open a new tab). */
export function Link({ href, children, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return (
    <a
      href={href}
      {...rest}
      onClick={(e) => {
        rest.onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

export function ErrorBox({ error, testId }: { error: unknown; testId?: string }) {
  if (!error) return null;
  const requestId = error instanceof ApiError ? error.requestId : null;
  return (
    <div className="error" role="alert" data-testid={testId ?? 'error'}>
      {describeError(error)}
      {requestId && <span className="muted"> (request {requestId})</span>}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

const STATUS_TEXT: Record<string, string> = {
  awaiting_a: 'awaiting read A',
  awaiting_b: 'awaiting read B',
  auto_finalized: 'auto-finalized',
  second_read: 'sent to second read',
  adjudicated: 'adjudicated',
};

export function statusText(s: string): string {
  return STATUS_TEXT[s] ?? s.replace(/_/g, ' ');
}

export function Badge({ kind, children }: { kind?: string; children: ReactNode }) {
  return <span className={`badge badge-${kind ?? 'plain'}`}>{children}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <Badge kind={status}>{statusText(status)}</Badge>;
}

export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1 id="page-title">{title}</h1>
      {children && <div className="page-actions">{children}</div>}
    </div>
  );
}

/** A table's column headers (plain text). */
export function TableHead({ cols }: { cols: string[] }) {
  return (
    <thead>
      <tr>
        {cols.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** A list page's body: its error, "Loading…" until the first answer, `empty` when there is nothing, else the list. */
export function ListBody({
  loaded,
  count,
  empty,
  children,
}: {
  loaded: { data: unknown; error: unknown };
  count: number;
  empty: ReactNode;
  children: ReactNode;
}) {
  return (
    <>
      <ErrorBox error={loaded.error} />
      {loaded.data === null && !loaded.error ? <Loading /> : loaded.data === null ? null : count === 0 ? <p className="muted">{empty}</p> : children}
    </>
  );
}
