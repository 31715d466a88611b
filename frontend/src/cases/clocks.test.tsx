import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { agencyMember, button, caseFixture, cleanUp, clock, H, NOW, show, type, userMember } from '../testing';
import { CaseNames } from '../ui';
import { ClockList, clockStanding, formatDuration, urgentClocks } from './clocks';

afterEach(cleanUp);


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

describe('ClockList', () => {
  const members = {
    agencies: [agencyMember({ agency_id: 'a-pst', name: 'Police Security Service', code: 'PST' })],
    users: [userMember({ user_id: 'u-kari', name: 'Kari Nordmann', agency_id: 'a-pst' })],
    people: {},
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
