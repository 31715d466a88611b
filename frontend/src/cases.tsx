import { useState } from 'preact/hooks';
import {
  api,
  type Case,
  CASE_SORT_KEYS,
  CASE_STATUSES,
  type CaseQuery,
  type CaseStatus,
  CLOCK_STATES,
  type ClockState,
  type TLP,
  TLPS,
} from './api';
import { clockStanding, SOON_HOURS, type UrgentClock, urgentClocks } from './clocks';
import { useDirectory } from './directory';
import { Link, navigate } from './router';
import { LoadMore } from './tasklist';
import { ErrorAlert, Field, humanize, Section, Select, Time, TlpBadge, useAction, useLoad } from './ui';

const TLP_HINTS: Record<TLP, string> = {
  CLEAR: 'CLEAR: no limit on disclosure',
  GREEN: 'GREEN: the community, not public',
  AMBER: 'AMBER: the members’ organisations, need to know',
  'AMBER+STRICT': 'AMBER+STRICT: the members’ organisations only',
  RED: 'RED: named people only',
};

const SEVERITY_WORDS: Record<number, string> = { 1: 'critical', 2: 'high', 3: 'medium', 4: 'low' };

export function SeverityBadge({ severity }: { severity: number | undefined }) {
  if (severity === undefined) return null;
  return (
    <span class={`badge severity-${severity}`}>
      Severity {severity}
      {SEVERITY_WORDS[severity] ? ` (${SEVERITY_WORDS[severity]})` : ''}
    </span>
  );
}

export function CaseStatusBadge({ status }: { status: string | undefined }) {
  if (!status) return null;
  return <span class={`badge case-status-${status}`}>{humanize(status)}</span>;
}

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
async function loadUrgent(): Promise<UrgentClock[]> {
  const [overdue, pending] = await Promise.all([
    api.cases({ clock_state: 'overdue', limit: 200 }),
    api.cases({ clock_state: 'pending', limit: 200 }),
  ]);
  return urgentClocks([...overdue.items, ...pending.items], Date.now());
}

interface Filters {
  status: string;
  severity: string;
  clock_state: string;
  tag: string;
  sort: string;
}

const NO_FILTERS: Filters = { status: '', severity: '', clock_state: '', tag: '', sort: '' };

function toQuery(f: Filters): CaseQuery {
  const q: CaseQuery = {};
  if (f.status) q.status = [f.status as CaseStatus];
  if (f.severity) q.severity = [Number(f.severity)];
  if (f.clock_state) q.clock_state = f.clock_state as ClockState;
  if (f.tag.trim()) q.tag = f.tag.trim();
  if (f.sort) q.sort = f.sort;
  return q;
}

const SORT_LABELS: Record<string, string> = {
  created_at: 'Opened',
  updated_at: 'Last changed',
  severity: 'Severity',
  reference: 'Reference',
  status_changed_at: 'Status changed',
};

function CaseFilters({ value, onChange }: { value: Filters; onChange: (f: Filters) => void }) {
  const set = (k: keyof Filters) => (v: string) => onChange({ ...value, [k]: v });
  return (
    <form class="inline-form filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter cases">
      <Select
        id="filter-status"
        label="Status"
        value={value.status}
        onChange={set('status')}
        options={[{ value: '', label: 'Any' }, ...CASE_STATUSES.map((s) => ({ value: s, label: humanize(s) }))]}
      />
      <Select
        id="filter-severity"
        label="Severity"
        value={value.severity}
        onChange={set('severity')}
        options={[{ value: '', label: 'Any' }, ...[1, 2, 3, 4].map((n) => ({ value: String(n), label: `${n} (${SEVERITY_WORDS[n]})` }))]}
      />
      <Select
        id="filter-clock"
        label="Clocks"
        value={value.clock_state}
        onChange={set('clock_state')}
        options={[{ value: '', label: 'Any' }, ...CLOCK_STATES.map((s) => ({ value: s, label: `Some ${s}` }))]}
      />
      <Field id="filter-tag" label="Tag" value={value.tag} onInput={set('tag')} />
      <Select
        id="filter-sort"
        label="Sort by"
        value={value.sort}
        onChange={set('sort')}
        options={[
          { value: '', label: 'Default' },
          ...CASE_SORT_KEYS.flatMap((k) => [
            { value: `-${k}`, label: `${SORT_LABELS[k]}, newest or highest first` },
            { value: k, label: `${SORT_LABELS[k]}, oldest or lowest first` },
          ]),
        ]}
      />
      <button type="button" class="secondary" onClick={() => onChange(NO_FILTERS)}>
        Clear filters
      </button>
    </form>
  );
}

