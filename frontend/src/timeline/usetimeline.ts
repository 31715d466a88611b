// The events of a case's timeline under a filter, as a bounded window over
// the API's keyset pages: at most MAX_PAGES pages are held, whatever the size
// of the timeline. Scrolling near the end loads the next page (with the
// cursor the last page returned) and drops the first; scrolling near the top
// of a window that has dropped pages before it fetches the page before again,
// with the cursor it was first fetched with, and drops the last. A change of
// filter starts again from the first page.

import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { asProblem, type ProblemError, type TimelineEvent, type TimelineFilter, timelineApi } from '../api';

export const PAGE_SIZE = 500;
/** The most pages the window holds: memory and the list's height stay bounded. */
export const MAX_PAGES = 8;
/** The most extra fetches that close a gap left by events added before the window meanwhile. */
const MAX_CATCH_UP = 4;

interface LoadedPage {
  /** The cursor the page was fetched with (undefined for the first page). */
  cursor: string | undefined;
  items: TimelineEvent[];
  /** The cursor of the page after it, as the server gave it; null on the last page. */
  next: string | null;
}

/** A page dropped before the window: enough to fetch it again and to number the events. */
interface DroppedPage {
  cursor: string | undefined;
  count: number;
}

interface PageWindow {
  pages: LoadedPage[];
  /** The pages dropped before the window, oldest first. */
  behind: DroppedPage[];
  /** How many events the dropped pages held: the window's first event is number skipped + 1. */
  skipped: number;
}

const EMPTY: PageWindow = { pages: [], behind: [], skipped: 0 };

export interface TimelineState {
  /** The events of the window, oldest first. */
  events: TimelineEvent[];
  /** How many events come before the window (in pages dropped from it). */
  skipped: number;
  /** Pages dropped before the window can be fetched again. */
  earlier: boolean;
  /** More pages follow the window. */
  more: boolean;
  /** Which end of the window is loading, if any. */
  loading: false | 'first' | 'next' | 'previous';
  error: ProblemError | null;
  /** Asks for the next page (once at a time). */
  loadMore: () => void;
  /** Asks for the page before the window again (once at a time). */
  loadPrevious: () => void;
  reload: () => void;
  /** Puts an event in place of the version it corrects, or adds a new one. */
  adopt: (e: TimelineEvent) => void;
}

function order(a: TimelineEvent, b: TimelineEvent): number {
  return Date.parse(a.occurred_at) - Date.parse(b.occurred_at) || a.id.localeCompare(b.id);
}

function eventsOf(w: PageWindow): TimelineEvent[] {
  return w.pages.length === 1 ? w.pages[0]!.items : w.pages.flatMap((p) => p.items);
}

/** The window with the next page added at its end, the first page dropped past MAX_PAGES. */
function appendPage(w: PageWindow, page: LoadedPage): PageWindow {
  const last = w.pages[w.pages.length - 1];
  if (!last) return { ...w, pages: [page] };
  // An event adopted at the end of the window comes again in the next page.
  const held = new Set(last.items.map((e) => e.id));
  const items = page.items.filter((e) => !held.has(e.id));
  if (items.length === 0) return { ...w, pages: [...w.pages.slice(0, -1), { ...last, next: page.next }] };
  const pages = [...w.pages, { ...page, items }];
  if (pages.length <= MAX_PAGES) return { ...w, pages };
  const dropped = pages.shift()!;
  return {
    pages,
    behind: [...w.behind, { cursor: dropped.cursor, count: dropped.items.length }],
    skipped: w.skipped + dropped.items.length,
  };
}

/** The window with the page before it added at its start, the last page dropped past MAX_PAGES. */
function prependPage(w: PageWindow, page: LoadedPage): PageWindow {
  const dropped = w.behind[w.behind.length - 1]!;
  const pages = [page, ...w.pages];
  if (pages.length > MAX_PAGES) pages.pop();
  return {
    pages,
    behind: w.behind.slice(0, -1),
    skipped: Math.max(0, w.skipped - dropped.count),
  };
}

