import type { Case } from '../api';
import { AgencyName, Time, TlpBadge, UserName } from '../ui';
import { CaseStatusBadge, SeverityBadge } from './badges';

/** The title of a case, with its reference when it has one. */
export function caseTitle(c: Case) {
  return (
    <>
      {c.reference && <span class="reference">{c.reference} </span>}
      {c.title}
    </>
  );
}

function List({ label, items }: { label: string; items: string[] }) {
  if (items.length === 0) return null;
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd>{items.join(', ')}</dd>
    </div>
  );
}

/** What the case header shows under the title: markings, summary and the facts the clocks run from. */
export function CaseDetails({ c }: { c: Case }) {
  return (
    <>
      <p class="markings">
        <TlpBadge tlp={c.tlp} />
        {c.classification_label && <span class="classification">{c.classification_label}</span>}
        <SeverityBadge severity={c.severity} />
        <CaseStatusBadge status={c.status} />
        {c.personal_data_breach && <span class="badge pdb">Personal data breach</span>}
      </p>
      {c.summary && <p class="summary">{c.summary}</p>}
      {c.tags.length > 0 && (
        <ul class="tags" aria-label="Tags">
          {c.tags.map((t) => (
            <li key={t} class="tag">
              {t}
            </li>
          ))}
        </ul>
      )}
      <dl class="facts">
        <List label="Affected organisations" items={c.affected_organisations} />
        <List label="Affected systems" items={c.affected_systems} />
        <List label="Jurisdictions" items={c.jurisdictions} />
        {c.discovered_at && (
          <div class="fact">
            <dt>Discovered</dt>
            <dd>
              <Time iso={c.discovered_at} />
            </dd>
          </div>
        )}
        {c.aware_at && (
          <div class="fact">
            <dt>Aware</dt>
            <dd>
              <Time iso={c.aware_at} />
            </dd>
          </div>
        )}
      </dl>
      <p class="meta">
        Opened <Time iso={c.created_at} /> by <UserName id={c.created_by} /> · lead agency{' '}
        <AgencyName id={c.lead_agency_id} />
      </p>
    </>
  );
}
