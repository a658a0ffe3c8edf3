// The shell: a skip link, the role's navigation, who is signed in, and the page of the current URL.
import { type ReactNode, useEffect, useRef } from 'react';

import { useSession } from './auth/SessionContext.js';
import { Link, PageHeader } from './components/ui.js';
import { homeFor, mayOpen, navFor, sectionOf } from './nav.js';
import { DatasetPage, DatasetsPage } from './pages/DatasetsPage.js';
import { DriftPage } from './pages/DriftPage.js';
import { ComparePage, ExperimentsPage, RunPage } from './pages/ExperimentsPage.js';
import { LoginPage } from './pages/LoginPage.js';
import { ModelPage, ModelsPage, ModelVersionPage } from './pages/ModelsPage.js';
import { MonitoringPage } from './pages/MonitoringPage.js';
import { ReadPage } from './pages/ReadPage.js';
import { StudiesPage } from './pages/StudiesPage.js';
import { StudyPage } from './pages/StudyPage.js';
import { WorklistPage } from './pages/WorklistPage.js';
import { hrefFor, navigate, type Route, useRoute } from './router.js';

function page(r: Route): ReactNode {
  switch (r.page) {
    case 'worklist':
      return <WorklistPage which="A" />;
    case 'read':
      return <ReadPage key={r.id} id={r.id} as="A" />;
    case 'adjudication':
      return <WorklistPage which="B" />;
    case 'adjudicate':
      return <ReadPage key={r.id} id={r.id} as="B" />;
    case 'studies':
      return <StudiesPage />;
    case 'study':
      return <StudyPage key={r.id} id={r.id} />;
    case 'datasets':
      return <DatasetsPage />;
    case 'dataset':
      return <DatasetPage key={r.id} id={r.id} />;
    case 'experiments':
      return <ExperimentsPage />;
    case 'run':
      return <RunPage key={r.id} id={r.id} />;
    case 'compare':
      return <ComparePage ids={r.ids} />;
    case 'models':
      return <ModelsPage />;
    case 'model':
      return <ModelPage key={r.name} name={r.name} />;
    case 'modelVersion':
      return <ModelVersionPage key={`${r.name}@${r.version}`} name={r.name} version={r.version} />;
    case 'monitoring':
      return <MonitoringPage />;
    case 'drift':
      return <DriftPage />;
    default:
      return (
        <>
          <PageHeader title="Page not found" />
          <p>
            Nothing lives at <code>{hrefFor(r)}</code>. <Link href="/">Go to your start page</Link>.
          </p>
        </>
      );
  }
}

export function App() {
  const { session, signOut } = useSession();
  const route = useRoute();
  const mainRef = useRef<HTMLElement | null>(null);

  // Signed out: every page but login goes to login; signed in: login and / go to the role's start page.
  const redirect = !session ? (route.page === 'login' ? null : '/login') : route.page === 'login' || route.page === 'home' ? homeFor(session.user.role) : null;
  useEffect(() => {
    if (redirect) navigate(redirect, { replace: true });
  }, [redirect]);

  // A new page moves focus to its content, so keyboard and screen-reader users start there.
  const path = hrefFor(route);
  useEffect(() => {
    mainRef.current?.focus({ preventScroll: true });
    document.title = `secondread — ${route.page}`;
  }, [path, route.page]);

  if (redirect) return null;
  if (!session) return <LoginPage />;
  const role = session.user.role;
  const section = sectionOf(route.page);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href={homeFor(role)} className="brand" aria-label="secondread home">
          secondread
        </Link>
        <nav aria-label="Main" data-testid="main-nav">
          <ul>
            {navFor(role).map((n) => (
              <li key={n.page}>
                <Link href={n.href} aria-current={section === n.page ? 'page' : undefined} data-testid={`nav-${n.page}`}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who" data-testid="current-user">
          <span>
            {session.user.name} <span className="muted">({role})</span>
          </span>
          <button type="button" onClick={() => void signOut()} data-testid="logout" id="logout">
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        {mayOpen(role, route.page) ? (
          page(route)
        ) : (
          <>
            <PageHeader title="Not for your role" />
            <p>
              The {route.page} page is not available to the {role} role. <Link href={homeFor(role)}>Go to your start page</Link>.
            </p>
          </>
        )}
      </main>
    </>
  );
}
