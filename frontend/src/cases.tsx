import { useState } from 'preact/hooks';
import { api, type Case, CASE_STATUSES, type TLP, TLPS } from './api';
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

export function SeverityBadge({ severity }: { severity: number | undefined }) {
  if (severity === undefined) return null;
  return <span class={`badge severity-${severity}`}>Severity {severity}</span>;
}

export function CaseStatusBadge({ status }: { status: string | undefined }) {
  if (!status) return null;
  return <span class={`badge case-status-${status}`}>{humanize(status)}</span>;
}

/**
 * The columns of the case list. Optional fields get a column only when some
 * case in the list has them, so the list grows as the case resource does.
 */
const COLUMNS: { title: string; has: (c: Case) => boolean; cell: (c: Case) => preact.JSX.Element | string }[] = [
  { title: 'Reference', has: (c) => !!c.reference, cell: (c) => c.reference ?? '' },
  {
    title: 'Title',
    has: () => true,
    cell: (c) => <Link href={`/cases/${encodeURIComponent(c.id)}`}>{c.title}</Link>,
  },
  { title: 'TLP', has: () => true, cell: (c) => <TlpBadge tlp={c.tlp} /> },
  { title: 'Classification', has: (c) => !!c.classification_label, cell: (c) => c.classification_label ?? '' },
  { title: 'Severity', has: (c) => c.severity !== undefined, cell: (c) => <SeverityBadge severity={c.severity} /> },
  { title: 'Status', has: (c) => !!c.status, cell: (c) => <CaseStatusBadge status={c.status} /> },
  { title: 'Updated', has: (c) => !!c.updated_at, cell: (c) => <Time iso={c.updated_at} /> },
];

export function CaseTable({ cases }: { cases: Case[] }) {
  if (cases.length === 0) return <p class="empty">No cases yet.</p>;
  const cols = COLUMNS.filter((col) => cases.some(col.has));
  return (
    <table class="list">
      <caption class="visually-hidden">Cases</caption>
      <thead>
        <tr>
          {cols.map((col) => (
            <th scope="col" key={col.title}>
              {col.title}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {cases.map((c) => (
          <tr key={c.id}>
            {cols.map((col) => (
              <td key={col.title}>{col.cell(c)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function StatusCounts({ counts }: { counts: Record<string, number> | undefined }) {
  if (!counts) return null;
  const known: string[] = [...CASE_STATUSES];
  const keys = [...known.filter((s) => s in counts), ...Object.keys(counts).filter((s) => !known.includes(s))];
  return (
    <ul class="counts" aria-label="Cases by status">
      {keys.map((s) => (
        <li key={s}>
          <CaseStatusBadge status={s} /> {counts[s]}
        </li>
      ))}
    </ul>
  );
}

export function CreateCaseForm({ onCreated }: { onCreated: (c: Case) => void }) {
  const [title, setTitle] = useState('');
  const [tlp, setTlp] = useState<TLP>('AMBER');
  const [label, setLabel] = useState('');
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    await run(async () => {
      const c = await api.createCase({ title: title.trim(), tlp, classification_label: label.trim() });
      onCreated(c);
    });
  }

  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      <Field id="title" label="Title" required maxLength={300} value={title} onInput={setTitle} problem={problem} />
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

/** The cases the caller can see, and a form to open one for those who run cases. */
export function CaseListPage() {
  const dir = useDirectory();
  const list = useLoad(() => api.cases(), []);
  // Admins manage people and auditors read the record; neither opens cases.
  const mayCreate = dir.me.system_role === 'member' || dir.me.system_role === 'agency_admin';
  return (
    <div class="page">
      <h1 id="page-title" tabIndex={-1}>
        Cases
      </h1>
      <Section title="All cases you can see" id="case-list">
        <StatusCounts counts={list.data?.status_counts} />
        <ErrorAlert error={list.error} />
        {list.loading && !list.data && <p role="status">Loading…</p>}
        {list.data && <CaseTable cases={list.data.items} />}
        <LoadMore page={list.data} fetchNext={(c) => api.cases(c)} onMore={list.set} />
      </Section>
      {mayCreate && (
        <Section title="Open a case" id="create-case">
          <CreateCaseForm onCreated={(c) => navigate(`/cases/${encodeURIComponent(c.id)}`)} />
        </Section>
      )}
    </div>
  );
}
