import type { Case, Task } from '../api';
import { AgencyName, humanize, Link, Time, UserName } from '../ui';

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
  if (tasks.length === 0) return <p class="empty">{empty}</p>;
  return (
    <table class="list">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Task</th>
          {cases && <th scope="col">Case</th>}
          <th scope="col">For</th>
          <th scope="col">Priority</th>
          <th scope="col">Due</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {tasks.map((t) => {
          const k = cases?.get(t.case_id);
          return (
            <tr key={t.id}>
              <td>
                <Link href={`/cases/${encodeURIComponent(t.case_id)}#task-${t.id}`}>{t.title}</Link>
                {!t.acknowledged_at && t.status === 'open' && <span class="badge pending">not acknowledged</span>}
              </td>
              {cases && <td>{k ? (k.reference ? `${k.reference} ${k.title}` : k.title) : '—'}</td>}
              <td>
                <Assignee task={t} />
              </td>
              <td>
                <span class={`badge priority-${t.priority}`}>{humanize(t.priority)}</span>
              </td>
              <td>
                <Time iso={t.due_at} />
              </td>
              <td>
                <TaskStatusBadge task={t} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
