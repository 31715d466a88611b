import { api, type Case, type TaskView } from '../api';
import { TaskTable } from './tasktable';
import { ErrorAlert, LoadMore, Section, useDirectory, useLoad } from '../ui';

const VIEWS: { view: TaskView; title: string; empty: string }[] = [
  { view: 'mine', title: 'My tasks', empty: 'Nothing is assigned to you.' },
  { view: 'agency', title: "My agency's tasks", empty: 'Nothing is assigned to your agency.' },
  { view: 'overdue', title: 'Overdue', empty: 'Nothing is overdue.' },
];

function TaskView({ view, title, empty, cases }: (typeof VIEWS)[number] & { cases: Map<string, Case> | undefined }) {
  const tasks = useLoad(() => api.myTasks(view), [view]);
  return (
    <Section title={title} id={`work-${view}`}>
      <ErrorAlert error={tasks.error} />
      {tasks.loading && !tasks.data && <p role="status">Loading…</p>}
      {tasks.data && <TaskTable tasks={tasks.data.items} caption={title} cases={cases} empty={empty} />}
      <LoadMore page={tasks.data} fetchNext={(c) => api.myTasks(view, c)} onMore={tasks.set} />
    </Section>
  );
}

/** The home page: the work waiting for the caller and their agency. */
export function MyWorkPage() {
  const dir = useDirectory();
  const cases = useLoad(() => api.cases(), []);
  const byId = cases.data ? new Map(cases.data.items.map((c) => [c.id, c])) : undefined;
  return (
    <div class="page">
      <h1 id="page-title" tabIndex={-1}>
        My work
      </h1>
      <p class="lede">
        Signed in as <bdi>{dir.me.name}</bdi>.
      </p>
      {VIEWS.map((v) => (
        <TaskView key={v.view} {...v} cases={byId} />
      ))}
    </div>
  );
}
