import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logout } from './api';
import { App } from './app';
import { caseFixture, fakeServer, me, problem } from './testing';

let root: HTMLElement | undefined;

function start(path: string): HTMLElement {
  window.history.replaceState(null, '', path);
  root = document.createElement('div');
  document.body.append(root);
  act(() => render(<App />, root!));
  return root;
}

afterEach(async () => {
  if (root) {
    act(() => render(null, root!));
    root.remove();
    root = undefined;
  }
  vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
  await logout();
  vi.unstubAllGlobals();
});

const h1 = (r: HTMLElement) => r.querySelector('h1')?.textContent;

const signedIn = (extra: Record<string, unknown> = {}) => ({
  'POST /api/v1/auth/refresh': [() => Response.json({ access_token: 't', expires_in: 600, user: me, ...extra })],
  'GET /api/v1/cases': [() => Response.json({ items: [caseFixture({ title: 'Helse Nord' })], counts: { triage: 1 } })],
  'GET /api/v1/cases?clock_state=overdue&limit=200': [() => Response.json({ items: [], counts: {} })],
  'GET /api/v1/cases?clock_state=pending&limit=200': [() => Response.json({ items: [], counts: {} })],
  'GET /api/v1/tasks?view=mine': [() => Response.json({ items: [] })],
  'GET /api/v1/tasks?view=agency': [() => Response.json({ items: [] })],
  'GET /api/v1/tasks?view=overdue': [() => Response.json({ items: [] })],
});

describe('App', () => {
  it('shows the sign-in page when the refresh cookie gives no session', async () => {
    fakeServer({ 'POST /api/v1/auth/refresh': [problem(401, 'unauthenticated', 'No session.')] });
    const r = start('/cases/c1');

    await vi.waitFor(() => expect(h1(r)).toBe('Sign in'));
    expect(r.querySelector('nav')).toBeNull();
    expect(r.querySelector('[role="alert"]')).toBeNull();
  });

  it('shows why a single sign-on was refused above the form, and a button per agency that has it', async () => {
    fakeServer({
      'POST /api/v1/auth/refresh': [problem(401, 'unauthenticated', 'No session.')],
      'GET /api/v1/auth/sso/agencies': [() => Response.json({ items: [{ code: 'KRIPOS', name: 'Kripos' }] })],
    });
    const r = start('/?sso_error=account_refused');

    await vi.waitFor(() => expect(r.querySelector('a.sso-button')?.textContent).toBe('Sign in with Kripos'));
    const alert = r.querySelector('[role="alert"]')!;
    expect(alert.textContent).toContain('There is no active Bevis account for you in this agency');
    expect(alert.compareDocumentPosition(r.querySelector('form')!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(window.location.search).toBe('');
  });

  it('restores the session on load and routes by the URL, marking the current page in the navigation', async () => {
    fakeServer(signedIn());
    const r = start('/cases');

    await vi.waitFor(() => expect(h1(r)).toBe('Cases'));
    const current = r.querySelector('nav a[aria-current="page"]');
    expect(current?.textContent).toBe('Cases');
    await vi.waitFor(() => expect(r.querySelector('#case-list ~ table, .card table')?.textContent).toContain('Helse Nord'));
    expect(r.querySelector('.whoami')?.textContent).toContain(me.name);
  });

  it('names the tab after the page, and renames it once a case has loaded', async () => {
    let answer = () => {};
    const loaded = new Promise<void>((r) => {
      answer = r;
    });
    fakeServer({
      ...signedIn(),
      'GET /api/v1/cases/c1': [() => Response.json(caseFixture(), { headers: { etag: '"3"' } })],
    });
    const original = globalThis.fetch;
    // Hold the case back until the loading title has been seen.
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      if (url === '/api/v1/cases/c1') await loaded;
      return original(url, init);
    });
    const r = start('/cases/c1');

    await vi.waitFor(() => expect(document.title).toBe('Loading case… · Bevis'));
    answer();
    await vi.waitFor(() => expect(h1(r)).toBe('BEV-2026-0042 Helse Nord breach'));
    await vi.waitFor(() => expect(document.title).toBe('BEV-2026-0042 Helse Nord breach · Bevis'));
  });

  it('navigates with the History API and moves focus to the new page’s heading', async () => {
    fakeServer(signedIn());
    const r = start('/cases');
    await vi.waitFor(() => expect(h1(r)).toBe('Cases'));

    const home = [...r.querySelectorAll<HTMLAnchorElement>('nav a')].find((a) => a.textContent === 'My work')!;
    act(() => {
      home.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 }));
    });

    await vi.waitFor(() => expect(h1(r)).toBe('My work'));
    expect(window.location.pathname).toBe('/');
    expect(document.activeElement).toBe(r.querySelector('h1'));
    expect(document.title).toBe('My work · Bevis');

    act(() => window.history.back());
    await vi.waitFor(() => expect(h1(r)).toBe('Cases'));
  });

  it('answers an unknown address with a page that says so', async () => {
    fakeServer(signedIn());
    const r = start('/nowhere/at/all');

    await vi.waitFor(() => expect(h1(r)).toBe('Page not found'));
  });

  it('shows only the enrolment page to a session that must set up a second factor', async () => {
    fakeServer(signedIn({ mfa_enrolment_required: true }));
    const r = start('/cases');

    await vi.waitFor(() => expect(h1(r)).toBe('Set up two-step sign-in'));
    expect(r.querySelector('nav')).toBeNull();
    expect([...r.querySelectorAll('button')].map((b) => b.textContent)).toContain('Set up an authenticator app');
  });

  it('switches to the enrolment page when a call answers 403 mfa_enrolment_required', async () => {
    fakeServer({
      ...signedIn(),
      'GET /api/v1/cases': [problem(403, 'mfa_enrolment_required', 'Set up a second factor first.')],
    });
    const r = start('/cases');

    await vi.waitFor(() => expect(h1(r)).toBe('Set up two-step sign-in'));
  });
});
