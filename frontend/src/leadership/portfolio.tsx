import { useState } from 'preact/hooks';
import './leadership.css';
import { ErrorAlert, formatTime, humanize, Link, Section, TlpBadge, Table, useLoad } from '../ui';
import { type Portfolio, type PortfolioCase, type PortfolioClock, landsOnPortfolio, leadershipApi, setLandsOnPortfolio } from './api';
import { type Bar, BarChart, ClockTimeline } from './charts';

const SEVERITY: Record<string, string> = { '4': 'Critical', '3': 'High', '2': 'Medium', '1': 'Low' };

function agency(p: Portfolio, id: string): string {
  return p.agencies[id]?.name ?? 'Unknown agency';
}

function clockState(k: PortfolioClock): string {
  return k.state === 'overdue' ? 'Overdue' : k.state === 'due_24h' ? 'Due within 24 hours' : 'Due within 7 days';
}

function hours(seconds: number): string {
  if (seconds === 0) return '—';
  const h = seconds / 3600;
  return h >= 48 ? `${Math.round(h / 24)} days` : `${Math.round(h)} h`;
}

interface Selection {
  chart: string;
  bar: Bar;
}

/** Leadership's landing page: where every readable case stands, in charts that drill down to the cases. */
export function PortfolioPage() {
  const p = useLoad(() => leadershipApi.portfolio(), []);
  const [sel, setSel] = useState<Selection | null>(null);
  const [lands, setLands] = useState(landsOnPortfolio() === true);
  const data = p.data;

  const heading = (
    <h1 id="page-title" tabIndex={-1}>
      Portfolio
    </h1>
  );
  if (!data) {
    return (
      <div class="page">
        {heading}
        <ErrorAlert error={p.error} />
        {p.loading && <p role="status">Loading…</p>}
      </div>
    );
  }
  const byId = new Map(data.cases.map((c) => [c.id, c]));
  const phases: Bar[] = data.by_phase.map((b) => ({ key: b.key, label: humanize(b.key), count: b.count, caseIds: b.case_ids }));
  const severities: Bar[] = data.by_severity.map((b) => ({
    key: b.key,
    label: SEVERITY[b.key] ?? b.key,
    count: b.count,
    caseIds: b.case_ids,
  }));
  const tasks: Bar[] = data.tasks.map((t) => ({
    key: t.agency_id,
    label: agency(data, t.agency_id),
    count: t.overdue,
    caseIds: t.case_ids,
  }));
  const now = Date.parse(data.generated_at);
  const pick = (chart: string) => (bar: Bar) => setSel({ chart, bar });
  const chosen = sel ? sel.bar.caseIds.map((id) => byId.get(id)).filter((c): c is PortfolioCase => c !== undefined) : [];

  return (
    <div class="page portfolio">
      {heading}
      <p class="lede">
        {data.cases.length} {data.cases.length === 1 ? 'case' : 'cases'} you can read, as of {formatTime(data.generated_at)}.
      </p>
      <label class="landing-choice">
        <input
          type="checkbox"
          checked={lands}
          onChange={(e) => {
            const on = (e.target as HTMLInputElement).checked;
            setLandsOnPortfolio(on);
            setLands(on);
          }}
        />
        Open Bevis on this page
      </label>
      <div class="chart-grid">
        <BarChart title="Cases by phase" bars={phases} unit="case" selected={sel?.chart === 'phase' ? sel.bar.key : null} onSelect={pick('phase')} />
        <BarChart
          title="Cases by severity"
          bars={severities}
          unit="case"
          selected={sel?.chart === 'severity' ? sel.bar.key : null}
          onSelect={pick('severity')}
        />
        <BarChart
          title="Overdue tasks by agency"
          bars={tasks}
          unit="task"
          selected={sel?.chart === 'tasks' ? sel.bar.key : null}
          onSelect={pick('tasks')}
        />
      </div>
      {sel && (
        <Section title={`Cases: ${sel.bar.label}`} id="drill-down">
          <Table
            caption={`Cases behind ${sel.bar.label}`}
            rows={chosen}
            rowKey={(c) => c.id}
            columns={[
              { title: 'Case', rowHeader: true, cell: (c) => <Link href={`/cases/${c.id}`}>{`${c.reference} ${c.title}`}</Link> },
              { title: 'Phase', cell: (c) => humanize(c.phase) },
              { title: 'Severity', cell: (c) => SEVERITY[String(c.severity)] },
              { title: 'Marking', cell: (c) => <TlpBadge tlp={c.tlp} /> },
              { title: 'Situation report', cell: (c) => <Link href={`/cases/${c.id}/sitrep`}>Sitrep</Link> },
            ]}
          />
        </Section>
      )}
      <Section title="Regulatory clocks, the next 7 days" id="clocks">
        <ClockTimeline
          dots={data.clocks.map((k) => ({
            key: `${k.case_id}/${k.clock}`,
            hours: (Date.parse(k.due_at) - now) / 3_600_000,
            overdue: k.state === 'overdue',
          }))}
        />
        <Table
          caption="Regulatory clocks overdue or due within 7 days"
          rows={data.clocks}
          rowKey={(k) => `${k.case_id}/${k.clock}`}
          rowClass={(k) => (k.state === 'overdue' ? 'overdue' : undefined)}
          empty="No clock is overdue or due within 7 days."
          columns={[
            { title: 'Clock', rowHeader: true, cell: (k) => k.title },
            { title: 'State', cell: (k) => clockState(k) },
            { title: 'Due', cell: (k) => formatTime(k.due_at) },
            { title: 'Case', cell: (k) => <Link href={`/cases/${k.case_id}`}>{`${k.reference} ${k.case_title}`}</Link> },
            { title: 'Must notify', cell: (k) => agency(data, k.owner_agency_id) },
          ]}
        />
      </Section>
      <Section title="Evidence" id="evidence">
        <Table
          caption="Evidence per case"
          rows={data.evidence}
          rowKey={(e) => e.case_id}
          empty="No evidence registered."
          columns={[
            { title: 'Case', rowHeader: true, cell: (e) => <Link href={`/cases/${e.case_id}`}>{byId.get(e.case_id)?.reference ?? e.case_id}</Link> },
            { title: 'Items', cell: (e) => String(e.items) },
            { title: 'Size', cell: (e) => `${(e.bytes / 1_048_576).toFixed(1)} MiB` },
            { title: 'Awaiting handover', cell: (e) => String(e.awaiting_handover) },
            { title: 'Failed verifications', cell: (e) => String(e.failed_verifications) },
          ]}
        />
      </Section>
      <Section title={`No activity for ${data.stale_days} days`} id="stale">
        {data.stale.length === 0 ? (
          <p class="empty">Every case moved in the last {data.stale_days} days.</p>
        ) : (
          <ul>
            {data.stale.map((id) => (
              <li key={id}>
                <Link href={`/cases/${id}`}>{`${byId.get(id)?.reference ?? ''} ${byId.get(id)?.title ?? id}`}</Link>
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Time in each phase (closed cases)" id="phase-times">
        <Table
          caption="Median and 90th percentile time in each phase over closed cases"
          rows={Object.entries(data.phase_times).filter(([, d]) => d.samples > 0)}
          rowKey={([phase]) => phase}
          empty="No closed cases yet."
          columns={[
            { title: 'Phase', rowHeader: true, cell: ([phase]) => humanize(phase) },
            { title: 'Median', cell: ([, d]) => hours(d.median_seconds) },
            { title: '90th percentile', cell: ([, d]) => hours(d.p90_seconds) },
            { title: 'Cases', cell: ([, d]) => String(d.samples) },
          ]}
        />
        {data.discovery_to_containment.samples > 0 && (
          <p>
            Discovery to containment: median {hours(data.discovery_to_containment.median_seconds)}, 90th percentile{' '}
            {hours(data.discovery_to_containment.p90_seconds)} over {data.discovery_to_containment.samples} cases.
          </p>
        )}
      </Section>
    </div>
  );
}
