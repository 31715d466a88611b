import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TimelineHistogram } from '../api';
import { button, choose, cleanUp, fakeServer, show } from '../testing';
import { layout, markHeight, TimeAxis } from './axis';
import { tacticColor } from './tactics';
import { TimelineSection } from './timeline';

afterEach(cleanUp);
beforeEach(() => window.history.replaceState(null, '', '/cases/c1/timeline'));

/** Two days in 48 one-hour buckets: a burst of plaso rows on hr-fs01, a marked exfiltration on nato-gw. */
const whole: TimelineHistogram = {
  from: '2026-01-15T00:00:00Z',
  to: '2026-01-17T00:00:00Z',
  bucket_seconds: 3600,
  buckets: 48,
  lane: 'host',
  events: 5012,
  lanes: [
    { name: 'hr-fs01', other: false, events: 5000 },
    { name: 'nato-gw', other: false, events: 3 },
    { name: '', other: true, events: 9 },
  ],
  cells: [
    { bucket: 8, lane: 0, tactic: null, events: 4990 },
    { bucket: 8, lane: 0, tactic: 'TA0010', events: 1 },
    { bucket: 9, lane: 0, tactic: null, events: 9 },
    { bucket: 30, lane: 1, tactic: 'TA0001', events: 1 },
    { bucket: 30, lane: 1, tactic: 'TA0008', events: 2 },
    { bucket: 47, lane: 2, tactic: null, events: 9 },
  ],
};

const WHOLE = 'GET /api/v1/cases/c1/timeline/histogram?buckets=181&lane=host';

describe('layout', () => {
  it('makes one mark per bucket and lane, coloured by the tactic most seen among the events with one', () => {
    const l = layout(whole);
    expect(l.lanes).toEqual(['hr-fs01', 'nato-gw', 'other']);
    expect(l.t1 - l.t0).toBe(48 * 3_600_000);
    expect(l.marks.map((m) => [m.bucket, m.lane, m.events, m.tactic])).toEqual([
      [8, 0, 4991, 'TA0010'], // one exfiltration in a burst of 4,990 unmarked rows still shows
      [9, 0, 9, null],
      [30, 1, 3, 'TA0008'],
      [47, 2, 9, null],
    ]);
    expect(l.busiest).toBe(4991);
    // Kill-chain order in the legend.
    expect(l.tactics).toEqual(['TA0001', 'TA0008', 'TA0010']);
  });

  it('scales marks on a log scale, so a lone event beside thousands is still seen', () => {
    expect(markHeight(4991, 4991)).toBe(14);
    expect(markHeight(1, 4991)).toBeGreaterThanOrEqual(3);
    expect(markHeight(1, 1)).toBe(14);
  });
});

