// The route table and the main navigation. A new screen adds its route
// here (the first match wins) and, if people reach it from the header, a
// NAV entry; an entry with `shows` appears only to the people it names.

import type { JSX } from 'preact';
import type { User } from './api';
import { AccountPage } from './account/accountpage';
import { SetupPage } from './account/setup';
import { AdminPage, administers } from './admin/adminpage';
import { AlertsPage } from './alerts/alertspage';
import { AuditPage } from './audit/auditpage';
import { CaseListPage } from './cases/caselist';
import { CasePage } from './cases/casepage';
import { isCaseTab } from './cases/casetabs';
import { ItemAccessPage } from './evidence/accesslog';
import { EvidencePage } from './evidence/evidencepage';
import { Landing } from './leadership/landing';
import { PortfolioPage } from './leadership/portfolio';
import { SitrepPage } from './leadership/sitreppage';
import { MyWorkPage } from './tasks/mywork';
import { Link, match } from './ui';

interface Route {
  pattern: string;
  render: (params: Record<string, string>) => JSX.Element;
}

export const ROUTES: Route[] = [
  { pattern: '/', render: () => <Landing /> },
  { pattern: '/work', render: () => <MyWorkPage /> },
  { pattern: '/portfolio', render: () => <PortfolioPage /> },
  { pattern: '/cases/:id/sitrep', render: (p) => <SitrepPage id={p.id!} /> },
  { pattern: '/cases', render: () => <CaseListPage /> },
  { pattern: '/cases/:id', render: (p) => <CasePage id={p.id!} /> },
  // A tab of a case; an unknown tab is no page.
  { pattern: '/cases/:id/:tab', render: (p) => (isCaseTab(p.tab) ? <CasePage id={p.id!} tab={p.tab} /> : <NotFound />) },
  { pattern: '/evidence/:id', render: (p) => <EvidencePage id={p.id!} /> },
  { pattern: '/evidence/:id/access', render: (p) => <ItemAccessPage id={p.id!} /> },
  { pattern: '/account', render: () => <AccountPage /> },
  { pattern: '/setup', render: () => <SetupPage /> },
  { pattern: '/admin', render: () => <AdminPage /> },
  { pattern: '/audit', render: () => <AuditPage /> },
  { pattern: '/alerts', render: () => <AlertsPage /> },
];

interface NavEntry {
  href: string;
  label: string;
  /** Who sees the entry; everyone signed in when absent. */
  shows?: (me: User) => boolean;
}

export const NAV: NavEntry[] = [
  { href: '/', label: 'My work' },
  { href: '/cases', label: 'Cases' },
  { href: '/portfolio', label: 'Portfolio' },
  { href: '/alerts', label: 'Alerts', shows: (me) => me.system_role !== 'auditor' },
  { href: '/audit', label: 'Audit log', shows: (me) => me.system_role === 'auditor' },
  { href: '/admin', label: 'Administration', shows: administers },
  { href: '/account', label: 'Account' },
];

function NotFound() {
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        Page not found
      </h1>
      <p>
        There is nothing at this address. <Link href="/">Go to My work</Link>.
      </p>
    </section>
  );
}

/** The page for a path. */
export function routeFor(path: string): JSX.Element {
  for (const r of ROUTES) {
    const params = match(r.pattern, path);
    if (params !== null) return r.render(params);
  }
  return <NotFound />;
}
