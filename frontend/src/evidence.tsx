// Evidence: a case's items and the form to register one; an item's page with
// its content (upload, download, verify) and its chain of custody.

import { useState } from 'preact/hooks';
import {
  api,
  type CaseRole,
  type Custody,
  type CustodyEvent,
  type CustodyState,
  type CustodyStep,
  type CustodyStepType,
  EVIDENCE_KINDS,
  type EvidenceItem,
  type EvidenceKind,
  type Members,
  type NewEvidenceItem,
  type TLP,
  TLPS,
} from './api';
import { agencyName, AgencyName, CaseNames, userName, useDirectory, UserName } from './directory';
import { Link } from './router';
import { LoadMore } from './tasklist';
import { compareHashes, HASH_NAMES, UploadPanel } from './upload';
import { ErrorAlert, Field, humanize, localToISO, Section, Select, Status, Time, TlpBadge, useAction, useLoad } from './ui';

/** The first characters of a hash, with the whole of it on hover and for screen readers. */
export function ShortHash({ value, label }: { value: string | undefined; label?: string }) {
  if (!value) return null;
  return (
    <code class="hash" title={value} aria-label={`${label ? `${label} ` : ''}${value}`}>
      {value.length > 16 ? `${value.slice(0, 12)}…` : value}
    </code>
  );
}

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

// ---------------------------------------------------------------- custody

/** The fields each custody step asks for; `*` marks a required one. */
const STEP_FIELDS: Record<CustodyStepType, string[]> = {
  transfer_offered: ['counterparty_agency_id*', 'counterparty_user_id', 'purpose', 'notes'],
  transfer_accepted: ['location', 'notes'],
  transfer_declined: ['notes'],
  checked_out: ['purpose*', 'notes'],
  checked_in: ['location', 'notes'],
  location_changed: ['location*', 'notes'],
  seal_applied: ['details.seal_number*', 'notes'],
  seal_broken: ['details.seal_number*', 'details.reason*', 'notes'],
  resealed: ['details.seal_number*', 'notes'],
  legal_hold_set: ['details.legal_basis', 'details.authority_reference', 'notes'],
  legal_hold_released: ['details.legal_basis', 'details.authority_reference', 'notes'],
  released: ['counterparty_external*', 'identity_check*', 'notes'],
  returned: ['counterparty_external*', 'identity_check*', 'notes'],
  disposed: ['details.authority_reference*', 'notes'],
  correction: ['supersedes*', 'location', 'notes*'],
};

const FIELD_LABELS: Record<string, string> = {
  counterparty_agency_id: 'Offer to agency',
  counterparty_user_id: 'Offer to person (optional)',
  counterparty_external: 'Received by (outside person or organisation)',
  identity_check: 'How their identity was checked',
  purpose: 'Purpose',
  location: 'Location',
  notes: 'Notes',
  supersedes: 'Event to correct',
  'details.seal_number': 'Seal number',
  'details.reason': 'Reason',
  'details.legal_basis': 'Legal basis',
  'details.authority_reference': "Authority's reference",
};

const STEP_LABELS: Record<CustodyStepType, string> = {
  transfer_offered: 'Offer a transfer to another agency',
  transfer_accepted: 'Accept the transfer',
  transfer_declined: 'Decline (or withdraw) the transfer',
  checked_out: 'Check out',
  checked_in: 'Check in',
  location_changed: 'Change location',
  seal_applied: 'Apply a seal',
  seal_broken: 'Break the seal',
  resealed: 'Reseal',
  legal_hold_set: 'Set a legal hold',
  legal_hold_released: 'Release the legal hold',
  released: 'Release to an outside party',
  returned: 'Return to its owner',
  disposed: 'Dispose of',
  correction: 'Correct an event',
};

/** Who the caller is, for deciding which steps to offer. */
export interface Actor {
  userId: string;
  agencyId: string;
}

/**
 * The custody steps that make sense for the item's state and the caller,
 * mirroring the server's rules (which decide; a 409 says why not).
 */
export function availableSteps(s: CustodyState, me: Actor): CustodyStepType[] {
  if (s.final) return ['correction'];
  const custodian = me.agencyId === s.custodian_agency_id;
  const pending = !!s.transfer_offered_to;
  const out = s.checked_out_by !== undefined && s.checked_out_by !== '';
  const steps: CustodyStepType[] = [];
  if (custodian && !pending && !out) steps.push('transfer_offered');
  if (pending && me.agencyId === s.transfer_offered_to) steps.push('transfer_accepted', 'transfer_declined');
  else if (pending && custodian) steps.push('transfer_declined');
  if (custodian && !out && !pending) steps.push('checked_out');
  if (out && (custodian || s.checked_out_by === me.userId)) steps.push('checked_in');
  if (custodian) {
    steps.push('location_changed');
    if (!s.sealed && !s.seal_broken) steps.push('seal_applied');
    if (s.sealed) steps.push('seal_broken');
    if (s.seal_broken) steps.push('resealed');
  }
  steps.push(s.legal_hold ? 'legal_hold_released' : 'legal_hold_set');
  if (custodian && !out && !pending) {
    steps.push('released', 'returned');
    if (!s.legal_hold) steps.push('disposed');
  }
  steps.push('correction');
  return steps;
}

