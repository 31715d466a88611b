// The record of a case's moves: each change of status, who made it, when
// and why, newest first.

import { api, type CaseTransition } from '../api';
import { type Column, ErrorAlert, humanize, Section, Table, Time, useLoad, UserName } from '../ui';

const columns: Column<CaseTransition>[] = [
  { title: 'When', rowHeader: true, cell: (t) => <Time iso={t.at} /> },
  { title: 'Move', cell: (t) => (t.from ? `${humanize(t.from)} → ${humanize(t.to)}` : `Opened as ${humanize(t.to)}`) },
  { title: 'By', cell: (t) => <UserName id={t.by_user} /> },
  { title: 'Reason', cell: (t) => t.reason },
];

export function CaseHistorySection({ caseId, status }: { caseId: string; status: string }) {
  const history = useLoad(() => api.caseHistory(caseId), [caseId, status]);
  return (
    <Section title="History of the case" id="case-history">
      <ErrorAlert error={history.error} />
      {history.loading && !history.data && <p role="status">Loading…</p>}
      {history.data && (
        <Table
          caption="Changes of status, newest first"
          columns={columns}
          rows={[...history.data.transitions].reverse()}
          rowKey={(t) => t.id}
          empty="No changes yet."
        />
      )}
    </Section>
  );
}
