// The timeline's events as a virtualised list (@tanstack/virtual-core): only
// the rows in view are in the DOM, and the list holds only the bounded window
// of pages useTimeline keeps, so scrolling a case of a million events costs
// what scrolling twenty does. Nearing the end of the window asks for the next
// keyset page, nearing its top for the page before it again; the virtualizer
// anchors on the row at the top of the view (anchorTo: 'end'), so the rows in
// view stay put when a page is added or dropped above them.

import { elementScroll, measureElement, observeElementOffset, observeElementRect, Virtualizer } from '@tanstack/virtual-core';
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { TimelineEvent } from '../api';
import { Time } from '../ui';
import { tacticColor, tacticName } from './tactics';
import type { TimelineState } from './usetimeline';

/** A row's height before any is measured; rows that wrap (narrow screens) measure taller. */
const ESTIMATE = 72;
/** How close to either end of the window the next (or previous) page is asked for. */
const PREFETCH = 300;

interface ListProps {
  events: TimelineEvent[];
  /** How many events come before the window. */
  skipped: number;
  /** Pages dropped before the window can be fetched again. */
  earlier: boolean;
  more: boolean;
  loading: TimelineState['loading'];
  onNeedMore: () => void;
  onNeedEarlier: () => void;
  selected: string | undefined;
  onSelect: (e: TimelineEvent) => void;
}

const count = new Intl.NumberFormat('en');

/** What the list's status says while a page loads, by which end loads. */
const LOADING = { first: 'Loading events…', next: 'Loading later events…', previous: 'Loading earlier events…' } as const;

/** Which events the window shows, by number: "12,001–16,000 of more", "1–3 of 3". */
export function windowRange(skipped: number, shown: number, more: boolean): string {
  const total = more ? 'more' : count.format(skipped + shown);
  return `${count.format(shown === 0 ? skipped : skipped + 1)}–${count.format(skipped + shown)} of ${total}`;
}

/** The count over the list: "2 events" while the window is all there is, else "Events 12,001–16,000 of more". */
export function windowLabel(skipped: number, shown: number, more: boolean): string {
  if (skipped === 0 && !more) return `${count.format(shown)} ${shown === 1 ? 'event' : 'events'}`;
  return `Events ${windowRange(skipped, shown, more)}`;
}

export function sourceLabel(e: TimelineEvent): string {
  return [e.source.host, e.source.system, e.source.log].filter(Boolean).join(' · ');
}

// The virtualizer measures the whole window (its rows' offsets) again
// whenever getItemKey changes; a key function made afresh at each render, as
// the list renders at each step of a scroll, would cost a pass over
// thousands of rows a frame. One function per window of events keeps that
// pass to when the window changes.
const keyFunctions = new WeakMap<TimelineEvent[], (i: number) => string | number>();

/** The virtualizer's row key function for events: the same function for as long as the window is the same array. */
export function rowKey(events: TimelineEvent[]): (i: number) => string | number {
  let key = keyFunctions.get(events);
  if (key === undefined) {
    key = (i: number) => events[i]?.id ?? i;
    keyFunctions.set(events, key);
  }
  return key;
}

/**
 * The rows' sizes as the virtualizer takes them: each row measured as it
 * shows, and rows not yet shown estimated at the size last measured. A row
 * that measures other than its estimate makes the virtualizer lay out every
 * row below it again, thousands in a full window; rows mostly measure as
 * the one before (one line of text), so estimating them so keeps that to
 * the rows that differ.
 */
export function rowSizes(initial: number) {
  let last = initial;
  return {
    estimate: () => last,
    measure: (el: HTMLLIElement, entry: ResizeObserverEntry | undefined, v: Virtualizer<HTMLDivElement, HTMLLIElement>) => {
      const size = measureElement(el, entry, v);
      // A row not laid out (a hidden list) measures 0: no estimate for the others.
      if (size > 0) last = size;
      return size;
    },
  };
}

export function EventList({ events, skipped, earlier, more, loading, onNeedMore, onNeedEarlier, selected, onSelect }: ListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [sizes] = useState(() => rowSizes(ESTIMATE));
  const options = {
    count: events.length,
    getScrollElement: () => scroller.current,
    estimateSize: sizes.estimate,
    measureElement: sizes.measure,
    overscan: 6,
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    getItemKey: rowKey(events),
    // Keeps the row at the top of the view where it is when the window
    // changes at either end (a page prepended or dropped above it).
    anchorTo: 'end' as const,
    onChange: () => rerender(0),
  };
  const [virtualizer] = useState(() => new Virtualizer<HTMLDivElement, HTMLLIElement>(options));
  virtualizer.setOptions(options);
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());

  const items = virtualizer.getVirtualItems();
  const first = items.length > 0 ? items[0]!.index : -1;
  const last = items.length > 0 ? items[items.length - 1]!.index : -1;
  // Asks again when the view or the window moves, not when a load ends: a
  // page that failed is asked for again once the reader scrolls, not in a loop.
  useEffect(() => {
    if (loading || last < 0) return;
    if (more && last >= events.length - PREFETCH) onNeedMore();
    else if (earlier && first < PREFETCH) onNeedEarlier();
  }, [first, last, events.length, more, earlier]);

  if (events.length === 0) return <p class="empty">{loading ? 'Loading events…' : 'No events match.'}</p>;
  return (
    <div
      class="event-scroll"
      ref={scroller}
      tabIndex={0}
      role="region"
      aria-label={`Events, oldest first: ${windowRange(skipped, events.length, more)}`}
    >
      <ol class="event-list" style={{ height: `${virtualizer.getTotalSize()}px` }}>
        {items.map((v) => {
          const e = events[v.index]!;
          return (
            <li
              key={e.id}
              data-index={v.index}
              aria-posinset={skipped + v.index + 1}
              aria-setsize={more ? -1 : skipped + events.length}
              data-event-id={e.id}
              ref={virtualizer.measureElement}
              class={e.id === selected ? 'event selected' : 'event'}
              style={{ transform: `translateY(${v.start}px)` }}
            >
              <div class="event-when">
                <Time iso={e.occurred_at} sourceZone={e.source_timezone} />
                {e.supersedes && <span class="badge corrected">corrected</span>}
              </div>
              <div class="event-what">
                <button type="button" class="link event-open" onClick={() => onSelect(e)}>
                  {e.description}
                </button>
                <div class="event-meta">
                  {sourceLabel(e) && <span class="event-source">{sourceLabel(e)}</span>}
                  {e.tactics.map((t) => (
                    <span key={t} class="tactic" style={{ borderColor: tacticColor(t) }}>
                      {tacticName(t)}
                    </span>
                  ))}
                  {e.techniques.map((t) => (
                    <code key={t} class="technique">
                      {t}
                    </code>
                  ))}
                  {e.tags.map((t) => (
                    <span key={t} class="tag">
                      {t}
                    </span>
                  ))}
                </div>
              </div>
            </li>
          );
        })}
      </ol>
      <p class={loading ? 'event-loading' : 'visually-hidden'} role="status">
        {loading ? LOADING[loading] : ''}
      </p>
    </div>
  );
}
