import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Alert } from '../api';
import { button, cleanUp, fakeServer, me, problem, show, type } from '../testing';
import { alertActivity, AlertsPage, humanBytes, measured } from './alertspage';

afterEach(cleanUp);

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: 'al1',
    rule: 'evidence_bytes',
    status: 'open',
    user_id: 'u-ann',
    case_ids: ['c1'],
    window_start: '2026-11-29T11:00:00Z',
    window_end: '2026-11-29T12:00:00Z',
    bytes: 3 * 1024 ** 3,
    items: 4,
    cases: 1,
    reads: 0,
    threshold: 2 * 1024 ** 3,
    created_at: '2026-11-29T12:00:00Z',
    ...over,
  } as Alert;
}

describe('AlertsPage', () => {
  it('acknowledges, then approves with a reason, an alert about someone else', async () => {
    const calls = fakeServer({
      'GET /api/v1/alerts': [() => Response.json({ items: [alert()] })],
      'POST /api/v1/alerts/al1/acknowledge': [() => Response.json(alert({ status: 'acknowledged', acknowledged_by: me.id, acknowledged_at: '2026-11-29T12:05:00Z' }))],
      'POST /api/v1/alerts/al1/approve': [
        () =>
          Response.json(
            alert({ status: 'approved', approved_by: me.id, approved_at: '2026-11-29T12:06:00Z', approved_until: '2026-11-29T20:06:00Z', approval_reason: 'Imaging for the police' }),
          ),
      ],
    });
    const r = show(<AlertsPage />);
    await vi.waitFor(() => expect(r.querySelector('article.alert-card')).not.toBeNull());
    expect(r.textContent).toContain('3.0 GiB (limit 2.0 GiB)');

    await act(async () => button(r, 'Acknowledge').click());
    await vi.waitFor(() => expect(r.querySelector('article')?.getAttribute('data-status')).toBe('acknowledged'));
    await act(async () => button(r, 'Approve the activity').click());
    const submit = button(r, 'Approve and lift the limit');
    expect(submit.disabled).toBe(true); // no reason yet
    type(r, 'textarea', '  Imaging for the police ');
    await act(async () => button(r, 'Approve and lift the limit').click());
    await vi.waitFor(() => expect(r.querySelector('article')?.getAttribute('data-status')).toBe('approved'));
    expect(calls.find((c) => c.key === 'POST /api/v1/alerts/al1/approve')?.body).toEqual({ reason: 'Imaging for the police' });
    expect(r.querySelector('.approval-reason')?.textContent).toBe('Imaging for the police');
    expect(() => button(r, 'Approve the activity')).toThrow();
    expect(r.querySelector('form.approve-form')).toBeNull();
  });

  it('shows the server’s word on a refused reason beside the field, and approves nothing', async () => {
    fakeServer({
      'GET /api/v1/alerts': [() => Response.json({ items: [alert()] })],
      'POST /api/v1/alerts/al1/approve': [problem(400, 'invalid_input', 'Some fields are invalid; see errors.', [{ field: 'reason', message: 'must be at most 1000 characters' }])],
    });
    const r = show(<AlertsPage />);
    await vi.waitFor(() => expect(r.querySelector('article.alert-card')).not.toBeNull());
    await act(async () => button(r, 'Approve the activity').click());
    type(r, 'textarea', 'x');
    await act(async () => button(r, 'Approve and lift the limit').click());
    await vi.waitFor(() => expect(r.querySelector('.field-error')?.textContent).toBe('must be at most 1000 characters'));
    expect(r.querySelector('article')?.getAttribute('data-status')).toBe('open');
    expect(r.querySelector('textarea')?.getAttribute('aria-invalid')).toBe('true');
    await act(async () => button(r, 'Cancel').click());
    expect(r.querySelector('form.approve-form')).toBeNull();
  });

  it('offers no approval of an alert about yourself', async () => {
    fakeServer({ 'GET /api/v1/alerts': [() => Response.json({ items: [alert({ user_id: me.id })] })] });
    const r = show(<AlertsPage />);
    await vi.waitFor(() => expect(r.querySelector('article.alert-card')).not.toBeNull());
    expect(r.textContent).toContain('This alert is about you');
    expect(r.querySelectorAll('article button').length).toBe(0);
  });

  it('reads the person’s activity in the window from the case’s audit log when opened', async () => {
    const calls = fakeServer({
      'GET /api/v1/alerts': [() => Response.json({ items: [alert()] })],
      'GET /api/v1/audit?case_id=c1&user_id=u-ann&from=2026-11-29T10%3A59%3A00.000Z&to=2026-11-29T12%3A01%3A00.000Z&limit=50': [
        () => Response.json({ items: [{ seq: 5, id: 'e5', at: '2026-11-29T11:30:00Z', action: 'evidence.download', outcome: 'success', resource_type: 'evidence', resource_id: 'i1' }] }),
      ],
    });
    const r = show(<AlertsPage />);
    await vi.waitFor(() => expect(r.querySelector('details')).not.toBeNull());
    expect(calls.some((c) => c.key.startsWith('GET /api/v1/audit'))).toBe(false);
    await act(async () => {
      const d = r.querySelector('details')!;
      d.open = true;
      d.dispatchEvent(new Event('toggle'));
    });
    await vi.waitFor(() => expect(r.querySelector('ol.activity')?.textContent).toContain('evidence.download'));
  });

  it('reads the person’s activity on every case of the alert, newest first, keeping what the reader may see', async () => {
    const window = 'user_id=u-ann&from=2026-11-29T10%3A59%3A00.000Z&to=2026-11-29T12%3A01%3A00.000Z&limit=50';
    fakeServer({
      [`GET /api/v1/audit?case_id=c1&${window}`]: [
        () => Response.json({ items: [{ seq: 5, id: 'e5', at: '2026-11-29T11:30:00Z', action: 'evidence.download', outcome: 'success' }] }),
      ],
      [`GET /api/v1/audit?case_id=c2&${window}`]: [
        () => Response.json({ items: [{ seq: 9, id: 'e9', at: '2026-11-29T11:40:00Z', action: 'evidence.download', outcome: 'success' }] }),
      ],
      [`GET /api/v1/audit?case_id=c3&${window}`]: [problem(403, 'forbidden', 'Not yours.')],
    });
    const got = await alertActivity(alert({ rule: 'cross_case_downloads', case_ids: ['c1', 'c2', 'c3'] }));
    expect(got.items.map((e) => e.id)).toEqual(['e9', 'e5']);
    expect(got.partial).toBe(true);
    await expect(alertActivity(alert({ case_ids: ['c3'] }))).rejects.toMatchObject({ status: 403 });
  });

  it('says bytes and counts in human terms', () => {
    expect(humanBytes(512)).toBe('512 bytes');
    expect(humanBytes(1536)).toBe('1.5 KiB');
    expect(measured(alert({ rule: 'bulk_reads', reads: 1200, threshold: 1000 }))).toBe('1200 reads (limit 1000)');
  });
});
