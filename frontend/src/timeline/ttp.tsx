// The TTP summary: the ATT&CK techniques seen in the loaded events, grouped
// by tactic in kill-chain order, each a link that filters the timeline to
// its events.

import type { TimelineEvent, TimelineFilter } from '../api';
import { applyFilter } from './filters';
import { tacticColor, tacticName, tacticOrder } from './tactics';

export interface TacticGroup {
  tactic: string; // '' for events without a tactic
  techniques: { id: string; events: number }[];
}

export function summarize(events: TimelineEvent[]): TacticGroup[] {
  const groups = new Map<string, Map<string, number>>();
  for (const e of events) {
    if (e.techniques.length === 0) continue;
    for (const tactic of e.tactics.length > 0 ? e.tactics : ['']) {
      const g = groups.get(tactic) ?? new Map<string, number>();
      for (const t of e.techniques) g.set(t, (g.get(t) ?? 0) + 1);
      groups.set(tactic, g);
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : tacticOrder(a) - tacticOrder(b)))
    .map(([tactic, g]) => ({
      tactic,
      techniques: [...g.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([id, events]) => ({ id, events })),
    }));
}

export function TTPSummary({ events, more, filter }: { events: TimelineEvent[]; more: boolean; filter: TimelineFilter }) {
  const groups = summarize(events);
  if (groups.length === 0) return <p class="empty">No ATT&amp;CK techniques on the events loaded.</p>;
  return (
    <>
      {more && <p class="field-hint">From the {events.length} events loaded so far; scroll the list to load more.</p>}
      <dl class="ttp-summary">
        {groups.map((g) => (
          <div key={g.tactic} class="ttp-tactic">
            <dt>
              <span class="swatch" style={{ background: tacticColor(g.tactic) }} aria-hidden="true" />
              {g.tactic ? `${tacticName(g.tactic)} (${g.tactic})` : 'No tactic given'}
            </dt>
            <dd>
              <ul>
                {g.techniques.map((t) => (
                  <li key={t.id}>
                    <button
                      type="button"
                      class="link"
                      aria-pressed={filter.technique === t.id}
                      onClick={() => applyFilter({ ...filter, technique: t.id })}
                    >
                      <code>{t.id}</code> · {t.events} {t.events === 1 ? 'event' : 'events'}
                    </button>
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        ))}
      </dl>
    </>
  );
}
