// People, for admins (everyone) and agency admins (their agency's): add a
// person with a one-time password to hand over, change their role, disable
// or re-enable them, and take away a lost second factor.

import { useState } from 'preact/hooks';
import { type Agency, api, SYSTEM_ROLES, type SystemRole, type User } from '../api';
import { AgencyName, type Column, CopyButton, ErrorAlert, Field, humanize, Section, Select, Status, Table, useAction } from '../ui';

const ROLE_OPTIONS = SYSTEM_ROLES.map((r) => ({ value: r, label: humanize(r) }));

/** A one-time password for a new person: 20 letters and digits, changed at the first sign-in. */
export function oneTimePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Who may grant what: an agency admin neither makes admins nor auditors. */
function grantable(me: User): readonly SystemRole[] {
  return me.system_role === 'admin' ? SYSTEM_ROLES : (['member', 'agency_admin'] as const);
}

export function NewPersonForm({ me, agencies, onCreated }: { me: User; agencies: Agency[]; onCreated: () => void }) {
  const own = me.system_role !== 'admin';
  const [agencyId, setAgencyId] = useState(own ? me.agency_id : (agencies[0]?.id ?? ''));
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [title, setTitle] = useState('');
  const [role, setRole] = useState<SystemRole>('member');
  const [password, setPassword] = useState(oneTimePassword);
  const [made, setMade] = useState<{ email: string; password: string } | null>(null);
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    setMade(null);
    await run(async () => {
      const u = await api.createUser({ agency_id: agencyId, email: email.trim(), name: name.trim(), title: title.trim(), system_role: role, password });
      setMade({ email: u.email, password });
      setEmail('');
      setName('');
      setTitle('');
      setPassword(oneTimePassword());
      onCreated();
    });
  }

  return (
    <form class="form-grid" onSubmit={submit} aria-labelledby="new-person-title" aria-busy={busy}>
      <h3 id="new-person-title">Add a person</h3>
      <ErrorAlert error={problem} />
      {own ? (
        <p>
          In <AgencyName id={me.agency_id} />
        </p>
      ) : (
        <Select
          id="person-agency"
          field="agency_id"
          label="Agency"
          value={agencyId}
          onChange={setAgencyId}
          options={agencies.map((a) => ({ value: a.id, label: `${a.name} (${a.code})` }))}
          problem={problem}
        />
      )}
      <Field id="person-email" field="email" label="Email" type="email" required value={email} onInput={setEmail} problem={problem} />
      <Field id="person-name" field="name" label="Name" required maxLength={200} value={name} onInput={setName} problem={problem} />
      <Field id="person-title" field="title" label="Title" maxLength={200} value={title} onInput={setTitle} problem={problem} />
      <Select id="person-role" field="system_role" label="Role in Bevis" value={role} onChange={(v) => setRole(v as SystemRole)} options={ROLE_OPTIONS.filter((o) => grantable(me).includes(o.value))} problem={problem} />
      <Field
        id="person-password"
        field="password"
        label="One-time password"
        hint="Hand it over yourself; they choose their own at the first sign-in."
        required
        minLength={12}
        value={password}
        onInput={setPassword}
        problem={problem}
      />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add person'}
      </button>
      {made && (
        <div class="made" role="status">
          <p>
            <bdi>{made.email}</bdi> can sign in once with <code>{made.password}</code>, then chooses their own password.
          </p>
          <CopyButton text={made.password} label="Copy the one-time password" />
        </div>
      )}
    </form>
  );
}

/** Role, disabling and the second factor of one person; nobody changes their own. */
function PersonActions({ person, me, onChanged }: { person: User; me: User; onChanged: () => void }) {
  const { busy, problem, run } = useAction();
  const [done, setDone] = useState('');
  if (person.id === me.id) return <span class="muted">You</span>;
  const act = (what: string, fn: () => Promise<unknown>) =>
    void run(async () => {
      setDone('');
      await fn();
      setDone(what);
      onChanged();
    });
  const roles = grantable(me);
  const canRole = roles.includes(person.system_role);
  const disabled = person.status === 'disabled';
  const id = `person-${person.id}`;
  return (
    <div class="inline-settings">
      {canRole && (
        <>
          <label class="visually-hidden" for={`${id}-role`}>
            Role of {person.name}
          </label>
          <select
            id={`${id}-role`}
            value={person.system_role}
            disabled={busy}
            onChange={(e) => {
              const r = e.currentTarget.value as SystemRole;
              act(`${person.name} is now ${humanize(r)}.`, () => api.patchUser(person.id, { system_role: r }));
            }}
          >
            {ROLE_OPTIONS.filter((o) => roles.includes(o.value)).map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </>
      )}
      <button
        type="button"
        class={disabled ? 'secondary' : 'danger'}
        disabled={busy}
        onClick={() =>
          disabled
            ? act(`${person.name} is enabled again.`, () => api.patchUser(person.id, { status: 'active' }))
            : act(`${person.name} is disabled; their sessions and tokens ended.`, () => api.patchUser(person.id, { status: 'disabled' }))
        }
      >
        {disabled ? 'Enable' : 'Disable'}
        <span class="visually-hidden"> {person.name}</span>
      </button>
      <button
        type="button"
        class="secondary"
        disabled={busy}
        onClick={() => act(`${person.name} sets up a second factor again at the next sign-in.`, () => api.resetUserMFA(person.id))}
      >
        Reset second factor<span class="visually-hidden"> of {person.name}</span>
      </button>
      <ErrorAlert error={problem} />
      {done && <Status message={done} />}
    </div>
  );
}

export function PeopleSection({ people, me, agencies, onChanged }: { people: User[]; me: User; agencies: Agency[]; onChanged: () => void }) {
  const byId = new Map(agencies.map((a) => [a.id, a]));
  const columns: Column<User>[] = [
    { title: 'Name', cell: (u) => <bdi>{u.name}</bdi>, rowHeader: true },
    { title: 'Email', cell: (u) => <bdi>{u.email}</bdi> },
    { title: 'Agency', cell: (u) => (byId.has(u.agency_id) ? <bdi>{byId.get(u.agency_id)!.code}</bdi> : <AgencyName id={u.agency_id} />) },
    { title: 'Role', cell: (u) => humanize(u.system_role) },
    { title: 'Status', cell: (u) => (u.status === 'disabled' ? 'Disabled' : u.must_change_password ? 'Active, one-time password' : 'Active') },
    { title: 'Actions', hideTitle: true, cell: (u) => <PersonActions person={u} me={me} onChanged={onChanged} /> },
  ];
  return (
    <Section title="People" id="people">
      <Table caption="People" columns={columns} rows={people} rowKey={(u) => u.id} rowAttributes={(u) => ({ 'data-email': u.email })} empty="Nobody yet." />
      <NewPersonForm me={me} agencies={agencies} onCreated={onChanged} />
    </Section>
  );
}
