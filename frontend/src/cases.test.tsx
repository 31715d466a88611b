import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Clock, logout } from './api';
import { diffCase, EditCaseForm, offeredTransitions, STALE_MESSAGE, StatusPanel } from './caseedit';
import { DeadlineList, StatusCounts } from './cases';
import { ClockList, clockStanding, formatDuration, urgentClocks } from './clocks';
import { CaseNames } from './directory';
import { button, caseFixture, fakeServer, mount, problem, type, unmount } from './testing';

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

const NOW = Date.parse('2026-11-29T12:00:00Z');
const H = 3_600_000;

function clock(over: Partial<Clock>): Clock {
  return { id: 'gdpr.art33', jurisdiction: 'gdpr', title: 'GDPR Art. 33', due_at: null, state: 'pending', met: null, ...over };
}

describe('clock wording', () => {
  it.each([
    [25 * 60_000, '25 min'],
    [3 * H, '3 h'],
    [3 * H + 15 * 60_000, '3 h 15 min'],
    [47 * H, '47 h'],
    [70 * H, '2 d 22 h'],
    [-5 * H, '5 h'],
  ])('formats %d ms as %s', (ms, words) => {
    expect(formatDuration(ms)).toBe(words);
  });

  it('says how each clock stands', () => {
    expect(clockStanding(clock({ due_at: new Date(NOW + 20 * H).toISOString() }), NOW)).toBe('due in 20 h');
    expect(clockStanding(clock({ due_at: new Date(NOW - 3 * H).toISOString(), state: 'overdue' }), NOW)).toBe(
      'overdue by 3 h',
    );
    // The server's state may lag the browser's clock: a passed due time is overdue.
    expect(clockStanding(clock({ due_at: new Date(NOW - H).toISOString() }), NOW)).toBe('overdue by 1 h');
    expect(clockStanding(clock({}), NOW)).toBe('not running yet');
    const met = { at: '', by_user: 'u', by_agency: 'a', reference: 'r', recorded_at: '', late: true };
    expect(clockStanding(clock({ state: 'met', met }), NOW)).toBe('met late');
  });
});

describe('urgentClocks', () => {
  it('lists overdue clocks first, then those due within a day, soonest first, once each', () => {
    const a = caseFixture({
      id: 'a',
      clocks: [
        clock({ id: 'nis2.early', due_at: new Date(NOW + 5 * H).toISOString() }),
        clock({ id: 'nis2.final', due_at: new Date(NOW + 30 * 24 * H).toISOString() }),
      ],
    });
    const b = caseFixture({
      id: 'b',
      clocks: [
        clock({ id: 'gdpr.art33', due_at: new Date(NOW - 2 * H).toISOString(), state: 'overdue' }),
        clock({ id: 'nis2.notification', due_at: new Date(NOW + 2 * H).toISOString() }),
        clock({ id: 'met', due_at: new Date(NOW + H).toISOString(), state: 'met' }),
        clock({ id: 'unknown', due_at: null }),
      ],
    });

    // b appears twice, as it would from the overdue and the pending queries.
    const urgent = urgentClocks([a, b, b], NOW);

    expect(urgent.map((u) => `${u.kase.id}/${u.clock.id}/${u.urgency}`)).toEqual([
      'b/gdpr.art33/overdue',
      'b/nis2.notification/soon',
      'a/nis2.early/soon',
    ]);
  });
});

