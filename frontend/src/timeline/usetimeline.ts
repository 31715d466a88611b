// The events of a case's timeline under a filter, loaded page by page with
// the API's keyset cursor as the list scrolls; a change of filter starts
// again from the first page.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { asProblem, type ProblemError, type TimelineEvent, type TimelineFilter, timelineApi } from '../api';

export const PAGE_SIZE = 500;

export interface TimelineState {
  events: TimelineEvent[];
  /** More pages follow. */
  more: boolean;
  loading: boolean;
  error: ProblemError | null;
  /** Asks for the next page (once at a time). */
  loadMore: () => void;
  reload: () => void;
  /** Puts an event in place of the version it corrects, or adds a new one. */
  adopt: (e: TimelineEvent) => void;
}

export function useTimeline(caseId: string, filter: TimelineFilter): TimelineState {
  const key = JSON.stringify([caseId, filter]);
  const [events, setEvents] = useState<TimelineEvent[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ProblemError | null>(null);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const busy = useRef(false);

  const fetchPage = useCallback(
    (after: string | undefined, mine: number) => {
      busy.current = true;
      setLoading(true);
      timelineApi.list(caseId, filter, after, PAGE_SIZE).then(
        (page) => {
          if (seq.current !== mine) return;
          setEvents((prev) => (after === undefined ? page.items : prev.concat(page.items)));
          setCursor(page.next_cursor ?? null);
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
    setEvents([]);
    setCursor(undefined);
    fetchPage(undefined, mine);
  }, [key, tick]);

  const loadMore = useCallback(() => {
    if (busy.current || !cursor) return;
    fetchPage(cursor, seq.current);
  }, [cursor, fetchPage]);

  const adopt = useCallback((e: TimelineEvent) => {
    setEvents((prev) => {
      const i = e.supersedes ? prev.findIndex((x) => x.id === e.supersedes) : -1;
      if (i >= 0) return [...prev.slice(0, i), e, ...prev.slice(i + 1)];
      return [...prev, e].sort((a, b) => a.occurred_at.localeCompare(b.occurred_at) || a.id.localeCompare(b.id));
    });
  }, []);

  return {
    events,
    more: !!cursor,
    loading,
    error,
    loadMore,
    reload: useCallback(() => setTick((t) => t + 1), []),
    adopt,
  };
}
