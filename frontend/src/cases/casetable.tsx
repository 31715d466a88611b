import type { Case } from '../api';
import { type Column, Link, Table, Time, TlpBadge } from '../ui';
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

function columns(now: number): Column<Case>[] {
  return [
    { title: 'Reference', cell: (c) => c.reference },
    { title: 'Title', cell: (c) => <Link href={`/cases/${encodeURIComponent(c.id)}`}>{c.title}</Link> },
    { title: 'Severity', cell: (c) => <SeverityBadge severity={c.severity} /> },
    { title: 'Status', cell: (c) => <CaseStatusBadge status={c.status} /> },
    { title: 'TLP', cell: (c) => <TlpBadge tlp={c.tlp} /> },
    { title: 'Next deadline', cell: (c) => nextClock(c, now) },
    { title: 'Updated', cell: (c) => <Time iso={c.updated_at} /> },
  ];
}

export function CaseTable({ cases, now = Date.now(), empty = 'No cases yet.' }: { cases: Case[]; now?: number; empty?: string }) {
  return <Table caption="Cases" columns={columns(now)} rows={cases} rowKey={(c) => c.id} empty={empty} />;
}