export function CreateCaseForm({ onCreated }: { onCreated: (c: Case) => void }) {
  const [title, setTitle] = useState('');
  const [tlp, setTlp] = useState<TLP>('AMBER');
  const [label, setLabel] = useState('');
  const [severity, setSeverity] = useState('3');
  const [summary, setSummary] = useState('');
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    await run(async () => {
      const c = await api.createCase({
        title: title.trim(),
        summary: summary.trim(),
        severity: Number(severity),
        tlp,
        classification_label: label.trim(),
      });
      onCreated(c);
    });
  }

  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      <Field id="title" label="Title" required maxLength={300} value={title} onInput={setTitle} problem={problem} />
      <Field id="summary" label="Summary" multiline value={summary} onInput={setSummary} problem={problem} />
      <Select
        id="severity"
        label="Severity"
        value={severity}
        onChange={setSeverity}
        options={[1, 2, 3, 4].map((n) => ({ value: String(n), label: `${n} (${SEVERITY_WORDS[n]})` }))}
        problem={problem}
      />
      <Select
        id="tlp"
        label="TLP"
        value={tlp}
        onChange={(v) => setTlp(v as TLP)}
        options={TLPS.map((t) => ({ value: t, label: TLP_HINTS[t] }))}
        problem={problem}
      />
      <Field
        id="classification_label"
        label="Classification label"
        hint="As your agency marks it, e.g. RESTRICTED. Optional."
        value={label}
        onInput={setLabel}
        problem={problem}
      />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Opening…' : 'Open case'}
      </button>
    </form>
  );
}

/** The leadership view (cases per status, deadlines to watch), the filtered case list, and the form to open a case. */
export function CaseListPage() {
  const dir = useDirectory();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const q = toQuery(filters);
  const list = useLoad(() => api.cases(q), [JSON.stringify(q)]);
  const urgent = useLoad(loadUrgent, []);
  // Admins manage people and auditors read the record; neither opens cases.
  const mayCreate = dir.me.system_role === 'member' || dir.me.system_role === 'agency_admin';
  return (
    <div class="page">
      <h1 id="page-title" tabIndex={-1}>
        Cases
      </h1>
      <Section title="At a glance" id="overview">
        <StatusCounts counts={list.data?.counts} />
        <h3>Deadlines to watch</h3>
        <ErrorAlert error={urgent.error} />
        {urgent.loading && !urgent.data && <p role="status">Loading…</p>}
        {urgent.data && <DeadlineList urgent={urgent.data} />}
      </Section>
      <Section title="All cases you can see" id="case-list">
        <CaseFilters value={filters} onChange={setFilters} />
        <ErrorAlert error={list.error} />
        {list.loading && !list.data && <p role="status">Loading…</p>}
        {list.data && (
          <CaseTable
            cases={list.data.items}
            empty={JSON.stringify(filters) === JSON.stringify(NO_FILTERS) ? 'No cases yet.' : 'No cases match these filters.'}
          />
        )}
        <LoadMore page={list.data} fetchNext={(c) => api.cases({ ...q, cursor: c })} onMore={list.set} />
      </Section>
      {mayCreate && (
        <Section title="Open a case" id="create-case">
          <CreateCaseForm onCreated={(c) => navigate(`/cases/${encodeURIComponent(c.id)}`)} />
        </Section>
      )}
    </div>
  );
}
