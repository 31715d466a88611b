import { useState } from 'preact/hooks';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProblemError, type TimelineEvent, type TimelineTTP } from '../api';
import { button, cleanUp, fakeServer, link, problem, show, type } from '../testing';
import { EventDetail } from './eventform';
import { rejectedRows } from './plaso';
import { TimelineSection } from './timeline';
import { TTPSummary } from './ttp';

afterEach(cleanUp);
beforeEach(() => window.history.replaceState(null, '', '/cases/c1/timeline'));

function ev(over: Partial<TimelineEvent> = {}): TimelineEvent {
  return {
    id: 'e1',
    case_id: 'c1',
    occurred_at: '2026-01-15T08:30:00Z',
    occurred_until: null,
    source_timezone: 'UTC',
    recorded_at: '2026-01-16T08:00:00Z',
    recorded_by: 'u-me',
    source: { host: 'hr-ws12', log: '', system: '' },
    actor: '',
    description: 'Phishing mail opened',
    tactics: [],
    techniques: [],
    tags: [],
    confidence: null,
    tlp: 'AMBER',
    supersedes: null,
    superseded_by: null,
    import_id: null,
    ...over,
  };
}

const ttpAnswer: TimelineTTP = {
  tactics: [
    {
      id: 'TA0001',
      name: 'Initial Access',
      techniques: [
        { id: 'T1566.001', events: 2, first_seen: '2026-01-10T08:00:00Z', last_seen: '2026-01-13T20:00:00Z', filter: { technique: 'T1566.001' } },
        { id: 'T1078', events: 3, first_seen: '2026-01-12T09:00:00Z', last_seen: '2026-01-12T09:00:00Z', filter: { technique: 'T1078' } },
      ],
    },
    {
      id: 'TA0010',
      name: 'Exfiltration',
      techniques: [
        { id: 'T1048', events: 1, first_seen: '2026-01-14T08:00:00Z', last_seen: '2026-01-14T08:00:00Z', filter: { technique: 'T1048' } },
      ],
    },
    {
      id: null,
      name: null,
      techniques: [
        { id: 'T1021', events: 1, first_seen: '2026-01-11T08:00:00Z', last_seen: '2026-01-11T08:00:00Z', filter: { technique: 'T1021' } },
      ],
    },
  ],
  truncated: false,
};

describe('TTPSummary', () => {
  it('shows the server\'s counts by tactic as text, each technique a link to the list filtered by it', async () => {
    window.history.replaceState(null, '', '/cases/c1/timeline?tag=insider');
    const calls = fakeServer({ 'GET /api/v1/cases/c1/timeline/ttp': [() => Response.json(ttpAnswer)] });
    const root = show(<TTPSummary caseId="c1" filter={{ tag: 'insider' }} version={0} />);
    await vi.waitFor(() => expect(root.querySelector('.ttp-summary')).not.toBeNull());
    expect([...root.querySelectorAll('.ttp-summary dt')].map((d) => d.textContent)).toEqual([
      'Initial Access (TA0001)',
      'Exfiltration (TA0010)',
      'No tactic given',
    ]);
    expect(root.textContent).toContain('4 techniques under 3 tactics');
    const phishing = link(root, 'T1566.001 · 2 events');
    expect(phishing.getAttribute('href')).toBe('/cases/c1/timeline?tag=insider&technique=T1566.001');
    // First and last seen are text and machine-readable times, not only a picture.
    const times = phishing.parentElement!.querySelectorAll('time');
    expect([...times].map((t) => t.getAttribute('datetime'))).toEqual(['2026-01-10T08:00:00Z', '2026-01-13T20:00:00Z']);
    expect(link(root, 'T1048 · 1 event').parentElement!.querySelectorAll('time').length).toBe(1);

    await act(async () => phishing.click());
    expect(window.location.search).toBe('?tag=insider&technique=T1566.001');
    expect(calls.filter((c) => c.key.endsWith('/ttp')).length).toBe(1);
  });

  it('counts again when the timeline changes, and says when there is nothing or a problem', async () => {
    fakeServer({
      'GET /api/v1/cases/c1/timeline/ttp': [
        () => Response.json({ tactics: [], truncated: false }),
        problem(503, 'unavailable', 'The database is not answering.'),
        () => Response.json({ ...ttpAnswer, truncated: true }),
      ],
    });
    function Changing() {
      const [version, setVersion] = useState(0);
      return (
        <>
          <button type="button" onClick={() => setVersion(version + 1)}>
            Change
          </button>
          <TTPSummary caseId="c1" filter={{}} version={version} />
        </>
      );
    }
    const root = show(<Changing />);
    await vi.waitFor(() => expect(root.textContent).toContain('No event you may see has an ATT&CK technique.'));
    await act(async () => button(root, 'Change').click());
    await vi.waitFor(() => expect(root.textContent).toContain('The database is not answering.'));
    await act(async () => button(root, 'Change').click());
    await vi.waitFor(() => expect(root.textContent).toContain('Only the 2,000 most seen'));
  });
});

