// An item's content: its hashes against those declared, the upload while
// there is none, and download and verification once there is.

import { useState } from 'preact/hooks';
import { api, type EvidenceItem } from '../api';
import { ErrorAlert, formatBytes, Section, Status, Time, useAction } from '../ui';
import { downloadContent, downloadCustodyReport } from './downloads';
import { ContentBadge } from './evidencelist';
import { compareHashes, HASH_NAMES, UploadPanel } from './upload';

export function ContentSection({ item, canWrite, onChanged }: { item: EvidenceItem; canWrite: boolean; onChanged: () => void }) {
  const download = useAction();
  const verify = useAction();
  const report = useAction();
  const [said, setSaid] = useState('');
  const checks = compareHashes(item.declared_hashes, item.hashes);
  return (
    <Section title="Content" id="content">
      <p>
        <ContentBadge item={item} />
        {item.content_status === 'received' && (
          <>
            {' '}
            <span class="size" title={`${item.size} bytes`}>
              {formatBytes(item.size ?? 0)}
            </span>
            , <Time iso={item.received_at} />
          </>
        )}
      </p>
      {item.hashes && (
        <dl class="facts hashes">
          {(['sha256', 'sha1', 'md5'] as const)
            .filter((alg) => item.hashes![alg])
            .map((alg) => (
              <div key={alg} class="fact">
                <dt>{HASH_NAMES[alg]}</dt>
                <dd>
                  <code class="hash full" data-alg={alg}>
                    {item.hashes![alg]}
                  </code>
                </dd>
              </div>
            ))}
        </dl>
      )}
      {item.hashes && checks.length === 0 && <p class="muted">No hashes were declared at registration to compare with.</p>}
      {item.hashes && checks.length > 0 && (
        <ul class="hash-checks">
          {checks.map((c) => (
            <li key={c.alg} class={c.match ? 'match' : 'mismatch'}>
              {HASH_NAMES[c.alg]}: {c.match ? 'matches the declared hash' : 'does not match the declared hash'}
            </li>
          ))}
        </ul>
      )}
      {item.kind === 'physical_item' && (
        <p class="muted">A physical exhibit has no content to upload: its custody record below is its chain.</p>
      )}
      {item.content_status !== 'received' && item.kind !== 'physical_item' && canWrite && (
        <UploadPanel itemId={item.id} onSettled={onChanged} />
      )}
      {item.content_status === 'received' && (
        <div class="actions">
          <ErrorAlert error={download.problem ?? verify.problem} />
          {said && <Status message={said} />}
          <button
            type="button"
            class="secondary"
            disabled={download.busy}
            onClick={() =>
              void download.run(async () => {
                await downloadContent(item.id);
                setSaid('The download has started; your browser saves it as it arrives.');
              })
            }
          >
            {download.busy ? 'Starting the download…' : 'Download'}
          </button>
          {canWrite && (
            <button
              type="button"
              class="secondary"
              disabled={verify.busy}
              onClick={() =>
                void verify.run(async () => {
                  const v = await api.verifyEvidence(item.id);
                  setSaid(`Verified: ${v.result}. SHA-256 ${v.sha256}.`);
                  onChanged();
                })
              }
            >
              {verify.busy ? 'Verifying…' : 'Verify now'}
            </button>
          )}
        </div>
      )}
      <div class="actions">
        <ErrorAlert error={report.problem} />
        <button
          type="button"
          class="secondary"
          disabled={report.busy}
          onClick={() => void report.run(() => downloadCustodyReport(item.id, item.exhibit_number))}
        >
          Download the custody report
        </button>
      </div>
    </Section>
  );
}