describe('the leadership view', () => {
  it('counts cases per status in lifecycle order, open and closed', () => {
    const root = show(<StatusCounts counts={{ closed: 4, triage: 2, containment: 1 }} />);

    expect(root.querySelector('.lede')?.textContent).toBe('3 open cases, 4 closed.');
    const tiles = [...root.querySelectorAll('.count')].map((d) => `${d.querySelector('dt')?.textContent}=${d.querySelector('dd')?.textContent}`);
    expect(tiles).toEqual([
      'New=0',
      'Triage=2',
      'Investigating=0',
      'Containment=1',
      'Eradication=0',
      'Recovery=0',
      'Closed=4',
    ]);
  });

  it('lists the deadlines to watch with their case, as text', () => {
    const k = caseFixture({ title: '<b>Helse</b>', clocks: [clock({ due_at: new Date(NOW - H).toISOString(), state: 'overdue' })] });
    const root = show(<DeadlineList urgent={urgentClocks([k], NOW)} now={NOW} />);

    const row = root.querySelector('tbody tr')!;
    expect(row.classList.contains('overdue')).toBe(true);
    expect(row.querySelector('a')?.textContent).toBe('BEV-2026-0042 <b>Helse</b>');
    expect(row.querySelector('a')?.getAttribute('href')).toBe('/cases/c1');
    expect(row.textContent).toContain('overdue by 1 h');
    expect(root.querySelector('b')).toBeNull();
  });

  it('says so when nothing is urgent', () => {
    const root = show(<DeadlineList urgent={[]} />);
    expect(root.textContent).toBe('No clock is overdue or due within 24 hours.');
  });
});

describe('ClockList', () => {
  const members = {
    agencies: [{ agency_id: 'a-pst', name: 'Police Security Service', code: 'PST', role: 'investigator' as const }],
    users: [{ user_id: 'u-kari', name: 'Kari Nordmann', agency_id: 'a-pst', role: 'investigator' as const }],
  };

  it('shows who met a clock, by the names the member list gives, and when', () => {
    const met = { at: '2026-11-28T09:00:00Z', by_user: 'u-kari', by_agency: 'a-pst', reference: 'DPA-7', recorded_at: '', late: false };
    const root = show(
      <CaseNames members={members}>
        <ClockList clocks={[clock({ state: 'met', met, due_at: '2026-11-30T09:00:00Z' })]} now={NOW} />
      </CaseNames>,
    );

    const row = root.querySelector('tr[data-clock="gdpr.art33"]')!;
    expect(row.classList.contains('met')).toBe(true);
    expect(row.textContent).toContain('Kari Nordmann (Police Security Service (PST)), ref. DPA-7');
  });

  it('falls back to a short ID for someone the member list does not name', () => {
    const met = { at: '2026-11-28T09:00:00Z', by_user: '0190aaaa-bbbb-cccc-dddd-eeeeffff0001', by_agency: 'a-x', reference: 'R', recorded_at: '', late: false };
    const root = show(<ClockList clocks={[clock({ state: 'met', met })]} now={NOW} />);
    expect(root.textContent).toContain('User …ffff0001');
  });

  it('records a clock as met with its reference', async () => {
    const onMeet = vi.fn(async () => {});
    const root = show(<ClockList clocks={[clock({ due_at: new Date(NOW + 5 * H).toISOString() })]} onMeet={onMeet} now={NOW} />);

    expect(root.querySelector('tbody tr.clock.soon')?.textContent).toContain('due in 5 h');
    act(() => button(root, 'Record as met: GDPR Art. 33').click());
    type(root, '#meet-gdpr-art33-reference', 'DPA-2026-1');
    await act(async () => root.querySelector('form')!.requestSubmit());

    expect(onMeet).toHaveBeenCalledWith(expect.objectContaining({ id: 'gdpr.art33' }), 'DPA-2026-1', undefined);
    await vi.waitFor(() => expect(root.querySelector('form')).toBeNull());
  });
});

