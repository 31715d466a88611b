import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditEntry } from '../api';
import { button, choose, cleanUp, fakeServer, show, type } from '../testing';
import { AuditPage, expandAction, NO_AUDIT_FILTERS, toAuditQuery } from './auditpage';
import { VerifySection } from './verification';

afterEach(cleanUp);

function entry(over: Partial<AuditEntry>): AuditEntry {
  return { seq: 1, id: 'e1', at: '2026-11-29T12:00:00Z', action: 'cases.get', outcome: 'success', ...over } as AuditEntry;
}

const ACTIONS = ['auth.login', 'cases.get', 'evidence.download', 'evidence.verify', 'evidence_items.get'];

describe('AuditPage', () => {
  it('lists entries, filters by person and action on the server, and pages with the cursor', async () => {
    const calls = fakeServer({
      'GET /api/v1/audit/actions': [() => Response.json({ items: ACTIONS })],
      'GET /api/v1/audit?limit=100': [
        () => Response.json({ items: [entry({ id: 'e2', seq: 2, action: 'evidence.download', user_id: 'u-ann' }), entry({})], next_cursor: 'C1' }),
      ],
      'GET /api/v1/audit?limit=100&cursor=C1': [() => Response.json({ items: [entry({ id: 'e0', seq: 0, action: 'auth.login' })] })],
      'GET /api/v1/audit?user_id=u-ann&limit=100&action=evidence.download&action=evidence.verify': [
        () => Response.json({ items: [entry({ id: 'e2', action: 'evidence.download', user_id: 'u-ann' })], next_cursor: 'C2' }),
      ],
      'GET /api/v1/audit?user_id=u-ann&limit=100&cursor=C2&action=evidence.download&action=evidence.verify': [
        () => Response.json({ items: [entry({ id: 'e4', action: 'evidence.verify', user_id: 'u-ann' })] }),
      ],
    });
    const r = show(<AuditPage />);
    await vi.waitFor(() => expect(r.querySelectorAll('tbody tr').length).toBe(2));

    await act(async () => button(r, 'Load more').click());
    await vi.waitFor(() => expect(r.querySelectorAll('tbody tr').length).toBe(3));

    await vi.waitFor(() => expect(r.querySelector('#audit-person option[value="u-ann"]')).not.toBeNull());
    choose(r, '#audit-person', 'u-ann');
    type(r, '#audit-action', 'evidence');
    await act(async () => r.querySelector<HTMLFormElement>('form.filters')!.requestSubmit());
    await vi.waitFor(() => expect([...r.querySelectorAll('tbody tr')].map((t) => t.getAttribute('data-action'))).toEqual(['evidence.download']));
    await act(async () => button(r, 'Load more').click());
    await vi.waitFor(() => expect([...r.querySelectorAll('tbody tr')].map((t) => t.getAttribute('data-action'))).toEqual(['evidence.download', 'evidence.verify']));
    expect(r.querySelectorAll('#audit-action-names option').length).toBe(ACTIONS.length);
    expect(calls.filter((c) => c.key.includes('action=')).length).toBe(2); // the filter is the server's
  });

  it("links an entry about an evidence item to the item's access log, and no other entry", async () => {
    fakeServer({
      'GET /api/v1/audit/actions': [() => Response.json({ items: ACTIONS })],
      'GET /api/v1/audit?limit=100': [
        () =>
          Response.json({
            items: [
              entry({ id: 'e2', seq: 2, action: 'evidence.custody.post', resource_type: 'evidence', resource_id: 'i 1', detail: { step: 'transfer_offered' } }),
              entry({ resource_type: 'cases', resource_id: 'c1' }),
            ],
          }),
      ],
    });
    const r = show(<AuditPage />);
    await vi.waitFor(() => expect(r.querySelectorAll('tbody tr').length).toBe(2));
    const links = [...r.querySelectorAll<HTMLAnchorElement>('tbody a.access-link')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['/evidence/i%201/access']);
    expect(links[0]?.textContent).toBe('access log and custody steps of item i 1');
  });

  it('says so, and asks the server nothing, when no recorded action matches', async () => {
    const calls = fakeServer({
      'GET /api/v1/audit/actions': [() => Response.json({ items: ACTIONS })],
      'GET /api/v1/audit?limit=100': [() => Response.json({ items: [entry({})] })],
    });
    const r = show(<AuditPage />);
    await vi.waitFor(() => expect(r.querySelectorAll('tbody tr').length).toBe(1));
    type(r, '#audit-action', 'evid');
    await act(async () => r.querySelector<HTMLFormElement>('form.filters')!.requestSubmit());
    await vi.waitFor(() => expect(r.querySelector('section[aria-labelledby="audit-entries"] [role="alert"]')?.textContent).toContain('No action the log records is named “evid”'));
    expect(r.querySelector('tbody')).toBeNull();
    expect(calls.filter((c) => c.key.startsWith('GET /api/v1/audit?')).length).toBe(1);
  });

  it('says which custody step an entry recorded, and to which agency a transfer was offered', async () => {
    fakeServer({
      'GET /api/v1/audit?limit=100': [
        () =>
          Response.json({
            items: [
              entry({ id: 'e2', seq: 2, action: 'evidence.custody.post', detail: { step: 'transfer_accepted' } }),
              entry({ id: 'e1', seq: 1, action: 'evidence.custody.post', detail: { step: 'transfer_offered', counterparty_agency_id: 'a-ncsc' } }),
              entry({ id: 'e0', seq: 0, action: 'cases.get', detail: { status: '200' } }),
            ],
          }),
      ],
    });
    const r = show(<AuditPage />);
    await vi.waitFor(() => expect(r.querySelector('tbody tr:nth-child(2)')?.textContent).toContain('Coordination Centre (NCSC)'));
    // Each cell starts with its column's title, shown on a phone.
    const actions = [...r.querySelectorAll('tbody tr')].map((row) => row.querySelectorAll('td')[2]?.textContent);
    expect(actions).toEqual([
      'Actionevidence.custody.post Transfer accepted',
      'Actionevidence.custody.post Transfer offered to Coordination Centre (NCSC)',
      'Actioncases.get',
    ]);
  });

  it('builds the query from the filters, leaving out the empty ones', () => {
    expect(toAuditQuery(NO_AUDIT_FILTERS)).toEqual({});
    expect(toAuditQuery({ ...NO_AUDIT_FILTERS, case_id: ' c1 ', agency_id: 'a1' })).toEqual({ case_id: 'c1', agency_id: 'a1' });
    expect(toAuditQuery({ ...NO_AUDIT_FILTERS, action: 'evidence' }, ['evidence.download'])).toEqual({ action: ['evidence.download'] });
  });

  it('turns an action filter into the exact names it stands for: the name, or a prefix of whole words', () => {
    expect(expandAction('evidence', ACTIONS)).toEqual(['evidence.download', 'evidence.verify']);
    expect(expandAction(' Evidence.Download ', ACTIONS)).toEqual(['evidence.download']);
    expect(expandAction('evid', ACTIONS)).toEqual([]);
    expect(expandAction('', ACTIONS)).toEqual([]);
  });
});

