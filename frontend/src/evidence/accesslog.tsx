// An evidence item's access log: who read or changed it, and when, from the
// audit log (GET /api/v1/evidence/{id}/access). The server shows it to the
// case's leads and to auditors; the filters are kept in the URL, the pages
// follow the keyset cursor, and each entry opens into the whole audit entry.

import { type AuditEntry, api, type ItemAccessQuery, type Page } from '../api';
import {
  AgencyName,
  type Column,
  ErrorAlert,
  Field,
  humanize,
  isoToLocal,
  Link,
  LoadMore,
  localToISO,
  Select,
  setSearch,
  Table,
  Time,
  useDirectory,
  UserName,
  useLoad,
  useSearch,
} from '../ui';
import { useEffect, useState } from 'preact/hooks';

/** Entries on one page of the log. */
export const ACCESS_PAGE = 50;

/** What the "Show" filter narrows the log to, as the action names the log records. */
export const ACCESS_KINDS: Record<string, { label: string; actions: string[] }> = {
  '': { label: 'Everything', actions: [] },
  custody: { label: 'Custody steps', actions: ['evidence.custody.post'] },
  downloads: { label: 'Downloads', actions: ['evidence.download', 'evidence.download_tickets.post'] },
};

/** What an action did to the item, in words; the action's own name is shown beside it. */
const DONE: Record<string, string> = {
  'evidence.get': 'Read the item',
  'evidence.custody.get': 'Read the chain of custody',
  'evidence.custody.post': 'Recorded a custody step',
  'evidence.download': 'Downloaded the content',
  'evidence.download_tickets.post': 'Asked for a download link',
  'evidence.content.put': 'Sent the content',
  'evidence.uploads.post': 'Started an upload',
  'evidence.content.received': 'Content stored and hashed',
  'evidence.content.rejected': 'Content refused',
  'evidence.content.deleted': 'Content deleted',
  'evidence.verify': 'Integrity verified',
  'evidence.verify.post': 'Asked to verify integrity',
  'evidence.integrity': 'Integrity checked',
  'evidence.report.get': 'Read the custody report',
  'evidence.lineage.get': 'Read the lineage',
  'evidence.access.get': 'Read this access log',
  'cases.evidence.post': 'Registered the item',
};

/** The filters of the log, from the URL's query. */
export function accessFilterFrom(search: URLSearchParams): { from: string; to: string; show: string } {
  const show = search.get('show') ?? '';
  return { from: search.get('from') ?? '', to: search.get('to') ?? '', show: show in ACCESS_KINDS ? show : '' };
}

/** The query the server filters by. */
export function accessQuery(f: { from: string; to: string; show: string }): ItemAccessQuery {
  const q: ItemAccessQuery = { limit: ACCESS_PAGE };
  if (f.from) q.from = f.from;
  if (f.to) q.to = f.to;
  const actions = ACCESS_KINDS[f.show]?.actions ?? [];
  if (actions.length > 0) q.action = actions;
  return q;
}

function What({ e }: { e: AuditEntry }) {
  const step = e.detail?.step;
  const to = e.detail?.counterparty_agency_id;
  const bytes = e.range?.Length;
  return (
    <>
      {DONE[e.action] ?? humanize(e.action.replace(/\./g, ' '))}
      {step && (
        <>
          : {humanize(step)}
          {to && (
            <>
              {' to '}
              <AgencyName id={to} />
            </>
          )}
        </>
      )}
      {bytes !== undefined && <> ({bytes.toLocaleString('en')} bytes)</>}{' '}
      <code class="action-name">{e.action}</code>
    </>
  );
}

