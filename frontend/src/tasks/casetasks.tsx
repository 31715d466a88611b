// The tasks of one case: a list that opens each task in place, and the form
// that gives a new one.

import { useState } from 'preact/hooks';
import { api, type Members, type Task } from '../api';
import { ErrorAlert, humanize, LoadMore, Section, Status, Time, useLoad } from '../ui';
import { CreateTaskForm } from './createtask';
import { TaskDetail } from './taskdetail';
import { Assignee, TaskStatusBadge } from './tasktable';

export function CaseTasks({ caseId, members, canWrite }: { caseId: string; members: Members | undefined; canWrite: boolean }) {
  const tasks = useLoad(() => api.caseTasks(caseId), [caseId]);
  const [open, setOpen] = useState<string | null>(() => {
    const m = /^#task-(.+)$/.exec(window.location.hash);
    return m ? decodeURIComponent(m[1]!) : null;
  });
  const [said, setSaid] = useState('');

  function replaceTask(t: Task) {
    if (!tasks.data) return;
    tasks.set({ ...tasks.data, items: tasks.data.items.map((x) => (x.id === t.id ? t : x)) });
  }

  return (
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
                  <TaskDetail caseId={caseId} task={t} members={members} canWrite={canWrite} onChanged={replaceTask} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      <LoadMore page={tasks.data} fetchNext={(c) => api.caseTasks(caseId, c)} onMore={tasks.set} />
      {canWrite && (
        <>
          <h3 id="new-task">New task</h3>
          <CreateTaskForm
            caseId={caseId}
            members={members}
            onCreated={(t) => {
              setSaid(`Task “${t.title}” created.`);
              tasks.reload();
            }}
          />
        </>
      )}
    </Section>
  );
}
