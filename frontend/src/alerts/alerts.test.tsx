import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Alert } from '../api';
import { button, cleanUp, fakeServer, me, problem, show, type } from '../testing';
import { ALERT_POLL_MS, alertActivity, AlertsPage, humanBytes, measured, mergeAlerts } from './alertspage';

afterEach(async () => {
  vi.useRealTimers();
  setVisibility('visible');
  await cleanUp();
});

let visibility: DocumentVisibilityState = 'visible';
Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });

/** Shows or hides the page, as switching tabs does. */
function setVisibility(v: DocumentVisibilityState) {
  visibility = v;
  document.dispatchEvent(new Event('visibilitychange'));
}

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

describe('AlertsPage refreshing itself', () => {
  const alertGets = (calls: { key: string }[]) => calls.filter((c) => c.key === 'GET /api/v1/alerts').length;

  it('every 30 s shows new alerts first and announces them politely, keeping a half-typed reason and the open activity', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const older = alert({ id: 'al1' });
    const newer = alert({ id: 'al2', rule: 'bulk_reads', reads: 900, threshold: 500 });
    const calls = fakeServer({
      'GET /api/v1/alerts': [
        () => Response.json({ items: [older] }),
        () => Response.json({ items: [older] }),
        () => Response.json({ items: [newer, alert({ id: 'al1', status: 'acknowledged', acknowledged_by: 'u-ann', acknowledged_at: '2026-11-29T12:05:00Z' })] }),
      ],
      'GET /api/v1/audit?case_id=c1&user_id=u-ann&from=2026-11-29T10%3A59%3A00.000Z&to=2026-11-29T12%3A01%3A00.000Z&limit=50': [
        () => Response.json({ items: [] }),
      ],
    });
    const r = show(<AlertsPage />);
    await vi.waitFor(() => expect(r.querySelector('article.alert-card')).not.toBeNull());
    const live = r.querySelector('.arrived')!;
    expect(live.getAttribute('aria-live')).toBe('polite');
    expect(live.textContent).toBe('');

    // The reader opens the activity and starts typing a reason.
    const details = r.querySelector('details')!;
    await act(async () => {
      details.open = true;
      details.dispatchEvent(new Event('toggle'));
    });
    await act(async () => button(r, 'Approve the activity').click());
    type(r, 'textarea', 'Imaging for the po');

    await act(async () => {
      await vi.advanceTimersByTimeAsync(ALERT_POLL_MS - 1000);
    });
    expect(alertGets(calls)).toBe(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000);
    });
    expect(alertGets(calls)).toBe(2);
    expect(live.textContent).toBe(''); // nothing new

    await act(async () => {
      await vi.advanceTimersByTimeAsync(ALERT_POLL_MS);
    });
    expect(alertGets(calls)).toBe(3);
    const cards = [...r.querySelectorAll('article.alert-card')];
    expect(cards.map((c) => c.getAttribute('aria-labelledby'))).toEqual(['alert-al2-title', 'alert-al1-title']);
    expect(cards[0]?.querySelector('.new-alert')?.textContent).toBe('New');
    expect(cards[1]?.querySelector('.new-alert')).toBeNull();
    expect(cards[1]?.getAttribute('data-status')).toBe('acknowledged');
    expect(live.textContent).toBe('A new alert: Read case data in bulk.');
    // The reader's place: the reason as typed, the activity still open.
    expect(cards[1]?.querySelector('textarea')?.value).toBe('Imaging for the po');
    expect(cards[1]?.querySelector('details')?.open).toBe(true);
  });

  it('asks nothing while the tab is hidden, and asks at once when it is shown again after a round was due', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const calls = fakeServer({ 'GET /api/v1/alerts': [() => Response.json({ items: [alert()] })] });
    const r = show(<AlertsPage />);
    await vi.waitFor(() => expect(r.querySelector('article.alert-card')).not.toBeNull());
    expect(alertGets(calls)).toBe(1);

    act(() => setVisibility('hidden'));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(5 * ALERT_POLL_MS);
    });
    expect(alertGets(calls)).toBe(1);

    act(() => setVisibility('visible'));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(alertGets(calls)).toBe(2);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(ALERT_POLL_MS);
    });
    expect(alertGets(calls)).toBe(3);
  });

  it('waits out the rest of a round when shown again before it was due', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const calls = fakeServer({ 'GET /api/v1/alerts': [() => Response.json({ items: [alert()] })] });
    const r = show(<AlertsPage />);
    await vi.waitFor(() => expect(r.querySelector('article.alert-card')).not.toBeNull());
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000);
    });
    act(() => setVisibility('hidden'));
    act(() => setVisibility('visible'));
    // Shown again 10 s into a round: the next comes 20 s later, not at once.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(ALERT_POLL_MS - 10_000 - 1000);
    });
    expect(alertGets(calls)).toBe(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000);
    });
    expect(alertGets(calls)).toBe(2);
  });

  it('merges a fresh list: new first, known ones updated in place, none taken away', () => {
    const a = alert({ id: 'a' });
    const b = alert({ id: 'b' });
    const c = alert({ id: 'c' });
    const { items, added } = mergeAlerts([a, b], [c, { ...a, status: 'approved' }]);
    expect(items.map((x) => `${x.id}:${x.status}`)).toEqual(['c:open', 'a:approved', 'b:open']);
    expect(added.map((x) => x.id)).toEqual(['c']);
  });
});
