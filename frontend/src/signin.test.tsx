import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SignIn } from './signin';

let root: HTMLElement;

beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
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

describe('SignIn', () => {
  it('renders labelled fields with autocomplete hints', () => {
    act(() => render(<SignIn onSignedIn={() => {}} />, root));

    expect(root.querySelector('h1')?.textContent).toBe('Sign in');
    expect(labelFor('email')).toBe('Email');
    expect(labelFor('password')).toBe('Password');
    expect(labelFor('totp')).toBe('One-time code (optional)');
    expect(input('email').autocomplete).toBe('username');
    expect(input('password').autocomplete).toBe('current-password');
    expect(input('totp').autocomplete).toBe('one-time-code');
    expect(input('totp').required).toBe(false);
    expect(root.querySelector('button[type="submit"]')?.textContent).toBe('Sign in');
    expect(root.querySelector('[role="alert"]')).toBeNull();
  });

  it('shows the problem detail in an alert and marks the named field invalid', async () => {
    const fetchMock = vi.fn(
      async (_url: string, _init?: RequestInit) =>
        new Response(
          JSON.stringify({
            type: 'about:blank',
            title: 'Unauthorized',
            status: 401,
            detail: 'The one-time code is wrong or expired.',
            code: 'invalid_totp',
            errors: [{ field: 'totp', message: 'wrong or expired code' }],
          }),
          { status: 401, headers: { 'content-type': 'application/problem+json' } },
        ),
    );
    vi.stubGlobal('fetch', fetchMock);
    const onSignedIn = vi.fn();
    act(() => render(<SignIn onSignedIn={onSignedIn} />, root));

    act(() => {
      type('email', ' analyst@cert.example ');
      type('password', 'correct horse');
      type('totp', '123 456');
    });
    await act(async () => {
      root.querySelector('form')!.requestSubmit();
    });

    await vi.waitFor(() => {
      expect(root.querySelector('[role="alert"]')?.textContent).toBe('The one-time code is wrong or expired.');
    });
    expect(JSON.parse(String(fetchMock.mock.calls[0]![1]?.body))).toEqual({
      email: 'analyst@cert.example',
      password: 'correct horse',
      totp: '123456',
    });
    expect(input('totp').getAttribute('aria-invalid')).toBe('true');
    expect(input('totp').getAttribute('aria-describedby')).toBe('totp-hint totp-error');
    expect(root.querySelector('#totp-error')?.textContent).toBe('wrong or expired code');
    expect(input('email').hasAttribute('aria-invalid')).toBe(false);
    expect(onSignedIn).not.toHaveBeenCalled();
  });
});
