// An item's content: its hashes against those declared, the upload while
// there is none, and download and verification once there is.

import { useState } from 'preact/hooks';
import { api, type EvidenceItem } from '../api';
import { ErrorAlert, Section, Status, Time, useAction } from '../ui';
import { ContentBadge } from './evidencelist';
import { compareHashes, HASH_NAMES, UploadPanel } from './upload';

/** Saves a Blob as a file through a temporary link. */
function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ContentSection({ item, canWrite, onChanged }: { item: EvidenceItem; canWrite: boolean; onChanged: () => void }) {
  const download = useAction();
  const verify = useAction();
  const [said, setSaid] = useState('');
  const checks = compareHashes(item.declared_hashes, item.hashes);
  return (
    <Section title="Content" id="content">
      <p>
        <ContentBadge item={item} />
        {item.content_status === 'received' && (
          <>
            {' '}
            {item.size} bytes, <Time iso={item.received_at} />
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
      {item.content_status !== 'received' && canWrite && <UploadPanel itemId={item.id} onSettled={onChanged} />}
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
                const { blob, filename } = await api.downloadEvidence(item.id);
                saveBlob(blob, filename ?? `${item.exhibit_number || item.id}.bin`);
              })
            }
          >
            {download.busy ? 'Downloading…' : 'Download'}
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
          <p class="field-hint">
            The browser holds a download in memory whole; fetch large evidence with curl or the bevis CLI instead.
          </p>
        </div>
      )}
    </Section>
  );
}