/** The request body of a custody step from the form's fields (only those the step asks for). */
export function stepFrom(type: CustodyStepType, f: Record<string, string>): CustodyStep {
  const step: CustodyStep = { type };
  const details: Record<string, string> = {};
  for (const spec of STEP_FIELDS[type]) {
    const name = spec.replace('*', '');
    const v = (f[name] ?? '').trim();
    if (v === '') continue;
    if (name.startsWith('details.')) details[name.slice(8)] = v;
    else (step as unknown as Record<string, string>)[name] = v;
  }
  if (Object.keys(details).length > 0) step.details = details;
  return step;
}

function CustodyStepForm({
  itemId,
  steps,
  events,
  members,
  custodianAgency,
  onRecorded,
}: {
  itemId: string;
  steps: CustodyStepType[];
  events: CustodyEvent[];
  members: Members | undefined;
  custodianAgency: string;
  onRecorded: (e: CustodyEvent) => void;
}) {
  const dir = useDirectory();
  const [type, setType] = useState<CustodyStepType>(steps[0]!);
  const [f, setF] = useState<Record<string, string>>({});
  const { busy, problem, run } = useAction();
  const current = steps.includes(type) ? type : steps[0]!;
  const set = (k: string) => (v: string) => setF((x) => ({ ...x, [k]: v }));

  async function submit(e: Event) {
    e.preventDefault();
    const ok = await run(async () => onRecorded(await api.recordCustody(itemId, stepFrom(current, f))));
    if (ok) setF({});
  }

  // The case's agencies first, then any other the caller can see (the server refuses one that may not hold it).
  const agencyIds = [...new Set([...(members?.agencies ?? []).map((a) => a.agency_id), ...dir.agencies.keys()])].filter(
    (a) => a !== '' && a !== custodianAgency,
  );
  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid custody-step">
      <ErrorAlert error={problem} />
      <Select
        id="custody-type"
        field="type"
        label="Step"
        value={current}
        onChange={(v) => setType(v as CustodyStepType)}
        options={steps.map((s) => ({ value: s, label: STEP_LABELS[s] }))}
        problem={problem}
      />
      {STEP_FIELDS[current].map((spec) => {
        const name = spec.replace('*', '');
        const required = spec.endsWith('*');
        const id = `custody-${name.replace('.', '-')}`;
        const label = FIELD_LABELS[name] ?? humanize(name);
        if (name === 'counterparty_agency_id') {
          return (
            <Select
              key={name}
              id={id}
              field={name}
              label={label}
              value={f[name] ?? ''}
              onChange={set(name)}
              options={[{ value: '', label: 'Choose…' }, ...agencyIds.map((a) => ({ value: a, label: agencyName(dir, a) }))]}
              problem={problem}
            />
          );
        }
        if (name === 'counterparty_user_id') {
          const people = (members?.users ?? []).filter((u) => !f.counterparty_agency_id || u.agency_id === f.counterparty_agency_id);
          return (
            <Select
              key={name}
              id={id}
              field={name}
              label={label}
              value={f[name] ?? ''}
              onChange={set(name)}
              options={[{ value: '', label: 'Anyone of the agency' }, ...people.map((u) => ({ value: u.user_id, label: userName(dir, u.user_id) }))]}
              problem={problem}
            />
          );
        }
        if (name === 'supersedes') {
          return (
            <Select
              key={name}
              id={id}
              field={name}
              label={label}
              value={f[name] ?? ''}
              onChange={set(name)}
              options={[
                { value: '', label: 'Choose…' },
                ...events.filter((e) => e.type !== 'correction').map((e) => ({ value: e.id, label: `#${e.seq} ${humanize(e.type)}` })),
              ]}
              problem={problem}
            />
          );
        }
        return (
          <Field
            key={name}
            id={id}
            field={name}
            label={label}
            required={required}
            multiline={name === 'notes' || name === 'details.reason'}
            value={f[name] ?? ''}
            onInput={set(name)}
            problem={problem}
          />
        );
      })}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Recording…' : 'Record step'}
      </button>
    </form>
  );
}

