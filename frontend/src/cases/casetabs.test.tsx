import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../app';
import { caseFixture, cleanUp, fakeServer, me, show } from '../testing';
import { caseTabHref, CaseTabs, countText } from './casetabs';

let root: HTMLElement | undefined;

afterEach(async () => {
  if (root) {
    act(() => render(null, root!));
    root.remove();
    root = undefined;
  }
  await cleanUp();
});

describe('CaseTabs', () => {
  it('links each tab to its own URL, marks the current one, and shows counts with "+" for more pages', () => {
    const r = show(<CaseTabs caseId="c 1" current="timeline" counts={{ tasks: { n: 3, more: false }, timeline: { n: 100, more: true } }} />);
    const links = [...r.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual([
      '/cases/c%201',
      '/cases/c%201/tasks',
      '/cases/c%201/timeline',
      '/cases/c%201/evidence',
      '/cases/c%201/members',
      '/cases/c%201/history',
    ]);
    expect(r.querySelector('a[aria-current="page"]')?.getAttribute('href')).toBe('/cases/c%201/timeline');
    expect(r.querySelector('[data-tab-count="tasks"]')?.textContent).toBe(' (3)');
    expect(r.querySelector('[data-tab-count="timeline"]')?.textContent).toBe(' (100+)');
    expect(r.querySelector('[data-tab-count="evidence"]')).toBeNull();
    expect(countText(undefined)).toBe('');
    expect(caseTabHref('c1', 'overview')).toBe('/cases/c1');
  });
});

describe('the case page as tabs', () => {
  it('opens the tab of the URL, moves between tabs with history entries, and Back returns', async () => {
    fakeServer({
      'POST /api/v1/auth/refresh': [() => Response.json({ access_token: 't', expires_in: 600, user: me })],
      'GET /api/v1/cases/c1': [() => Response.json(caseFixture({ id: 'c1' }), { headers: { etag: '"3"' } })],
      'GET /api/v1/cases/c1/members': [() => Response.json({ agencies: [], users: [], people: {} })],
      'GET /api/v1/me': [() => Response.json({ user: me, memberships: [{ case_id: 'c1', role: 'lead' }] })],
      'GET /api/v1/cases/c1/tasks': [() => Response.json({ items: [], next_cursor: null })],
      'GET /api/v1/cases/c1/evidence': [() => Response.json({ items: [], next_cursor: 'more' })],
      'GET /api/v1/cases/c1/timeline?limit=100': [() => Response.json({ items: [], next_cursor: null })],
      'GET /api/v1/cases/c1/timeline?limit=500': [() => Response.json({ items: [], next_cursor: null })],
      'GET /api/v1/cases/c1/history': [() => Response.json({ transitions: [], phases: [], time_in_phase_seconds: {} })],
    });
    window.history.replaceState(null, '', '/cases/c1/timeline');
    root = document.createElement('div');
    document.body.append(root);
    act(() => render(<App />, root!));
    const r = root;

    await vi.waitFor(() => expect(r.querySelector('#timeline')?.textContent).toBe('Attack timeline'));
    expect(r.querySelector('#clocks')).toBeNull();
    await vi.waitFor(() => expect(r.querySelector('[data-tab-count="evidence"]')?.textContent).toBe(' (0+)'));

    const evidence = [...r.querySelectorAll<HTMLAnchorElement>('.case-tabs a')].find((a) => a.textContent?.startsWith('Evidence'))!;
    act(() => {
      evidence.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 }));
    });
    expect(window.location.pathname).toBe('/cases/c1/evidence');
    await vi.waitFor(() => expect(r.querySelector('#evidence')?.textContent).toBe('Evidence'));
    expect(r.querySelector('.case-tabs a[aria-current="page"]')?.textContent).toContain('Evidence');

    await act(async () => {
      window.history.back();
      await new Promise((res) => window.addEventListener('popstate', res, { once: true }));
    });
    expect(window.location.pathname).toBe('/cases/c1/timeline');
    await vi.waitFor(() => expect(r.querySelector('#timeline')).not.toBeNull());
  });

  it('answers an unknown tab as no page', async () => {
    fakeServer({ 'POST /api/v1/auth/refresh': [() => Response.json({ access_token: 't', expires_in: 600, user: me })] });
    window.history.replaceState(null, '', '/cases/c1/nonsense');
    root = document.createElement('div');
    document.body.append(root);
    act(() => render(<App />, root!));
    await vi.waitFor(() => expect(root!.querySelector('h1')?.textContent).toBe('Page not found'));
  });
});
