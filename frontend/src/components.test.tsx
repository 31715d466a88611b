import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Case, logout, type Members, type Task } from './api';
import { CaseDetails, MembersSection } from './casepage';
import { CaseTable, CreateCaseForm } from './cases';
import { RecoveryCodes } from './mfa';
import { QRCode } from './qr';
import { match } from './router';
import { TaskDetail } from './taskdetail';
import { button, caseFixture, choose, fakeServer, me, mount, problem, type, unmount } from './testing';
import { TlpBadge } from './ui';

let roots: HTMLElement[] = [];

function show(ui: preact.ComponentChildren): HTMLElement {
  const root = mount(ui);
  roots.push(root);
  return root;
}

afterEach(async () => {
  for (const r of roots) unmount(r);
  roots = [];
  vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
  await logout();
  vi.unstubAllGlobals();
});

const hostileTitle = '<img src=x onerror="alert(1)"> Breach \u202Egnp.exe';

const baseCase: Case = caseFixture({ title: hostileTitle, tlp: 'RED', classification_label: 'RESTRICTED' });

describe('TlpBadge', () => {
  it.each([
    ['CLEAR', 'tlp-clear'],
    ['GREEN', 'tlp-green'],
    ['AMBER', 'tlp-amber'],
    ['AMBER+STRICT', 'tlp-amber-strict'],
    ['RED', 'tlp-red'],
  ])('marks TLP:%s with class %s', (tlp, cls) => {
    const root = show(<TlpBadge tlp={tlp} />);
    const badge = root.querySelector('.tlp')!;
    expect(badge.textContent).toBe(`TLP:${tlp}`);
    expect(badge.classList.contains(cls)).toBe(true);
  });
});

describe('CaseTable', () => {
  it('shows titles as text, never as markup', () => {
    const root = show(<CaseTable cases={[baseCase]} />);

    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('a')?.textContent).toBe(hostileTitle);
    expect(root.querySelector('a')?.getAttribute('href')).toBe('/cases/c1');
  });

  it('shows reference, severity, status, TLP and the next open deadline of each case', () => {
    const root = show(
      <CaseTable
        now={Date.parse('2026-11-29T10:00:00Z')}
        cases={[
          {
            ...baseCase,
            severity: 1,
            status: 'containment',
            clocks: [
              { id: 'gdpr.art33', jurisdiction: 'gdpr', title: 'GDPR Art. 33', due_at: '2026-11-29T13:00:00Z', state: 'pending', met: null },
              { id: 'nis2.x', jurisdiction: 'nis2', title: 'NIS2 final', due_at: '2026-12-29T13:00:00Z', state: 'pending', met: null },
            ],
          },
        ]}
      />,
    );
    expect([...root.querySelectorAll('th')].map((t) => t.textContent)).toEqual([
      'Reference',
      'Title',
      'Severity',
      'Status',
      'TLP',
      'Next deadline',
      'Updated',
    ]);
    expect(root.querySelector('tbody')?.textContent).toContain('BEV-2026-0042');
    expect(root.querySelector('.severity-1')?.textContent).toBe('Severity 1 (critical)');
    expect(root.querySelector('.case-status-containment')?.textContent).toBe('Containment');
    expect(root.querySelector('tbody')?.textContent).toContain('GDPR Art. 33: due in 3 h');
  });
});

describe('CaseDetails', () => {
  it('shows summary, tags and the facts the clocks run from, as text', () => {
    const root = show(
      <CaseDetails
        c={{
          ...baseCase,
          summary: 'Patient records <b>taken</b>',
          tags: ['apt', 'insider'],
          jurisdictions: ['gdpr', 'nis2'],
          personal_data_breach: true,
          aware_at: '2026-11-28T06:00:00Z',
        }}
      />,
    );

    expect(root.querySelector('.summary')?.textContent).toBe('Patient records <b>taken</b>');
    expect(root.querySelector('b')).toBeNull();
    expect([...root.querySelectorAll('.tag')].map((t) => t.textContent)).toEqual(['apt', 'insider']);
    expect(root.querySelector('.pdb')?.textContent).toBe('Personal data breach');
    expect(root.textContent).toContain('gdpr, nis2');
    expect(root.querySelector('.classification')?.textContent).toBe('RESTRICTED');
  });
});