/** The derived custody state, in a few lines. */
export function CustodySummary({ state }: { state: CustodyState }) {
  return (
    <dl class="facts custody-state">
      <dt>Custodian</dt>
      <dd>
        <AgencyName id={state.custodian_agency_id} />
        {state.custodian_user_id && (
          <>
            , <UserName id={state.custodian_user_id} />
          </>
        )}
      </dd>
      <dt>Location</dt>
      <dd>{state.location || 'not recorded'}</dd>
      <dt>Checked out</dt>
      <dd class="checked-out">{state.checked_out_by ? <UserName id={state.checked_out_by} /> : 'no'}</dd>
      {state.transfer_offered_to && (
        <>
          <dt>Transfer offered to</dt>
          <dd>
            <AgencyName id={state.transfer_offered_to} />
          </dd>
        </>
      )}
      <dt>Seal</dt>
      <dd>{state.sealed ? `sealed, no. ${state.seal_number ?? ''}` : state.seal_broken ? 'broken: reseal it' : 'none'}</dd>
      <dt>Legal hold</dt>
      <dd>{state.legal_hold ? 'yes' : 'no'}</dd>
      <dt>Integrity</dt>
      <dd>
        <span class={`badge integrity-${state.integrity ?? 'unknown'}`}>{state.integrity ?? 'not verified yet'}</span>
        {state.last_verified_at && (
          <>
            {' '}
            (verified <Time iso={state.last_verified_at} />)
          </>
        )}
      </dd>
      {state.final && (
        <>
          <dt>Final</dt>
          <dd>{humanize(state.final)}: nothing more can happen to it</dd>
        </>
      )}
    </dl>
  );
}

function EventDetails({ e }: { e: CustodyEvent }) {
  const d = e.details;
  const parts: preact.JSX.Element[] = [];
  if (e.purpose) parts.push(<>purpose: {e.purpose}</>);
  if (d.seal_number) parts.push(<>seal {d.seal_number}</>);
  if (d.reason) parts.push(<>reason: {d.reason}</>);
  if (d.legal_basis) parts.push(<>legal basis: {d.legal_basis}</>);
  if (d.authority_reference) parts.push(<>authority ref. {d.authority_reference}</>);
  if (d.result) parts.push(<>result: {d.result}</>);
  if (d.sha256) parts.push(<ShortHash value={d.sha256} label="SHA-256" />);
  if (e.identity_check) parts.push(<>identity checked by {e.identity_check}</>);
  if (e.notes) parts.push(<span class="notes">{e.notes}</span>);
  return (
    <>
      {parts.map((p, i) => (
        <span key={i} class="detail">
          {i > 0 && ' · '}
          {p}
        </span>
      ))}
    </>
  );
}

/** The custody events in order, corrections shown as superseding the events they correct. */
export function CustodyChain({ events }: { events: CustodyEvent[] }) {
  const seqOf = new Map(events.map((e) => [e.id, e.seq]));
  return (
    <ol class="custody-chain">
      {events.map((e) => {
        const superseded = (e.superseded_by?.length ?? 0) > 0;
        return (
          <li key={e.id} id={`event-${e.seq}`} class={`custody-event${superseded ? ' superseded' : ''}${e.type === 'correction' ? ' correction' : ''}`}>
            <p class="event-head">
              <strong>
                #{e.seq} {humanize(e.type)}
              </strong>{' '}
              <Time iso={e.occurred_at} /> by <UserName id={e.actor_user_id} />
              {e.actor_agency_id && (
                <>
                  {' '}
                  (<AgencyName id={e.actor_agency_id} />)
                </>
              )}
              {(e.counterparty_agency_id || e.counterparty_user_id || e.counterparty_external) && (
                <>
                  {' → '}
                  {e.counterparty_user_id && <UserName id={e.counterparty_user_id} />}
                  {e.counterparty_user_id && e.counterparty_agency_id && ', '}
                  {e.counterparty_agency_id && <AgencyName id={e.counterparty_agency_id} />}
                  {e.counterparty_external}
                </>
              )}
              {e.location && <> · at {e.location}</>}
            </p>
            <p class="event-details">
              <EventDetails e={e} />
            </p>
            {e.supersedes && <p class="event-note">Corrects event #{seqOf.get(e.supersedes) ?? '?'}.</p>}
            {superseded && (
              <p class="event-note">
                Superseded by a correction ({e.superseded_by!.map((id) => `#${seqOf.get(id) ?? '?'}`).join(', ')}); kept
                on the record as it was.
              </p>
            )}
            <p class="event-hash">
              Recorded <Time iso={e.recorded_at} /> · hash <ShortHash value={e.hash} label="event hash" /> · after{' '}
              <ShortHash value={e.prev_hash} label="previous hash" />
            </p>
          </li>
        );
      })}
    </ol>
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
