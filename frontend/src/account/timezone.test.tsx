import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentSession, refreshSession } from '../api';
import { choose, cleanUp, fakeServer, me, show } from '../testing';
import { setTimeZone } from '../ui';
import { TimeZoneSetting } from './timezone';

afterEach(async () => {
  setTimeZone('');
  await cleanUp();
});

describe('TimeZoneSetting', () => {
  it('keeps the chosen zone on the server and switches the session to it', async () => {
    const calls = fakeServer({
      'PATCH /api/v1/me': [
        () => Response.json({ user: { ...me, time_zone: 'Europe/Oslo' }, agency: { id: 'a-ncsc', code: 'NCSC', name: 'CC' }, memberships: [] }),
      ],
    });
    await refreshSession();
    const root = show(<TimeZoneSetting user={me} />);

    choose(root, '#time-zone', 'Europe/Oslo');
    await act(async () => root.querySelector('form')!.requestSubmit());

    await vi.waitFor(() => expect(root.querySelector('[role="status"]')?.textContent).toBe('Times are shown in Europe/Oslo.'));
    expect(calls.find((c) => c.key === 'PATCH /api/v1/me')?.body).toEqual({ time_zone: 'Europe/Oslo' });
    expect(currentSession()?.user.time_zone).toBe('Europe/Oslo');
  });
});
