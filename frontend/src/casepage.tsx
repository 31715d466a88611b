import { useState } from 'preact/hooks';
import {
  api,
  type Case,
  type CaseRole,
  CASE_ROLES,
  type Members,
  type NewTask,
  ProblemError,
  type Task,
  TASK_PRIORITIES,
  type TaskPriority,
} from './api';
import { EditCaseForm, STALE_MESSAGE, StatusPanel } from './caseedit';
import { CaseStatusBadge, SeverityBadge } from './cases';
import { ClockList } from './clocks';
import { EvidenceSection } from './evidence';
import { Comments } from './comments';
import { agencyName, AgencyName, CaseNames, userName, useDirectory, UserName } from './directory';
import { TaskDetail } from './taskdetail';
import { LoadMore, Assignee, TaskStatusBadge } from './tasklist';
import { ErrorAlert, Field, humanize, localToISO, Section, Select, Status, Time, TlpBadge, useAction, useLoad } from './ui';

/** The title of a case, with its reference when it has one. */
function caseTitle(c: Case) {
  return (
    <>
      {c.reference && <span class="reference">{c.reference} </span>}
      {c.title}
    </>
  );
}

function List({ label, items }: { label: string; items: string[] }) {
  if (items.length === 0) return null;
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd>{items.join(', ')}</dd>
    </div>
  );
}

/** What the case header shows under the title: markings, summary and the facts the clocks run from. */
export function CaseDetails({ c }: { c: Case }) {
  return (
    <>
      <p class="markings">
        <TlpBadge tlp={c.tlp} />
        {c.classification_label && <span class="classification">{c.classification_label}</span>}
        <SeverityBadge severity={c.severity} />
        <CaseStatusBadge status={c.status} />
        {c.personal_data_breach && <span class="badge pdb">Personal data breach</span>}
      </p>
      {c.summary && <p class="summary">{c.summary}</p>}
      {c.tags.length > 0 && (
        <ul class="tags" aria-label="Tags">
          {c.tags.map((t) => (
            <li key={t} class="tag">
              {t}
            </li>
          ))}
        </ul>
      )}
      <dl class="facts">
        <List label="Affected organisations" items={c.affected_organisations} />
        <List label="Affected systems" items={c.affected_systems} />
        <List label="Jurisdictions" items={c.jurisdictions} />
        {c.discovered_at && (
          <div class="fact">
            <dt>Discovered</dt>
            <dd>
              <Time iso={c.discovered_at} />
            </dd>
          </div>
        )}
        {c.aware_at && (
          <div class="fact">
            <dt>Aware</dt>
            <dd>
              <Time iso={c.aware_at} />
            </dd>
          </div>
        )}
      </dl>
      <p class="meta">
        Opened <Time iso={c.created_at} /> by <UserName id={c.created_by} /> · lead agency{' '}
        <AgencyName id={c.lead_agency_id} />
      </p>
    </>
  );
}

