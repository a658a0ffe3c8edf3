// Which pages each role uses (the API enforces the same roles; the UI only hides what would be a 403).
import type { Role } from './api/types.js';
import type { Page } from './router.js';

export interface NavItem {
  page: Page;
  label: string;
  href: string;
  roles: readonly Role[];
}

export const NAV: readonly NavItem[] = [
  { page: 'worklist', label: 'Worklist', href: '/worklist', roles: ['reader', 'admin'] },
  { page: 'adjudication', label: 'Adjudication', href: '/adjudication', roles: ['adjudicator', 'admin'] },
  { page: 'studies', label: 'Studies', href: '/studies', roles: ['adjudicator', 'ml-engineer', 'admin'] },
  { page: 'datasets', label: 'Datasets', href: '/datasets', roles: ['ml-engineer', 'admin'] },
  { page: 'experiments', label: 'Experiments', href: '/experiments', roles: ['ml-engineer', 'admin'] },
  { page: 'models', label: 'Models', href: '/models', roles: ['ml-engineer', 'admin'] },
  { page: 'monitoring', label: 'Monitoring', href: '/monitoring', roles: ['adjudicator', 'ml-engineer', 'admin'] },
  { page: 'drift', label: 'Drift', href: '/drift', roles: ['adjudicator', 'ml-engineer', 'admin'] },
];

/** Pages reached from a list page (a study of the worklist, a run of the experiments, …) and their list. */
const PARENT: Partial<Record<Page, Page>> = {
  read: 'worklist',
  adjudicate: 'adjudication',
  study: 'studies',
  dataset: 'datasets',
  run: 'experiments',
  compare: 'experiments',
  model: 'models',
  modelVersion: 'models',
};

export function navFor(role: Role): NavItem[] {
  return NAV.filter((n) => n.roles.includes(role));
}

/** Where a role lands after signing in. */
export function homeFor(role: Role): string {
  return navFor(role)[0]?.href ?? '/';
}

/** The nav item a page belongs to (for aria-current). */
export function sectionOf(page: Page): Page {
  return PARENT[page] ?? page;
}

/** May this role open this page? Study pages are open to every role (the API decides what a reader sees). */
export function mayOpen(role: Role, page: Page): boolean {
  if (page === 'study' || page === 'home' || page === 'login' || page === 'notFound') return true;
  const item = NAV.find((n) => n.page === sectionOf(page));
  return item ? item.roles.includes(role) : false;
}
