// The leadership's view of the case list: cases per status, and the
// deadlines to watch.

import { api, CASE_STATUSES } from '../api';
import { type Column, humanize, Link, Table, Time } from '../ui';
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
  const columns: Column<UrgentClock>[] = [
    {
      title: 'Case',
      cell: ({ kase }) => (
        <Link href={`/cases/${encodeURIComponent(kase.id)}`}>
          {kase.reference} {kase.title}
        </Link>
      ),
    },
    { title: 'Deadline', cell: ({ clock }) => clock.title },
    { title: 'Due', cell: ({ clock }) => <Time iso={clock.due_at} /> },
    {
      title: 'State',
      cell: ({ clock, urgency }) => (
        <span class={`badge clock-${urgency === 'overdue' ? 'overdue' : 'pending'}`}>{clockStanding(clock, now)}</span>
      ),
    },
  ];
  return (
    <Table
      caption="Overdue and soon-due regulatory clocks"
      class="deadlines"
      columns={columns}
      rows={urgent}
      rowKey={({ kase, clock }) => `${kase.id}/${clock.id}`}
      rowClass={({ urgency }) => `clock ${urgency === 'overdue' ? 'overdue' : 'soon'}`}
      empty={`No clock is overdue or due within ${SOON_HOURS} hours.`}
    />
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
