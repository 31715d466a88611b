// The chain of custody of an evidence item: the derived state, the events
// in order (corrections superseding what they correct), and the steps a
// person may record given the item's state.

import { useState } from 'preact/hooks';
import {
  api,
  type CustodyEvent,
  type CustodyState,
  type CustodyStep,
  type CustodyStepType,
  type Members,
} from './api';
import { agencyName, AgencyName, userName, useDirectory, UserName } from './directory';
import { ErrorAlert, Field, humanize, Select, Time, useAction } from './ui';

/** The first characters of a hash, with the whole of it on hover and for screen readers. */
export function ShortHash({ value, label }: { value: string | undefined; label?: string }) {
  if (!value) return null;
  return (
    <code class="hash" title={value} aria-label={`${label ? `${label} ` : ''}${value}`}>
      {value.length > 16 ? `${value.slice(0, 12)}…` : value}
    </code>
  );
}

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

export function CustodyStepForm({
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

  /** The fields chosen from a list, with their choices; the rest are typed. */
  const choicesFor = (name: string): { value: string; label: string }[] | undefined => {
    switch (name) {
      case 'counterparty_agency_id':
        return [{ value: '', label: 'Choose…' }, ...agencyIds.map((a) => ({ value: a, label: agencyName(dir, a) }))];
      case 'counterparty_user_id': {
        const people = (members?.users ?? []).filter((u) => !f.counterparty_agency_id || u.agency_id === f.counterparty_agency_id);
        return [{ value: '', label: 'Anyone of the agency' }, ...people.map((u) => ({ value: u.user_id, label: userName(dir, u.user_id) }))];
      }
      case 'supersedes':
        return [
          { value: '', label: 'Choose…' },
          ...events.filter((e) => e.type !== 'correction').map((e) => ({ value: e.id, label: `#${e.seq} ${humanize(e.type)}` })),
        ];
    }
    return undefined;
  };

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
        const choices = choicesFor(name);
        if (choices) {
          return (
            <Select
              key={name}
              id={id}
              field={name}
              label={label}
              value={f[name] ?? ''}
              onChange={set(name)}
              options={choices}
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

