import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Case, Members } from '../api';
import { agencyMember, button, caseFixture, choose, cleanUp, fakeServer, problem, show, type, userMember } from '../testing';
import { CaseDetails } from './casedetails';
import { MembersSection } from './members';

afterEach(cleanUp);

const members: Members = {
  agencies: [agencyMember({ agency_id: 'a-ncsc' })],
  users: [userMember({ user_id: 'u-me', role: 'lead' })],
  people: {},
};

const hostileTitle = '<img src=x onerror="alert(1)"> Breach \u202Egnp.exe';

const baseCase: Case = caseFixture({ title: hostileTitle, tlp: 'RED', classification_label: 'RESTRICTED' });

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

describe('MembersSection adding', () => {
  it('goes back to Choose… once an agency or a person is added, so the same one cannot be sent again', async () => {
    const calls = fakeServer({
      'GET /api/v1/agencies': [
        () =>
          Response.json({
            items: [
              { id: 'a-ncsc', code: 'NCSC', name: 'Coordination Centre' },
              { id: 'a-pol', code: 'POL', name: 'Police' },
            ],
          }),
      ],
      'PUT /api/v1/cases/c1/members/agencies/a-pol': [() => Response.json({ agency_id: 'a-pol', role: 'analyst' })],
      'PUT /api/v1/cases/c1/members/users/u-ann': [() => Response.json({ user_id: 'u-ann', role: 'analyst' })],
    });
    const onChanged = vi.fn();
    const root = show(<MembersSection caseId="c1" members={members} role="lead" onChanged={onChanged} />);
    await vi.waitFor(() => expect(root.querySelector('#add-agency option[value="a-pol"]')).not.toBeNull());

    choose(root, '#add-agency', 'a-pol');
    await act(async () => button(root, 'Add agency').click());
    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Agency added.'));
    expect(root.querySelector<HTMLSelectElement>('#add-agency')?.value).toBe('');
    expect(button(root, 'Add agency').disabled).toBe(true);

    choose(root, '#add-user', 'u-ann');
    await act(async () => button(root, 'Add person').click());
    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Person added.'));
    expect(root.querySelector<HTMLSelectElement>('#add-user')?.value).toBe('');
    expect(button(root, 'Add person').disabled).toBe(true);
    expect(calls.filter((c) => c.key.startsWith('PUT')).map((c) => c.key)).toEqual([
      'PUT /api/v1/cases/c1/members/agencies/a-pol',
      'PUT /api/v1/cases/c1/members/users/u-ann',
    ]);
    expect(onChanged).toHaveBeenCalledTimes(2);
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
      exclusions: [{ user_id: 'u-old', reason: 'left the agency', excluded_by: 'u-me', excluded_at: '2026-11-28T09:00:00Z' }],
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
