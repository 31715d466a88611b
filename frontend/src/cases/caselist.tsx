import { api, CASE_SORT_KEYS, CASE_STATUSES, type CaseQuery, type CaseStatus, CLOCK_STATES, type ClockState } from '../api';
import { ErrorAlert, Field, humanize, LoadMore, navigate, Section, Select, setSearch, useDirectory, useLoad, useSearch } from '../ui';
import { SEVERITY_OPTIONS } from './badges';
import { CaseTable } from './casetable';
import { CreateCaseForm } from './createcase';
import { DeadlineList, loadUrgent, StatusCounts } from './glance';

interface Filters {
  status: string;
  severity: string;
  clock_state: string;
  tag: string;
  sort: string;
}

const NO_FILTERS: Filters = { status: '', severity: '', clock_state: '', tag: '', sort: '' };

/** The filters kept in the URL's query, so that Back and bookmarks keep them. */
export function filtersFrom(search: URLSearchParams): Filters {
  const f = { ...NO_FILTERS };
  for (const k of Object.keys(NO_FILTERS) as (keyof Filters)[]) f[k] = search.get(k) ?? '';
  return f;
}

function toQuery(f: Filters): CaseQuery {
  const q: CaseQuery = {};
  if (f.status) q.status = [f.status as CaseStatus];
  if (f.severity) q.severity = [Number(f.severity)];
  if (f.clock_state) q.clock_state = f.clock_state as ClockState;
  if (f.tag.trim()) q.tag = f.tag.trim();
  if (f.sort) q.sort = f.sort;
  return q;
}

/** What each sort key orders by, and how it reads descending ("-key") and ascending. */
const SORT_LABELS: Record<(typeof CASE_SORT_KEYS)[number], [string, string]> = {
  created_at: ['Opened, newest first', 'Opened, oldest first'],
  updated_at: ['Last changed, newest first', 'Last changed, oldest first'],
  severity: ['Severity, critical first', 'Severity, low first'],
  reference: ['Reference, latest first', 'Reference, earliest first'],
  status_changed_at: ['Status changed, newest first', 'Status changed, oldest first'],
};

function CaseFilters({ value, onChange }: { value: Filters; onChange: (f: Filters, typing?: boolean) => void }) {
  // Typing a tag replaces the history entry; each choice adds one, so Back undoes it.
  const set = (k: keyof Filters) => (v: string) => onChange({ ...value, [k]: v }, k === 'tag');
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
        options={[{ value: '', label: 'Any' }, ...SEVERITY_OPTIONS]}
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
            { value: `-${k}`, label: SORT_LABELS[k][0] },
            { value: k, label: SORT_LABELS[k][1] },
          ]),
        ]}
      />
      <button type="button" class="secondary" onClick={() => onChange(NO_FILTERS)}>
        Clear filters
      </button>
    </form>
  );
}

/** The leadership view (cases per status, deadlines to watch), the filtered case list, and the form to open a case. */
export function CaseListPage() {
  const dir = useDirectory();
  const filters = filtersFrom(useSearch());
  const setFilters = (f: Filters, typing = false) => setSearch({ ...f }, typing);
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
