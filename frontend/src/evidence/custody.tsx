// Recording custody: the steps a person may record given the item's state,
// and the form that records one.

import { useState } from 'preact/hooks';
import { api, type CustodyEvent, type CustodyState, type CustodyStep, type CustodyStepType, type Members } from '../api';
import { agencyName, ErrorAlert, Field, humanize, Select, useAction, useDirectory, userName } from '../ui';

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
  released: ['counterparty_external*', 'identity_check*', 'details.organisation*', 'details.reference', 'details.due_back', 'notes'],
  returned: ['counterparty_external*', 'identity_check*', 'details.seal_intact', 'location', 'notes'],
  disposal_proposed: ['details.authority_reference*', 'notes'],
  disposal_withdrawn: ['notes'],
  disposed: ['details.authority_reference', 'notes'],
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
  'details.organisation': 'Their organisation',
  'details.reference': 'Their reference',
  'details.due_back': 'Due back (YYYY-MM-DD)',
  'details.seal_intact': 'Seal came back intact? (yes or no, if it went out sealed)',
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
  returned: 'Record its return from the outside party',
  disposal_proposed: 'Propose disposal (another lead confirms)',
  disposal_withdrawn: 'Withdraw the proposed disposal',
  disposed: 'Confirm the proposed disposal',
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
  if (s.out) return ['returned', s.legal_hold ? 'legal_hold_released' : 'legal_hold_set', 'correction'];
  const custodian = me.agencyId === s.custodian_agency_id;
  const pending = !!s.transfer_offered_to;
  const out = s.checked_out_by !== undefined && s.checked_out_by !== '';
  const steps: CustodyStepType[] = [];
  if (custodian && !pending && !out) steps.push('transfer_offered');
  if (pending && me.agencyId === s.transfer_offered_to) steps.push('transfer_accepted', 'transfer_declined');
  if (custodian && !out && !pending) steps.push('checked_out');
  if (out && (custodian || s.checked_out_by === me.userId)) steps.push('checked_in');
  if (custodian) {
    steps.push('location_changed');
    if (!s.sealed && !s.seal_broken) steps.push('seal_applied');
    if (s.sealed) steps.push('seal_broken');
    if (s.seal_broken) steps.push('resealed');
  }
  // The custodian may withdraw its offer, but the form opens on the first
  // step: never on undoing what was just recorded.
  if (pending && custodian && me.agencyId !== s.transfer_offered_to) steps.push('transfer_declined');
  steps.push(s.legal_hold ? 'legal_hold_released' : 'legal_hold_set');
  if (custodian && !out && !pending) {
    steps.push('released');
    // Disposal takes two leads: one proposes, another confirms.
    if (!s.legal_hold && !s.disposal_proposed_by) steps.push('disposal_proposed');
  }
  if (s.disposal_proposed_by) {
    if (s.disposal_proposed_by !== me.userId) steps.push('disposed');
    steps.push('disposal_withdrawn');
  }
  steps.push('correction');
  return steps;
}

/** The request body of a custody step from the form's fields (only those the step asks for). */
export function stepFrom(type: CustodyStepType, f: Record<string, string>): CustodyStep {
  const step: CustodyStep = { type };
  const details: Record<string, string | boolean> = {};
  for (const spec of STEP_FIELDS[type]) {
    const name = spec.replace('*', '');
    const v = (f[name] ?? '').trim();
    if (v === '') continue;
    if (name === 'details.seal_intact') details.seal_intact = /^y/i.test(v);
    else if (name.startsWith('details.')) details[name.slice(8)] = v;
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
