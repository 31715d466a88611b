import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logout } from '../api';
import { SignIn } from './signin';

let root: HTMLElement;

beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
});

afterEach(async () => {
  render(null, root);
  root.remove();
  vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
  await logout();
  vi.unstubAllGlobals();
});

function input(id: string): HTMLInputElement {
  const el = root.querySelector<HTMLInputElement>(`#${id}`);
  if (el === null) throw new Error(`no input #${id}`);
  return el;
}

function type(id: string, value: string) {
  const el = input(id);
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

function labelFor(id: string): string | undefined {
  return root.querySelector(`label[for="${id}"]`)?.textContent ?? undefined;
}

function problemResponse(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify({ type: 'about:blank', title: 'x', status, ...body }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

const grant = () =>
  Response.json({
    access_token: 'at',
    expires_in: 600,
    user: { id: 'u1', agency_id: 'a1', email: 'a@example.org', name: 'Ada', system_role: 'member' },
  });

async function submit() {
  await act(async () => {
    root.querySelector('form')!.requestSubmit();
  });
}

function bodies(fetchMock: ReturnType<typeof vi.fn>): unknown[] {
  return fetchMock.mock.calls.map((c) => JSON.parse(String((c[1] as RequestInit | undefined)?.body)));
}

describe('SignIn', () => {
  it('renders labelled fields with autocomplete hints', () => {
    act(() => render(<SignIn onSignedIn={() => {}} />, root));

    expect(root.querySelector('h1')?.textContent).toBe('Sign in');
    expect(labelFor('email')).toBe('Email');
    expect(labelFor('password')).toBe('Password');
    expect(input('email').autocomplete).toBe('username');
    expect(input('password').autocomplete).toBe('current-password');
    expect(root.querySelector('#totp')).toBeNull();
    expect(root.querySelector('button[type="submit"]')?.textContent).toBe('Sign in');
    expect(root.querySelector('[role="alert"]')).toBeNull();
  });

  it('shows the problem detail in an alert and marks the named field invalid', async () => {
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) =>
      problemResponse(400, {
        detail: 'Some fields are invalid; see errors.',
        code: 'invalid_input',
        errors: [{ field: 'email', message: 'must be an email address' }],
      }),
    );
    vi.stubGlobal('fetch', fetchMock);
    const onSignedIn = vi.fn();
    act(() => render(<SignIn onSignedIn={onSignedIn} />, root));

    act(() => {
      type('email', ' analyst@cert.example ');
      type('password', 'correct horse');
    });
    await submit();

    await vi.waitFor(() => {
      expect(root.querySelector('[role="alert"]')?.textContent).toBe('Some fields are invalid; see errors.');
    });
    expect(bodies(fetchMock)).toEqual([{ email: 'analyst@cert.example', password: 'correct horse' }]);
    expect(input('email').getAttribute('aria-invalid')).toBe('true');
    expect(input('email').getAttribute('aria-describedby')).toBe('email-error');
    expect(root.querySelector('#email-error')?.textContent).toBe('must be an email address');
    expect(input('password').hasAttribute('aria-invalid')).toBe(false);
    expect(onSignedIn).not.toHaveBeenCalled();
  });

  it('asks for the one-time code when the server answers mfa_required, then resubmits with it', async () => {
    const answers = [problemResponse(401, { code: 'mfa_required', detail: 'A code is needed.' }), grant()];
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => answers.shift()!);
    vi.stubGlobal('fetch', fetchMock);
    const onSignedIn = vi.fn();
    act(() => render(<SignIn onSignedIn={onSignedIn} />, root));

    act(() => {
      type('email', 'a@example.org');
      type('password', 'correct horse battery');
    });
    await submit();
    await vi.waitFor(() => expect(root.querySelector('h1')?.textContent).toBe('Enter your one-time code'));
    expect(root.querySelector('[role="alert"]')).toBeNull();
    expect(labelFor('totp')).toBe('One-time code');
    // Focus moves once the effect after the render has run.
    await vi.waitFor(() => expect(document.activeElement).toBe(root.querySelector('h1')));

    act(() => type('totp', '123 456'));
    await submit();

    await vi.waitFor(() => expect(onSignedIn).toHaveBeenCalledOnce());
    expect(bodies(fetchMock)[1]).toEqual({ email: 'a@example.org', password: 'correct horse battery', totp: '123456' });
  });

  it('asks for a new password of at least 12 characters on password_change_required', async () => {
    const answers = [problemResponse(403, { code: 'password_change_required' }), grant()];
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => answers.shift()!);
    vi.stubGlobal('fetch', fetchMock);
    const onSignedIn = vi.fn();
    act(() => render(<SignIn onSignedIn={onSignedIn} />, root));

    act(() => {
      type('email', 'a@example.org');
      type('password', 'one-time-pw');
    });
    await submit();
    await vi.waitFor(() => expect(root.querySelector('h1')?.textContent).toBe('Choose a new password'));

    act(() => {
      type('new_password', 'short');
      type('confirm_password', 'short');
    });
    await submit();
    expect(root.querySelector('[role="alert"]')?.textContent).toContain('at least 12 characters');
    expect(fetchMock).toHaveBeenCalledTimes(1);

    act(() => {
      type('new_password', 'a long enough passphrase');
      type('confirm_password', 'a long enough passphrase');
    });
    await submit();

    await vi.waitFor(() => expect(onSignedIn).toHaveBeenCalledOnce());
    expect(bodies(fetchMock)[1]).toEqual({
      email: 'a@example.org',
      password: 'one-time-pw',
      new_password: 'a long enough passphrase',
    });
  });

  it('says how long to wait when sign-in is rate limited', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        problemResponse(429, { code: 'rate_limited', detail: 'Too many attempts.' }, { 'retry-after': '600' }),
      ),
    );
    act(() => render(<SignIn onSignedIn={() => {}} />, root));
    act(() => {
      type('email', 'a@example.org');
      type('password', 'whatever it is');
    });

    await submit();

    await vi.waitFor(() =>
      expect(root.querySelector('[role="alert"]')?.textContent).toBe('Too many attempts. Try again in 10 minutes.'),
    );
  });
});
