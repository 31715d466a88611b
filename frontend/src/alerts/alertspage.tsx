// Exfiltration alerts, for case leads and admins: what the rule saw, the
// activity of the person that raised it (read from its cases' audit logs),
// and acknowledging or (four eyes: never the person it is about) approving.

import { useRef, useState } from 'preact/hooks';
import { type Alert, type AlertStatus, api, type AuditEntry } from '../api';
import { ErrorAlert, Field, humanize, Select, Status, Time, UserName, useAction, useDirectory, useLoad, usePolling } from '../ui';

const RULES: Record<Alert['rule'], string> = {
  evidence_bytes: 'Downloaded much evidence',
  evidence_items: 'Downloaded many evidence items',
  cross_case_downloads: 'Downloaded from many cases',
  bulk_reads: 'Read case data in bulk',
  unusual_hour: 'Read at an unusual hour',
  download_hard_limit: 'Reached the download limit',
  evidence_integrity: 'Stored evidence failed a check',
};

/** Bytes in human units (1 KiB = 1024 bytes). */
export function humanBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** What the rule counted, against its limit. */
export function measured(a: Alert): string {
  switch (a.rule) {
    case 'evidence_bytes':
    case 'download_hard_limit':
      return `${humanBytes(a.bytes)} (limit ${humanBytes(a.threshold)})`;
    case 'evidence_items':
      return `${a.items} items (limit ${a.threshold})`;
    case 'cross_case_downloads':
      return `${a.cases} cases (limit ${a.threshold})`;
    case 'bulk_reads':
    case 'unusual_hour':
      return `${a.reads} reads (limit ${a.threshold})`;
    default:
      return a.note ?? '';
  }
}

/** The most cases of one alert whose record the activity reads. */
const MAX_ACTIVITY_CASES = 10;

/** The person's entries around the alert's window on each of its cases, newest first, from the cases' audit logs. */
export async function alertActivity(alert: Alert): Promise<{ items: AuditEntry[]; partial: boolean }> {
  const from = new Date(Date.parse(alert.window_start) - 60_000).toISOString();
  const to = new Date(Date.parse(alert.window_end) + 60_000).toISOString();
  const cases = alert.case_ids.slice(0, MAX_ACTIVITY_CASES);
  const pages = await Promise.allSettled(cases.map((c) => api.audit({ case_id: c, user_id: alert.user_id, from, to, limit: 50 })));
  const read = pages.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
  const refused = pages.find((p) => p.status === 'rejected');
  if (read.length === 0 && refused) throw refused.reason;
  const byId = new Map<string, AuditEntry>();
  for (const e of read.flatMap((p) => p.items)) byId.set(e.id, e);
  const items = [...byId.values()].sort((a, b) => b.seq - a.seq).slice(0, 50);
  return { items, partial: refused !== undefined || cases.length < alert.case_ids.length };
}

/** The person's activity behind the alert: what they read and downloaded on its cases in the window. */
function Activity({ alert }: { alert: Alert }) {
  const log = useLoad(() => alertActivity(alert), [alert.id]);
  if (log.error?.status === 403) return <p>Only a lead of the case or an auditor reads this activity.</p>;
  return (
    <>
      <ErrorAlert error={log.error} />
      {log.loading && <p role="status">Loading…</p>}
      {log.data && log.data.items.length === 0 && <p class="empty">No entries of this person on the alert’s cases in the window.</p>}
      {log.data && log.data.items.length > 0 && (
        <ol class="activity">
          {log.data.items.map((e) => (
            <li key={e.id}>
              <Time iso={e.at} /> <code>{e.action}</code> {e.resource_type} {e.resource_id}
              {e.outcome !== 'success' && <strong> ({e.outcome})</strong>}
            </li>
          ))}
        </ol>
      )}
      {log.data?.partial && <p class="field-hint">Only the cases whose record you read are shown.</p>}
    </>
  );
}

/** The longest reason of an approval, in characters (the server's limit). */
export const MAX_APPROVAL_REASON = 1000;

