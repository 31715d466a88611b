// The audit log, for auditors: filters by person, agency, case, action and
// time (all on the server: an action or a prefix of one stands for the
// exact names the log records), pages by the keyset cursor, and the sealed log and its checkpoints
// to download for `bevis audit verify`.

import { useState } from 'preact/hooks';
import { type AuditEntry, type AuditQuery, api, type Page } from '../api';
import {
  AgencyName,
  type Column,
  ErrorAlert,
  Field,
  humanize,
  Link,
  LoadMore,
  localToISO,
  saveBlob,
  Section,
  Select,
  Table,
  Time,
  useAction,
  UserName,
  useDirectory,
  useLoad,
} from '../ui';
import { accessHref } from '../evidence/accesslog';
import { VerifySection } from './verification';

export interface AuditFilters {
  user_id: string;
  agency_id: string;
  case_id: string;
  action: string;
  from: string;
  to: string;
}

export const NO_AUDIT_FILTERS: AuditFilters = { user_id: '', agency_id: '', case_id: '', action: '', from: '', to: '' };

/** The most actions one query names (the server's limit). */
export const MAX_FILTER_ACTIONS = 100;

/**
 * The exact action names an action filter stands for, among those the log
 * records: the name itself, or every action under a prefix of whole words
 * ("evidence" for evidence.download, evidence.verify…). None when nothing
 * matches.
 */
export function expandAction(filter: string, known: readonly string[]): string[] {
  const want = filter.trim().toLowerCase();
  if (want === '') return [];
  if (known.includes(want)) return [want];
  return known.filter((a) => a.startsWith(`${want}.`));
}

/** The query the server filters by; actions are the exact names the action filter stands for. */
export function toAuditQuery(f: AuditFilters, actions: readonly string[] = []): AuditQuery {
  const q: AuditQuery = {};
  if (actions.length > 0) q.action = [...actions];
  if (f.user_id.trim()) q.user_id = f.user_id.trim();
  if (f.agency_id) q.agency_id = f.agency_id;
  if (f.case_id.trim()) q.case_id = f.case_id.trim();
  const from = localToISO(f.from);
  const to = localToISO(f.to);
  if (from) q.from = from;
  if (to) q.to = to;
  return q;
}

function AuditFilterForm({ value, known, onApply }: { value: AuditFilters; known: readonly string[]; onApply: (f: AuditFilters) => void }) {
  const d = useDirectory();
  const [draft, setDraft] = useState(value);
  const set = (k: keyof AuditFilters) => (v: string) => setDraft({ ...draft, [k]: v });
  const people = [...d.users.values()];
  return (
    <form
      class="form-grid filters"
      aria-label="Filter the audit log"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft);
      }}
    >
      <Select
        id="audit-agency"
        label="Agency"
        value={draft.agency_id}
        onChange={set('agency_id')}
        options={[{ value: '', label: 'Any agency' }, ...[...d.agencies.values()].map((a) => ({ value: a.id, label: `${a.name} (${a.code})` }))]}
      />
      <Select
        id="audit-person"
        label="Person"
        value={people.some((p) => p.id === draft.user_id) ? draft.user_id : ''}
        onChange={set('user_id')}
        options={[{ value: '', label: 'Anyone' }, ...people.map((p) => ({ value: p.id, label: `${p.name} <${p.email}>` }))]}
      />
      <Field id="audit-user-id" label="Or a person's ID" value={draft.user_id} onInput={set('user_id')} maxLength={64} />
      <Field id="audit-case" label="Case ID" value={draft.case_id} onInput={set('case_id')} maxLength={64} />
      <Field
        id="audit-action"
        label="Action"
        hint="Like evidence.download, or evidence for all of its actions."
        value={draft.action}
        onInput={set('action')}
        maxLength={64}
        list="audit-action-names"
      />
      <datalist id="audit-action-names">
        {known.map((a) => (
          <option key={a} value={a} />
        ))}
      </datalist>
      <Field id="audit-from" label="From" type="datetime-local" value={draft.from} onInput={set('from')} />
      <Field id="audit-to" label="Until" type="datetime-local" value={draft.to} onInput={set('to')} />
      <div class="actions">
        <button type="submit" class="primary">
          Show
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setDraft(NO_AUDIT_FILTERS);
            onApply(NO_AUDIT_FILTERS);
          }}
        >
          Clear filters
        </button>
      </div>
    </form>
  );
}

/** The action, and for a custody step which step it was (and to whom a transfer was offered). */
function AuditAction({ e }: { e: AuditEntry }) {
  const step = e.detail?.step;
  const to = e.detail?.counterparty_agency_id;
  return (
    <>
      <code>{e.action}</code>
      {step && (
        <span class="audit-step">
          {' '}
          {humanize(step)}
          {to && (
            <>
              {' to '}
              <AgencyName id={to} />
            </>
          )}
        </span>
      )}
    </>
  );
}

