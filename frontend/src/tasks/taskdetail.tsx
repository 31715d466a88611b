import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  asProblem,
  type Members,
  ProblemError,
  type Task,
  TASK_PRIORITIES,
  TASK_STATUSES,
  type TaskPatch,
  type TaskPriority,
  type TaskStatus,
} from '../api';
import { Comments } from '../cases/comments';
import { Assignee, TaskStatusBadge } from './tasktable';
import { ErrorAlert, Field, humanize, isoToLocal, localToISO, rebase, Select, type ServerChange, ServerChanges, Status, Time, useAction, useDirectory, userName } from '../ui';

/** The fields of the edit form, as a task holds them now. */
function formOf(t: Task) {
  return { status: t.status, priority: t.priority, due: isoToLocal(t.due_at) };
}

const FORM_LABELS = { status: 'Status', priority: 'Priority', due: 'Due' };

interface TaskDetailProps {
  caseId: string;
  task: Task;
  members: Members | undefined;
  canWrite: boolean;
  onChanged: (task: Task) => void;
}

/** The working view of one task: its changes, acknowledgement, delegation, checklist and comments. */
export function TaskDetail({ caseId, task: initial, members, canWrite, onChanged }: TaskDetailProps) {
  const dir = useDirectory();
  const [task, setTask] = useState<Task>(initial);
  const [etag, setEtag] = useState<string | undefined>(undefined);
  const [loadError, setLoadError] = useState<ProblemError | null>(null);
  const [status, setStatus] = useState<TaskStatus>(initial.status);
  const [priority, setPriority] = useState<TaskPriority>(initial.priority);
  const [due, setDue] = useState(isoToLocal(initial.due_at));
  const [delegate, setDelegate] = useState('');
  const [step, setStep] = useState('');
  const [said, setSaid] = useState('');
  const action = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  const [serverChanges, setServerChanges] = useState<ServerChange[]>([]);

  /** Loads the task; keepEdits leaves the edit form as the user has it (after a step is ticked or added). */
  async function load(keepEdits = false) {
    try {
      const r = await api.getTask(caseId, initial.id);
      setTask(r.task);
      setEtag(r.etag);
      if (!keepEdits) edits(r.task);
      setLoadError(null);
      return r.task;
    } catch (err) {
      setLoadError(asProblem(err));
      return undefined;
    }
  }

  useEffect(() => {
    void load();
    heading.current?.focus();
  }, [caseId, initial.id]);

  /** Resets the edit form to what the task is now. */
  function edits(t: Task) {
    setStatus(t.status);
    setPriority(t.priority);
    setDue(isoToLocal(t.due_at));
  }

  function changed(t: Task, message: string, tag?: string, keepEdits = false) {
    setTask(t);
    if (!keepEdits) edits(t);
    if (tag !== undefined) setEtag(tag);
    setSaid(message);
    onChanged(t);
  }

  /** The fields of the edit form that differ from the task: only those are sent. */
  function patch(): TaskPatch {
    const out: TaskPatch = {};
    if (status !== task.status) out.status = status;
    if (priority !== task.priority) out.priority = priority;
    if (due !== isoToLocal(task.due_at)) out.due_at = localToISO(due) ?? null;
    return out;
  }

  async function save(e: Event) {
    e.preventDefault();
    setSaid('');
    const changes = patch();
    if (etag === undefined || Object.keys(changes).length === 0) return;
    setServerChanges([]);
    const base = formOf(task);
    const mine = { status, priority, due };
    await action.run(async () => {
      try {
        const r = await api.patchTask(caseId, task.id, changes, etag);
        changed(r.task, 'Task saved.', r.etag);
      } catch (err) {
        const p = asProblem(err);
        if (p.status === 412) {
          // Keep the typing: the form moves onto the new version with the person's changes on top.
          const fresh = await load();
          if (fresh) {
            const next = rebase(base, formOf(fresh), mine);
            setStatus(next.draft.status);
            setPriority(next.draft.priority);
            setDue(next.draft.due);
            setServerChanges(next.changes);
          }
          throw new ProblemError({
            ...p.problem,
            detail: 'Someone else changed this task in the meantime. Your changes are kept: check what changed and save again.',
          });
        }
        throw p;
      }
    });
  }

  async function acknowledge() {
    setSaid('');
    await action.run(async () => {
      changed(await api.acknowledgeTask(caseId, task.id), 'Task acknowledged.');
      await load();
    });
  }

  async function delegateTo(e: Event) {
    e.preventDefault();
    setSaid('');
    if (delegate === '') return;
    await action.run(async () => {
      changed(await api.delegateTask(caseId, task.id, delegate), `Delegated to ${userName(dir, delegate)}.`);
      await load();
    });
  }

  async function addStep(e: Event) {
    e.preventDefault();
    setSaid('');
    const ok = await action.run(async () => {
      // A step changes neither status, priority nor due time: what the user is choosing there stays.
      changed(await api.addChecklistItem(caseId, task.id, step.trim()), 'Step added.', undefined, true);
      await load(true);
    });
    if (ok) setStep('');
  }

  async function tick(itemId: string, done: boolean) {
    setSaid('');
    // Show the tick at once; the server's answer (or a reload on failure) settles it.
    setTask((t) => ({ ...t, checklist: t.checklist?.map((i) => (i.id === itemId ? { ...i, done } : i)) }));
    const ok = await action.run(async () => {
      changed(await api.setChecklistItem(caseId, task.id, itemId, done), done ? 'Step done.' : 'Step reopened.', undefined, true);
      await load(true);
    });
    if (!ok) await load(true);
  }

  const mine = task.assignee_user_id === dir.me.id;
  const myAgency = !!task.assignee_agency_id && task.assignee_agency_id === dir.me.agency_id;
  const mayAcknowledge = canWrite && !task.acknowledged_at && (mine || myAgency);
  const colleagues = [...dir.users.values()].filter((u) => u.agency_id === dir.me.agency_id && u.status !== 'disabled');
  const p = `task-${task.id}`;

  return (
    <div class="task-detail">
      <h3 ref={heading} tabIndex={-1} id={`${p}-title`}>
        {task.title}
      </h3>
      <ErrorAlert error={loadError} />
      <ErrorAlert error={action.problem} />
      {action.problem?.status === 412 && <ServerChanges changes={serverChanges} labels={FORM_LABELS} />}
      {said && <Status message={said} />}
      {task.description && <p class="description">{task.description}</p>}
      <dl class="facts">
        <dt>For</dt>
        <dd>
          <Assignee task={task} />
        </dd>
        <dt>Priority</dt>
        <dd>{humanize(task.priority)}</dd>
        {task.due_at && (
          <>
            <dt>Due</dt>
            <dd>
              <Time iso={task.due_at} />
            </dd>
          </>
        )}
        <dt>Status</dt>
        <dd>
          <TaskStatusBadge task={task} />
        </dd>
        <dt>Acknowledged</dt>
        <dd>
          {task.acknowledged_at ? (
            <>
              <Time iso={task.acknowledged_at} /> by {userName(dir, task.acknowledged_by)}
            </>
          ) : (
            'Not yet'
          )}
        </dd>
      </dl>

      {mayAcknowledge && (
        <button type="button" class="primary inline" disabled={action.busy} onClick={acknowledge}>
          Acknowledge
        </button>
      )}

      {canWrite && (
        <form class="inline-form" onSubmit={save} aria-label="Change the task">
          <Select
            id={`${p}-status`}
            field="status"
            label="Status"
            value={status}
            onChange={(v) => setStatus(v as TaskStatus)}
            options={TASK_STATUSES.map((s) => ({ value: s, label: humanize(s) }))}
            problem={action.problem}
          />
          <Select
            id={`${p}-priority`}
            field="priority"
            label="Priority"
            value={priority}
            onChange={(v) => setPriority(v as TaskPriority)}
            options={TASK_PRIORITIES.map((s) => ({ value: s, label: humanize(s) }))}
            problem={action.problem}
          />
          <Field
            id={`${p}-due`}
            field="due_at"
            label="Due"
            type="datetime-local"
            value={due}
            onInput={setDue}
            problem={action.problem}
          />
          <button
            type="submit"
            class="secondary"
            disabled={action.busy || etag === undefined || Object.keys(patch()).length === 0}
          >
            Save changes
          </button>
        </form>
      )}

      {canWrite && myAgency && colleagues.length > 0 && (
        <form class="inline-form" onSubmit={delegateTo}>
          <Select
            id={`${p}-delegate`}
            label="Delegate to"
            value={delegate}
            onChange={setDelegate}
            options={[{ value: '', label: 'Choose a person…' }, ...colleagues.map((u) => ({ value: u.id, label: u.name }))]}
          />
          <button type="submit" class="secondary" disabled={action.busy || delegate === ''}>
            Delegate
          </button>
        </form>
      )}

      <h4 id={`${p}-checklist`}>Checklist</h4>
      {(task.checklist ?? []).length === 0 && <p class="empty">No steps.</p>}
      <ul class="checklist" aria-labelledby={`${p}-checklist`}>
        {(task.checklist ?? []).map((item) => (
          <li key={item.id} class="check">
            <input
              type="checkbox"
              id={`${p}-item-${item.id}`}
              checked={item.done}
              disabled={!canWrite}
              onChange={(e) => void tick(item.id, e.currentTarget.checked)}
            />
            <label for={`${p}-item-${item.id}`}>{item.text}</label>
          </li>
        ))}
      </ul>
      {canWrite && (
        <form class="inline-form" onSubmit={addStep}>
          <Field id={`${p}-step`} field="text" label="New step" required maxLength={500} value={step} onInput={setStep} />
          <button type="submit" class="secondary" disabled={action.busy}>
            Add step
          </button>
        </form>
      )}

      <h4>Comments on this task</h4>
      <Comments caseId={caseId} taskId={task.id} people={members?.users ?? []} idPrefix={p} canWrite={canWrite} />
    </div>
  );
}
