// Evidence: a case's items and the form to register one; an item's page with
// its content (upload, download, verify) and its chain of custody.

import { useState } from 'preact/hooks';
import {
  api,
  type CaseRole,
  type Custody,
  EVIDENCE_KINDS,
  type EvidenceItem,
  type EvidenceKind,
  type NewEvidenceItem,
  type TLP,
  TLPS,
} from './api';
import { availableSteps, CustodyChain, CustodyStepForm, CustodySummary, ShortHash } from './custody';
import { AgencyName, CaseNames, UserName } from './directory';
import { Link } from './router';
import { LoadMore } from './tasklist';
import { compareHashes, HASH_NAMES, UploadPanel } from './upload';
import { ErrorAlert, Field, humanize, localToISO, Section, Select, Status, Time, TlpBadge, useAction, useLoad } from './ui';

function itemHref(id: string) {
  return `/evidence/${encodeURIComponent(id)}`;
}

function ContentBadge({ item }: { item: EvidenceItem }) {
  const word = { none: 'no content yet', received: 'received', rejected: 'rejected' }[item.content_status];
  return <span class={`badge content-${item.content_status}`}>{word}</span>;
}

export function EvidenceTable({ items }: { items: EvidenceItem[] }) {
  if (items.length === 0) return <p class="empty">No evidence registered yet.</p>;
  return (
    <table class="list evidence">
      <caption class="visually-hidden">Evidence</caption>
      <thead>
        <tr>
          <th scope="col">Exhibit</th>
          <th scope="col">Title</th>
          <th scope="col">Kind</th>
          <th scope="col">TLP</th>
          <th scope="col">Content</th>
          <th scope="col">Custodian</th>
        </tr>
      </thead>
      <tbody>
        {items.map((it) => (
          <tr key={it.id}>
            <td>{it.exhibit_number}</td>
            <td>
              <Link href={itemHref(it.id)}>{it.title}</Link>
            </td>
            <td>{humanize(it.kind)}</td>
            <td>
              <TlpBadge tlp={it.tlp} />
            </td>
            <td>
              <ContentBadge item={it} /> {it.hashes?.sha256 && <ShortHash value={it.hashes.sha256} label="SHA-256" />}
            </td>
            <td>{it.custody ? <AgencyName id={it.custody.custodian_agency_id} /> : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Removes empty strings and objects left empty, so the server gets only what was filled in. */
function compact<T extends object>(o: T): T | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== '' && v !== undefined && v !== null) out[k] = v;
  return Object.keys(out).length === 0 ? undefined : (out as T);
}

/** The body of a registration from the form's fields. */
export function newItemFrom(f: Record<string, string>): NewEvidenceItem {
  const item: NewEvidenceItem = { title: f.title!.trim(), kind: f.kind as EvidenceKind };
  const t = (k: string) => (f[k] ?? '').trim();
  if (t('description')) item.description = t('description');
  if (f.tlp) item.tlp = f.tlp as TLP;
  if (t('parent_id')) item.parent_id = t('parent_id');
  if (t('location')) item.location = t('location');
  const source = compact({ device: t('device'), serial: t('serial'), owner: t('owner') });
  if (source) item.source = source;
  const acquisition = compact({
    tool: t('tool'),
    tool_version: t('tool_version'),
    by: t('acquired_by'),
    at: localToISO(f.acquired_at ?? ''),
    where: t('acquired_where'),
  });
  if (acquisition) item.acquisition = acquisition;
  const hashes = compact({ sha256: t('sha256').toLowerCase(), sha1: t('sha1').toLowerCase(), md5: t('md5').toLowerCase() });
  if (hashes) item.declared_hashes = hashes;
  return item;
}

const EMPTY_ITEM: Record<string, string> = { title: '', kind: 'disk_image', tlp: '' };

export function RegisterEvidenceForm({
  caseId,
  items,
  onRegistered,
}: {
  caseId: string;
  items: EvidenceItem[];
  onRegistered: (it: EvidenceItem) => void;
}) {
  const [f, setF] = useState<Record<string, string>>(EMPTY_ITEM);
  const { busy, problem, run } = useAction();
  const set = (k: string) => (v: string) => setF((x) => ({ ...x, [k]: v }));
  const text = (id: string, label: string, field: string, extra: Partial<Parameters<typeof Field>[0]> = {}) => (
    <Field id={`ev-${id}`} field={field} label={label} value={f[id] ?? ''} onInput={set(id)} problem={problem} {...extra} />
  );
  async function submit(e: Event) {
    e.preventDefault();
    const ok = await run(async () => onRegistered(await api.registerEvidence(caseId, newItemFrom(f))));
    if (ok) setF(EMPTY_ITEM);
  }
  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      {text('title', 'Title', 'title', { required: true, maxLength: 300 })}
      <Select
        id="ev-kind"
        field="kind"
        label="Kind"
        value={f.kind!}
        onChange={set('kind')}
        options={EVIDENCE_KINDS.map((k) => ({ value: k, label: humanize(k) }))}
        problem={problem}
      />
      <Select
        id="ev-tlp"
        field="tlp"
        label="TLP"
        value={f.tlp!}
        onChange={set('tlp')}
        options={[{ value: '', label: "The case's" }, ...TLPS.map((t) => ({ value: t, label: t }))]}
        problem={problem}
      />
      {text('description', 'Description', 'description', { multiline: true })}
      <fieldset>
        <legend>Source</legend>
        {text('device', 'Device', 'source.device')}
        {text('serial', 'Serial number', 'source.serial')}
        {text('owner', 'Owner', 'source.owner')}
      </fieldset>
      <fieldset>
        <legend>Acquisition</legend>
        {text('tool', 'Tool', 'acquisition.tool')}
        {text('tool_version', 'Tool version', 'acquisition.tool_version')}
        {text('acquired_by', 'Acquired by', 'acquisition.by')}
        {text('acquired_at', 'Acquired at', 'acquisition.at', { type: 'datetime-local' })}
        {text('acquired_where', 'Acquired where', 'acquisition.where')}
      </fieldset>
      <fieldset>
        <legend>Declared hashes</legend>
        <p class="field-hint">As the acquisition tool reported them. Content you upload must match them, or it is refused.</p>
        {text('sha256', 'SHA-256', 'declared_hashes.sha256')}
        {text('sha1', 'SHA-1', 'declared_hashes.sha1')}
        {text('md5', 'MD5', 'declared_hashes.md5')}
      </fieldset>
      {items.length > 0 ? (
        <Select
          id="ev-parent_id"
          field="parent_id"
          label="Taken from (parent item)"
          value={f.parent_id ?? ''}
          onChange={set('parent_id')}
          options={[{ value: '', label: 'None' }, ...items.map((it) => ({ value: it.id, label: `${it.exhibit_number} ${it.title}` }))]}
          problem={problem}
        />
      ) : null}
      {text('location', 'Location', 'location', { hint: 'Where the item is now, e.g. an evidence locker.' })}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Registering…' : 'Register item'}
      </button>
    </form>
  );
}

/** A case's evidence, paged, and the registration form for those who may write. */
export function EvidenceSection({ caseId, canWrite }: { caseId: string; canWrite: boolean }) {
  const list = useLoad(() => api.caseEvidence(caseId), [caseId]);
  const [said, setSaid] = useState('');
  return (
    <Section title="Evidence" id="evidence">
      <ErrorAlert error={list.error} />
      {said && <Status message={said} />}
      {list.data && <EvidenceTable items={list.data.items} />}
      <LoadMore page={list.data} fetchNext={(c) => api.caseEvidence(caseId, c)} onMore={list.set} />
      {canWrite && (
        <details class="register">
          <summary>Register an item</summary>
          <RegisterEvidenceForm
            caseId={caseId}
            items={list.data?.items ?? []}
            onRegistered={(it) => {
              setSaid(`Registered ${it.exhibit_number}: ${it.title}.`);
              list.reload();
            }}
          />
        </details>
      )}
    </Section>
  );
}

/** Saves a Blob as a file through a temporary link. */
function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function ContentSection({ item, canWrite, onChanged }: { item: EvidenceItem; canWrite: boolean; onChanged: () => void }) {
  const download = useAction();
  const verify = useAction();
  const [said, setSaid] = useState('');
  const checks = compareHashes(item.declared_hashes, item.hashes);
  return (
    <Section title="Content" id="content">
      <p>
        <ContentBadge item={item} />
        {item.content_status === 'received' && (
          <>
            {' '}
            {item.size} bytes, <Time iso={item.received_at} />
          </>
        )}
      </p>
      {item.hashes && (
        <dl class="facts hashes">
          {(['sha256', 'sha1', 'md5'] as const)
            .filter((alg) => item.hashes![alg])
            .map((alg) => (
              <div key={alg} class="fact">
                <dt>{HASH_NAMES[alg]}</dt>
                <dd>
                  <code class="hash full" data-alg={alg}>
                    {item.hashes![alg]}
                  </code>
                </dd>
              </div>
            ))}
        </dl>
      )}
      {item.hashes && checks.length === 0 && <p class="muted">No hashes were declared at registration to compare with.</p>}
      {item.hashes && checks.length > 0 && (
        <ul class="hash-checks">
          {checks.map((c) => (
            <li key={c.alg} class={c.match ? 'match' : 'mismatch'}>
              {HASH_NAMES[c.alg]}: {c.match ? 'matches the declared hash' : 'does not match the declared hash'}
            </li>
          ))}
        </ul>
      )}
      {item.content_status !== 'received' && canWrite && <UploadPanel itemId={item.id} onSettled={onChanged} />}
      {item.content_status === 'received' && (
        <div class="actions">
          <ErrorAlert error={download.problem ?? verify.problem} />
          {said && <Status message={said} />}
          <button
            type="button"
            class="secondary"
            disabled={download.busy}
            onClick={() =>
              void download.run(async () => {
                const { blob, filename } = await api.downloadEvidence(item.id);
                saveBlob(blob, filename ?? `${item.exhibit_number || item.id}.bin`);
              })
            }
          >
            {download.busy ? 'Downloading…' : 'Download'}
          </button>
          {canWrite && (
            <button
              type="button"
              class="secondary"
              disabled={verify.busy}
              onClick={() =>
                void verify.run(async () => {
                  const v = await api.verifyEvidence(item.id);
                  setSaid(`Verified: ${v.result}. SHA-256 ${v.sha256}.`);
                  onChanged();
                })
              }
            >
              {verify.busy ? 'Verifying…' : 'Verify now'}
            </button>
          )}
          <p class="field-hint">
            The browser holds a download in memory whole; fetch large evidence with curl or the bevis CLI instead.
          </p>
        </div>
      )}
    </Section>
  );
}

function ItemFacts({ item }: { item: EvidenceItem }) {
  const rows: [string, string | preact.JSX.Element | undefined][] = [
    ['Kind', humanize(item.kind)],
    ['Description', item.description],
    ['Device', item.source.device],
    ['Serial', item.source.serial],
    ['Owner', item.source.owner],
    ['Acquired with', [item.acquisition.tool, item.acquisition.tool_version].filter(Boolean).join(' ')],
    ['Acquired by', item.acquisition.by],
    ['Acquired at', item.acquisition.at ? <Time iso={item.acquisition.at} /> : undefined],
    ['Acquired where', item.acquisition.where],
    ['Declared SHA-256', item.declared_hashes.sha256 ? <ShortHash value={item.declared_hashes.sha256} /> : undefined],
    ['Declared SHA-1', item.declared_hashes.sha1 ? <ShortHash value={item.declared_hashes.sha1} /> : undefined],
    ['Declared MD5', item.declared_hashes.md5 ? <ShortHash value={item.declared_hashes.md5} /> : undefined],
    ['Taken from', item.parent_id ? <Link href={itemHref(item.parent_id)}>parent item</Link> : undefined],
    ['Registered', <><Time iso={item.created_at} /> by <UserName id={item.created_by} /></>],
  ];
  return (
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
  );
}

/** One evidence item: its facts, content, custody state and chain, and the steps the caller may record. */
export function EvidencePage({ id }: { id: string }) {
  const item = useLoad(() => api.evidence(id), [id]);
  const custody = useLoad<Custody>(() => api.custody(id), [id]);
  const caseId = item.data?.case_id;
  const members = useLoad(() => (caseId ? api.members(caseId) : Promise.resolve(undefined)), [caseId]);
  const me = useLoad(() => api.me(), [id]);
  const [said, setSaid] = useState('');
  const role: CaseRole | undefined = me.data?.memberships.find((m) => m.case_id === caseId)?.role;
  const canWrite = role !== 'observer';

  const reload = () => {
    item.reload();
    custody.reload();
  };

  return (
    <CaseNames members={members.data}>
      <div class="page">
        <header class="case-header">
          <h1 id="page-title" tabIndex={-1}>
            {item.data ? (
              <>
                <span class="reference">{item.data.exhibit_number} </span>
                {item.data.title}
              </>
            ) : item.error ? (
              'Item not available'
            ) : (
              'Loading item…'
            )}
          </h1>
          {item.data && (
            <p class="markings">
              <TlpBadge tlp={item.data.tlp} /> <Link href={`/cases/${encodeURIComponent(item.data.case_id)}`}>Back to the case</Link>
            </p>
          )}
        </header>
        <ErrorAlert error={item.error} />
        {item.data && <ItemFacts item={item.data} />}
        {item.data && <ContentSection item={item.data} canWrite={canWrite} onChanged={reload} />}
        <Section title="Chain of custody" id="custody">
          <ErrorAlert error={custody.error} />
          {said && <Status message={said} />}
          {custody.data && <CustodySummary state={custody.data.state} />}
          {custody.data && <CustodyChain events={custody.data.events} />}
          {custody.data && me.data && canWrite && (
            <>
              <h3>Record a step</h3>
              <CustodyStepForm
                itemId={id}
                steps={availableSteps(custody.data.state, { userId: me.data.user.id, agencyId: me.data.user.agency_id })}
                events={custody.data.events}
                members={members.data}
                custodianAgency={custody.data.state.custodian_agency_id}
                onRecorded={(e) => {
                  setSaid(`Recorded: ${humanize(e.type)}.`);
                  reload();
                }}
              />
            </>
          )}
        </Section>
      </div>
    </CaseNames>
  );
}
