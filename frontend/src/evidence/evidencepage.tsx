// One evidence item: its facts, content, and chain of custody.

import { useState } from 'preact/hooks';
import { api, type CaseRole, type Custody, type EvidenceItem } from '../api';
import { CaseNames, ErrorAlert, humanize, Link, Section, ShortHash, Status, Time, TlpBadge, useLoad, UserName } from '../ui';
import { AccessLog } from './accesslog';
import { ContentSection } from './content';
import { availableSteps, CustodyStepForm } from './custody';
import { CustodyChain, CustodySummary } from './custodychain';
import { itemHref } from './evidencelist';
import { itemReport, ReportLink } from './reportlink';
import { LineageSection } from './lineage';

function ItemFacts({ item }: { item: EvidenceItem }) {
  const rows: [string, string | preact.JSX.Element | undefined][] = [
    ['Kind', humanize(item.kind)],
    ['Description', item.description],
    ['Device', item.source.device],
    ['Serial', item.source.serial],
    ['Owner', item.source.owner],
    ['Acquired with', [item.acquisition.tool, item.acquisition.tool_version].filter(Boolean).join(' ')],
    ['Acquired by', item.acquisition.by],
    ['Acquired at', item.acquisition.at ? <Time iso={item.acquisition.at} /> : undefined],
    ['Acquired where', item.acquisition.where],
    ['Declared SHA-256', item.declared_hashes.sha256 ? <ShortHash value={item.declared_hashes.sha256} /> : undefined],
    ['Declared SHA-1', item.declared_hashes.sha1 ? <ShortHash value={item.declared_hashes.sha1} /> : undefined],
    ['Declared MD5', item.declared_hashes.md5 ? <ShortHash value={item.declared_hashes.md5} /> : undefined],
    ['Taken from', item.parent_id ? <Link href={itemHref(item.parent_id)}>parent item</Link> : undefined],
    ['Registered', <><Time iso={item.created_at} /> by <UserName id={item.created_by} /></>],
  ];
  return (
    <dl class="facts">
      {rows
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => (
          <div key={k} class="fact">
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}

/** One evidence item: its facts, content, custody state and chain, and the steps the caller may record. */
export function EvidencePage({ id }: { id: string }) {
  const item = useLoad(() => api.evidence(id), [id]);
  const custody = useLoad<Custody>(() => api.custody(id), [id]);
  const caseId = item.data?.case_id;
  const members = useLoad(() => (caseId ? api.members(caseId) : Promise.resolve(undefined)), [caseId]);
  const me = useLoad(() => api.me(), [id]);
  const [said, setSaid] = useState('');
  const role: CaseRole | undefined = me.data?.memberships.find((m) => m.case_id === caseId)?.role;
  const canWrite = role !== 'observer';

  const reload = () => {
    item.reload();
    custody.reload();
  };

  return (
    <CaseNames members={members.data}>
      <div class="page">
        <header class="case-header">
          <h1 id="page-title" tabIndex={-1}>
            {item.data ? (
              <>
                <span class="reference">{item.data.exhibit_number} </span>
                {item.data.title}
              </>
            ) : item.error ? (
              'Item not available'
            ) : (
              'Loading item…'
            )}
          </h1>
          {item.data && (
            <p class="markings">
              <TlpBadge tlp={item.data.tlp} /> <Link href={`/cases/${encodeURIComponent(item.data.case_id)}/evidence`}>Back to the case's evidence</Link>{' '}
              <ReportLink label="Custody report" load={itemReport(item.data.id)} />
            </p>
          )}
        </header>
        <ErrorAlert error={item.error} />
        {item.data && <ItemFacts item={item.data} />}
        {item.data && <ContentSection item={item.data} canWrite={canWrite} onChanged={reload} />}
        {item.data && <LineageSection item={item.data} />}
        <Section title="Chain of custody" id="custody">
          <ErrorAlert error={custody.error} />
          {said && <Status message={said} />}
          {custody.data && <CustodySummary state={custody.data.state} />}
          {custody.data && <CustodyChain events={custody.data.events} />}
          {custody.data && me.data && canWrite && (
            <>
              <h3>Record a step</h3>
              <CustodyStepForm
                itemId={id}
                steps={availableSteps(custody.data.state, { userId: me.data.user.id, agencyId: me.data.user.agency_id })}
                events={custody.data.events}
                members={members.data}
                custodianAgency={custody.data.state.custodian_agency_id}
                onRecorded={(e) => {
                  setSaid(`Recorded: ${humanize(e.type)}.`);
                  reload();
                }}
              />
            </>
          )}
        </Section>
        {/* The server shows the access log to the case's leads (and auditors, who have a page of their own). */}
        {role === 'lead' && (
          <Section title="Access log" id="access-log">
            <p class="lede">Who read or changed this item, and when, from the audit log; newest first.</p>
            <AccessLog itemId={id} />
          </Section>
        )}
      </div>
    </CaseNames>
  );
}
