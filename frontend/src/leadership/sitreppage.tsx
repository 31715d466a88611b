import { useState } from 'preact/hooks';
import './leadership.css';
import { api } from '../api';
import { ErrorAlert, formatTime, humanize, Link, Section, Table, TlpBadge, useAction, useLoad } from '../ui';
import { type IssuedSitrep, leadershipApi, type Sitrep, type SitrepClock, type SitrepItem, type SitrepTask } from './api';

const ORDER = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];

/** The marking of the whole report: the strictest of the case's and of every item it shows (TLP 2.0). */
export function reportMarking(r: Sitrep): string {
  let m = r.conditions.tlp as string;
  const raise = (t: string) => {
    if (ORDER.indexOf(t) > ORDER.indexOf(m)) m = t;
  };
  r.conditions.key_events.forEach((e) => raise(e.tlp));
  [...r.actions.evidence_received, ...r.actions.handed_over, ...r.needs.open_offers].forEach((i) => raise(i.tlp));
  return m;
}

const CLOCK: Record<string, string> = {
  met: 'Met',
  overdue: 'Overdue',
  due_24h: 'Due within 24 hours',
  due_72h: 'Due within 72 hours',
  pending: 'Pending',
};

function span(seconds: number): string {
  const h = seconds / 3600;
  return h >= 48 ? `${Math.floor(h / 24)} days` : `${Math.floor(h)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

function List<T>({ rows, empty, line }: { rows: T[]; empty: string; line: (r: T) => string }) {
  if (rows.length === 0) return <p class="empty">{empty}</p>;
  return (
    <ul>
      {rows.map((r, i) => (
        <li key={i}>{line(r)}</li>
      ))}
    </ul>
  );
}

/** One situation report, live or issued, in the CAN form. */
export function SitrepView({ r }: { r: Sitrep }) {
  const names = new Map(r.agencies.map((a) => [a.id, a.name]));
  const agency = (id: string) => names.get(id) ?? 'unassigned';
  const task = (t: SitrepTask) => `${t.title} (${agency(t.agency_id)})${t.due_at ? `, due ${formatTime(t.due_at)}` : ''}`;
  const item = (i: SitrepItem) => `${i.exhibit_number} ${i.title}, ${formatTime(i.at)}${i.agency_id ? `, ${agency(i.agency_id)}` : ''}`;
  const clock = (k: SitrepClock) => `${k.title}: ${CLOCK[k.state]}${k.due_at ? `, due ${formatTime(k.due_at)}` : ''}`;
  const c = r.conditions;
  return (
    <div class="sitrep">
      <p class="muted">
        {r.since ? `Since report #${r.since_number} of ${formatTime(r.since)}.` : 'No report was issued before.'}
      </p>
      <Section title="Conditions" id="conditions">
        <dl class="facts">
          <dt>Phase</dt>
          <dd>
            {humanize(c.phase)}, for {span(c.seconds_in_phase)}
          </dd>
          <dt>Severity</dt>
          <dd>{c.severity} of 4</dd>
          <dt>Marking</dt>
          <dd>
            <TlpBadge tlp={c.tlp} /> {c.classification_label}
          </dd>
          <dt>Affected organisations</dt>
          <dd>{c.affected_organisations.join(', ') || 'None recorded'}</dd>
          <dt>Affected systems</dt>
          <dd>{c.affected_systems.join(', ') || 'None recorded'}</dd>
          <dt>Personal data breach</dt>
          <dd>{c.personal_data_breach ? 'Yes' : 'No'}</dd>
        </dl>
        {c.summary && <p>{c.summary}</p>}
        <h3>Regulatory clocks</h3>
        <List rows={c.clocks} empty="No clocks apply." line={clock} />
        <h3>
          Key timeline events since the last report ({c.events_since}
          {c.events_since_more ? '+' : ''} in all)
        </h3>
        <Table
          caption="Key timeline events since the last report"
          rows={c.key_events}
          rowKey={(e) => e.id}
          empty="None."
          columns={[
            { title: 'Occurred', cell: (e) => formatTime(e.occurred_at) },
            { title: 'Event', rowHeader: true, cell: (e) => e.description },
            { title: 'ATT&CK', cell: (e) => e.techniques.join(', ') },
          ]}
        />
      </Section>
      <Section title="Actions" id="actions">
        {r.actions.tasks.length === 0 && <p class="empty">No tasks done or in progress since the last report.</p>}
        {r.actions.tasks.map((w) => (
          <div key={w.agency_id}>
            <h3>{agency(w.agency_id)}</h3>
            <List rows={w.done} empty="Nothing done." line={(t) => `Done: ${t.title}`} />
            <List rows={w.in_progress} empty="Nothing in progress." line={(t) => `In progress: ${t.title}`} />
          </div>
        ))}
        <h3>Evidence received</h3>
        <List rows={r.actions.evidence_received} empty="None." line={item} />
        <h3>Evidence handed over</h3>
        <List rows={r.actions.handed_over} empty="None." line={item} />
      </Section>
      <Section title="Needs" id="needs">
        <h3>Clocks at risk</h3>
        <List rows={r.needs.clocks_at_risk} empty="None." line={clock} />
        <h3>Blocked tasks</h3>
        <List rows={r.needs.blocked} empty="None." line={task} />
        <h3>Overdue tasks</h3>
        <List rows={r.needs.overdue} empty="None." line={task} />
        <h3>Open transfer offers</h3>
        <List rows={r.needs.open_offers} empty="None." line={item} />
      </Section>
      {r.changes.length > 0 && (
        <Section title="Changed since the last report" id="changes">
          <List rows={r.changes} empty="" line={(ch) => `${humanize(ch.what)}: ${ch.from || '—'} → ${ch.to || '—'}`} />
        </Section>
      )}
    </div>
  );
}

