// The timeline's events as a virtualised list (@tanstack/virtual-core): only
// the rows in view are in the DOM, so scrolling a case of a million events
// costs what scrolling twenty does. Nearing the end of what is loaded asks
// for the next keyset page.

import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from '@tanstack/virtual-core';
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { TimelineEvent } from '../api';
import { Time } from '../ui';
import { tacticColor, tacticName } from './tactics';

/** A row's height before it is measured; rows that wrap (narrow screens) measure taller. */
const ESTIMATE = 72;
/** How close to the end of the loaded events the next page is asked for. */
const PREFETCH = 300;

interface ListProps {
  events: TimelineEvent[];
  more: boolean;
  loading: boolean;
  onNeedMore: () => void;
  selected: string | undefined;
  onSelect: (e: TimelineEvent) => void;
}

export function sourceLabel(e: TimelineEvent): string {
  return [e.source.host, e.source.system, e.source.log].filter(Boolean).join(' · ');
}

export function EventList({ events, more, loading, onNeedMore, selected, onSelect }: ListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const options = {
    count: events.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ESTIMATE,
    overscan: 6,
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    getItemKey: (i: number) => events[i]?.id ?? i,
    onChange: () => rerender(0),
  };
  const [virtualizer] = useState(() => new Virtualizer<HTMLDivElement, HTMLLIElement>(options));
  virtualizer.setOptions(options);
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());

  const items = virtualizer.getVirtualItems();
  const last = items.length > 0 ? items[items.length - 1]!.index : -1;
  useEffect(() => {
    if (more && !loading && last >= events.length - PREFETCH) onNeedMore();
  }, [last, events.length, more, loading]);

  if (events.length === 0) return <p class="empty">{loading ? 'Loading events…' : 'No events match.'}</p>;
  return (
    <div class="event-scroll" ref={scroller} tabIndex={0} role="region" aria-label="Events, oldest first">
      <ol class="event-list" style={{ height: `${virtualizer.getTotalSize()}px` }}>
        {items.map((v) => {
          const e = events[v.index]!;
          return (
            <li
              key={e.id}
              data-index={v.index}
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
      {loading && (
        <p class="event-loading" role="status">
          Loading more events…
        </p>
      )}
    </div>
  );
}