describe('CreateCaseForm', () => {
  it('shows the server’s field errors next to their fields', async () => {
    const calls = fakeServer({
      'POST /api/v1/cases': [
        problem(400, 'invalid_input', 'Some fields are invalid; see errors.', [
          { field: 'title', message: 'must not be empty' },
        ]),
      ],
    });
    const onCreated = vi.fn();
    const root = show(<CreateCaseForm onCreated={onCreated} />);
    type(root, '#title', '   ');
    choose(root, '#tlp', 'GREEN');

    await act(async () => root.querySelector('form')!.requestSubmit());

    await vi.waitFor(() => expect(root.querySelector('#title-error')?.textContent).toBe('must not be empty'));
    expect(root.querySelector('#title')?.getAttribute('aria-invalid')).toBe('true');
    expect(root.querySelector('#title')?.getAttribute('aria-describedby')).toBe('title-error');
    expect(root.querySelector('[role="alert"]')?.textContent).toBe('Some fields are invalid; see errors.');
    expect(calls.find((c) => c.key === 'POST /api/v1/cases')?.body).toEqual({
      title: '',
      summary: '',
      severity: 3,
      tlp: 'GREEN',
      classification_label: '',
    });
    expect(onCreated).not.toHaveBeenCalled();
  });
});

describe('RecoveryCodes', () => {
  it('lets the user go on only after saying the codes are saved', () => {
    const onDone = vi.fn();
    const root = show(<RecoveryCodes codes={['aaaa-bbbb', 'cccc-dddd']} onDone={onDone} />);

    expect([...root.querySelectorAll('.codes code')].map((c) => c.textContent)).toEqual(['aaaa-bbbb', 'cccc-dddd']);
    const done = button(root, 'Done');
    expect(done.disabled).toBe(true);

    const box = root.querySelector<HTMLInputElement>('#codes-saved')!;
    act(() => {
      box.checked = true;
      box.dispatchEvent(new Event('change', { bubbles: true }));
    });
    act(() => done.click());

    expect(onDone).toHaveBeenCalledOnce();
  });
});

describe('QRCode', () => {
  it('draws the code as an SVG path with a label, without markup strings', () => {
    const root = show(<QRCode text="otpauth://totp/Bevis:me?secret=JBSWY3DPEHPK3PXP&issuer=Bevis" label="QR code" />);
    const svg = root.querySelector('svg')!;

    expect(svg.getAttribute('role')).toBe('img');
    expect(svg.getAttribute('aria-label')).toBe('QR code');
    const size = Number(svg.getAttribute('viewBox')!.split(' ')[2]);
    // A version-4 code (33 modules) or so for this URI, plus the 2-module border on each side.
    expect(size).toBeGreaterThanOrEqual(25);
    expect((size - 4 - 17) % 4).toBe(0);
    expect(svg.querySelector('path')!.getAttribute('d')).toMatch(/^(M\d+ \d+h1v1h-1z)+$/);
    expect(svg.hasAttribute('style')).toBe(false);
  });
});

const members: Members = {
  agencies: [{ agency_id: 'a-ncsc', role: 'investigator' }],
  users: [{ user_id: 'u-me', role: 'lead' }],
};