/** A case's situation report as of now, its issued history, "print" and, for leads, "issue". */
export function SitrepPage({ id }: { id: string }) {
  const live = useLoad(() => leadershipApi.sitrep(id), [id]);
  const issued = useLoad(() => leadershipApi.issued(id), [id]);
  const me = useLoad(() => api.me(), [id]);
  const [shown, setShown] = useState<IssuedSitrep | null>(null);
  const action = useAction();
  const isLead = me.data?.memberships.some((m) => m.case_id === id && m.role === 'lead') ?? false;
  const r = shown?.content ?? live.data;
  const marking = r ? reportMarking(r) : '';

  return (
    <div class="page sitrep-page">
      {r && (
        <div class="print-marking" aria-hidden="true">
          <TlpBadge tlp={marking} />
        </div>
      )}
      <h1 id="page-title" tabIndex={-1}>
        {r ? `Situation report: ${r.reference} ${r.title}` : live.error ? 'Situation report not available' : 'Loading situation report…'}
      </h1>
      <ErrorAlert error={live.error} />
      {r && (
        <>
          <p class="report-marking">
            This report is marked <TlpBadge tlp={marking} />.{' '}
            {shown ? `Issued report #${shown.number}, ${formatTime(shown.issued_at)}, SHA-256 ${shown.sha256}.` : `As of ${formatTime(r.generated_at)}, not issued.`}
          </p>
          <div class="actions no-print">
            <button type="button" onClick={() => window.print()}>
              Print
            </button>
            {shown && (
              <button type="button" class="secondary" onClick={() => setShown(null)}>
                Back to the report as of now
              </button>
            )}
            {isLead && !shown && (
              <button
                type="button"
                class="secondary"
                disabled={action.busy}
                onClick={() =>
                  action.run(async () => {
                    setShown(await leadershipApi.issue(id));
                    issued.reload();
                  })
                }
              >
                Issue this report
              </button>
            )}
            <Link href={`/cases/${id}`}>Back to the case</Link>
          </div>
          <ErrorAlert error={action.problem} />
          <SitrepView r={r} />
        </>
      )}
      <div class="no-print">
        <Section title="Issued reports" id="issued">
          <ErrorAlert error={issued.error} />
          {issued.data && (
            <Table
              caption="Issued situation reports, newest first"
              rows={issued.data.items}
              rowKey={(i) => String(i.number)}
              empty="No report has been issued yet."
              columns={[
                { title: 'Number', rowHeader: true, cell: (i) => `#${i.number}` },
                { title: 'Issued', cell: (i) => formatTime(i.issued_at) },
                { title: 'By', cell: (i) => issued.data?.people[i.issued_by]?.name ?? '' },
                {
                  title: 'Report',
                  cell: (i) =>
                    i.withheld ? (
                      'Withheld: it draws on items you may not see'
                    ) : (
                      <button
                        type="button"
                        class="link-button"
                        onClick={() => action.run(async () => setShown(await leadershipApi.issuedReport(id, i.number)))}
                      >
                        Show report #{i.number}
                      </button>
                    ),
                },
              ]}
            />
          )}
        </Section>
      </div>
    </div>
  );
}
