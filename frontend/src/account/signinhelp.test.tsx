import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanUp, fakeServer, problem, show } from '../testing';
import { SSO_ERRORS, SSOError, SSOSignIn } from './signinhelp';

afterEach(async () => {
  window.history.replaceState(null, '', '/');
  await cleanUp();
});

/** Every code the server's single sign-on start and callback send back with ?sso_error= (access.SSO* and "internal"). */
const SERVER_CODES = ['unavailable', 'invalid_state', 'provider_error', 'token_invalid', 'email_unverified', 'account_refused', 'internal'];

describe('SSOError', () => {
  it.each(SERVER_CODES)('explains %s in words of its own, once, and takes it out of the address', (code) => {
    window.history.replaceState(null, '', `/?sso_error=${code}`);
    const r = show(<SSOError />);
    expect(r.querySelector('[role="alert"]')?.textContent).toBe(SSO_ERRORS[code]);
    expect(window.location.search).toBe('');
  });

  it('has a different explanation for every code', () => {
    expect(new Set(SERVER_CODES.map((c) => SSO_ERRORS[c])).size).toBe(SERVER_CODES.length);
    expect(Object.keys(SSO_ERRORS).sort()).toEqual([...SERVER_CODES].sort());
  });

  it('keeps the rest of the address', () => {
    window.history.replaceState(null, '', '/cases?tab=open&sso_error=invalid_state#top');
    show(<SSOError />);
    expect(window.location.pathname + window.location.search + window.location.hash).toBe('/cases?tab=open#top');
  });

  it('says something plain about a code it does not know, and nothing without one', () => {
    window.history.replaceState(null, '', '/?sso_error=%3Cscript%3E');
    expect(show(<SSOError />).textContent).toBe(SSO_ERRORS.internal);
    expect(show(<SSOError />).textContent).toBe('');
  });
});

describe('SSOSignIn', () => {
  it('offers one button per agency with single sign-on, each starting its sign-in', async () => {
    fakeServer({
      'GET /api/v1/auth/sso/agencies': [
        () => Response.json({ items: [{ code: 'KRIPOS', name: 'Kripos' }, { code: 'PST/X', name: 'Police Security Service' }] }),
      ],
    });
    const r = show(<SSOSignIn />);
    await vi.waitFor(() => expect(r.querySelectorAll('a.sso-button')).toHaveLength(2));
    const links = [...r.querySelectorAll<HTMLAnchorElement>('a.sso-button')].map((a) => [a.textContent, a.getAttribute('href')]);
    expect(links).toEqual([
      ['Sign in with Kripos', '/api/v1/auth/sso/KRIPOS/start'],
      ['Sign in with Police Security Service', '/api/v1/auth/sso/PST%2FX/start'],
    ]);
    expect(r.querySelector('h2')?.textContent).toBe('Or sign in through your agency');
  });

  it('shows nothing when no agency has single sign-on, or when the list fails', async () => {
    for (const answer of [() => Response.json({ items: [] }), problem(503, 'database_unavailable', 'Down.')]) {
      const calls = fakeServer({ 'GET /api/v1/auth/sso/agencies': [answer] });
      const r = show(<SSOSignIn />);
      await vi.waitFor(() => expect(calls.some((c) => c.key === 'GET /api/v1/auth/sso/agencies')).toBe(true));
      await act(async () => {});
      expect(r.textContent).toBe('');
    }
  });
});
