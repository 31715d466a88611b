// Small charts in plain SVG, drawn from the API's numbers. The drawing is
// for the eye only; beside it, a list of buttons says the same numbers in
// words (the text equivalent for screen readers) and drills down to the
// cases behind each bar.

export interface Bar {
  key: string;
  label: string;
  count: number;
  caseIds: string[];
}

interface BarChartProps {
  title: string;
  bars: Bar[];
  unit: string;
  selected: string | null;
  onSelect: (bar: Bar) => void;
}

const BAR_H = 18;
const GAP = 6;
const LABEL_W = 120;
const WIDTH = 360;

export function BarChart({ title, bars, unit, selected, onSelect }: BarChartProps) {
  const most = Math.max(1, ...bars.map((b) => b.count));
  const height = bars.length * (BAR_H + GAP);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg aria-hidden="true" viewBox={`0 0 ${WIDTH} ${Math.max(height, BAR_H)}`} width="100%" preserveAspectRatio="xMinYMin meet">
        {bars.map((b, i) => {
          const y = i * (BAR_H + GAP);
          const w = ((WIDTH - LABEL_W - 40) * b.count) / most;
          return (
            <g key={b.key} class={selected === b.key ? 'bar selected' : 'bar'}>
              <text x={0} y={y + BAR_H - 5} class="chart-label">
                {b.label}
              </text>
              <rect x={LABEL_W} y={y} width={Math.max(w, b.count > 0 ? 2 : 0)} height={BAR_H} rx={3} />
              <text x={LABEL_W + w + 6} y={y + BAR_H - 5} class="chart-value">
                {b.count}
              </text>
            </g>
          );
        })}
      </svg>
      <ul class="chart-legend">
        {bars.map((b) => (
          <li key={b.key}>
            <button
              type="button"
              class="link-button"
              aria-pressed={selected === b.key}
              disabled={b.count === 0}
              onClick={() => onSelect(b)}
            >
              {b.label}: {b.count} {b.count === 1 ? unit : `${unit}s`}
            </button>
          </li>
        ))}
      </ul>
    </figure>
  );
}

export interface Dot {
  key: string;
  /** Hours from now; negative is overdue. */
  hours: number;
  overdue: boolean;
}

/** The next seven days as a line, each clock a dot at its due time; overdue ones gather at the left edge. */
export function ClockTimeline({ dots }: { dots: Dot[] }) {
  const left = 70;
  const width = 400;
  const span = width - left - 30;
  const x = (h: number) => (h < 0 ? 30 : left + (span * Math.min(h, 168)) / 168);
  return (
    <svg aria-hidden="true" viewBox={`0 0 ${width} 54`} width="100%" class="clock-timeline">
      <text x={4} y={20} class="chart-label">
        overdue
      </text>
      <line x1={left} y1={30} x2={left + span} y2={30} class="axis" />
      {[0, 1, 2, 3, 4, 5, 6, 7].map((d) => (
        <g key={d}>
          <line x1={left + (span * d) / 7} y1={26} x2={left + (span * d) / 7} y2={34} class="axis" />
          <text x={left + (span * d) / 7} y={50} text-anchor="middle" class="chart-value">
            {d === 0 ? 'now' : `+${d}d`}
          </text>
        </g>
      ))}
      {dots.map((d, i) => (
        <circle key={d.key} cx={x(d.hours)} cy={d.overdue ? 30 - ((i % 3) - 1) * 8 : 30} r={5} class={d.overdue ? 'dot overdue' : 'dot'} />
      ))}
    </svg>
  );
}