/** The whole audit entry, for who wants every field of it. */
function FullEntry({ e }: { e: AuditEntry }) {
  const rows: [string, string | preact.JSX.Element | undefined][] = [
    ['Entry', e.id],
    ['Place in the chain', String(e.seq)],
    ['Request', e.request_id],
    ['API token', e.token_id],
    ['From address', e.client_ip],
    ['Browser or client', e.user_agent],
    ['About', [e.resource_type, e.resource_id].filter(Boolean).join(' ')],
    ['Case', e.case_id],
    ['Bytes read', e.range ? `from ${e.range.Offset ?? 0}, ${e.range.Length ?? 0} bytes` : undefined],
    ...Object.entries(e.detail ?? {}).map(([k, v]): [string, string] => [humanize(k), v]),
  ];
  return (
    <details class="audit-entry" id={`entry-${e.seq}`}>
      <summary>
        Entry #{e.seq}
        <span class="visually-hidden"> in full</span>
      </summary>
      <dl class="facts">
        {rows
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => (
            <div key={k} class="fact">
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
      </dl>
    </details>
  );
}

const columns: Column<AuditEntry>[] = [
  { title: 'When', cell: (e) => <Time iso={e.at} />, rowHeader: true },
  { title: 'Who', cell: (e) => (e.user_id ? <UserName id={e.user_id} /> : e.client_ip ? `from ${e.client_ip}` : 'Bevis') },
  { title: 'Agency', cell: (e) => (e.agency_id ? <AgencyName id={e.agency_id} /> : '') },
  { title: 'What', cell: (e) => <What e={e} /> },
  { title: 'Outcome', cell: (e) => <span class={`outcome outcome-${e.outcome}`}>{e.outcome}</span> },
  { title: 'Audit entry', cell: (e) => <FullEntry e={e} /> },
];

function AccessFilters({ value }: { value: { from: string; to: string; show: string } }) {
  const [draft, setDraft] = useState({ from: isoToLocal(value.from), to: isoToLocal(value.to), show: value.show });
  // The URL changed (Back, Clear): the form follows it.
  useEffect(() => setDraft({ from: isoToLocal(value.from), to: isoToLocal(value.to), show: value.show }), [value.from, value.to, value.show]);
  const any = value.from || value.to || value.show;
  return (
    <form
      class="inline-form filters access-filters"
      aria-label="Filter the access log"
      onSubmit={(e) => {
        e.preventDefault();
        setSearch({ from: localToISO(draft.from), to: localToISO(draft.to), show: draft.show });
      }}
    >
      <Field id="access-from" label="From" type="datetime-local" value={draft.from} onInput={(v) => setDraft({ ...draft, from: v })} />
      <Field id="access-to" label="Until" type="datetime-local" value={draft.to} onInput={(v) => setDraft({ ...draft, to: v })} />
      <Select
        id="access-show"
        label="Show"
        value={draft.show}
        onChange={(v) => setDraft({ ...draft, show: v })}
        options={Object.entries(ACCESS_KINDS).map(([value, k]) => ({ value, label: k.label }))}
      />
      <div class="actions">
        <button type="submit" class="primary">
          Show
        </button>
        {any && (
          <button type="button" class="secondary" onClick={() => setSearch({})}>
            Clear filters
          </button>
        )}
      </div>
    </form>
  );
}

/** The log of one item, newest first, with its filters and pages. */
export function AccessLog({ itemId }: { itemId: string }) {
  const filter = accessFilterFrom(useSearch());
  const query = accessQuery(filter);
  const page = useLoad(() => api.itemAccess(itemId, query), [itemId, JSON.stringify(query)]);
  return (
    <div class="access-log">
      <AccessFilters value={filter} />
      <ErrorAlert error={page.error} />
      {page.loading && !page.data && (
        <p class="loading" role="status">
          Loading…
        </p>
      )}
      {page.data && (
        <Table
          caption="Who read or changed the item"
          class="access-entries"
          columns={columns}
          rows={page.data.items}
          rowKey={(e) => e.id}
          rowAttributes={(e) => ({ 'data-action': e.action })}
          empty="No entries match."
        />
      )}
      <LoadMore<AuditEntry, Page<AuditEntry>> page={page.data} fetchNext={(cursor) => api.itemAccess(itemId, { ...query, cursor })} onMore={page.set} />
    </div>
  );
}

/** The URL of an item's access log on its own page. */
export function accessHref(itemId: string): string {
  return `/evidence/${encodeURIComponent(itemId)}/access`;
}

/**
 * An item's access log on a page of its own, where the audit log links to.
 * An auditor reads the record of the item, not the item: its facts and its
 * chain of custody are case content, so they are not asked for (a refusal
 * would only add a denied entry to the record); the custody steps are on
 * the log itself.
 */
export function ItemAccessPage({ id }: { id: string }) {
  const { me } = useDirectory();
  const auditor = me.system_role === 'auditor';
  const item = useLoad(() => (auditor ? Promise.resolve(undefined) : api.evidence(id)), [id, auditor]);
  return (
    <div class="page">
      <header class="case-header">
        <h1 id="page-title" tabIndex={-1}>
          Access log{item.data ? `: ${item.data.exhibit_number} ${item.data.title}` : ''}
        </h1>
        <p class="markings">
          {item.data ? (
            <Link href={`/evidence/${encodeURIComponent(id)}`}>The item and its chain of custody</Link>
          ) : (
            <>
              Evidence item <code class="item-id">{id}</code>
            </>
          )}
        </p>
      </header>
      {auditor && (
        <p class="note custody-note">
          You read the record of this item, not the item: its details, content and chain of custody are case content, which Bevis
          shows only to the case's members. Every custody step is on this record: choose “Custody steps” under Show to list them, with
          the step taken and to whom a transfer was offered.
        </p>
      )}
      <ErrorAlert error={item.error} />
      <AccessLog itemId={id} />
    </div>
  );
}