/**
 * What an entry is about; an evidence item links to its access log, the
 * part of its record an auditor reads (its chain of custody is case
 * content, shown to the case's members only; the access log lists its
 * custody steps).
 */
function About({ e }: { e: AuditEntry }) {
  const about = [e.resource_type, e.resource_id].filter(Boolean).join(' ');
  if (e.resource_type !== 'evidence' || !e.resource_id) return <>{about}</>;
  return (
    <>
      {about}{' '}
      <Link href={accessHref(e.resource_id)} class="access-link">
        access log and custody steps<span class="visually-hidden"> of item {e.resource_id}</span>
      </Link>
    </>
  );
}

const columns: Column<AuditEntry>[] = [
  { title: 'When', cell: (e) => <Time iso={e.at} />, rowHeader: true },
  { title: 'Who', cell: (e) => (e.user_id ? <UserName id={e.user_id} /> : e.client_ip ? `from ${e.client_ip}` : 'Bevis') },
  { title: 'Agency', cell: (e) => (e.agency_id ? <AgencyName id={e.agency_id} /> : '') },
  { title: 'Action', cell: (e) => <AuditAction e={e} /> },
  { title: 'Outcome', cell: (e) => <span class={`outcome outcome-${e.outcome}`}>{e.outcome}</span> },
  { title: 'About', cell: (e) => <About e={e} /> },
  { title: 'Case', cell: (e) => e.case_id ?? '' },
  { title: 'Seq', cell: (e) => String(e.seq) },
];

/** Downloads for offline verification: the sealed log with its checkpoints, or the checkpoints alone. */
function AuditDownloads() {
  const { busy, problem, run } = useAction();
  const save = (fn: typeof api.exportAudit, fallback: string) =>
    void run(async () => {
      const { blob, filename } = await fn();
      saveBlob(blob, filename ?? fallback);
    });
  return (
    <Section title="Export and verify offline" id="audit-export">
      <p>
        Check the log where Bevis cannot touch it: <code>bevis audit verify --key PUB --export bevis-audit.jsonl</code>, with
        the public key from <code>bevis audit public-key</code>. A partner agency keeps its own copy of the checkpoints.
      </p>
      <ErrorAlert error={problem} />
      <div class="actions">
        <button type="button" class="secondary" disabled={busy} onClick={() => save(api.exportAudit, 'bevis-audit.jsonl')}>
          Export the log
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => save(api.auditCheckpoints, 'bevis-checkpoints.txt')}>
          Download the checkpoints
        </button>
      </div>
    </Section>
  );
}

/** Why an action filter cannot be asked of the server, or "" when it can. */
function actionProblem(filter: string, actions: readonly string[] | null): string {
  if (filter.trim() === '' || actions === null) return '';
  if (actions.length === 0) return `No action the log records is named “${filter.trim()}” or starts with it.`;
  if (actions.length > MAX_FILTER_ACTIONS) return `“${filter.trim()}” stands for ${actions.length} actions; name at most ${MAX_FILTER_ACTIONS}.`;
  return '';
}

export function AuditPage() {
  const [filters, setFilters] = useState<AuditFilters>(NO_AUDIT_FILTERS);
  const known = useLoad(() => api.auditActions(), []);
  const names = known.data?.items ?? [];
  // null while the names an action filter stands for are not known yet
  const actions = filters.action.trim() === '' ? [] : known.data ? expandAction(filters.action, names) : null;
  const problem = actionProblem(filters.action, actions);
  const query = toAuditQuery(filters, actions ?? []);
  const key = JSON.stringify([query, actions === null, problem]);
  const page = useLoad(
    () => (actions === null || problem ? new Promise<Page<AuditEntry>>(() => {}) : api.audit({ ...query, limit: 100 })),
    [key],
  );
  return (
    <div class="page audit">
      <h1 id="page-title" tabIndex={-1}>
        Audit log
      </h1>
      <p class="lede">Every read and change in Bevis, newest first, sealed in a hash chain and signed at checkpoints.</p>
      <AuditFilterForm value={filters} known={names} onApply={setFilters} />
      <Section title="Entries" id="audit-entries">
        <ErrorAlert error={known.error ?? page.error} />
        {problem && (
          <div class="alert" role="alert">
            {problem}
          </div>
        )}
        {!problem && page.loading && !page.data && (
          <p class="loading" role="status">
            Loading…
          </p>
        )}
        {!problem && page.data && (
          <Table
            caption="Audit entries"
            columns={columns}
            rows={page.data.items}
            rowKey={(e) => e.id}
            rowAttributes={(e) => ({ 'data-action': e.action })}
            empty="No entries match."
          />
        )}
        {!problem && (
          <LoadMore<AuditEntry, Page<AuditEntry>> page={page.data} fetchNext={(cursor) => api.audit({ ...query, limit: 100, cursor })} onMore={page.set} />
        )}
      </Section>
      <VerifySection />
      <AuditDownloads />
    </div>
  );
}
