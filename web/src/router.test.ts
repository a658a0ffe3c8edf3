import { describe, expect, it } from 'vitest';

import { homeFor, mayOpen, navFor, sectionOf } from './nav.js';
import { hrefFor, matchRoute, type Route } from './router.js';

describe('routes', () => {
  it('every route survives hrefFor → matchRoute, ids with odd characters included', () => {
    const routes: Route[] = [
      { page: 'home' },
      { page: 'login' },
      { page: 'worklist' },
      { page: 'read', id: 'st_0mwt.1:2' },
      { page: 'adjudicate', id: 'a b?c#d' },
      { page: 'study', id: 'x' },
      { page: 'datasets' },
      { page: 'dataset', id: 'ds-3f9a' },
      { page: 'experiments' },
      { page: 'run', id: 'run_1' },
      { page: 'compare', ids: ['run_1', 'run_2'] },
      { page: 'models' },
      { page: 'model', name: 'cxr-oct' },
      { page: 'modelVersion', name: 'cxr-oct', version: 3 },
      { page: 'monitoring' },
      { page: 'drift' },
      { page: 'studies' },
      { page: 'adjudication' },
    ];
    for (const r of routes) {
      const url = new URL(hrefFor(r), 'http://x');
      expect(matchRoute(url.pathname, url.search)).toEqual(r);
    }
  });

  it('unknown or malformed paths are notFound', () => {
    for (const p of ['/nope', '/worklist/a/b', '/models/m/versions/0', '/models/m/versions/1.5', '/studies/%E0%A4%A', '/studies/a%2Fb']) {
      expect(matchRoute(p).page, p).toBe('notFound');
    }
    expect(matchRoute('/worklist/')).toEqual({ page: 'worklist' });
    expect(matchRoute('/experiments/compare')).toEqual({ page: 'compare', ids: [] });
  });
});

describe('navigation by role', () => {
  it('each role sees its pages; admin sees all', () => {
    expect(navFor('reader').map((n) => n.page)).toEqual(['worklist']);
    expect(navFor('adjudicator').map((n) => n.page)).toEqual(['adjudication', 'studies', 'monitoring', 'drift']);
    expect(navFor('ml-engineer').map((n) => n.page)).toEqual(['studies', 'datasets', 'experiments', 'models', 'monitoring', 'drift']);
    expect(navFor('admin')).toHaveLength(8);
    expect([homeFor('reader'), homeFor('adjudicator'), homeFor('ml-engineer')]).toEqual(['/worklist', '/adjudication', '/studies']);
  });

  it('pages below a section follow its roles', () => {
    expect(sectionOf('read')).toBe('worklist');
    expect(mayOpen('reader', 'read')).toBe(true);
    expect(mayOpen('reader', 'modelVersion')).toBe(false);
    expect(mayOpen('reader', 'study')).toBe(true);
    expect(mayOpen('adjudicator', 'adjudicate')).toBe(true);
    expect(mayOpen('ml-engineer', 'adjudicate')).toBe(false);
    expect(mayOpen('ml-engineer', 'compare')).toBe(true);
  });
});