interface MembersProps {
  caseId: string;
  members: Members;
  /** The caller's role on the case, from /me. */
  role: CaseRole | undefined;
  onChanged: () => void;
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
      onChanged();
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
                if (addAgency !== '')
                  void change(() => api.putAgencyMember(caseId, addAgency, addAgencyRole), 'Agency added.');
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
                void change(() => api.putUserMember(caseId, addUser.trim(), addUserRole), 'Person added.');
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


export function CreateTaskForm({
  caseId,
  members,
  onCreated,
}: {
  caseId: string;
  members: Members | undefined;
  onCreated: (t: Task) => void;
}) {
  const dir = useDirectory();
  const [title, setTitle] = useState('');
  const [assignee, setAssignee] = useState(`user:${dir.me.id}`);
  const [priority, setPriority] = useState<TaskPriority>('normal');
  const [due, setDue] = useState('');
  const [description, setDescription] = useState('');
  const [steps, setSteps] = useState('');
  const { busy, problem, run } = useAction();

  const people = members?.users ?? [];
  const options = [
    ...people.map((u) => ({ value: `user:${u.user_id}`, label: `Person: ${userName(dir, u.user_id)}` })),
    ...(members?.agencies ?? []).map((a) => ({
      value: `agency:${a.agency_id}`,
      label: `Agency: ${agencyName(dir, a.agency_id)}`,
    })),
  ];
  if (!options.some((o) => o.value === assignee)) options.unshift({ value: assignee, label: `Person: ${dir.me.name}` });

  async function submit(e: Event) {
    e.preventDefault();
    const t: NewTask = { title: title.trim(), priority };
    const [kind, id] = assignee.split(':');
    if (kind === 'agency') t.assignee_agency_id = id;
    else t.assignee_user_id = id;
    const dueAt = localToISO(due);
    if (dueAt) t.due_at = dueAt;
    if (description.trim()) t.description = description.trim();
    const list = steps
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    if (list.length > 0) t.checklist = list;
    const ok = await run(async () => {
      onCreated(await api.createTask(caseId, t));
    });
    if (ok) {
      setTitle('');
      setDescription('');
      setSteps('');
      setDue('');
    }
  }

  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      <Field id="task-title" field="title" label="Task" required maxLength={300} value={title} onInput={setTitle} problem={problem} />
      <Select
        id="task-assignee"
        field={assignee.startsWith('agency:') ? 'assignee_agency_id' : 'assignee_user_id'}
        label="Assign to"
        value={assignee}
        onChange={setAssignee}
        options={options}
        problem={problem}
      />
      <Select
        id="task-priority"
        field="priority"
        label="Priority"
        value={priority}
        onChange={(v) => setPriority(v as TaskPriority)}
        options={TASK_PRIORITIES.map((p) => ({ value: p, label: humanize(p) }))}
        problem={problem}
      />
      <Field id="task-due" field="due_at" label="Due" type="datetime-local" value={due} onInput={setDue} problem={problem} />
      <Field
        id="task-description"
        field="description"
        label="Description"
        multiline
        value={description}
        onInput={setDescription}
        problem={problem}
      />
      <Field
        id="task-steps"
        field="checklist"
        label="Checklist"
        hint="One step per line. Optional."
        multiline
        value={steps}
        onInput={setSteps}
        problem={problem}
      />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create task'}
      </button>
    </form>
  );
}