describe('TimeAxis', () => {
  it('draws the whole timeline as the server counts it, zooms by asking for the narrower span, and changes lanes', async () => {
    const narrow = { ...whole, from: '2026-01-15T12:00:00Z', to: '2026-01-16T12:00:00Z', buckets: 24, events: 3,
      lanes: [{ name: 'nato-gw', other: false, events: 3 }], cells: [{ bucket: 6, lane: 0, tactic: 'TA0001', events: 3 }] };
    const calls = fakeServer({
      [WHOLE]: [() => Response.json(whole)],
      'GET /api/v1/cases/c1/timeline/histogram?from=2026-01-15T12%3A00%3A00.000Z&to=2026-01-16T12%3A00%3A00.000Z&buckets=181&lane=host':
        [() => Response.json(narrow)],
      'GET /api/v1/cases/c1/timeline/histogram?buckets=181&lane=log': [
        () => Response.json({ ...whole, lane: 'log', lanes: [{ name: 'Security.evtx', other: false, events: 5012 }], cells: [] }),
      ],
    });
    const onBrush = vi.fn();
    const root = show(<TimeAxis caseId="c1" version={0} onBrush={onBrush} />);
    await vi.waitFor(() => expect(root.querySelectorAll('rect.mark').length).toBe(4));
    const svg = root.querySelector('svg')!;
    expect(svg.getAttribute('aria-label')).toContain('5,012 events in 3 lanes, the whole timeline');
    expect([...root.querySelectorAll('.lane-label')].map((t) => t.textContent)).toEqual(['hr-fs01', 'nato-gw', 'other']);
    const burst = root.querySelectorAll<SVGRectElement>('rect.mark')[0]!;
    expect(burst.getAttribute('fill')).toBe(tacticColor('TA0010'));
    expect(burst.querySelector('title')?.textContent).toContain('4,991 events (no tactic 4990, Exfiltration 1)');
    // Bucket 8 of 48 across the 544 pixels right of the labels.
    expect(Number(burst.getAttribute('x'))).toBeCloseTo(96 + (8 * 544) / 48);
    expect(root.querySelector('.tactic-legend')?.textContent).toBe('Initial AccessLateral MovementExfiltrationNo tactic');

    await act(async () => button(root, 'Zoom in').click());
    await vi.waitFor(() => expect(root.querySelectorAll('rect.mark').length).toBe(1));
    expect(svg.getAttribute('aria-label')).toContain('3 events in 1 lanes, this span');
    await act(async () => button(root, 'Reset zoom').click());
    await vi.waitFor(() => expect(root.querySelectorAll('rect.mark').length).toBe(4));

    await act(async () => choose(root, 'select', 'log'));
    await vi.waitFor(() => expect(root.querySelector('.lane-label')?.textContent).toBe('Security.evtx'));
    expect(calls.map((c) => c.key).filter((k) => k.includes('/histogram'))).toEqual([
      WHOLE,
      'GET /api/v1/cases/c1/timeline/histogram?from=2026-01-15T12%3A00%3A00.000Z&to=2026-01-16T12%3A00%3A00.000Z&buckets=181&lane=host',
      WHOLE,
      'GET /api/v1/cases/c1/timeline/histogram?buckets=181&lane=log',
    ]);
    expect(onBrush).not.toHaveBeenCalled();
  });

  it('says when the reader may see no events, and offers no zoom', async () => {
    fakeServer({
      [WHOLE]: [() => Response.json({ ...whole, from: null, to: null, buckets: 0, events: 0, lanes: [], cells: [] })],
    });
    const root = show(<TimeAxis caseId="c1" version={0} onBrush={() => {}} />);
    await vi.waitFor(() => expect(root.querySelector('svg')?.getAttribute('aria-label')).toContain('no events you may see'));
    expect(button(root, 'Zoom in').disabled).toBe(true);
    expect(root.querySelectorAll('rect.mark').length).toBe(0);
  });
});

/** Drags across the axis, one render after each step, as a pointer would. */
async function drag(svg: Element, fromX: number, toX: number) {
  for (const [type, x] of [['pointerdown', fromX], ['pointermove', toX], ['pointerup', toX]] as const) {
    await act(async () => {
      svg.dispatchEvent(new MouseEvent(type, { bubbles: true, clientX: x }));
    });
  }
}

describe('brushing', () => {
  it('sets the time filter of the URL, which the list and the axis then follow', async () => {
    const filtered =
      'from=2026-01-15T12%3A00%3A00.000Z&to=2026-01-16T12%3A00%3A00.000Z';
    const calls = fakeServer({
      'GET /api/v1/cases/c1/timeline?limit=500': [() => Response.json({ items: [], next_cursor: null })],
      [`GET /api/v1/cases/c1/timeline?${filtered}&limit=500`]: [() => Response.json({ items: [], next_cursor: null })],
      'GET /api/v1/cases/c1/timeline/ttp': [() => Response.json({ tactics: [], truncated: false })],
      [WHOLE]: [() => Response.json(whole)],
      [`GET /api/v1/cases/c1/timeline/histogram?${filtered}&buckets=181&lane=host`]: [
        () => Response.json({ ...whole, from: '2026-01-15T12:00:00Z', to: '2026-01-16T12:00:00Z', buckets: 24 }),
      ],
    });
    const root = show(<TimelineSection caseId="c1" canWrite={false} />);
    await vi.waitFor(() => expect(root.querySelectorAll('rect.mark').length).toBe(4));
    // From a quarter to three quarters of the plot: the middle day of the two.
    await drag(root.querySelector('.time-axis svg')!, 96 + 136, 96 + 408);
    expect(window.location.search).toBe('?from=2026-01-15T12%3A00%3A00.000Z&to=2026-01-16T12%3A00%3A00.000Z');
    await vi.waitFor(() =>
      expect(calls.map((c) => c.key)).toContain(`GET /api/v1/cases/c1/timeline/histogram?${filtered}&buckets=181&lane=host`),
    );
    expect(calls.map((c) => c.key)).toContain(`GET /api/v1/cases/c1/timeline?${filtered}&limit=500`);
    // A click without a drag filters nothing.
    await drag(root.querySelector('.time-axis svg')!, 300, 301);
    expect(window.location.search).toBe('?from=2026-01-15T12%3A00%3A00.000Z&to=2026-01-16T12%3A00%3A00.000Z');
  });
});