describe('VerifySection', () => {
  it('verifies on request and says the log is intact, with what was checked', async () => {
    const calls = fakeServer({
      'GET /api/v1/audit/verification': [
        () => Response.json({ consistent: true, checked_at: '2026-11-29T12:00:00Z', entries: 231, head: 'ab'.repeat(32), checkpoints: 4, last_checkpoint_seq: 220, last_checkpoint_at: '2026-11-29T11:59:00Z', unsealed: 0 }),
      ],
    });
    const r = show(<VerifySection />);
    expect(calls.some((c) => c.key === 'GET /api/v1/audit/verification')).toBe(false);
    await act(async () => button(r, 'Verify the audit log').click());
    await vi.waitFor(() => expect(r.querySelector('[role="status"] h3')?.textContent).toBe('The audit log is intact'));
    expect(r.textContent).toContain('231');
    expect(r.textContent).toContain('the last at entry 220');
  });

  it('raises an alarm naming the first inconsistency', async () => {
    fakeServer({
      'GET /api/v1/audit/verification': [
        () => Response.json({ consistent: false, checked_at: '2026-11-29T12:00:00Z', entries: 3, head: 'cd'.repeat(32), checkpoints: 0, unsealed: 0, inconsistency: { seq: 4, kind: 'hash mismatch', detail: 'entry 4 was changed' } }),
      ],
    });
    const r = show(<VerifySection />);
    await act(async () => button(r, 'Verify the audit log').click());
    await vi.waitFor(() => expect(r.querySelector('[role="alert"] h3')?.textContent).toBe('The audit log is not intact'));
    expect(r.querySelector('[role="alert"]')?.textContent).toContain('At entry 4: hash mismatch. entry 4 was changed');
  });
});