/** A case: header with its clocks, status, details, evidence, tasks, members and comments. */
export function CasePage({ id }: { id: string }) {
  const kase = useLoad(() => api.getCaseTagged(id), [id]);
  const members = useLoad(() => api.members(id), [id]);
  const tasks = useLoad(() => api.caseTasks(id), [id]);
  const me = useLoad(() => api.me(), [id]);
  const [open, setOpen] = useState<string | null>(() => {
    const m = /^#task-(.+)$/.exec(window.location.hash);
    return m ? decodeURIComponent(m[1]!) : null;
  });
  const [said, setSaid] = useState('');

  // The h1 stays the same element from loading to loaded, so the focus put on it by the router stays too.
  const c = kase.data?.value;
  const header = (
    <header class="case-header">
      <h1 id="page-title" tabIndex={-1}>
        {c ? caseTitle(c) : kase.error ? 'Case not available' : 'Loading case…'}
      </h1>
      {c && <CaseDetails c={c} />}
    </header>
  );
  // The same tree (CaseNames > div > header) while loading and once loaded, so the h1 keeps the focus.
  if (!kase.data || !c) {
    return (
      <CaseNames members={members.data}>
        <div class="page">
          {header}
          <ErrorAlert error={kase.error} />
        </div>
      </CaseNames>
    );
  }
  const tagged = kase.data;

  // Observers (leadership) read only; when the role is unknown, the server decides and says so.
  const role = me.data?.memberships.find((m) => m.case_id === id)?.role;
  const canWrite = role !== 'observer';

  /** Reloads the case after a 412; the edit form then starts again from what it returns. */
  async function reloadCase() {
    try {
      const fresh = await api.getCaseTagged(id);
      kase.set(fresh);
      return fresh;
    } catch {
      kase.reload();
      return undefined;
    }
  }

  function adopt(next: typeof tagged) {
    kase.set(next);
  }

  function replaceTask(t: Task) {
    if (!tasks.data) return;
    tasks.set({ ...tasks.data, items: tasks.data.items.map((x) => (x.id === t.id ? t : x)) });
  }

  return (
    <CaseNames members={members.data}>
    <div class="page">
      {header}
      {role && <p class="my-role">Your role on this case: {humanize(role)}</p>}

      <Section title="Regulatory clocks" id="clocks">
        <ClockList
          clocks={c.clocks}
          onMeet={
            canWrite
              ? async (clock, reference, metAt) => {
                  try {
                    adopt(await api.meetClock(id, clock.id, reference, metAt, tagged.etag));
                  } catch (err) {
                    if (err instanceof ProblemError && err.status === 412) {
                      await reloadCase();
                      throw new ProblemError({ ...err.problem, detail: STALE_MESSAGE });
                    }
                    throw err;
                  }
                }
              : undefined
          }
        />
      </Section>

      <Section title="Case status" id="case-status">
        <StatusPanel kase={tagged} role={role} onMoved={adopt} onStale={reloadCase} />
      </Section>

      {canWrite && (
        <details class="edit-case">
          <summary>Edit the case</summary>
          <EditCaseForm
            kase={tagged}
            isLead={role === 'lead'}
            onSaved={adopt}
            onStale={reloadCase}
          />
        </details>
      )}

      <EvidenceSection caseId={id} canWrite={canWrite} />

      <Section title="Tasks" id="tasks">
        <ErrorAlert error={tasks.error} />
        {said && <Status message={said} />}
        {tasks.data && tasks.data.items.length === 0 && <p class="empty">No tasks yet.</p>}
        {tasks.data && tasks.data.items.length > 0 && (
          <ul class="tasks">
            {tasks.data.items.map((t) => (
              <li key={t.id} id={`task-${t.id}`} class="task">
                <div class="task-row">
                  <button
                    type="button"
                    class="task-toggle"
                    aria-expanded={open === t.id}
                    aria-controls={`task-${t.id}-detail`}
                    onClick={() => setOpen(open === t.id ? null : t.id)}
                  >
                    {t.title}
                  </button>
                  <span class="task-facts">
                    <Assignee task={t} /> · {humanize(t.priority)}
                    {t.due_at && (
                      <>
                        {' · due '}
                        <Time iso={t.due_at} />
                      </>
                    )}{' '}
                    <TaskStatusBadge task={t} />
                    {!t.acknowledged_at && <span class="badge pending">not acknowledged</span>}
                  </span>
                </div>
                {open === t.id && (
                  <div id={`task-${t.id}-detail`}>
                    <TaskDetail caseId={id} task={t} members={members.data} canWrite={canWrite} onChanged={replaceTask} />
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
        <LoadMore page={tasks.data} fetchNext={(c) => api.caseTasks(id, c)} onMore={tasks.set} />
        {canWrite && (
          <>
            <h3 id="new-task">New task</h3>
            <CreateTaskForm
              caseId={id}
              members={members.data}
              onCreated={(t) => {
                setSaid(`Task “${t.title}” created.`);
                tasks.reload();
              }}
            />
          </>
        )}
      </Section>

      {members.error && members.error.status !== 403 && <ErrorAlert error={members.error} />}
      {members.data && <MembersSection caseId={id} members={members.data} role={role} onChanged={members.reload} />}

      <Section title="Comments" id="comments">
        <Comments caseId={id} people={members.data?.users ?? []} idPrefix="case" canWrite={canWrite} />
      </Section>
    </div>
    </CaseNames>
  );
}
