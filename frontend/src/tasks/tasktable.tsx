import type { Case, Task } from '../api';
import { AgencyName, type Column, humanize, Link, Table, Time, UserName } from '../ui';

/** Who a task is for, in words. */
export function Assignee({ task }: { task: Task }) {
  if (task.assignee_user_id) return <UserName id={task.assignee_user_id} />;
  return (
    <>
      <AgencyName id={task.assignee_agency_id} />
      {task.delegated_to && (
        <>
          {' → '}
          <UserName id={task.delegated_to} />
        </>
      )}
    </>
  );
}

export function TaskStatusBadge({ task }: { task: Task }) {
  return (
    <span class={`badge status-${task.status}`}>
      {humanize(task.status)}
      {task.overdue && <span class="overdue"> · overdue</span>}
    </span>
  );
}

interface TaskTableProps {
  tasks: Task[];
  caption: string;
  /** Case titles by ID, to show which case each task belongs to. */
  cases?: Map<string, Case> | undefined;
  empty: string;
}

/** A table of tasks linking to their cases. */
export function TaskTable({ tasks, caption, cases, empty }: TaskTableProps) {
  const columns: (Column<Task> | false)[] = [
    {
      title: 'Task',
      cell: (t) => (
        <>
          <Link href={`/cases/${encodeURIComponent(t.case_id)}#task-${t.id}`}>{t.title}</Link>
          {!t.acknowledged_at && t.status === 'open' && <span class="badge pending">not acknowledged</span>}
        </>
      ),
    },
    !!cases && {
      title: 'Case',
      cell: (t) => {
        const k = cases.get(t.case_id);
        return k ? (k.reference ? `${k.reference} ${k.title}` : k.title) : '—';
      },
    },
    { title: 'For', cell: (t) => <Assignee task={t} /> },
    { title: 'Priority', cell: (t) => <span class={`badge priority-${t.priority}`}>{humanize(t.priority)}</span> },
    { title: 'Due', cell: (t) => <Time iso={t.due_at} /> },
    { title: 'Status', cell: (t) => <TaskStatusBadge task={t} /> },
  ];
  return (
    <Table
      caption={caption}
      columns={columns.filter((c): c is Column<Task> => c !== false)}
      rows={tasks}
      rowKey={(t) => t.id}
      empty={empty}
    />
  );
}