describe('rejectedRows', () => {
  it('reads the rejected rows of a refused import by line', () => {
    const p = new ProblemError({
      type: 'about:blank',
      title: 'x',
      status: 422,
      code: 'import_rejected',
      errors: [{ field: 'line 3', message: 'timestamp is not a number' }],
    });
    expect(rejectedRows(p)).toEqual([{ line: '3', reason: 'timestamp is not a number' }]);
    expect(rejectedRows(new ProblemError({ type: 'about:blank', title: 'x', status: 400, code: 'invalid_input' }))).toEqual([]);
  });
});

describe('TimelineSection', () => {
  it('lists with the filters of the URL, and a technique of the TTP summary filters the URL and the list', async () => {
    window.history.replaceState(null, '', '/cases/c1/timeline?source=hr-ws12');
    const calls = fakeServer({
      'GET /api/v1/cases/c1/timeline?source=hr-ws12&limit=500': [
        () =>
          Response.json({
            items: [ev({ tactics: ['TA0001'], techniques: ['T1566.001'] }), ev({ id: 'e2', techniques: ['T1078'] })],
            next_cursor: null,
          }),
      ],
      'GET /api/v1/cases/c1/timeline?source=hr-ws12&technique=T1078&limit=500': [
        () => Response.json({ items: [ev({ id: 'e2', techniques: ['T1078'] })], next_cursor: null }),
      ],
      'GET /api/v1/cases/c1/timeline/ttp': [() => Response.json(ttpAnswer)],
    });
    const root = show(<TimelineSection caseId="c1" canWrite={false} />);
    await vi.waitFor(() => expect(root.querySelector('.event-count')?.textContent).toBe('2 events'));
    expect(root.querySelector<HTMLInputElement>('#tl-source')?.value).toBe('hr-ws12');
    await vi.waitFor(() => expect(root.querySelector('.ttp-summary')?.textContent).toContain('Initial Access (TA0001)'));
    // A reader gets no forms to add or import.
    expect(root.querySelector('#plaso-file')).toBeNull();

    await act(async () => link(root, 'T1078 · 3 events').click());
    expect(window.location.search).toBe('?source=hr-ws12&technique=T1078');
    expect(document.activeElement?.textContent).toBe('Attack timeline');
    await vi.waitFor(() => expect(root.querySelector('.event-count')?.textContent).toBe('1 event'));
    expect(calls.map((c) => c.key)).toContain('GET /api/v1/cases/c1/timeline?source=hr-ws12&technique=T1078&limit=500');
    expect(link(root, 'T1078 · 3 events').getAttribute('aria-current')).toBe('true');
    // The summary is of the whole timeline: a filter does not ask for it again.
    expect(calls.filter((c) => c.key.endsWith('/ttp')).length).toBe(1);

    // Back brings the earlier filter, and its list, again.
    await act(async () => {
      window.history.back();
      await new Promise((r) => window.addEventListener('popstate', r, { once: true }));
    });
    await vi.waitFor(() => expect(root.querySelector('.event-count')?.textContent).toBe('2 events'));
  });

  it('shows the rejected rows of a plaso import by line', async () => {
    fakeServer({
      'GET /api/v1/cases/c1/timeline?limit=500': [() => Response.json({ items: [], next_cursor: null })],
      'GET /api/v1/cases/c1/timeline/ttp': [() => Response.json({ tactics: [], truncated: false })],
    });
    const sent: { url: string; body: unknown }[] = [];
    class FakeXHR {
      upload = { onprogress: null as ((e: ProgressEvent) => void) | null };
      status = 0;
      responseText = '';
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onabort: (() => void) | null = null;
      private url = '';
      open(_m: string, url: string) {
        this.url = url;
      }
      setRequestHeader() {}
      getResponseHeader() {
        return 'application/problem+json';
      }
      abort() {}
      send(body: unknown) {
        sent.push({ url: this.url, body });
        this.upload.onprogress?.({ loaded: 10, total: 10, lengthComputable: true } as ProgressEvent);
        this.status = 422;
        this.responseText = JSON.stringify({
          type: 'about:blank',
          title: 'Rows rejected',
          status: 422,
          code: 'import_rejected',
          errors: [{ field: 'line 2', message: 'no timestamp' }],
        });
        setTimeout(() => this.onload?.(), 0);
      }
    }
    vi.stubGlobal('XMLHttpRequest', FakeXHR);
    const root = show(<TimelineSection caseId="c1" canWrite={true} />);
    const input = root.querySelector<HTMLInputElement>('#plaso-file')!;
    const file = new File(['{"timestamp":1}\n{}\n'], 'plaso.jsonl');
    Object.defineProperty(input, 'files', { value: [file] });
    act(() => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await act(async () => button(root, 'Import').click());
    await vi.waitFor(() => expect(root.querySelector('.rejected-rows tbody')?.textContent).toBe('2no timestamp'));
    expect(sent[0]?.url).toBe('/api/v1/cases/c1/timeline/imports?format=json_line');
    expect(sent[0]?.body).toBe(file);
  });
});

describe('EventDetail', () => {
  it('shows every version with its reason, and sends a correction as the whole event with a reason', async () => {
    const old = ev({ id: 'e1', tactics: ['TA0001'], techniques: ['T1566.001'], actor: 'APT-X', confidence: 'high' });
    const fixed = ev({ id: 'e2', supersedes: 'e1', source: { host: 'hr-ws13', log: '', system: '' }, correction_reason: 'wrong host' });
    const calls = fakeServer({
      'GET /api/v1/cases/c1/timeline/e1/history': [() => Response.json({ items: [old] })],
      'POST /api/v1/cases/c1/timeline/e1/corrections': [
        problem(400, 'invalid_input', 'Some fields are invalid', [{ field: 'reason', message: 'is too short' }]),
        () => Response.json(fixed, { status: 201 }),
      ],
    });
    const onCorrected = vi.fn();
    const root = show(<EventDetail caseId="c1" event={old} canWrite={true} onCorrected={onCorrected} onClose={() => {}} />);
    await vi.waitFor(() => expect(root.querySelectorAll('.event-versions li').length).toBe(1));

    await act(async () => button(root, 'Correct this event').click());
    type(root, '#fix-host', 'hr-ws13');
    type(root, '#fix-reason', 'x');
    await act(async () => button(root, 'Save the correction').click());
    await vi.waitFor(() => expect(root.querySelector('#fix-reason-error')?.textContent).toContain('too short'));
    type(root, '#fix-reason', 'wrong host');
    await act(async () => button(root, 'Save the correction').click());
    await vi.waitFor(() => expect(onCorrected).toHaveBeenCalledWith(fixed));
    const posts = calls.filter((c) => c.key.endsWith('/corrections'));
    expect(posts.map((p) => (p.body as { reason: string }).reason)).toEqual(['x', 'wrong host']);
    expect(posts[1]?.body).toEqual({
      occurred_at: '2026-01-15T08:30:00.000Z',
      description: 'Phishing mail opened',
      source_timezone: 'UTC',
      source: { host: 'hr-ws13', log: '', system: '' },
      tactics: ['TA0001'],
      techniques: ['T1566.001'],
      tags: [],
      occurred_until: null,
      actor: 'APT-X',
      tlp: 'AMBER',
      confidence: 'high',
      reason: 'wrong host',
    });
  });
});