describe('MembersSection', () => {
  it('shows roles without controls to someone who is not a lead', () => {
    fakeServer({});
    const root = show(<MembersSection caseId="c1" members={members} role="analyst" onChanged={() => {}} />);

    expect(root.querySelector('select')).toBeNull();
    expect(root.textContent).not.toContain('Add person');
    expect([...root.querySelectorAll('.badge')].map((b) => b.textContent)).toEqual(['Investigator', 'Lead']);
  });

  it('gives a lead the controls, and shows a refusal from the server as an alert', async () => {
    const calls = fakeServer({
      'PUT /api/v1/cases/c1/members/users/u-ann': [problem(403, 'forbidden', 'Only a lead manages membership.')],
    });
    const onChanged = vi.fn();
    const root = show(<MembersSection caseId="c1" members={members} role="lead" onChanged={onChanged} />);
    await vi.waitFor(() => expect(root.querySelector('#add-user option[value="u-ann"]')).not.toBeNull());

    choose(root, '#add-user', 'u-ann');
    choose(root, '#add-user-role', 'observer');
    await act(async () => button(root, 'Add person').click());

    await vi.waitFor(() =>
      expect(root.querySelector('[role="alert"]')?.textContent).toBe('Only a lead manages membership.'),
    );
    expect(calls.find((c) => c.key.startsWith('PUT'))?.body).toEqual({ role: 'observer' });
    expect(onChanged).not.toHaveBeenCalled();
  });
});

describe('MembersSection exclusions', () => {
  it('lets a lead cut someone off with a reason, and lists exclusions with a way to lift them', async () => {
    const calls = fakeServer({
      'PUT /api/v1/cases/c1/members/exclusions/u-ann': [
        () => Response.json({ user_id: 'u-ann', reason: 'suspected insider' }, { status: 201 }),
      ],
      'DELETE /api/v1/cases/c1/members/exclusions/u-old': [() => new Response(null, { status: 204 })],
    });
    const onChanged = vi.fn();
    const withExclusion: Members = {
      ...members,
      exclusions: [{ user_id: 'u-old', reason: 'left the agency', excluded_at: '2026-11-28T09:00:00Z' }],
    };
    const root = show(<MembersSection caseId="c1" members={withExclusion} role="lead" onChanged={onChanged} />);
    await vi.waitFor(() => expect(root.querySelector('#exclude-user option[value="u-ann"]')).not.toBeNull());
    expect(root.querySelector('#exclude-user option[value="u-me"]')).toBeNull();
    expect(root.querySelector('#exclude-user option[value="u-old"]')).toBeNull();

    choose(root, '#exclude-user', 'u-ann');
    type(root, '#exclude-reason', 'suspected insider');
    await act(async () => button(root, 'Exclude now').click());

    await vi.waitFor(() =>
      expect(root.querySelector('[role="status"]')?.textContent).toBe('Ann Analyst is cut off the case.'),
    );
    expect(calls.find((c) => c.key.startsWith('PUT'))?.body).toEqual({ reason: 'suspected insider' });
    expect(root.querySelector<HTMLInputElement>('#exclude-reason')?.value).toBe('');

    await act(async () => button(root, 'Lift exclusion of User …u-old').click());
    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Exclusion lifted.'));
    expect(onChanged).toHaveBeenCalledTimes(2);
  });
});

describe('TaskDetail', () => {
  const task: Task = {
    id: 't1',
    case_id: 'c1',
    title: 'Image the DCs',
    assignee_user_id: me.id,
    priority: 'high',
    status: 'open',
    checklist: [{ id: 'i1', text: 'Photograph the rack', done: false }],
  };

  it('sends the ETag as If-Match and, on 412, reloads the task and says why', async () => {
    const calls = fakeServer({
      'GET /api/v1/cases/c1/tasks/t1': [
        () => Response.json(task, { headers: { etag: '"1"' } }),
        () => Response.json({ ...task, status: 'blocked' }, { headers: { etag: '"2"' } }),
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
    expect(root.querySelector<HTMLSelectElement>('#task-t1-status')?.value).toBe('blocked');
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
});

describe('match', () => {
  it.each([
    ['/cases/:id', '/cases/abc', { id: 'abc' }],
    ['/cases/:id', '/cases/a%20b', { id: 'a b' }],
    ['/cases/:id', '/cases', null],
    ['/cases', '/cases/', {}],
    ['/', '/', {}],
    ['/cases/:id', '/cases/%E0%A4%A', null],
  ])('%s against %s', (pattern, path, want) => {
    expect(match(pattern, path)).toEqual(want);
  });
});
