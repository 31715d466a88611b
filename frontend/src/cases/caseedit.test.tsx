import { useState } from 'preact/hooks';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Case, Tagged } from '../api';
import { caseFixture, cleanUp, fakeServer, problem, show, type } from '../testing';
import { diffCase, EditCaseForm, STALE_MESSAGE } from './caseedit';
import { offeredTransitions, StatusPanel } from './casestatus';

afterEach(cleanUp);

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

  it('on a 412 keeps what was typed, takes the rest from the new version, says what changed, and saves on it', async () => {
    const kase = { value: caseFixture({ summary: 'old', tags: [] }), etag: '"3"' };
    const fresh = { value: caseFixture({ summary: 'changed by someone else', tags: ['apt'], version: 4 }), etag: '"4"' };
    const calls = fakeServer({
      'PATCH /api/v1/cases/c1': [
        problem(412, 'precondition_failed', 'stale'),
        () => Response.json({ ...fresh.value, summary: 'mine', version: 5 }, { headers: { etag: '"5"' } }),
      ],
    });
    // The case page's part: it holds the case, reloads it on a 412 and adopts what a save returns.
    function Page() {
      const [current, setCurrent] = useState<Tagged<Case>>(kase);
      return (
        <EditCaseForm
          kase={current}
          isLead={false}
          onSaved={setCurrent}
          onStale={async () => {
            setCurrent(fresh);
            return fresh;
          }}
        />
      );
    }
    const root = show(<Page />);

    expect(root.querySelector('#edit-tlp')).toBeNull();
    type(root, '#edit-summary', 'mine');
    await act(async () => root.querySelector('form')!.requestSubmit());

    await vi.waitFor(() => expect(root.querySelector('[role="alert"]')?.textContent).toBe(STALE_MESSAGE));
    expect(calls[calls.length - 1]).toMatchObject({ ifMatch: '"3"', body: { summary: 'mine' } });
    // The typing is kept; what the person did not touch is the server's now.
    expect(root.querySelector<HTMLTextAreaElement>('#edit-summary')?.value).toBe('mine');
    expect(root.querySelector<HTMLInputElement>('#edit-tags')?.value).toBe('apt');
    const said = [...root.querySelectorAll('.server-changes li')].map((li) => li.textContent);
    expect(said).toEqual([
      'Summary: old → changed by someone else (you changed it too: yours is kept below, and saving replaces theirs)',
      'Tags: (empty) → apt (taken into the form)',
    ]);

    await act(async () => root.querySelector('form')!.requestSubmit());
    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Case saved.'));
    // Saved on the new version, with only the person's own change.
    expect(calls[calls.length - 1]).toMatchObject({ ifMatch: '"4"', body: { summary: 'mine' } });
    expect(root.querySelector('[role="alert"]')).toBeNull();
    expect(root.querySelector('.server-changes')).toBeNull();
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
