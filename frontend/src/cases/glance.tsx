// The leadership's view of the case list: cases per status, and the
// deadlines to watch.

import { api, CASE_STATUSES } from '../api';
import { humanize, Link, Time } from '../ui';
import { clockStanding, SOON_HOURS, type UrgentClock, urgentClocks } from './clocks';

/** The number of visible cases in each status, in the order a case moves through them. */
export function StatusCounts({ counts }: { counts: Record<string, number> | undefined }) {
  if (!counts) return null;
  const known: string[] = [...CASE_STATUSES];
  const keys = [...known, ...Object.keys(counts).filter((s) => !known.includes(s))];
  const open = known.filter((s) => s !== 'closed').reduce((n, s) => n + (counts[s] ?? 0), 0);
  return (
    <div class="status-counts">
      <p class="lede">
        <strong>{open}</strong> open {open === 1 ? 'case' : 'cases'}, <strong>{counts.closed ?? 0}</strong> closed.
      </p>
      <dl class="counts" aria-label="Cases by status">
        {keys.map((s) => (
          <div key={s} class={`count case-status-${s}`}>
            <dt>{humanize(s)}</dt>
            <dd>{counts[s] ?? 0}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

/** The overdue and soon-due clocks across the caller's cases, for leadership. */
export function DeadlineList({ urgent, now = Date.now() }: { urgent: UrgentClock[]; now?: number }) {
  if (urgent.length === 0) {
    return <p class="empty">No clock is overdue or due within {SOON_HOURS} hours.</p>;
  }
  return (
    <table class="list deadlines">
      <caption class="visually-hidden">Overdue and soon-due regulatory clocks</caption>
      <thead>
        <tr>
          <th scope="col">Case</th>
          <th scope="col">Deadline</th>
          <th scope="col">Due</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {urgent.map(({ kase, clock, urgency }) => (
          <tr key={`${kase.id}/${clock.id}`} class={`clock ${urgency === 'overdue' ? 'overdue' : 'soon'}`}>
            <td>
              <Link href={`/cases/${encodeURIComponent(kase.id)}`}>
                {kase.reference} {kase.title}
              </Link>
            </td>
            <td>{clock.title}</td>
            <td>
              <Time iso={clock.due_at} />
            </td>
            <td>
              <span class={`badge clock-${urgency === 'overdue' ? 'overdue' : 'pending'}`}>
                {clockStanding(clock, now)}
              </span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Loads the cases with overdue clocks and those with pending ones, and picks the urgent clocks. */
export async function loadUrgent(): Promise<UrgentClock[]> {
  const [overdue, pending] = await Promise.all([
    api.cases({ clock_state: 'overdue', limit: 200 }),
    api.cases({ clock_state: 'pending', limit: 200 }),
  ]);
  return urgentClocks([...overdue.items, ...pending.items], Date.now());
}