describe('changing a case', () => {
  it('patches only what changed, so a non-lead never sends the TLP', () => {
    const c = caseFixture({ tags: ['apt'], jurisdictions: [] });
    const draft = {
      title: c.title,
      summary: ' New summary ',
      severity: '1',
      tlp: c.tlp,
      classification_label: '',
      tags: 'apt, insider',
      affected_organisations: '',
      affected_systems: '',
      personal_data_breach: true,
      discovered_at: '',
      aware_at: '',
      jurisdictions: 'gdpr',
    };

    expect(diffCase(c, draft)).toEqual({
      summary: 'New summary',
      severity: 1,
      tags: ['apt', 'insider'],
      personal_data_breach: true,
      jurisdictions: ['gdpr'],
    });
  });

  it('offers closing and reopening only to the lead', () => {
    const c = caseFixture({ status: 'investigating', allowed_transitions: ['containment', 'closed'] });
    expect(offeredTransitions(c, false)).toEqual(['containment']);
    expect(offeredTransitions(c, true)).toEqual(['containment', 'closed']);
    const closed = caseFixture({ status: 'closed', allowed_transitions: ['investigating'] });
    expect(offeredTransitions(closed, false)).toEqual([]);
  });

  it('on a 412 reloads the case, says so, and starts the form again from the new version', async () => {
    const calls = fakeServer({ 'PATCH /api/v1/cases/c1': [problem(412, 'precondition_failed', 'stale')] });
    const kase = { value: caseFixture({ summary: 'old' }), etag: '"3"' };
    const fresh = { value: caseFixture({ summary: 'changed by someone else', version: 4 }), etag: '"4"' };
    const onStale = vi.fn(async () => fresh);
    const root = show(<EditCaseForm kase={kase} isLead={false} onSaved={() => {}} onStale={onStale} />);

    expect(root.querySelector('#edit-tlp')).toBeNull();
    type(root, '#edit-summary', 'mine');
    await act(async () => root.querySelector('form')!.requestSubmit());

    await vi.waitFor(() => expect(root.querySelector('[role="alert"]')?.textContent).toBe(STALE_MESSAGE));
    expect(calls.find((c) => c.key === 'PATCH /api/v1/cases/c1')).toMatchObject({ ifMatch: '"3"', body: { summary: 'mine' } });
    expect(onStale).toHaveBeenCalled();
    expect(root.querySelector<HTMLTextAreaElement>('#edit-summary')?.value).toBe('changed by someone else');
  });

  it('moves the case with If-Match and shows the time in each phase', async () => {
    const moved = caseFixture({ status: 'investigating', version: 4 });
    const calls = fakeServer({
      'POST /api/v1/cases/c1/transitions': [() => Response.json(moved, { headers: { etag: '"4"' } })],
      'GET /api/v1/cases/c1/history': [
        () =>
          Response.json({
            transitions: [
              { id: 't1', from: '', to: 'new', by_user: 'u-me', by_agency: 'a-ncsc', at: '2026-11-28T07:00:00Z', reason: '' },
              { id: 't2', from: 'new', to: 'triage', by_user: 'u-ann', by_agency: 'a-ncsc', at: '2026-11-28T08:00:00Z', reason: 'scoped' },
            ],
            phases: [
              { status: 'new', entered_at: '2026-11-28T07:00:00Z', left_at: '2026-11-28T08:00:00Z', seconds: 3600 },
              { status: 'triage', entered_at: '2026-11-28T08:00:00Z', left_at: null, seconds: 5400 },
            ],
            time_in_phase_seconds: { new: 3600, triage: 5400 },
          }),
      ],
    });
    const onMoved = vi.fn();
    const kase = { value: caseFixture(), etag: '"3"' };
    const root = show(<StatusPanel kase={kase} role="investigator" onMoved={onMoved} onStale={async () => undefined} />);

    await vi.waitFor(() => expect(root.querySelectorAll('table.phases tbody tr')).toHaveLength(2));
    const rows = [...root.querySelectorAll('table.phases tbody tr')].map((r) => r.textContent);
    expect(rows[0]).toContain('1 h');
    expect(rows[1]).toContain('Ann Analyst (scoped)');
    expect(rows[1]).toContain('now');
    expect(root.querySelector('.phase-totals')?.textContent).toBe('In all: New 1 h · Triage 1 h 30 min');
    // An investigator is not offered closing.
    expect([...root.querySelectorAll('#transition-to option')].map((o) => o.getAttribute('value'))).toEqual(['investigating']);

    type(root, '#transition-reason', 'confirmed');
    await act(async () => root.querySelector('form')!.requestSubmit());

    await vi.waitFor(() => expect(onMoved).toHaveBeenCalledWith({ value: moved, etag: '"4"' }));
    expect(calls.find((c) => c.key === 'POST /api/v1/cases/c1/transitions')).toMatchObject({
      ifMatch: '"3"',
      body: { to: 'investigating', reason: 'confirmed' },
    });
    expect(root.querySelector('[role="status"]')?.textContent).toBe('Case moved to Investigating.');
  });
});
