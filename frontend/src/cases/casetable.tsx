import type { Case } from '../api';
import { Link, Time, TlpBadge } from '../ui';
import { CaseStatusBadge, SeverityBadge } from './badges';
import { clockStanding } from './clocks';

/** The next clock that is not met, for the list's "Next deadline" column. */
function nextClock(c: Case, now: number) {
  const open = c.clocks.filter((k) => k.state !== 'met' && k.due_at !== null);
  open.sort((a, b) => Date.parse(a.due_at!) - Date.parse(b.due_at!));
  const k = open[0];
  if (!k) return <span class="muted">none open</span>;
  return (
    <span class={k.state === 'overdue' ? 'clock-overdue' : ''}>
      {k.title}: {clockStanding(k, now)}
    </span>
  );
}

const COLUMNS: { title: string; cell: (c: Case, now: number) => preact.JSX.Element | string }[] = [
  { title: 'Reference', cell: (c) => c.reference },
  { title: 'Title', cell: (c) => <Link href={`/cases/${encodeURIComponent(c.id)}`}>{c.title}</Link> },
  { title: 'Severity', cell: (c) => <SeverityBadge severity={c.severity} /> },
  { title: 'Status', cell: (c) => <CaseStatusBadge status={c.status} /> },
  { title: 'TLP', cell: (c) => <TlpBadge tlp={c.tlp} /> },
  { title: 'Next deadline', cell: nextClock },
  { title: 'Updated', cell: (c) => <Time iso={c.updated_at} /> },
];

export function CaseTable({ cases, now = Date.now(), empty = 'No cases yet.' }: { cases: Case[]; now?: number; empty?: string }) {
  if (cases.length === 0) return <p class="empty">{empty}</p>;
  return (
    <table class="list">
      <caption class="visually-hidden">Cases</caption>
      <thead>
        <tr>
          {COLUMNS.map((col) => (
            <th scope="col" key={col.title}>
              {col.title}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {cases.map((c) => (
          <tr key={c.id}>
            {COLUMNS.map((col) => (
              <td key={col.title}>{col.cell(c, now)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
