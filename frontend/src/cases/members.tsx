// Who is on a case: its agencies and people with their roles, and for the
// leads the controls to change them and to cut someone off.

import { useState } from 'preact/hooks';
import { api, type CaseRole, CASE_ROLES, type Members } from '../api';
import { agencyName, ErrorAlert, Field, humanize, Section, Select, Status, Time, useAction, useDirectory, userName } from '../ui';

interface MembersProps {
  caseId: string;
  members: Members;
  /** The caller's role on the case, from /me. */
  role: CaseRole | undefined;
  /** Called after a change; the case's members are read again anyway (a write announces it). */
  onChanged?: () => void;
}

interface MemberRowProps {
  id: string;
  name: string;
  role: CaseRole;
  canManage: boolean;
  busy: boolean;
  onRole: (role: CaseRole) => void;
  onRemove: () => void;
}

/** One agency or person on the case: their role, which a lead may change or take away. */
function MemberRow({ id, name, role, canManage, busy, onRole, onRemove }: MemberRowProps) {
  return (
    <li>
      <span class="member-name">
        <bdi>{name}</bdi>
      </span>
      {canManage ? (
        <>
          <label class="visually-hidden" for={id}>
            Role of {name}
          </label>
          <select id={id} value={role} disabled={busy} onChange={(e) => onRole(e.currentTarget.value as CaseRole)}>
            {CASE_ROLES.map((r) => (
              <option key={r} value={r}>
                {humanize(r)}
              </option>
            ))}
          </select>
          <button type="button" class="secondary danger" disabled={busy} onClick={onRemove}>
            Remove<span class="visually-hidden"> {name}</span>
          </button>
        </>
      ) : (
        <span class="badge">{humanize(role)}</span>
      )}
    </li>
  );
}

