// A case's evidence: the list of its items and the form to register one.

import { useState } from 'preact/hooks';
import { api, type EvidenceItem } from '../api';
import { AgencyName, type Column, ErrorAlert, formatBytes, humanize, Link, LoadMore, Section, ShortHash, Status, Table, TlpBadge, useAction, useLoad } from '../ui';
import { downloadManifest } from './downloads';
import { RegisterEvidenceForm } from './registerform';
import { caseReport, ReportLink } from './reportlink';

export function itemHref(id: string) {
  return `/evidence/${encodeURIComponent(id)}`;
}

export function ContentBadge({ item }: { item: EvidenceItem }) {
  const word = { none: 'no content yet', received: 'received', rejected: 'rejected' }[item.content_status];
  return <span class={`badge content-${item.content_status}`}>{word}</span>;
}

const COLUMNS: Column<EvidenceItem>[] = [
  { title: 'Exhibit', cell: (it) => it.exhibit_number },
  { title: 'Title', cell: (it) => <Link href={itemHref(it.id)}>{it.title}</Link> },
  { title: 'Kind', cell: (it) => humanize(it.kind) },
  { title: 'TLP', cell: (it) => <TlpBadge tlp={it.tlp} /> },
  {
    title: 'Content',
    cell: (it) => (
      <>
        <ContentBadge item={it} /> {it.hashes?.sha256 && <ShortHash value={it.hashes.sha256} label="SHA-256" />}
      </>
    ),
  },
  { title: 'Size', cell: (it) => (it.content_status === 'received' && it.size !== null ? formatBytes(it.size) : '') },
  {
    title: 'Custodian',
    cell: (it) =>
      it.custody?.out ? (
        <>
          Out with {it.custody.out.organisation || it.custody.out.name}
          {it.custody.out.overdue && <> <span class="badge clock-overdue">overdue</span></>}
        </>
      ) : it.custody ? (
        <AgencyName id={it.custody.custodian_agency_id} />
      ) : (
        ''
      ),
  },
];

export function EvidenceTable({ items }: { items: EvidenceItem[] }) {
  return (
    <Table caption="Evidence" class="evidence" columns={COLUMNS} rows={items} rowKey={(it) => it.id} empty="No evidence registered yet." />
  );
}

/** A case's evidence, paged, and the registration form for those who may write. */
export function EvidenceSection({ caseId, canWrite }: { caseId: string; canWrite: boolean }) {
  const list = useLoad(() => api.caseEvidence(caseId), [caseId]);
  const [said, setSaid] = useState('');
  const manifest = useAction();
  return (
    <Section title="Evidence" id="evidence">
      <ErrorAlert error={list.error} />
      <div class="actions">
        <ErrorAlert error={manifest.problem} />
        <button type="button" class="secondary" disabled={manifest.busy} onClick={() => void manifest.run(() => downloadManifest(caseId))}>
          Download the evidence manifest
        </button>
      </div>
      {said && <Status message={said} />}
      {list.data && <EvidenceTable items={list.data.items} />}
      <LoadMore page={list.data} fetchNext={(c) => api.caseEvidence(caseId, c)} onMore={list.set} />
      <p>
        <ReportLink label="Custody report of the case's evidence" load={caseReport(caseId)} />
      </p>
      {canWrite && (
        <details class="register">
          <summary>Register an item</summary>
          <RegisterEvidenceForm
            caseId={caseId}
            items={list.data?.items ?? []}
            onRegistered={(it) => {
              setSaid(`Registered ${it.exhibit_number}: ${it.title}.`);
              list.reload();
            }}
          />
        </details>
      )}
    </Section>
  );
}
