// The time axis above the list: the whole case's events over time, as the
// server counts them (GET …/timeline/histogram, over the events the reader
// may see), one lane per host (or log, or system), each mark coloured by the
// ATT&CK tactic most seen in it. Zooming asks the server again for the
// narrower span; brushing (drag across the axis) sets the list's time
// filter, which lives in the URL.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { asProblem, type LaneKind, type ProblemError, type TimelineHistogram, timelineApi } from '../api';
import { ErrorAlert, formatTime } from '../ui';
import { NO_TACTIC_COLOR, TACTICS, tacticColor, tacticName } from './tactics';

const LANE_HEIGHT = 22;
const LABEL_WIDTH = 96;
const AXIS_HEIGHT = 22;
/** A bucket is at least this many pixels wide: the server counts a bucket per BIN pixels of the plot. */
const BIN = 3;
/** The server counts whole hours: zooming in stops at a span of this many. */
const MIN_SPAN = 4 * 3_600_000;

export interface Mark {
  lane: number;
  bucket: number;
  events: number;
  /** The tactic most seen among the events with one, if any has one. */
  tactic: string | null;
  /** Events by tactic, for the mark's title. */
  byTactic: [string | null, number][];
}

export interface Layout {
  t0: number;
  t1: number;
  lanes: string[];
  marks: Mark[];
  /** The tactics on the axis, in kill-chain order. */
  tactics: string[];
  busiest: number;
}

/** The histogram as marks: one per bucket and lane, coloured by its most seen tactic. */
export function layout(h: TimelineHistogram): Layout {
  const lanes = h.lanes.map((l) => (l.other ? 'other' : l.name || '(none)'));
  const marks = new Map<string, Mark>();
  const seen = new Set<string>();
  for (const c of h.cells) {
    const id = `${c.bucket}:${c.lane}`;
    let m = marks.get(id);
    if (!m) {
      m = { lane: c.lane, bucket: c.bucket, events: 0, tactic: null, byTactic: [] };
      marks.set(id, m);
    }
    m.events += c.events;
    m.byTactic.push([c.tactic, c.events]);
    if (c.tactic) seen.add(c.tactic);
  }
  let busiest = 0;
  for (const m of marks.values()) {
    m.byTactic.sort((a, b) => b[1] - a[1]);
    m.tactic = m.byTactic.find(([t]) => t !== null)?.[0] ?? null;
    busiest = Math.max(busiest, m.events);
  }
  return {
    t0: h.from ? Date.parse(h.from) : 0,
    t1: h.to ? Date.parse(h.to) : 0,
    lanes,
    marks: [...marks.values()],
    tactics: TACTICS.filter((t) => seen.has(t.id)).map((t) => t.id),
    busiest,
  };
}

/** A mark's height: on a log scale, so a lone event beside a burst of thousands still shows. */
export function markHeight(events: number, busiest: number): number {
  const full = LANE_HEIGHT - 8;
  if (busiest <= 1) return full;
  return Math.max(3, Math.round((full * Math.log1p(events)) / Math.log1p(busiest)));
}

function markTitle(lane: string, from: number, to: number, m: Mark): string {
  const tactics = m.byTactic.map(([t, n]) => `${t ? tacticName(t) : 'no tactic'} ${n}`).join(', ');
  const events = m.events === 1 ? '1 event' : `${m.events.toLocaleString('en')} events`;
  return `${lane}, ${formatTime(new Date(from).toISOString())} to ${formatTime(new Date(to).toISOString())}: ${events} (${tactics})`;
}

interface AxisProps {
  caseId: string;
  /** The span asked for by the filter, if any. */
  from?: number | undefined;
  to?: number | undefined;
  /** Counts up when the timeline changed here, so the axis asks again. */
  version: number;
  onBrush: (from: Date, to: Date) => void;
}

