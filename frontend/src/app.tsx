import { useEffect, useRef, useState } from 'preact/hooks';
import { EnrolmentPage } from './account/mfa';
import { SetupPage } from './account/setup';
import { SignIn } from './account/signin';
import { SetupHint, SSOError, SSOSignIn } from './account/signinhelp';
import './admin/admin.css';
import { logout, onSessionChange, refreshSession, type Session, setEnrolmentRequired } from './api';
import { NAV, routeFor } from './routes';
import { DirectoryProvider, Link, navigate, setTimeZone, usePath } from './ui';

function navCurrent(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

type Loading = { state: 'loading' };
type Ready = { state: 'ready'; session: Session | null };

/** The app frame: header with navigation, and one main area showing the page for the URL. */
export function App() {
  const [auth, setAuth] = useState<Loading | Ready>({ state: 'loading' });
  const [signOutError, setSignOutError] = useState('');
  const path = usePath();
  const main = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  useEffect(() => {
    const off = onSessionChange((session) => setAuth({ state: 'ready', session }));
    // The access token lives in memory only: a reload restores the session from the refresh cookie.
    refreshSession().then(
      (session) => setAuth({ state: 'ready', session }),
      () => setAuth({ state: 'ready', session: null }),
    );
    return off;
  }, []);

  const session = auth.state === 'ready' ? auth.session : null;
  // Every time below is shown in the person's zone; set before the pages render.
  setTimeZone(session?.user.time_zone ?? '');
  const view = auth.state === 'loading' ? 'loading' : session === null ? 'signin' : session.mfaEnrolmentRequired ? 'enrol' : path;

  // On every change of page, move focus to its heading so screen readers announce it.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    const title = main.current?.querySelector<HTMLElement>('h1');
    (title ?? main.current)?.focus();
  }, [view]);

  // The tab's title is the page's heading, whenever it changes: a page that
  // loads ("Loading case…") renames itself once its data is there.
  useEffect(() => {
    const area = main.current;
    if (area === null) return;
    const retitle = () => {
      const h1 = area.querySelector('h1')?.textContent?.trim();
      const title = h1 ? `${h1} · Bevis` : 'Bevis';
      if (document.title !== title) document.title = title;
    };
    retitle();
    const watch = new MutationObserver(retitle);
    watch.observe(area, { subtree: true, childList: true, characterData: true });
    return () => watch.disconnect();
  }, []);

  async function signOut() {
    setSignOutError('');
    try {
      await logout();
    } catch {
      setSignOutError('Signing out on the server failed; this browser has forgotten the session anyway.');
    }
    navigate('/');
  }

  let content: preact.JSX.Element;
  if (auth.state === 'loading') {
    content = (
      <p class="loading" role="status">
        Loading…
      </p>
    );
  } else if (session === null && path === '/setup') {
    content = <SetupPage />;
  } else if (session === null) {
    content = (
      <SignIn onSignedIn={() => {}} before={<SSOError />}>
        <SSOSignIn />
        <SetupHint />
      </SignIn>
    );
  } else if (session.mfaEnrolmentRequired) {
    content = <EnrolmentPage onDone={() => setEnrolmentRequired(false)} onSignOut={signOut} />;
  } else {
    content = <DirectoryProvider me={session.user}>{routeFor(path)}</DirectoryProvider>;
  }

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="app-header">
        <span class="brand">
          <img class="brand-mark" src="/favicon.svg" alt="" width="28" height="28" />
          Bevis
        </span>
        {session !== null && !session.mfaEnrolmentRequired && (
          <nav aria-label="Main" class="app-nav">
            <ul>
              {NAV.filter((n) => n.shows?.(session.user) ?? true).map((n) => (
                <li key={n.href}>
                  <Link href={n.href} aria-current={navCurrent(n.href, path) ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {session !== null && (
          <div class="whoami">
            <span class="user-name">
              <bdi>{session.user.name}</bdi>
            </span>
            <button type="button" class="secondary" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      {signOutError && (
        <div class="alert banner" role="alert">
          {signOutError}
        </div>
      )}
      <main id="main" class="app-main" tabIndex={-1} ref={main}>
        {content}
      </main>
    </>
  );
}