/** Asks why the activity was expected, then approves it. */
function ApproveForm({ alert, onApproved, onCancel }: { alert: Alert; onApproved: (a: Alert) => void; onCancel: () => void }) {
  const { busy, problem, run } = useAction();
  const [reason, setReason] = useState('');
  const id = `approve-${alert.id}`;
  return (
    <form
      class="approve-form"
      aria-label="Approve the activity"
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => onApproved(await api.approveAlert(alert.id, reason.trim())));
      }}
    >
      <Field
        id={`${id}-reason`}
        field="reason"
        label="Why was this activity expected?"
        hint="Kept with the alert and on the audit log, beside your name. At most 1000 characters."
        value={reason}
        onInput={setReason}
        problem={problem}
        required
        maxLength={MAX_APPROVAL_REASON}
        multiline
      />
      <ErrorAlert error={problem?.fieldMessage('reason') ? null : problem} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || reason.trim() === ''}>
          Approve and lift the limit
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AlertCard({ alert, isNew, onChanged }: { alert: Alert; isNew: boolean; onChanged: (a: Alert) => void }) {
  const { me } = useDirectory();
  const { busy, problem, run } = useAction();
  const [done, setDone] = useState('');
  const [open, setOpen] = useState(false);
  const [approving, setApproving] = useState(false);
  const self = alert.user_id === me.id;
  const title = RULES[alert.rule] ?? humanize(alert.rule);
  const id = `alert-${alert.id}`;
  return (
    <article class="card alert-card" aria-labelledby={`${id}-title`} data-status={alert.status}>
      <h2 id={`${id}-title`}>
        {isNew && (
          <>
            <span class="badge new-alert">New</span>{' '}
          </>
        )}
        {title}: <UserName id={alert.user_id} />
      </h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>{humanize(alert.status)}</dd>
        <dt>Measured</dt>
        <dd>{measured(alert)}</dd>
        <dt>Window</dt>
        <dd>
          <Time iso={alert.window_start} /> to <Time iso={alert.window_end} />
        </dd>
        <dt>Raised</dt>
        <dd>
          <Time iso={alert.created_at} />
        </dd>
        {alert.acknowledged_by && (
          <>
            <dt>Acknowledged</dt>
            <dd>
              <UserName id={alert.acknowledged_by} />, <Time iso={alert.acknowledged_at} />
            </dd>
          </>
        )}
        {alert.approved_by && (
          <>
            <dt>Approved</dt>
            <dd>
              <UserName id={alert.approved_by} />, <Time iso={alert.approved_at} />; the limit is lifted until <Time iso={alert.approved_until} />
            </dd>
            {alert.approval_reason && (
              <>
                <dt>Reason</dt>
                <dd class="approval-reason">{alert.approval_reason}</dd>
              </>
            )}
          </>
        )}
      </dl>
      <details onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>Recent activity of the person</summary>
        {open && <Activity alert={alert} />}
      </details>
      <ErrorAlert error={problem} />
      {self && <p>This alert is about you: another lead acknowledges or approves it.</p>}
      {!self && alert.status !== 'approved' && (
        <div class="actions">
          {alert.status === 'open' && (
            <button
              type="button"
              class="secondary"
              disabled={busy}
              onClick={() =>
                void run(async () => {
                  onChanged(await api.acknowledgeAlert(alert.id));
                  setDone('Acknowledged.');
                })
              }
            >
              Acknowledge
            </button>
          )}
          {alert.rule !== 'evidence_integrity' && !approving && (
            <button type="button" class="primary" disabled={busy} onClick={() => setApproving(true)}>
              Approve the activity
            </button>
          )}
        </div>
      )}
      {!self && approving && alert.status !== 'approved' && (
        <ApproveForm
          alert={alert}
          onCancel={() => setApproving(false)}
          onApproved={(a) => {
            setApproving(false);
            onChanged(a);
            setDone('Approved: the activity was expected, and the download limit is lifted for a while.');
          }}
        />
      )}
      {done && <Status message={done} />}
    </article>
  );
}

const STATUS_OPTIONS = [
  { value: '', label: 'All' },
  { value: 'open', label: 'Open' },
  { value: 'acknowledged', label: 'Acknowledged' },
  { value: 'approved', label: 'Approved' },
];

/** How often the page asks for new alerts while it is seen. */
export const ALERT_POLL_MS = 30_000;

/**
 * The list after a fresh answer: alerts not shown yet go first (newest
 * first, as the server sends them), those shown take their fresh state in
 * place, and none is taken away from under the reader (one that left the
 * filter goes at the next change of filter).
 */
export function mergeAlerts(shown: Alert[], fresh: Alert[]): { items: Alert[]; added: Alert[] } {
  const byId = new Map(fresh.map((a) => [a.id, a]));
  const known = new Set(shown.map((a) => a.id));
  const added = fresh.filter((a) => !known.has(a.id));
  return { items: [...added, ...shown.map((a) => byId.get(a.id) ?? a)], added };
}

/** What a screen reader is told of alerts that arrived. */
export function arrivedText(added: Alert[]): string {
  if (added.length === 0) return '';
  const first = RULES[added[0]!.rule] ?? humanize(added[0]!.rule);
  return added.length === 1 ? `A new alert: ${first}.` : `${added.length} new alerts, the newest: ${first}.`;
}

export function AlertsPage() {
  const [status, setStatus] = useState<AlertStatus | ''>('');
  const list = useLoad(() => api.alerts(status || undefined), [status]);
  const [arrived, setArrived] = useState<{ ids: Set<string>; text: string }>({ ids: new Set(), text: '' });
  const replace = (a: Alert) => list.set({ items: (list.data?.items ?? []).map((x) => (x.id === a.id ? a : x)) });
  const asking = useRef(status);
  asking.current = status;
  const current = useRef(list.data);
  current.current = list.data;
  // New alerts arrive without a reload; the cards keep their keys, so an open
  // activity list or a half-typed approval reason stays as it was.
  usePolling(
    async () => {
      const asked = status;
      const before = list.data;
      const fresh = await api.alerts(asked || undefined);
      // The filter changed, or the reader acknowledged or approved meanwhile: the next round will tell.
      if (asking.current !== asked || !before || current.current !== before) return;
      const next = mergeAlerts(before.items, fresh.items);
      list.set({ items: next.items });
      if (next.added.length > 0) {
        setArrived((was) => ({ ids: new Set([...was.ids, ...next.added.map((a) => a.id)]), text: arrivedText(next.added) }));
      }
    },
    ALERT_POLL_MS,
    list.data !== undefined,
  );
  return (
    <div class="page alerts">
      <h1 id="page-title" tabIndex={-1}>
        Alerts
      </h1>
      <p class="lede">
        Unusual reads and downloads on the cases you lead. Approving says the activity was expected. New alerts appear here as they
        are raised.
      </p>
      <Select id="alert-status" label="Show" value={status} onChange={(v) => setStatus(v as AlertStatus | '')} options={STATUS_OPTIONS} />
      <p class="arrived" aria-live="polite">
        {arrived.text}
      </p>
      <ErrorAlert error={list.error} />
      {list.loading && !list.data && <p role="status">Loading…</p>}
      {list.data && list.data.items.length === 0 && <p class="empty">No alerts.</p>}
      {list.data?.items.map((a) => <AlertCard key={a.id} alert={a} isNew={arrived.ids.has(a.id)} onChanged={replace} />)}
    </div>
  );
}