export function TimeAxis({ caseId, from, to, version, onBrush }: AxisProps) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  const [laneKey, setLaneKey] = useState<LaneKind>('host');
  const [zoom, setZoom] = useState<[number, number] | null>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);
  const [hist, setHist] = useState<TimelineHistogram | null>(null);
  const [error, setError] = useState<ProblemError | null>(null);
  const asked = useRef(0);

  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setWidth(Math.max(el.clientWidth, 200)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // A new filter shows its whole span again.
  useEffect(() => setZoom(null), [from, to]);

  const plot = width - LABEL_WIDTH;
  const span = zoom ?? (from !== undefined || to !== undefined ? [from, to] : null);
  const buckets = Math.min(1000, Math.max(1, Math.floor(plot / BIN)));
  const spanFrom = span?.[0] !== undefined ? new Date(span[0]).toISOString() : undefined;
  const spanTo = span?.[1] !== undefined ? new Date(span[1]).toISOString() : undefined;
  useEffect(() => {
    const mine = ++asked.current;
    timelineApi.histogram(caseId, { from: spanFrom, to: spanTo, buckets, lane: laneKey }).then(
      (h) => {
        if (asked.current !== mine) return;
        setHist(h);
        setError(null);
      },
      (err: unknown) => {
        if (asked.current === mine) setError(asProblem(err));
      },
    );
  }, [caseId, spanFrom, spanTo, buckets, laneKey, version]);

  const l = useMemo(() => (hist ? layout(hist) : null), [hist]);
  const lanes = l?.lanes ?? [];
  const height = AXIS_HEIGHT + Math.max(lanes.length, 1) * LANE_HEIGHT;
  const empty = !l || l.t1 <= l.t0;
  const t0 = empty ? Date.now() - 86_400_000 : l.t0;
  const t1 = empty ? Date.now() : l.t1;
  const xOf = (px: number) => t0 + ((px - LABEL_WIDTH) / plot) * (t1 - t0);
  const bucketMs = (hist?.bucket_seconds ?? 3600) * 1000;
  const columns = Math.max(hist?.buckets ?? 1, 1);
  const markWidth = Math.max(plot / columns, 1);

  function zoomBy(factor: number) {
    const mid = (t0 + t1) / 2;
    const half = Math.max(((t1 - t0) / 2) * factor, MIN_SPAN / 2);
    setZoom([mid - half, mid + half]);
  }

  function local(e: PointerEvent): number {
    const r = (e.currentTarget as SVGElement).getBoundingClientRect();
    return Math.min(Math.max(((e.clientX - r.left) / (r.width || width)) * width, LABEL_WIDTH), width);
  }

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * (t1 - t0));
  const what = empty
    ? 'no events you may see'
    : `${hist!.events.toLocaleString('en')} events in ${lanes.length} lanes, ${zoom || span ? 'this span' : 'the whole timeline'}`;
  return (
    <div class="time-axis" ref={box}>
      <div class="axis-controls">
        <label>
          Lanes by{' '}
          <select value={laneKey} onChange={(e) => setLaneKey(e.currentTarget.value as LaneKind)}>
            <option value="host">host</option>
            <option value="log">log</option>
            <option value="system">system</option>
          </select>
        </label>
        <button type="button" class="secondary" onClick={() => zoomBy(0.5)} disabled={empty || t1 - t0 <= MIN_SPAN}>
          Zoom in
        </button>
        <button type="button" class="secondary" onClick={() => zoomBy(2)} disabled={empty}>
          Zoom out
        </button>
        {zoom && (
          <button type="button" class="secondary" onClick={() => setZoom(null)}>
            Reset zoom
          </button>
        )}
      </div>
      <ErrorAlert error={error} />
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Time axis from ${formatTime(new Date(t0).toISOString())} to ${formatTime(new Date(t1).toISOString())}: ${what}. Drag across it to filter the list to a span.`}
        onPointerDown={(e) => {
          if (empty) return;
          const x = local(e);
          (e.currentTarget as SVGElement).setPointerCapture?.(e.pointerId);
          setDrag([x, x]);
        }}
        onPointerMove={(e) => drag && setDrag([drag[0], local(e)])}
        onPointerUp={() => {
          if (drag && Math.abs(drag[1] - drag[0]) > 4) {
            const [a, b] = [Math.min(...drag), Math.max(...drag)];
            onBrush(new Date(xOf(a)), new Date(xOf(b)));
          }
          setDrag(null);
        }}
      >
        {lanes.map((lane, i) => (
          <g key={lane}>
            <rect x={0} y={AXIS_HEIGHT + i * LANE_HEIGHT} width={width} height={LANE_HEIGHT} class={i % 2 ? 'lane odd' : 'lane'} />
            <text x={4} y={AXIS_HEIGHT + i * LANE_HEIGHT + 15} class="lane-label">
              {lane.length > 14 ? `${lane.slice(0, 13)}…` : lane}
            </text>
          </g>
        ))}
        {ticks.map((t, i) => {
          const x = LABEL_WIDTH + (i / 4) * plot;
          return (
            <g key={i}>
              <line x1={x} x2={x} y1={AXIS_HEIGHT - 4} y2={height} class="tick" />
              {i < 4 && width > 480 && (
                <text x={x + 2} y={12} class="tick-label">
                  {formatTime(new Date(t).toISOString())}
                </text>
              )}
            </g>
          );
        })}
        {l?.marks.map((m) => {
          const h = markHeight(m.events, l.busiest);
          const start = t0 + m.bucket * bucketMs;
          return (
            <rect
              key={`${m.bucket}:${m.lane}`}
              class="mark"
              x={LABEL_WIDTH + m.bucket * markWidth}
              y={AXIS_HEIGHT + m.lane * LANE_HEIGHT + 4 + (LANE_HEIGHT - 8 - h)}
              width={Math.max(markWidth - 0.5, 1)}
              height={h}
              fill={tacticColor(m.tactic ?? undefined)}
            >
              <title>{markTitle(lanes[m.lane] ?? '', start, start + bucketMs, m)}</title>
            </rect>
          );
        })}
        {drag && (
          <rect class="brush" x={Math.min(...drag)} y={AXIS_HEIGHT} width={Math.abs(drag[1] - drag[0])} height={height - AXIS_HEIGHT} />
        )}
      </svg>
      <ul class="tactic-legend" aria-label="Tactics on the axis">
        {(l?.tactics ?? []).map((t) => (
          <li key={t}>
            <span class="swatch" style={{ background: tacticColor(t) }} aria-hidden="true" />
            {TACTICS.find((x) => x.id === t)?.name}
          </li>
        ))}
        <li>
          <span class="swatch" style={{ background: NO_TACTIC_COLOR }} aria-hidden="true" />
          No tactic
        </li>
      </ul>
    </div>
  );
}
