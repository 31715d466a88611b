// The bounded window of useTimeline against a fake server that pages 200,000
// synthetic events by keyset cursor: far forward and back, the window never
// holds more than MAX_PAGES pages, and shows the right events in order with
// no duplicates or gaps; events added before the window meanwhile are not
// missed; a change of filter starts again from the first page.

import { useState } from 'preact/hooks';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TimelineEvent, TimelineFilter } from '../api';
import { cleanUp, me, show } from '../testing';
import { windowLabel } from './eventlist';
import { MAX_PAGES, PAGE_SIZE, type TimelineState, useTimeline } from './usetimeline';

afterEach(cleanUp);
beforeEach(() => window.history.replaceState(null, '', '/cases/c1/timeline'));

const TOTAL = 200_000;
const BASE = Date.parse('2026-01-01T00:00:00Z');

function synthetic(n: number, host: string, extra = ''): TimelineEvent {
  return {
    id: `e${String(n).padStart(7, '0')}${extra}`,
    case_id: 'c1',
    occurred_at: new Date(BASE + n * 1000).toISOString(),
    occurred_until: null,
    source_timezone: 'UTC',
    recorded_at: '2026-02-01T00:00:00Z',
    recorded_by: 'u-me',
    source: { host, log: '', system: '' },
    actor: '',
    description: `event ${n}${extra}`,
    tactics: [],
    techniques: [],
    tags: [],
    confidence: null,
    tlp: 'AMBER',
    supersedes: null,
    superseded_by: null,
    import_id: null,
  };
}

/** A keyset server: events ordered by (time, id), the cursor the position after the last one given. */
function serve(added: TimelineEvent[]) {
  const requests: string[] = [];
  const at = (e: TimelineEvent) => [Date.parse(e.occurred_at), e.id] as const;
  const after = (e: TimelineEvent, c: readonly [number, string]) => {
    const [t, id] = at(e);
    return t > c[0] || (t === c[0] && id > c[1]);
  };
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      if (init?.method === 'POST' && url === '/api/v1/auth/refresh') {
        return Response.json({ access_token: 't', expires_in: 600, user: me });
      }
      const u = new URL(url, 'http://x');
      if (u.pathname !== '/api/v1/cases/c1/timeline') return Response.json({ status: 404 }, { status: 404 });
      requests.push(u.search);
      const limit = Number(u.searchParams.get('limit'));
      const host = u.searchParams.get('source');
      const cursor = u.searchParams.get('cursor');
      const c = cursor ? (JSON.parse(atob(cursor)) as [number, string]) : null;
      // The synthetic events are one a second: start from the index the cursor
      // points at, then mix in the added ones, in order.
      const from = c ? Math.max(0, Math.floor((c[0] - BASE) / 1000)) : 0;
      const items: TimelineEvent[] = [];
      for (let n = from; n < TOTAL && items.length < limit + 2; n++) {
        if (host === 'even' && n % 2 === 1) continue;
        const e = synthetic(n, n % 2 ? 'odd' : 'even');
        if (!c || after(e, c)) items.push(e);
      }
      for (const e of added) if ((!c || after(e, c)) && (!host || e.source.host === host)) items.push(e);
      items.sort((a, b) => at(a)[0] - at(b)[0] || a.id.localeCompare(b.id));
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      const more = items.length > limit;
      return Response.json({ items: page, next_cursor: more && last ? btoa(JSON.stringify(at(last))) : null });
    }),
  );
  return requests;
}

function probe(caseId: string, filter: TimelineFilter) {
  const state: { tl: TimelineState | null } = { tl: null };
  function Probe() {
    state.tl = useTimeline(caseId, filter);
    return null;
  }
  show(<Probe />);
  return state;
}

async function settle(state: { tl: TimelineState | null }) {
  await vi.waitFor(() => expect(state.tl?.loading).toBe(false), { interval: 1 });
}

/** The synthetic numbers of the events in the window. */
function numbers(tl: TimelineState): number[] {
  return tl.events.map((e) => Number(e.id.slice(1, 8)));
}

