import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../app';
import { api, changedBy, type TimelineEvent } from '../api';
import { button, caseFixture, cleanUp, fakeServer, me, show } from '../testing';
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

function event(id: string): TimelineEvent {
  return {
    id,
    case_id: 'c1',
    occurred_at: '2026-01-15T08:30:00Z',
    occurred_until: null,
    source_timezone: 'UTC',
    recorded_at: '2026-01-16T08:00:00Z',
    recorded_by: 'u-me',
    source: { host: 'hr-ws12', log: '', system: '' },
    actor: '',
    description: `Event ${id}`,
    tactics: [],
    techniques: [],
    tags: [],
    confidence: null,
    tlp: 'AMBER',
    supersedes: null,
    superseded_by: null,
    import_id: 'i1',
  };
}

/** A plaso import the server accepts, sent through XMLHttpRequest like the real one. */
class AcceptingXHR {
  upload = { onprogress: null as ((e: ProgressEvent) => void) | null };
  status = 0;
  responseText = '';
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  open() {}
  setRequestHeader() {}
  getResponseHeader() {
    return 'application/json';
  }
  abort() {}
  send() {
    this.status = 201;
    this.responseText = JSON.stringify({
      id: 'i1',
      case_id: 'c1',
      format: 'json_line',
      status: 'completed',
      bytes_read: 30,
      rows_read: 3,
      events_imported: 3,
    });
    setTimeout(() => this.onload?.(), 0);
  }
}

describe('tab counts after a write', () => {
  function caseServer(extra: Record<string, (() => Response)[]> = {}) {
    return fakeServer({
      'GET /api/v1/cases/c1': [() => Response.json(caseFixture({ id: 'c1' }), { headers: { etag: '"3"' } })],
      'GET /api/v1/cases/c1/members': [() => Response.json({ agencies: [], users: [], people: {} })],
      'GET /api/v1/me': [() => Response.json({ user: me, memberships: [{ case_id: 'c1', role: 'lead' }] })],
      'GET /api/v1/cases/c1/tasks': [() => Response.json({ items: [], next_cursor: null })],
      'GET /api/v1/cases/c1/evidence': [() => Response.json({ items: [], next_cursor: null })],
      'GET /api/v1/cases/c1/history': [() => Response.json({ transitions: [], phases: [], time_in_phase_seconds: {} })],
      'GET /api/v1/cases/c1/timeline/ttp': [() => Response.json({ tactics: [], truncated: false })],
      ...extra,
    });
  }

  function openCase(path: string) {
    window.history.replaceState(null, '', path);
    root = document.createElement('div');
    document.body.append(root);
    act(() => render(<App />, root!));
    return root;
  }

  it('counts the timeline again, and lists its events, as soon as a plaso import finishes', async () => {
    const three = [event('e1'), event('e2'), event('e3')];
    const calls = caseServer({
      'GET /api/v1/cases/c1/timeline?limit=100': [
        () => Response.json({ items: [], next_cursor: null }),
        () => Response.json({ items: three, next_cursor: null }),
      ],
      'GET /api/v1/cases/c1/timeline?limit=500': [
        () => Response.json({ items: [], next_cursor: null }),
        () => Response.json({ items: three, next_cursor: null }),
      ],
    });
    vi.stubGlobal('XMLHttpRequest', AcceptingXHR);
    const r = openCase('/cases/c1/timeline');
    await vi.waitFor(() => expect(r.querySelector('[data-tab-count="timeline"]')?.textContent).toBe(' (0)'));
    await vi.waitFor(() => expect(r.querySelector('.event-count')?.textContent).toContain('0 events'));
    const counted = () => calls.filter((c) => c.key === 'GET /api/v1/cases/c1/timeline?limit=100').length;
    expect(counted()).toBe(1);

    const input = r.querySelector<HTMLInputElement>('#plaso-file')!;
    Object.defineProperty(input, 'files', { value: [new File(['{}\n'], 'plaso.jsonl')] });
    act(() => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await act(async () => button(r, 'Import').click());

    await vi.waitFor(() => expect(r.querySelector('[data-tab-count="timeline"]')?.textContent).toBe(' (3)'));
    await vi.waitFor(() => expect(r.querySelector('.event-count')?.textContent).toContain('3 events'));
    expect(counted()).toBe(2);
    // Only the part the import changed is counted again.
    expect(calls.filter((c) => c.key === 'GET /api/v1/cases/c1/tasks').length).toBe(1);
  });

  it('counts tasks again after a task is added, whichever screen sent it', async () => {
    const task = { id: 't9', title: 'Image the DCs' };
    caseServer({
      'GET /api/v1/cases/c1/timeline?limit=100': [() => Response.json({ items: [], next_cursor: null })],
      'GET /api/v1/cases/c1/tasks': [
        () => Response.json({ items: [], next_cursor: null }),
        () => Response.json({ items: [task], next_cursor: null }),
      ],
      'POST /api/v1/cases/c1/tasks': [() => Response.json(task, { status: 201 })],
    });
    const r = openCase('/cases/c1');
    await vi.waitFor(() => expect(r.querySelector('[data-tab-count="tasks"]')?.textContent).toBe(' (0)'));
    await act(async () => {
      await api.createTask('c1', { title: 'Image the DCs' } as Parameters<typeof api.createTask>[1]);
    });
    await vi.waitFor(() => expect(r.querySelector('[data-tab-count="tasks"]')?.textContent).toBe(' (1)'));
  });

  it('tells which part of which case a write changes, from its path', () => {
    expect(changedBy('POST', '/api/v1/cases/c%201/timeline/imports?format=json_line')).toEqual({ caseId: 'c 1', part: 'timeline' });
    expect(changedBy('POST', '/api/v1/cases/c1/evidence')).toEqual({ caseId: 'c1', part: 'evidence' });
    expect(changedBy('PUT', '/api/v1/cases/c1/members/users/u1')).toEqual({ caseId: 'c1', part: 'members' });
    expect(changedBy('POST', '/api/v1/cases/c1/transitions')).toEqual({ caseId: 'c1', part: 'history' });
    expect(changedBy('PATCH', '/api/v1/cases/c1')).toEqual({ caseId: 'c1', part: 'case' });
    expect(changedBy('GET', '/api/v1/cases/c1/tasks')).toBeNull();
    expect(changedBy('POST', '/api/v1/alerts/a1/acknowledge')).toBeNull();
    expect(changedBy('POST', '/api/v1/cases')).toBeNull();
  });
});
