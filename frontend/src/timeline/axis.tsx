// The time axis above the list: one lane per host (or log, or system), the
// loaded events binned into marks coloured by their ATT&CK tactic, zoom in
// and out, and brushing: drag across the axis to filter to that span.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { TimelineEvent } from '../api';
import { formatTime } from '../ui';
import { NO_TACTIC_COLOR, TACTICS, tacticColor } from './tactics';

export type LaneKey = 'host' | 'log' | 'system';
const MAX_LANES = 8;
const LANE_HEIGHT = 22;
const LABEL_WIDTH = 96;
const AXIS_HEIGHT = 22;
/** Marks are binned to this many pixels, so the axis costs the same for ten events or a million. */
const BIN = 3;

interface Bin {
  lane: number;
  x: number;
  color: string;
  count: number;
}

export interface Layout {
  lanes: string[];
  bins: Bin[];
  tactics: string[];
}

/** Lanes (the busiest first, the rest as "other"), and the events binned into marks by lane, position and tactic. */
export function layout(events: TimelineEvent[], key: LaneKey, t0: number, t1: number, plotWidth: number): Layout {
  const counts = new Map<string, number>();
  for (const e of events) {
    const k = e.source[key] || '(none)';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const lanes = ranked.length > MAX_LANES ? [...ranked.slice(0, MAX_LANES - 1), 'other'] : ranked;
  const laneOf = new Map(lanes.map((l, i) => [l, i]));
  const span = Math.max(t1 - t0, 1);
  const bins = new Map<string, Bin>();
  const tactics = new Set<string>();
  for (const e of events) {
    const t = Date.parse(e.occurred_at);
    if (t < t0 || t > t1) continue;
    const lane = laneOf.get(e.source[key] || '(none)') ?? lanes.length - 1;
    const x = Math.floor((((t - t0) / span) * plotWidth) / BIN) * BIN;
    const tactic = e.tactics[0];
    if (tactic) tactics.add(tactic);
    const id = `${lane}:${x}:${tactic ?? ''}`;
    const b = bins.get(id);
    if (b) b.count++;
    else bins.set(id, { lane, x, color: tacticColor(tactic), count: 1 });
  }
  return { lanes, bins: [...bins.values()], tactics: TACTICS.filter((t) => tactics.has(t.id)).map((t) => t.id) };
}

/**
 * The marks as one SVG path per colour, [colour, path data]: a few elements
 * however many bins, so that a page loaded as the list scrolls redraws the
 * axis as a handful of paths instead of diffing thousands of rectangles.
 */
export function markPaths(bins: Bin[]): [string, string][] {
  const paths = new Map<string, string[]>();
  for (const b of bins) {
    const d = `M${LABEL_WIDTH + b.x} ${AXIS_HEIGHT + b.lane * LANE_HEIGHT + 4}h${BIN}v${LANE_HEIGHT - 8}h${-BIN}z`;
    const parts = paths.get(b.color);
    if (parts) parts.push(d);
    else paths.set(b.color, [d]);
  }
  return [...paths].map(([color, parts]) => [color, parts.join('')]);
}

/** The span of the events, padded a little; an hour around a lone event. */
export function extent(events: TimelineEvent[]): [number, number] | null {
  if (events.length === 0) return null;
  const a = Date.parse(events[0]!.occurred_at);
  const b = Date.parse(events[events.length - 1]!.occurred_at);
  const pad = Math.max((b - a) * 0.02, 30 * 60 * 1000);
  return [a - pad, b + pad];
}

interface AxisProps {
  events: TimelineEvent[];
  /** The span asked for by the filter, if any. */
  from?: number | undefined;
  to?: number | undefined;
  onBrush: (from: Date, to: Date) => void;
}

export function TimeAxis({ events, from, to, onBrush }: AxisProps) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  const [laneKey, setLaneKey] = useState<LaneKey>('host');
  const [zoom, setZoom] = useState<[number, number] | null>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setWidth(Math.max(el.clientWidth, 200)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // A new filter or new events show their whole span again.
  useEffect(() => setZoom(null), [from, to]);

  const whole = extent(events);
  const t0 = zoom?.[0] ?? from ?? whole?.[0] ?? Date.now() - 86_400_000;
  const t1 = zoom?.[1] ?? to ?? whole?.[1] ?? Date.now();
  const plot = width - LABEL_WIDTH;
  const l = useMemo(() => layout(events, laneKey, t0, t1, plot), [events, laneKey, t0, t1, plot]);
  const marks = useMemo(() => markPaths(l.bins), [l]);
  const height = AXIS_HEIGHT + Math.max(l.lanes.length, 1) * LANE_HEIGHT;
  const xOf = (px: number) => t0 + ((px - LABEL_WIDTH) / plot) * (t1 - t0);

  function zoomBy(factor: number) {
    const mid = (t0 + t1) / 2;
    const half = ((t1 - t0) / 2) * factor;
    setZoom([mid - half, mid + half]);
  }

  function local(e: PointerEvent): number {
    const r = (e.currentTarget as SVGElement).getBoundingClientRect();
    return Math.min(Math.max(((e.clientX - r.left) / r.width) * width, LABEL_WIDTH), width);
  }

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * (t1 - t0));
  return (
    <div class="time-axis" ref={box}>
      <div class="axis-controls">
        <label>
          Lanes by{' '}
          <select value={laneKey} onChange={(e) => setLaneKey(e.currentTarget.value as LaneKey)}>
            <option value="host">host</option>
            <option value="log">log</option>
            <option value="system">system</option>
          </select>
        </label>
        <button type="button" class="secondary" onClick={() => zoomBy(0.5)}>
          Zoom in
        </button>
        <button type="button" class="secondary" onClick={() => zoomBy(2)}>
          Zoom out
        </button>
        {zoom && (
          <button type="button" class="secondary" onClick={() => setZoom(null)}>
            Whole span
          </button>
        )}
      </div>
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Time axis from ${formatTime(new Date(t0).toISOString())} to ${formatTime(new Date(t1).toISOString())}: ${events.length} loaded events in ${l.lanes.length} lanes. Drag across it to filter to a span.`}
        onPointerDown={(e) => {
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
        {l.lanes.map((lane, i) => (
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
            <g key={t}>
              <line x1={x} x2={x} y1={AXIS_HEIGHT - 4} y2={height} class="tick" />
              {i < 4 && width > 480 && (
                <text x={x + 2} y={12} class="tick-label">
                  {formatTime(new Date(t).toISOString())}
                </text>
              )}
            </g>
          );
        })}
        {marks.map(([color, d]) => (
          <path key={color} class="mark" fill={color} d={d} />
        ))}
        {drag && (
          <rect class="brush" x={Math.min(...drag)} y={AXIS_HEIGHT} width={Math.abs(drag[1] - drag[0])} height={height - AXIS_HEIGHT} />
        )}
      </svg>
      <ul class="tactic-legend" aria-label="Tactics on the axis">
        {l.tactics.map((t) => (
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
