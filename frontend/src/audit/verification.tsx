// The result of verifying the audit log's hash chain and checkpoints on
// the server, on request.

import { useState } from 'preact/hooks';
import { api, type AuditVerification } from '../api';
import { ErrorAlert, Section, Time, useAction } from '../ui';

export function VerificationResult({ v }: { v: AuditVerification }) {
  return (
    <div class={v.consistent ? 'note verification' : 'alert verification'} role={v.consistent ? 'status' : 'alert'}>
      <h3>{v.consistent ? 'The audit log is intact' : 'The audit log is not intact'}</h3>
      {v.inconsistency && (
        <p>
          At entry {v.inconsistency.seq}: {v.inconsistency.kind}. {v.inconsistency.detail}
        </p>
      )}
      <dl class="facts">
        <dt>Entries checked</dt>
        <dd>{v.entries}</dd>
        <dt>Signed checkpoints verified</dt>
        <dd>
          {v.checkpoints}
          {v.last_checkpoint_seq !== undefined && (
            <>
              {' '}
              (the last at entry {v.last_checkpoint_seq}, <Time iso={v.last_checkpoint_at} />)
            </>
          )}
        </dd>
        <dt>Not yet sealed</dt>
        <dd>{v.unsealed}</dd>
        <dt>Head of the chain</dt>
        <dd>
          <code>{v.head}</code>
        </dd>
        <dt>Checked</dt>
        <dd>
          <Time iso={v.checked_at} />
        </dd>
      </dl>
    </div>
  );
}

export function VerifySection() {
  const [result, setResult] = useState<AuditVerification | null>(null);
  const { busy, problem, run } = useAction();
  return (
    <Section title="Verify the chain" id="audit-verify">
      <p>Recompute every hash of the log and check its signed checkpoints, now, on the server.</p>
      <ErrorAlert error={problem} />
      <button type="button" class="primary" disabled={busy} onClick={() => void run(async () => setResult(await api.verifyAudit()))}>
        {busy ? 'Verifying…' : 'Verify the audit log'}
      </button>
      {result && <VerificationResult v={result} />}
    </Section>
  );
}
