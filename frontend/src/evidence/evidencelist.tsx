// A case's evidence: the list of its items and the form to register one.

import { useState } from 'preact/hooks';
import { api, type EvidenceItem } from '../api';
import { AgencyName, ErrorAlert, humanize, Link, LoadMore, Section, ShortHash, Status, TlpBadge, useLoad } from '../ui';
import { RegisterEvidenceForm } from './registerform';

export function itemHref(id: string) {
  return `/evidence/${encodeURIComponent(id)}`;
}

export function ContentBadge({ item }: { item: EvidenceItem }) {
  const word = { none: 'no content yet', received: 'received', rejected: 'rejected' }[item.content_status];
  return <span class={`badge content-${item.content_status}`}>{word}</span>;
}

export function EvidenceTable({ items }: { items: EvidenceItem[] }) {
  if (items.length === 0) return <p class="empty">No evidence registered yet.</p>;
  return (
    <table class="list evidence">
      <caption class="visually-hidden">Evidence</caption>
      <thead>
        <tr>
          <th scope="col">Exhibit</th>
          <th scope="col">Title</th>
          <th scope="col">Kind</th>
          <th scope="col">TLP</th>
          <th scope="col">Content</th>
          <th scope="col">Custodian</th>
        </tr>
      </thead>
      <tbody>
        {items.map((it) => (
          <tr key={it.id}>
            <td>{it.exhibit_number}</td>
            <td>
              <Link href={itemHref(it.id)}>{it.title}</Link>
            </td>
            <td>{humanize(it.kind)}</td>
            <td>
              <TlpBadge tlp={it.tlp} />
            </td>
            <td>
              <ContentBadge item={it} /> {it.hashes?.sha256 && <ShortHash value={it.hashes.sha256} label="SHA-256" />}
            </td>
            <td>{it.custody ? <AgencyName id={it.custody.custodian_agency_id} /> : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A case's evidence, paged, and the registration form for those who may write. */
export function EvidenceSection({ caseId, canWrite }: { caseId: string; canWrite: boolean }) {
  const list = useLoad(() => api.caseEvidence(caseId), [caseId]);
  const [said, setSaid] = useState('');
  return (
    <Section title="Evidence" id="evidence">
      <ErrorAlert error={list.error} />
      {said && <Status message={said} />}
      {list.data && <EvidenceTable items={list.data.items} />}
      <LoadMore page={list.data} fetchNext={(c) => api.caseEvidence(caseId, c)} onMore={list.set} />
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
