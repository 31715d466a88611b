import { useState } from 'preact/hooks';
import { api, type Members, type NewTask, type Task, TASK_PRIORITIES, type TaskPriority } from '../api';
import { agencyName, ErrorAlert, Field, humanize, localToISO, Select, useAction, useDirectory, userName } from '../ui';

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
