// The TTP summary: the ATT&CK techniques of the whole timeline the reader
// may see, counted by the server and grouped by tactic in kill-chain order,
// each a link to the list filtered by it.

import type { TimelineFilter } from '../api';
import { timelineApi, timelineQuery } from '../api';
import { currentPath, ErrorAlert, formatTime, useLoad } from '../ui';
import { applyFilter } from './filters';
import { tacticColor } from './tactics';

const plural = (n: number, one: string) => `${n.toLocaleString('en-GB')} ${one}${n === 1 ? '' : 's'}`;

/** version changes when the timeline does (an event added, corrected, imported), to count again. */
export function TTPSummary({ caseId, filter, version }: { caseId: string; filter: TimelineFilter; version: number }) {
  const summary = useLoad(() => timelineApi.ttp(caseId), [caseId, version]);
  const s = summary.data;
  if (summary.error) return <ErrorAlert error={summary.error} />;
  if (!s) return <p class="field-hint">Counting the techniques…</p>;
  if (s.tactics.length === 0) return <p class="empty">No event you may see has an ATT&amp;CK technique.</p>;

  function follow(e: MouseEvent, technique: string) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    applyFilter({ ...filter, technique });
    // To the list, which is above: a screen reader hears its heading, then the new count.
    const heading = document.getElementById('timeline');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  const techniques = new Set(s.tactics.flatMap((g) => g.techniques.map((t) => t.id)));
  return (
    <>
      <p class="field-hint">
        {plural(techniques.size, 'technique')} under {plural(s.tactics.length, 'tactic')}, over every event of the timeline you may
        see (not only the filtered list). An event counts under each of its tactics; a technique's list also shows its
        sub-techniques.
      </p>
      {s.truncated && <p class="field-hint">Only the 2,000 most seen tactic and technique pairs are shown.</p>}
      <dl class="ttp-summary">
        {s.tactics.map((g) => (
          <div key={g.id ?? ''} class="ttp-tactic">
            <dt>
              <span class="swatch" style={{ background: tacticColor(g.id ?? undefined) }} aria-hidden="true" />
              {g.id ? `${g.name ?? 'Tactic'} (${g.id})` : 'No tactic given'}
            </dt>
            <dd>
              <ul>
                {g.techniques.map((t) => {
                  const href = currentPath() + timelineQuery({ ...filter, ...t.filter });
                  return (
                    <li key={t.id}>
                      <a href={href} aria-current={filter.technique === t.id ? 'true' : undefined} onClick={(e) => follow(e, t.id)}>
                        <code>{t.id}</code> · {plural(t.events, 'event')}
                      </a>
                      <span class="ttp-when">
                        {' '}
                        <time dateTime={t.first_seen}>{formatTime(t.first_seen)}</time>
                        {t.last_seen !== t.first_seen && (
                          <>
                            {' to '}
                            <time dateTime={t.last_seen}>{formatTime(t.last_seen)}</time>
                          </>
                        )}
                      </span>
                    </li>
                  );
                })}
              </ul>
            </dd>
          </div>
        ))}
      </dl>
    </>
  );
}
