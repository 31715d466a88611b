// Helpers for the component tests (imported only by *.test.tsx files).

import { type ComponentChildren, render } from 'preact';
import { act } from 'preact/test-utils';
import { vi } from 'vitest';
import { type AgencyMember, type Case, type Clock, forgetNames, logout, type Task, type User, type UserMember } from './api';
import { DirectoryProvider } from './ui';

export const me: User = {
  id: 'u-me',
  agency_id: 'a-ncsc',
  email: 'me@ncsc.example',
  name: 'Mona Lead',
  title: '',
  status: 'active',
  system_role: 'member',
  must_change_password: false,
  time_zone: '',
  created_at: '2026-11-01T08:00:00Z',
  updated_at: '2026-11-01T08:00:00Z',
};

const ADDED = { added_by: 'u-me', added_at: '2026-11-28T07:00:00Z' };

/** An agency on a case; unnamed unless named, like an agency the member list does not name. */
export function agencyMember(over: Partial<AgencyMember> & Pick<AgencyMember, 'agency_id'>): AgencyMember {
  return { role: 'investigator', name: '', code: '', ...ADDED, ...over };
}

/** A person on a case; unnamed unless named. */
export function userMember(over: Partial<UserMember> & Pick<UserMember, 'user_id'>): UserMember {
  return { role: 'investigator', name: '', agency_id: '', ...ADDED, ...over };
}

/** A task as the server sends it, with overrides. */
export function taskFixture(over: Partial<Task> = {}): Task {
  return {
    id: 't1',
    case_id: 'c1',
    title: 'Image the DCs',
    description: '',
    priority: 'normal',
    due_at: null,
    overdue: false,
    status: 'open',
    acknowledged_at: null,
    checklist: [],
    created_by: 'u-me',
    created_at: '2026-11-28T08:00:00Z',
    updated_at: '2026-11-28T08:00:00Z',
    version: 1,
    people: {},
    agencies: {},
    ...over,
  };
}

/** A complete case as the server sends it, with overrides. */
export function caseFixture(over: Partial<Case> = {}): Case {
  return {
    id: 'c1',
    reference: 'BEV-2026-0042',
    title: 'Helse Nord breach',
    summary: '',
    severity: 2,
    status: 'triage',
    status_changed_at: '2026-11-28T08:00:00Z',
    allowed_transitions: ['investigating', 'closed'],
    tlp: 'AMBER',
    classification_label: '',
    lead_agency_id: 'a-ncsc',
    tags: [],
    affected_organisations: [],
    affected_systems: [],
    personal_data_breach: false,
    discovered_at: null,
    aware_at: null,
    party_awareness: [],
    jurisdictions: [],
    clocks: [],
    version: 3,
    created_by: 'u-me',
    created_at: '2026-11-28T07:00:00Z',
    updated_at: '2026-11-28T08:00:00Z',
    ...over,
  };
}

/** The time the clock tests take as now. */
export const NOW = Date.parse('2026-11-29T12:00:00Z');
export const H = 3_600_000;

/** A clock of a case, with overrides. */
export function clock(over: Partial<Clock>): Clock {
  return { id: 'gdpr.art33', jurisdiction: 'gdpr', title: 'GDPR Art. 33', due_at: null, state: 'pending', met: null, ...over };
}

type Answer = (init: RequestInit | undefined) => Response;

export interface Recorded {
  key: string;
  ifMatch: string | null;
  body: unknown;
}

/**
 * Stubs fetch with answers by "METHOD path" (each a queue whose last answer
 * repeats). Sign-in and the directory answer by default.
 */
export function fakeServer(routes: Record<string, Answer[]>): Recorded[] {
  const all: Record<string, Answer[]> = {
    'POST /api/v1/auth/refresh': [() => Response.json({ access_token: 't', expires_in: 600, user: me })],
    'GET /api/v1/agencies': [
      () => Response.json({ items: [{ id: 'a-ncsc', code: 'NCSC', name: 'Coordination Centre' }] }),
    ],
    'GET /api/v1/users': [() => Response.json({ items: [me, { ...me, id: 'u-ann', name: 'Ann Analyst' }] })],
    ...routes,
  };
  const calls: Recorded[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const key = `${init?.method ?? 'GET'} ${url}`;
      calls.push({
        key,
        ifMatch: new Headers(init?.headers).get('if-match'),
        body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
      });
      const queue = all[key];
      if (queue === undefined || queue.length === 0) {
        return Response.json({ title: 'Not Found', status: 404, code: 'not_found' }, { status: 404 });
      }
      return (queue.length > 1 ? queue.shift()! : queue[0]!)(init);
    }),
  );
  return calls;
}

export function problem(status: number, code: string, detail: string, errors?: { field: string; message: string }[]) {
  return () =>
    new Response(JSON.stringify({ type: 'about:blank', title: code, status, code, detail, errors }), {
      status,
      headers: { 'content-type': 'application/problem+json' },
    });
}

/** Renders ui inside a directory for `me` into a fresh element attached to the document. */
export function mount(ui: ComponentChildren): HTMLElement {
  const root = document.createElement('div');
  document.body.append(root);
  act(() => render(<DirectoryProvider me={me}>{ui}</DirectoryProvider>, root));
  return root;
}

export function unmount(root: HTMLElement) {
  act(() => render(null, root));
  root.remove();
}

let shown: HTMLElement[] = [];

/** Mounts ui like mount, and remembers it for cleanUp. */
export function show(ui: ComponentChildren): HTMLElement {
  const root = mount(ui);
  shown.push(root);
  return root;
}

/** Unmounts what show mounted and forgets any session a test opened; for afterEach. */
export async function cleanUp() {
  for (const r of shown) unmount(r);
  shown = [];
  vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
  await logout();
  vi.unstubAllGlobals();
  forgetNames();
}

export function type(root: HTMLElement, selector: string, value: string) {
  const el = root.querySelector<HTMLInputElement | HTMLTextAreaElement>(selector);
  if (el === null) throw new Error(`nothing at ${selector}`);
  act(() => {
    el.value = value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

export function choose(root: HTMLElement, selector: string, value: string) {
  const el = root.querySelector<HTMLSelectElement>(selector);
  if (el === null) throw new Error(`nothing at ${selector}`);
  act(() => {
    el.value = value;
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

export function button(root: HTMLElement, text: string): HTMLButtonElement {
  const b = [...root.querySelectorAll('button')].find((x) => x.textContent?.trim() === text);
  if (b === undefined) throw new Error(`no button "${text}"`);
  return b;
}

export function link(root: HTMLElement, text: string): HTMLAnchorElement {
  const a = [...root.querySelectorAll('a')].find((x) => x.textContent?.trim() === text);
  if (a === undefined) throw new Error(`no link "${text}"`);
  return a;
}
