// The timeline's filters, kept in the URL's query (?source=…&technique=…),
// so Back, bookmarks and shared links keep them. The server filters.

import { useEffect, useState } from 'preact/hooks';
import { TIMELINE_FILTER_KEYS, type TimelineFilter } from '../api';
import { Field, isoToLocal, localToISO, setSearch } from '../ui';

export function filterFrom(search: URLSearchParams): TimelineFilter {
  const f: TimelineFilter = {};
  for (const k of TIMELINE_FILTER_KEYS) {
    const v = search.get(k);
    if (v) f[k] = v;
  }
  return f;
}

export function applyFilter(f: TimelineFilter, replace = false) {
  setSearch({ ...f }, replace);
}

/** The filter form; it applies on submit, so a half-typed technique asks the server nothing. */
export function TimelineFilters({ value }: { value: TimelineFilter }) {
  const [draft, setDraft] = useState({
    from: isoToLocal(value.from),
    to: isoToLocal(value.to),
    source: value.source ?? '',
    technique: value.technique ?? '',
    tag: value.tag ?? '',
    q: value.q ?? '',
  });
  // The URL changed (Back, a brush, a technique link): the form follows it.
  useEffect(
    () =>
      setDraft({
        from: isoToLocal(value.from),
        to: isoToLocal(value.to),
        source: value.source ?? '',
        technique: value.technique ?? '',
        tag: value.tag ?? '',
        q: value.q ?? '',
      }),
    [JSON.stringify(value)],
  );
  const set = (k: keyof typeof draft) => (v: string) => setDraft({ ...draft, [k]: v });
  function submit(e: Event) {
    e.preventDefault();
    applyFilter({
      from: localToISO(draft.from),
      to: localToISO(draft.to),
      source: draft.source.trim() || undefined,
      technique: draft.technique.trim().toUpperCase() || undefined,
      tag: draft.tag.trim() || undefined,
      q: draft.q.trim() || undefined,
    });
  }
  const any = TIMELINE_FILTER_KEYS.some((k) => value[k]);
  return (
    <form class="inline-form filters timeline-filters" onSubmit={submit} aria-label="Filter the timeline">
      <Field id="tl-from" label="From" type="datetime-local" value={draft.from} onInput={set('from')} />
      <Field id="tl-to" label="Until" type="datetime-local" value={draft.to} onInput={set('to')} />
      <Field id="tl-source" label="Source (host, log or system)" value={draft.source} onInput={set('source')} />
      <Field id="tl-technique" label="Technique" hint="e.g. T1078; finds its sub-techniques too" value={draft.technique} onInput={set('technique')} />
      <Field id="tl-tag" label="Tag" value={draft.tag} onInput={set('tag')} />
      <Field id="tl-q" label="Text" value={draft.q} onInput={set('q')} />
      <div class="actions">
        <button type="submit" class="primary">
          Filter
        </button>
        {any && (
          <button type="button" class="secondary" onClick={() => applyFilter({})}>
            Clear filters
          </button>
        )}
      </div>
    </form>
  );
}