describe('useTimeline window', () => {
  it('pages far forward and back through 200,000 events holding at most MAX_PAGES pages', async () => {
    const requests = serve([]);
    const state = probe('c1', {});
    await settle(state);
    expect(state.tl!.events.length).toBe(PAGE_SIZE);
    expect(state.tl!.earlier).toBe(false);

    let most = 0;
    // Forward 150 pages.
    for (let i = 0; i < 150; i++) {
      await act(async () => state.tl!.loadMore());
      await settle(state);
      const tl = state.tl!;
      most = Math.max(most, tl.events.length);
      const want = Array.from({ length: tl.events.length }, (_, k) => tl.skipped + k);
      expect(numbers(tl)).toEqual(want);
    }
    expect(most).toBe(MAX_PAGES * PAGE_SIZE);
    expect(state.tl!.skipped).toBe((151 - MAX_PAGES) * PAGE_SIZE);
    expect(state.tl!.earlier).toBe(true);
    expect(windowLabel(state.tl!.skipped, state.tl!.events.length, state.tl!.more)).toBe('Events 71,501–75,500 of more');

    // Back to the first page: each page fetched again with its own cursor.
    while (state.tl!.earlier) {
      await act(async () => state.tl!.loadPrevious());
      await settle(state);
      const tl = state.tl!;
      expect(tl.events.length).toBeLessThanOrEqual(MAX_PAGES * PAGE_SIZE);
      expect(numbers(tl)).toEqual(Array.from({ length: tl.events.length }, (_, k) => tl.skipped + k));
    }
    expect(state.tl!.skipped).toBe(0);
    expect(numbers(state.tl!)[0]).toBe(0);
    expect(state.tl!.more).toBe(true);
    // The way back asked for each dropped page once, with the cursor it was first fetched with.
    const forward = requests.slice(0, 151);
    const back = requests.slice(151);
    expect(back.length).toBe(151 - MAX_PAGES);
    expect([...back].reverse()).toEqual(forward.slice(0, 151 - MAX_PAGES));
  }, 60_000);

  it('reaches the end, says how many there are, and does not miss events added before the window', async () => {
    const added: TimelineEvent[] = [];
    serve(added);
    const state = probe('c1', {});
    await settle(state);
    while (state.tl!.more) {
      await act(async () => state.tl!.loadMore());
      await settle(state);
      expect(state.tl!.events.length).toBeLessThanOrEqual(MAX_PAGES * PAGE_SIZE);
    }
    const tl = state.tl!;
    expect(tl.skipped + tl.events.length).toBe(TOTAL);
    expect(windowLabel(tl.skipped, tl.events.length, tl.more)).toBe('Events 196,001–200,000 of 200,000');

    // Meanwhile someone adds events in the pages just before the window (not
    // after the last event before it, which is the window's own range): a
    // page fetched again is then longer than it was, and nothing is lost.
    const start = tl.skipped;
    for (let k = 2; k <= 701; k++) added.push(synthetic(start - k, 'odd', 'b'));
    await act(async () => state.tl!.loadPrevious());
    await settle(state);
    await act(async () => state.tl!.loadPrevious());
    await settle(state);
    const ids = state.tl!.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const firstNumber = Number(ids[0]!.slice(1, 8));
    const expected: string[] = [];
    for (let n = firstNumber; expected.length < ids.length; n++) {
      expected.push(`e${String(n).padStart(7, '0')}`);
      if (n < start - 1 && n >= start - 701) expected.push(`e${String(n).padStart(7, '0')}b`);
    }
    expect(ids).toEqual(expected.slice(0, ids.length));
    expect(state.tl!.events.length).toBeLessThanOrEqual(MAX_PAGES * PAGE_SIZE + 700);
  }, 60_000);

  it('adopts a new event inside the window and leaves one before it to its page', async () => {
    serve([]);
    const state = probe('c1', {});
    await settle(state);
    for (let i = 0; i < MAX_PAGES + 1; i++) {
      await act(async () => state.tl!.loadMore());
      await settle(state);
    }
    const before = state.tl!.events.length;
    const inside = synthetic(state.tl!.skipped + 10, 'odd', 'x');
    const outside = synthetic(3, 'odd', 'y');
    await act(async () => {
      state.tl!.adopt(inside);
      state.tl!.adopt(outside);
    });
    const ids = state.tl!.events.map((e) => e.id);
    expect(ids.length).toBe(before + 1);
    expect(ids.indexOf(inside.id)).toBe(11);
    expect(ids).not.toContain(outside.id);
    // A correction replaces the version it corrects where it is.
    const target = state.tl!.events[2000]!;
    const fixed = { ...target, id: 'fixed', supersedes: target.id, description: 'corrected' };
    await act(async () => state.tl!.adopt(fixed));
    expect(state.tl!.events[2000]!.id).toBe('fixed');
    expect(state.tl!.events.length).toBe(before + 1);
  });
});

describe('useTimeline filter', () => {
  it('starts again from the first page when the filter changes', async () => {
    const requests = serve([]);
    const state: { tl: TimelineState | null } = { tl: null };
    let setFilter: (f: TimelineFilter) => void = () => {};
    function Probe() {
      const [f, set] = useState<TimelineFilter>({});
      setFilter = set;
      state.tl = useTimeline('c1', f);
      return null;
    }
    show(<Probe />);
    await settle(state);
    for (let i = 0; i < MAX_PAGES + 3; i++) {
      await act(async () => state.tl!.loadMore());
      await settle(state);
    }
    expect(state.tl!.skipped).toBeGreaterThan(0);
    await act(async () => setFilter({ source: 'even' }));
    await settle(state);
    expect(state.tl!.skipped).toBe(0);
    expect(state.tl!.earlier).toBe(false);
    expect(state.tl!.events.length).toBe(PAGE_SIZE);
    expect(state.tl!.events.slice(0, 3).map((e) => e.id)).toEqual(['e0000000', 'e0000002', 'e0000004']);
    expect(requests[requests.length - 1]).toBe('?source=even&limit=500');
  });
});
