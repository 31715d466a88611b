import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { button, choose, cleanUp, fakeServer, me, problem, show, type } from '../testing';
import { SetupPage, setupToken } from './setup';
import { SetupHint } from './signinhelp';

afterEach(async () => {
  window.history.replaceState(null, '', '/');
  await cleanUp();
});

async function submit(root: HTMLElement) {
  await act(async () => {
    root.querySelector('form')!.requestSubmit();
  });
}

function fill(root: HTMLElement, password = 'a long admin passphrase') {
  type(root, '#code', 'ncsc');
  type(root, '#agency_name', 'National Cyber Coordination Centre');
  choose(root, '#kind', 'cert');
  type(root, '#email', ' admin@ncsc.example ');
  type(root, '#admin_name', 'Kari Nordmann');
  type(root, '#password', password);
  type(root, '#confirm_password', password);
}

describe('SetupPage', () => {
  it('reads the token from the link, wipes it from the address bar, and sends the first agency and admin', async () => {
    window.history.replaceState(null, '', '/setup#TOKEN123');
    const calls = fakeServer({
      'GET /api/v1/setup': [() => Response.json({ needed: true })],
      'POST /api/v1/setup': [() => Response.json({ ...me, email: 'admin@ncsc.example' }, { status: 201 })],
    });
    const r = show(<SetupPage />);
    await vi.waitFor(() => expect(r.querySelector('#code')).not.toBeNull());
    expect(window.location.hash).toBe('');

    fill(r);
    await submit(r);

    const sent = calls.find((c) => c.key === 'POST /api/v1/setup')?.body;
    expect(sent).toEqual({
      token: 'TOKEN123',
      agency: { code: 'NCSC', name: 'National Cyber Coordination Centre', kind: 'cert' },
      admin: { email: 'admin@ncsc.example', name: 'Kari Nordmann', password: 'a long admin passphrase' },
    });
    await vi.waitFor(() => expect(r.querySelector('h1')?.textContent).toBe('Bevis is set up'));
    expect(r.textContent).toContain('admin@ncsc.example');
    expect([...r.querySelectorAll('a')].map((a) => a.textContent)).toContain('Sign in now');
  });

  it('refuses a short or mistyped password before asking the server', async () => {
    window.history.replaceState(null, '', '/setup#T');
    const calls = fakeServer({ 'GET /api/v1/setup': [() => Response.json({ needed: true })] });
    const r = show(<SetupPage />);
    await vi.waitFor(() => expect(r.querySelector('#code')).not.toBeNull());

    fill(r, 'short');
    await submit(r);
    expect(r.querySelector('[role="alert"]')?.textContent).toContain('at least 12 characters');
    type(r, '#password', 'a long admin passphrase');
    type(r, '#confirm_password', 'a long admin passphrasE');
    await submit(r);
    expect(r.querySelector('[role="alert"]')?.textContent).toContain('differ');
    expect(calls.some((c) => c.key === 'POST /api/v1/setup')).toBe(false);
  });

  it('shows the server’s refusal of a field beside it, keeping the link alive', async () => {
    window.history.replaceState(null, '', '/setup#T');
    fakeServer({
      'GET /api/v1/setup': [() => Response.json({ needed: true })],
      'POST /api/v1/setup': [
        problem(400, 'validation_failed', 'Some fields are invalid.', [{ field: 'password', message: 'is a common password' }]),
      ],
    });
    const r = show(<SetupPage />);
    await vi.waitFor(() => expect(r.querySelector('#code')).not.toBeNull());
    fill(r);
    await submit(r);

    await vi.waitFor(() => expect(r.querySelector('#password-error')?.textContent).toBe('is a common password'));
    expect(r.querySelector('#password')?.getAttribute('aria-invalid')).toBe('true');
    expect(r.querySelector('h1')?.textContent).toBe('Set up Bevis');
  });

  it('says a dead link is dead, and what to do', async () => {
    window.history.replaceState(null, '', '/setup#SPENT');
    fakeServer({
      'GET /api/v1/setup': [() => Response.json({ needed: true })],
      'POST /api/v1/setup': [problem(404, 'not_found', 'Not found.')],
    });
    const r = show(<SetupPage />);
    await vi.waitFor(() => expect(r.querySelector('#code')).not.toBeNull());
    fill(r);
    await submit(r);

    await vi.waitFor(() => expect(r.querySelector('h1')?.textContent).toBe('This set-up link does not work'));
    expect(r.textContent).toContain('bevis serve');
    expect(r.querySelector('form')).toBeNull();
  });

  it('offers no form once Bevis has an admin', async () => {
    window.history.replaceState(null, '', '/setup#OLD');
    fakeServer({ 'GET /api/v1/setup': [() => Response.json({ needed: false })] });
    const r = show(<SetupPage />);

    await vi.waitFor(() => expect(r.querySelector('h1')?.textContent).toBe('Bevis is set up'));
    expect(r.querySelector('form')).toBeNull();
    expect(() => button(r, 'Set up Bevis')).toThrow();
  });

  it('takes the token from the hash alone', () => {
    expect(setupToken('#abc')).toBe('abc');
    expect(setupToken('')).toBe('');
  });
});

describe('SetupHint', () => {
  it('tells a new installation where its set-up link is', async () => {
    fakeServer({ 'GET /api/v1/setup': [() => Response.json({ needed: true })] });
    const r = show(<SetupHint />);
    await vi.waitFor(() => expect(r.textContent).toContain('This Bevis has no admin yet'));
    expect(r.textContent).toContain('bevis serve');
  });

  it('says nothing once set up', async () => {
    const calls = fakeServer({ 'GET /api/v1/setup': [() => Response.json({ needed: false })] });
    const r = show(<SetupHint />);
    await vi.waitFor(() => expect(calls.some((c) => c.key === 'GET /api/v1/setup')).toBe(true));
    await act(async () => {});
    expect(r.textContent).toBe('');
  });
});