/** Members of the case; leads (who alone see exclusions) get the controls to change them. */
export function MembersSection({ caseId, members, role, onChanged }: MembersProps) {
  const dir = useDirectory();
  // Only leads manage membership (the server answers anyone else 403). Exclusions
  // are listed only to those who may manage, but an empty list is left out, so
  // it cannot tell on its own.
  const canManage = role === 'lead' || (members.exclusions?.length ?? 0) > 0;
  const action = useAction();
  const [said, setSaid] = useState('');
  const [addAgency, setAddAgency] = useState('');
  const [addAgencyRole, setAddAgencyRole] = useState<CaseRole>('analyst');
  const [addUser, setAddUser] = useState('');
  const [addUserRole, setAddUserRole] = useState<CaseRole>('analyst');
  const [exclude, setExclude] = useState('');
  const [reason, setReason] = useState('');

  async function change(fn: () => Promise<unknown>, message: string): Promise<boolean> {
    setSaid('');
    const ok = await action.run(async () => {
      await fn();
    });
    if (ok) {
      setSaid(message);
      onChanged?.();
    }
    return ok;
  }

  const roleOptions = CASE_ROLES.map((r) => ({ value: r, label: humanize(r) }));
  const agencyChoices = [...dir.agencies.values()].filter((a) => !members.agencies.some((m) => m.agency_id === a.id));
  const userChoices = [...dir.users.values()].filter((u) => !members.users.some((m) => m.user_id === u.id));
  const excluded = new Set((members.exclusions ?? []).map((x) => x.user_id));
  // Anyone named on the case or in the caller's agency (who may be in through it), but not the caller.
  const excludable = [...new Set([...members.users.map((m) => m.user_id), ...dir.users.keys()])].filter(
    (u) => u !== dir.me.id && !excluded.has(u),
  );

  return (
    <Section title="Members" id="members">
      <ErrorAlert error={action.problem} />
      {said && <Status message={said} />}
      <h3>Agencies</h3>
      <ul class="members">
        {members.agencies.map((m) => (
          <MemberRow
            key={m.agency_id}
            id={`agency-role-${m.agency_id}`}
            name={agencyName(dir, m.agency_id)}
            role={m.role}
            canManage={canManage}
            busy={action.busy}
            onRole={(r) => void change(() => api.putAgencyMember(caseId, m.agency_id, r), 'Role changed.')}
            onRemove={() => void change(() => api.deleteAgencyMember(caseId, m.agency_id), 'Agency removed.')}
          />
        ))}
      </ul>
      <h3>People</h3>
      <ul class="members">
        {members.users.map((m) => (
          <MemberRow
            key={m.user_id}
            id={`user-role-${m.user_id}`}
            name={userName(dir, m.user_id)}
            role={m.role}
            canManage={canManage}
            busy={action.busy}
            onRole={(r) => void change(() => api.putUserMember(caseId, m.user_id, r), 'Role changed.')}
            onRemove={() => void change(() => api.deleteUserMember(caseId, m.user_id), 'Person removed.')}
          />
        ))}
      </ul>
      {members.exclusions && members.exclusions.length > 0 && (
        <>
          <h3>Excluded</h3>
          <ul class="members">
            {members.exclusions.map((x) => (
              <li key={x.user_id}>
                <span class="member-name"><bdi>{userName(dir, x.user_id)}</bdi></span>
                <span class="reason">
                  {x.reason} · <Time iso={x.excluded_at} />
                </span>
                <button
                  type="button"
                  class="secondary"
                  disabled={action.busy}
                  onClick={() => void change(() => api.liftExclusion(caseId, x.user_id), 'Exclusion lifted.')}
                >
                  Lift exclusion<span class="visually-hidden"> of {userName(dir, x.user_id)}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {canManage && (
        <div class="member-forms">
          {agencyChoices.length > 0 && (
            <form
              class="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                // Once added, the agency leaves the choices: the form goes back to Choose…, not to a blank select.
                if (addAgency !== '')
                  void change(() => api.putAgencyMember(caseId, addAgency, addAgencyRole), 'Agency added.').then((ok) => ok && setAddAgency(''));
              }}
            >
              <Select
                id="add-agency"
                label="Add an agency"
                value={addAgency}
                onChange={setAddAgency}
                options={[
                  { value: '', label: 'Choose…' },
                  ...agencyChoices.map((a) => ({ value: a.id, label: `${a.name} (${a.code})` })),
                ]}
              />
              <Select
                id="add-agency-role"
                label="Role"
                value={addAgencyRole}
                onChange={(v) => setAddAgencyRole(v as CaseRole)}
                options={roleOptions}
              />
              <button type="submit" class="secondary" disabled={action.busy || addAgency === ''}>
                Add agency
              </button>
            </form>
          )}
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (addUser.trim() !== '')
                void change(() => api.putUserMember(caseId, addUser.trim(), addUserRole), 'Person added.').then((ok) => ok && setAddUser(''));
            }}
          >
            {userChoices.length > 0 ? (
              <Select
                id="add-user"
                label="Add a person"
                value={addUser}
                onChange={setAddUser}
                options={[{ value: '', label: 'Choose…' }, ...userChoices.map((u) => ({ value: u.id, label: u.name }))]}
              />
            ) : (
              <Field id="add-user" label="Add a person (user ID)" value={addUser} onInput={setAddUser} />
            )}
            <Select
              id="add-user-role"
              label="Role"
              value={addUserRole}
              onChange={(v) => setAddUserRole(v as CaseRole)}
              options={roleOptions}
            />
            <button type="submit" class="secondary" disabled={action.busy || addUser.trim() === ''}>
              Add person
            </button>
          </form>
          {excludable.length > 0 && (
            <form
              class="inline-form exclude"
              onSubmit={async (e) => {
                e.preventDefault();
                if (exclude === '') return;
                const who = userName(dir, exclude);
                if (await change(() => api.excludeUser(caseId, exclude, reason.trim()), `${who} is cut off the case.`)) {
                  setExclude('');
                  setReason('');
                }
              }}
            >
              <Select
                id="exclude-user"
                label="Cut someone off the case"
                value={exclude}
                onChange={setExclude}
                options={[{ value: '', label: 'Choose…' }, ...excludable.map((u) => ({ value: u, label: userName(dir, u) }))]}
              />
              <Field
                id="exclude-reason"
                field="reason"
                label="Reason (seen only by leads)"
                required
                value={reason}
                onInput={setReason}
                problem={action.problem}
              />
              <button type="submit" class="secondary danger" disabled={action.busy || exclude === ''}>
                Exclude now
              </button>
            </form>
          )}
        </div>
      )}
    </Section>
  );
}
