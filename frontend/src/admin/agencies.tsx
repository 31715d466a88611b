// Agencies, for admins: the list, a new agency, and each one's kind and
// whether its people must use a second factor.

import { useState } from 'preact/hooks';
import { AGENCY_KINDS, type Agency, type AgencyKind, api } from '../api';
import { agencyKindLabel, type Column, ErrorAlert, Field, Section, Select, Status, Table, useAction } from '../ui';

const KIND_OPTIONS = AGENCY_KINDS.map((k) => ({ value: k, label: agencyKindLabel(k) }));

export function NewAgencyForm({ onCreated }: { onCreated: (a: Agency) => void }) {
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<AgencyKind>('other');
  const [requireMFA, setRequireMFA] = useState(false);
  const [done, setDone] = useState('');
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    setDone('');
    await run(async () => {
      const a = await api.createAgency({ code: code.trim().toUpperCase(), name: name.trim(), kind, require_mfa: requireMFA });
      setCode('');
      setName('');
      setRequireMFA(false);
      setDone(`Agency ${a.code} added.`);
      onCreated(a);
    });
  }

  return (
    <form class="form-grid" onSubmit={submit} aria-labelledby="new-agency-title" aria-busy={busy}>
      <h3 id="new-agency-title">Add an agency</h3>
      <ErrorAlert error={problem} />
      <Field id="agency-code" field="code" label="Code" hint="2 to 16 capital letters, digits or '-', like KRIPOS." required maxLength={16} value={code} onInput={setCode} problem={problem} />
      <Field id="agency-name" field="name" label="Name" required maxLength={200} value={name} onInput={setName} problem={problem} />
      <Select id="agency-kind" field="kind" label="Kind" value={kind} onChange={(v) => setKind(v as AgencyKind)} options={KIND_OPTIONS} problem={problem} />
      <div class="field checkbox">
        <input id="agency-mfa" type="checkbox" checked={requireMFA} onChange={(e) => setRequireMFA(e.currentTarget.checked)} />
        <label for="agency-mfa">Its people must use a second factor</label>
      </div>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add agency'}
      </button>
      {done && <Status message={done} />}
    </form>
  );
}

/** One agency's kind and second-factor rule, changed in place. */
function AgencySettings({ agency, onChanged }: { agency: Agency; onChanged: (a: Agency) => void }) {
  const { busy, problem, run } = useAction();
  const change = (patch: { kind?: AgencyKind; require_mfa?: boolean }) =>
    void run(async () => onChanged(await api.patchAgency(agency.id, patch)));
  const id = `agency-${agency.id}`;
  return (
    <div class="inline-settings">
      <label class="visually-hidden" for={`${id}-kind`}>
        Kind of {agency.name}
      </label>
      <select id={`${id}-kind`} value={agency.kind} disabled={busy} onChange={(e) => change({ kind: e.currentTarget.value as AgencyKind })}>
        {KIND_OPTIONS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <span class="check">
        <input id={`${id}-mfa`} type="checkbox" checked={agency.require_mfa} disabled={busy} onChange={(e) => change({ require_mfa: e.currentTarget.checked })} />
        <label for={`${id}-mfa`}>
          Second factor required<span class="visually-hidden"> in {agency.name}</span>
        </label>
      </span>
      <ErrorAlert error={problem} />
    </div>
  );
}

export function AgenciesSection({ agencies, canEdit, onChanged }: { agencies: Agency[]; canEdit: boolean; onChanged: () => void }) {
  const columns: Column<Agency>[] = [
    { title: 'Code', cell: (a) => <bdi>{a.code}</bdi>, rowHeader: true },
    { title: 'Name', cell: (a) => <bdi>{a.name}</bdi> },
    canEdit
      ? { title: 'Settings', cell: (a) => <AgencySettings agency={a} onChanged={onChanged} /> }
      : { title: 'Kind', cell: (a) => `${agencyKindLabel(a.kind)}${a.require_mfa ? ' · second factor required' : ''}` },
  ];
  return (
    <Section title="Agencies" id="agencies">
      <Table caption="Agencies" columns={columns} rows={agencies} rowKey={(a) => a.id} empty="No agencies yet." />
      {canEdit && <NewAgencyForm onCreated={onChanged} />}
    </Section>
  );
}
