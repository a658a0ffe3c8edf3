// The UI's pages as URLs (history API; the server answers index.html for any of them). Pure
// functions (path ↔ route) plus a tiny hook — a router library would be more code than this.
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'home' }
  | { page: 'login' }
  | { page: 'worklist' }
  | { page: 'read'; id: string }
  | { page: 'adjudication' }
  | { page: 'adjudicate'; id: string }
  | { page: 'studies' }
  | { page: 'study'; id: string }
  | { page: 'datasets' }
  | { page: 'dataset'; id: string }
  | { page: 'experiments' }
  | { page: 'run'; id: string }
  | { page: 'compare'; ids: string[] }
  | { page: 'models' }
  | { page: 'model'; name: string }
  | { page: 'modelVersion'; name: string; version: number }
  | { page: 'monitoring' }
  | { page: 'drift' }
  | { page: 'notFound'; path: string };

export type Page = Route['page'];

function decode(segment: string): string | null {
  try {
    const s = decodeURIComponent(segment);
    return s.length > 0 && !s.includes('/') ? s : null;
  } catch {
    return null;
  }
}

/** The route of a location (pathname + search); unknown paths are `notFound`. */
export function matchRoute(pathname: string, search = ''): Route {
  const parts = pathname.split('/').filter((p) => p !== '');
  const seg = parts.map(decode);
  if (seg.some((s) => s === null)) return { page: 'notFound', path: pathname };
  const [a, b, c, d] = seg as string[];
  const n = parts.length;
  if (n === 0) return { page: 'home' };
  if (n === 1) {
    const simple: Record<string, Route> = {
      login: { page: 'login' },
      worklist: { page: 'worklist' },
      adjudication: { page: 'adjudication' },
      studies: { page: 'studies' },
      datasets: { page: 'datasets' },
      experiments: { page: 'experiments' },
      models: { page: 'models' },
      monitoring: { page: 'monitoring' },
      drift: { page: 'drift' },
    };
    if (a! in simple) return simple[a!]!;
  }
  if (n === 2) {
    if (a === 'worklist') return { page: 'read', id: b! };
    if (a === 'adjudication') return { page: 'adjudicate', id: b! };
    if (a === 'studies') return { page: 'study', id: b! };
    if (a === 'datasets') return { page: 'dataset', id: b! };
    if (a === 'models') return { page: 'model', name: b! };
    if (a === 'experiments' && b === 'compare') {
      const ids = (new URLSearchParams(search).get('ids') ?? '').split(',').filter((x) => x !== '');
      return { page: 'compare', ids };
    }
  }
  if (n === 3 && a === 'experiments' && b === 'runs') return { page: 'run', id: c! };
  if (n === 4 && a === 'models' && c === 'versions' && /^[1-9]\d{0,8}$/.test(d!)) return { page: 'modelVersion', name: b!, version: Number(d) };
  return { page: 'notFound', path: pathname };
}

const enc = encodeURIComponent;

/** The URL of a route (matchRoute(hrefFor(r)) is r). */
export function hrefFor(r: Route): string {
  switch (r.page) {
    case 'home':
      return '/';
    case 'read':
      return `/worklist/${enc(r.id)}`;
    case 'adjudicate':
      return `/adjudication/${enc(r.id)}`;
    case 'study':
      return `/studies/${enc(r.id)}`;
    case 'dataset':
      return `/datasets/${enc(r.id)}`;
    case 'run':
      return `/experiments/runs/${enc(r.id)}`;
    case 'compare':
      return `/experiments/compare?ids=${r.ids.map(enc).join(',')}`;
    case 'model':
      return `/models/${enc(r.name)}`;
    case 'modelVersion':
      return `/models/${enc(r.name)}/versions/${r.version}`;
    case 'notFound':
      return r.path;
    default:
      return `/${r.page}`;
  }
}

const NAVIGATE = 'secondread:navigate';

/** Goes to a page without reloading (pushState), or replaces the current history entry. */
export function navigate(to: string | Route, o: { replace?: boolean } = {}): void {
  const url = typeof to === 'string' ? to : hrefFor(to);
  if (o.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(NAVIGATE));
}

/** The current route; re-renders on navigate() and on the browser's back/forward. */
export function useRoute(): Route {
  const read = () => matchRoute(window.location.pathname, window.location.search);
  const [route, setRoute] = useState<Route>(read);
  useEffect(() => {
    const update = () => setRoute(read());
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return route;
}
