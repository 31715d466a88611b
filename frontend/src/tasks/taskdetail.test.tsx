import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Members, Task } from '../api';
import { agencyMember, button, choose, cleanUp, fakeServer, me, problem, show, taskFixture, type, userMember } from '../testing';
import { TaskDetail } from './taskdetail';

afterEach(cleanUp);

const members: Members = {
  agencies: [agencyMember({ agency_id: 'a-ncsc' })],
  users: [userMember({ user_id: 'u-me', role: 'lead' })],
  people: {},
};

describe('TaskDetail', () => {
  const task: Task = taskFixture({
    assignee_user_id: me.id,
    priority: 'high',
    checklist: [{ id: 'i1', text: 'Photograph the rack', done: false, done_at: null }],
  });

  it('sends the ETag as If-Match and, on 412, reloads the task, keeps what was chosen and says what changed', async () => {
    const calls = fakeServer({
      'GET /api/v1/cases/c1/tasks/t1': [
        () => Response.json(task, { headers: { etag: '"1"' } }),
        () => Response.json({ ...task, status: 'blocked', priority: 'low' }, { headers: { etag: '"2"' } }),
      ],
      'PATCH /api/v1/cases/c1/tasks/t1': [problem(412, 'precondition_failed', 'The task changed.')],
      'GET /api/v1/cases/c1/tasks/t1/comments': [() => Response.json({ items: [] })],
    });
    const root = show(<TaskDetail caseId="c1" task={task} members={members} canWrite onChanged={() => {}} />);
    await vi.waitFor(() => expect(calls.map((c) => c.key)).toContain('GET /api/v1/cases/c1/tasks/t1'));

    choose(root, '#task-t1-status', 'done');
    // Enabled once the ETag is known and something differs.
    await vi.waitFor(() => expect(button(root, 'Save changes').disabled).toBe(false));
    await act(async () => root.querySelector<HTMLFormElement>('.inline-form')!.requestSubmit());

    await vi.waitFor(() => expect(root.querySelector('[role="alert"]')?.textContent).toContain('Someone else changed'));
    expect(calls.find((c) => c.key.startsWith('PATCH'))).toMatchObject({ ifMatch: '"1"', body: { status: 'done' } });
    expect(root.querySelector('.badge.status-blocked')?.textContent).toBe('Blocked');
    // The choice made is kept; what was not touched is the server's now.
    expect(root.querySelector<HTMLSelectElement>('#task-t1-status')?.value).toBe('done');
    expect(root.querySelector<HTMLSelectElement>('#task-t1-priority')?.value).toBe('low');
    expect([...root.querySelectorAll('.server-changes li')].map((li) => li.textContent)).toEqual([
      'Status: open → blocked (you changed it too: yours is kept below, and saving replaces theirs)',
      'Priority: high → low (taken into the form)',
    ]);
  });

  it('sends only the fields that changed, and null to clear the due time', async () => {
    const due = { ...task, due_at: '2026-12-01T12:00:00Z' };
    const calls = fakeServer({
      'GET /api/v1/cases/c1/tasks/t1': [() => Response.json(due, { headers: { etag: '"5"' } })],
      'PATCH /api/v1/cases/c1/tasks/t1': [
        () => Response.json({ ...due, priority: 'urgent', due_at: null }, { headers: { etag: '"6"' } }),
      ],
      'GET /api/v1/cases/c1/tasks/t1/comments': [() => Response.json({ items: [] })],
    });
    const root = show(<TaskDetail caseId="c1" task={due} members={members} canWrite onChanged={() => {}} />);
    await vi.waitFor(() => expect(calls.map((c) => c.key)).toContain('GET /api/v1/cases/c1/tasks/t1'));
    expect(button(root, 'Save changes').disabled).toBe(true);

    choose(root, '#task-t1-priority', 'urgent');
    type(root, '#task-t1-due', '');
    await act(async () => button(root, 'Save changes').click());

    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Task saved.'));
    expect(calls.find((c) => c.key.startsWith('PATCH'))).toMatchObject({
      ifMatch: '"5"',
      body: { priority: 'urgent', due_at: null },
    });
    expect(button(root, 'Save changes').disabled).toBe(true);
  });

  it('offers acknowledgement to the assignee and ticks checklist steps off', async () => {
    const calls = fakeServer({
      'GET /api/v1/cases/c1/tasks/t1': [() => Response.json(task, { headers: { etag: '"1"' } })],
      'POST /api/v1/cases/c1/tasks/t1/acknowledge': [
        () => Response.json({ ...task, acknowledged_at: '2026-11-28T10:00:00Z', acknowledged_by: me.id }),
      ],
      'PATCH /api/v1/cases/c1/tasks/t1/checklist/i1': [
        () => Response.json({ ...task, checklist: [{ id: 'i1', text: 'Photograph the rack', done: true }] }),
      ],
      'GET /api/v1/cases/c1/tasks/t1/comments': [() => Response.json({ items: [] })],
    });
    const root = show(<TaskDetail caseId="c1" task={task} members={members} canWrite onChanged={() => {}} />);

    await act(async () => button(root, 'Acknowledge').click());
    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Task acknowledged.'));

    const box = root.querySelector<HTMLInputElement>('#task-t1-item-i1')!;
    await act(async () => {
      box.checked = true;
      box.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Step done.'));
    expect(calls.find((c) => c.key.endsWith('/checklist/i1'))?.body).toEqual({ done: true });
  });

  it('keeps a status being chosen while a step is ticked off and the task reloaded', async () => {
    const ticked = { ...task, checklist: [{ id: 'i1', text: 'Photograph the rack', done: true, done_at: null }] };
    const calls = fakeServer({
      'GET /api/v1/cases/c1/tasks/t1': [
        () => Response.json(task, { headers: { etag: '"1"' } }),
        () => Response.json(ticked, { headers: { etag: '"2"' } }),
      ],
      'PATCH /api/v1/cases/c1/tasks/t1/checklist/i1': [() => Response.json(ticked)],
      'GET /api/v1/cases/c1/tasks/t1/comments': [() => Response.json({ items: [] })],
    });
    const root = show(<TaskDetail caseId="c1" task={task} members={members} canWrite onChanged={() => {}} />);
    await vi.waitFor(() => expect(calls.map((c) => c.key)).toContain('GET /api/v1/cases/c1/tasks/t1'));

    choose(root, '#task-t1-status', 'in_progress');
    const box = root.querySelector<HTMLInputElement>('#task-t1-item-i1')!;
    await act(async () => {
      box.checked = true;
      box.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Step done.'));
    // The reload after the tick has brought the new ETag, and the status chosen is still there to save.
    await vi.waitFor(() => expect(calls.filter((c) => c.key === 'GET /api/v1/cases/c1/tasks/t1')).toHaveLength(2));
    await vi.waitFor(() => expect(button(root, 'Save changes').disabled).toBe(false));
    expect(root.querySelector<HTMLSelectElement>('#task-t1-status')?.value).toBe('in_progress');
  });
});