export function useTimeline(caseId: string, filter: TimelineFilter): TimelineState {
  const key = JSON.stringify([caseId, filter]);
  const [win, setWin] = useState<PageWindow>(EMPTY);
  const [loading, setLoading] = useState<TimelineState['loading']>(false);
  const [error, setError] = useState<ProblemError | null>(null);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const busy = useRef(false);
  // The window as last rendered, for the loaders (they run once at a time).
  const current = useRef(win);
  current.current = win;

  const run = useCallback(
    (which: 'first' | 'next' | 'previous', mine: number, work: () => Promise<(w: PageWindow) => PageWindow>) => {
      busy.current = true;
      setLoading(which);
      work().then(
        (change) => {
          if (seq.current !== mine) return;
          setWin((w) => {
            const next = change(w);
            current.current = next;
            return next;
          });
          setError(null);
          setLoading(false);
          busy.current = false;
        },
        (err: unknown) => {
          if (seq.current !== mine) return;
          setError(asProblem(err));
          setLoading(false);
          busy.current = false;
        },
      );
    },
    [key],
  );

  useEffect(() => {
    const mine = ++seq.current;
    current.current = EMPTY;
    setWin(EMPTY);
    run('first', mine, async () => {
      const page = await timelineApi.list(caseId, filter, undefined, PAGE_SIZE);
      return () => ({ ...EMPTY, pages: [{ cursor: undefined, items: page.items, next: page.next_cursor ?? null }] });
    });
  }, [key, tick]);

  const loadMore = useCallback(() => {
    const last = current.current.pages[current.current.pages.length - 1];
    if (busy.current || !last?.next) return;
    const cursor = last.next;
    run('next', seq.current, async () => {
      const page = await timelineApi.list(caseId, filter, cursor, PAGE_SIZE);
      return (w) => appendPage(w, { cursor, items: page.items, next: page.next_cursor ?? null });
    });
  }, [run]);

  const loadPrevious = useCallback(() => {
    const w = current.current;
    const dropped = w.behind[w.behind.length - 1];
    const first = w.pages[0];
    if (busy.current || !dropped || !first) return;
    run('previous', seq.current, async () => {
      // Normally the page fetched again ends where the window starts: its
      // next cursor is the one the window's first page was fetched with. If
      // events were added or corrected before the window meanwhile, it ends
      // earlier; fetch on until the window is reached, so nothing is missed.
      const held = new Set(first.items.map((e) => e.id));
      const items: TimelineEvent[] = [];
      let cursor: string | null | undefined = dropped.cursor;
      for (let n = 0; n <= MAX_CATCH_UP; n++) {
        const page = await timelineApi.list(caseId, filter, cursor ?? undefined, PAGE_SIZE);
        const fresh = page.items.filter((e) => !held.has(e.id));
        items.push(...fresh);
        cursor = page.next_cursor ?? null;
        // Reached the window: the next cursor is its first page's, or the page ran into it.
        if (cursor === null || cursor === (first.cursor ?? null) || fresh.length < page.items.length) break;
      }
      return (win) => prependPage(win, { cursor: dropped.cursor, items, next: first.cursor ?? null });
    });
  }, [run]);

  const adopt = useCallback((e: TimelineEvent) => {
    setWin((w) => {
      const fix = (p: LoadedPage, i: number): LoadedPage => ({
        ...p,
        items: [...p.items.slice(0, i), e, ...p.items.slice(i + 1)],
      });
      if (e.supersedes) {
        for (let k = 0; k < w.pages.length; k++) {
          const i = w.pages[k]!.items.findIndex((x) => x.id === e.supersedes);
          if (i >= 0) return { ...w, pages: w.pages.map((p, j) => (j === k ? fix(p, i) : p)) };
        }
      }
      if (w.pages.length === 0) return { ...w, pages: [{ cursor: undefined, items: [e], next: null }] };
      const events = eventsOf(w);
      // Before or after the window, the event shows when that page is fetched.
      if (w.behind.length > 0 && order(e, events[0]!) < 0) return w;
      const last = w.pages[w.pages.length - 1]!;
      if (last.next !== null && events.length > 0 && order(e, events[events.length - 1]!) > 0) return w;
      let k = w.pages.length - 1;
      while (k > 0 && (w.pages[k]!.items.length === 0 || order(e, w.pages[k]!.items[0]!) < 0)) k--;
      return {
        ...w,
        pages: w.pages.map((p, j) => (j === k ? { ...p, items: [...p.items, e].sort(order) } : p)),
      };
    });
  }, []);

  const events = useMemo(() => eventsOf(win), [win.pages]);
  return {
    events,
    skipped: win.skipped,
    earlier: win.behind.length > 0,
    more: (win.pages[win.pages.length - 1]?.next ?? null) !== null,
    loading,
    error,
    loadMore,
    loadPrevious,
    reload: useCallback(() => setTick((t) => t + 1), []),
    adopt,
  };
}
