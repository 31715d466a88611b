// Changing a case: its details (PATCH with If-Match), its status (transitions
// the server allows), and the record of time spent in each phase.

import { useState } from 'preact/hooks';
import {
  api,
  type Case,
  type CasePatch,
  CASE_STATUSES,
  type CaseStatus,
  type CaseRole,
  ProblemError,
  type Tagged,
  type TLP,
  TLPS,
} from './api';
import { formatDuration } from './clocks';
import { UserName } from './directory';
import { ErrorAlert, Field, humanize, isoToLocal, localToISO, Select, Status, Time, useAction, useLoad } from './ui';

/** The message shown when a write was based on an old version of the case. */
export const STALE_MESSAGE =
  'Someone changed this case while you were editing. It has been reloaded: check it and make your change again.';

/** Splits "a, b,c" into ["a", "b", "c"], dropping empty entries. */
export function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Draft {
  title: string;
  summary: string;
  severity: string;
  tlp: TLP;
  classification_label: string;
  tags: string;
  affected_organisations: string;
  affected_systems: string;
  personal_data_breach: boolean;
  discovered_at: string;
  aware_at: string;
  jurisdictions: string;
}

function draftOf(c: Case): Draft {
  return {
    title: c.title,
    summary: c.summary,
    severity: String(c.severity),
    tlp: c.tlp,
    classification_label: c.classification_label,
    tags: c.tags.join(', '),
    affected_organisations: c.affected_organisations.join(', '),
    affected_systems: c.affected_systems.join(', '),
    personal_data_breach: c.personal_data_breach,
    discovered_at: isoToLocal(c.discovered_at),
    aware_at: isoToLocal(c.aware_at),
    jurisdictions: c.jurisdictions.join(', '),
  };
}

/**
 * The merge patch from c to d: only what changed, so that a person who is
 * not the lead can save other fields without touching the TLP.
 */
export function diffCase(c: Case, d: Draft): CasePatch {
  const p: CasePatch = {};
  if (d.title.trim() !== c.title) p.title = d.title.trim();
  if (d.summary.trim() !== c.summary) p.summary = d.summary.trim();
  if (Number(d.severity) !== c.severity) p.severity = Number(d.severity);
  if (d.tlp !== c.tlp) p.tlp = d.tlp;
  if (d.classification_label.trim() !== c.classification_label) p.classification_label = d.classification_label.trim();
  for (const k of ['tags', 'affected_organisations', 'affected_systems', 'jurisdictions'] as const) {
    const next = splitList(d[k]);
    if (!sameList(next, c[k])) p[k] = next;
  }
  if (d.personal_data_breach !== c.personal_data_breach) p.personal_data_breach = d.personal_data_breach;
  for (const k of ['discovered_at', 'aware_at'] as const) {
    if (d[k] !== isoToLocal(c[k])) p[k] = localToISO(d[k]) ?? null;
  }
  return p;
}

interface EditProps {
  kase: Tagged<Case>;
  isLead: boolean;
  onSaved: (c: Tagged<Case>) => void;
  /** Reloads the case after a 412; the form then starts from the new version. */
  onStale: () => Promise<Tagged<Case> | undefined>;
}

/** The form that edits a case's details. */
export function EditCaseForm({ kase, isLead, onSaved, onStale }: EditProps) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(kase.value));
  const [said, setSaid] = useState('');
  const { busy, problem, setProblem, run } = useAction();
  const set =
    <K extends keyof Draft>(k: K) =>
    (v: Draft[K]) =>
      setDraft((d) => ({ ...d, [k]: v }));

  async function submit(e: Event) {
    e.preventDefault();
    setSaid('');
    const patch = diffCase(kase.value, draft);
    if (Object.keys(patch).length === 0) {
      setSaid('Nothing to save.');
      return;
    }
    let stale = false;
    await run(async () => {
      try {
        onSaved(await api.patchCase(kase.value.id, patch, kase.etag));
        setSaid('Case saved.');
      } catch (err) {
        if (err instanceof ProblemError && err.status === 412) stale = true;
        throw err;
      }
    });
    if (stale) {
      const fresh = await onStale();
      if (fresh) setDraft(draftOf(fresh.value));
      setProblem(new ProblemError({ type: 'about:blank', title: STALE_MESSAGE, status: 412, code: 'precondition_failed' }));
    }
  }

  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      {said && <Status message={said} />}
      <Field id="edit-title" field="title" label="Title" required value={draft.title} onInput={set('title')} problem={problem} />
      <Field id="edit-summary" field="summary" label="Summary" multiline value={draft.summary} onInput={set('summary')} problem={problem} />
      <Select
        id="edit-severity"
        field="severity"
        label="Severity"
        value={draft.severity}
        onChange={set('severity')}
        options={['1', '2', '3', '4']}
        problem={problem}
      />
      {isLead && (
        <>
          <Select id="edit-tlp" field="tlp" label="TLP (the lead's)" value={draft.tlp} onChange={(v) => set('tlp')(v as TLP)} options={TLPS} problem={problem} />
          <Field
            id="edit-classification"
            field="classification_label"
            label="Classification label (the lead's)"
            value={draft.classification_label}
            onInput={set('classification_label')}
            problem={problem}
          />
        </>
      )}
      <Field id="edit-tags" field="tags" label="Tags" hint="Comma-separated." value={draft.tags} onInput={set('tags')} problem={problem} />
      <Field
        id="edit-orgs"
        field="affected_organisations"
        label="Affected organisations"
        hint="Comma-separated."
        value={draft.affected_organisations}
        onInput={set('affected_organisations')}
        problem={problem}
      />
      <Field
        id="edit-systems"
        field="affected_systems"
        label="Affected systems"
        hint="Comma-separated."
        value={draft.affected_systems}
        onInput={set('affected_systems')}
        problem={problem}
      />
      <div class="field checkbox">
        <input
          id="edit-pdb"
          type="checkbox"
          checked={draft.personal_data_breach}
          onChange={(e) => set('personal_data_breach')(e.currentTarget.checked)}
        />
        <label for="edit-pdb">Personal data breach (starts the GDPR clock)</label>
      </div>
      <Field
        id="edit-jurisdictions"
        field="jurisdictions"
        label="Jurisdictions"
        hint="Comma-separated, e.g. gdpr, nis2: each starts its clocks."
        value={draft.jurisdictions}
        onInput={set('jurisdictions')}
        problem={problem}
      />
      <Field
        id="edit-discovered"
        field="discovered_at"
        label="Discovered at"
        type="datetime-local"
        value={draft.discovered_at}
        onInput={set('discovered_at')}
        problem={problem}
      />
      <Field
        id="edit-aware"
        field="aware_at"
        label="Became aware at (the clocks run from here)"
        type="datetime-local"
        value={draft.aware_at}
        onInput={set('aware_at')}
        problem={problem}
      />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save case'}
      </button>
    </form>
  );
}

/** The statuses a person may move the case to: the allowed ones, less closing and reopening for all but the lead. */
export function offeredTransitions(c: Case, isLead: boolean): CaseStatus[] {
  return c.allowed_transitions.filter((to) => isLead || (to !== 'closed' && c.status !== 'closed'));
}

interface StatusProps {
  kase: Tagged<Case>;
  role: CaseRole | undefined;
  onMoved: (c: Tagged<Case>) => void;
  onStale: () => Promise<Tagged<Case> | undefined>;
}

/** The case's status, the moves open to the caller, and the time spent in each phase. */
export function StatusPanel({ kase, role, onMoved, onStale }: StatusProps) {
  const c = kase.value;
  const history = useLoad(() => api.caseHistory(c.id), [c.id, c.status]);
  const offered = role === 'observer' ? [] : offeredTransitions(c, role === 'lead');
  const [to, setTo] = useState<string>('');
  const [reason, setReason] = useState('');
  const [said, setSaid] = useState('');
  const { busy, problem, setProblem, run } = useAction();
  const target = offered.includes(to as CaseStatus) ? (to as CaseStatus) : offered[0];

  async function submit(e: Event) {
    e.preventDefault();
    if (target === undefined) return;
    setSaid('');
    let stale = false;
    const ok = await run(async () => {
      try {
        onMoved(await api.transitionCase(c.id, target, reason.trim(), kase.etag));
      } catch (err) {
        if (err instanceof ProblemError && err.status === 412) stale = true;
        throw err;
      }
    });
    if (ok) {
      setSaid(`Case moved to ${humanize(target)}.`);
      setReason('');
      setTo('');
    } else if (stale) {
      await onStale();
      setProblem(new ProblemError({ type: 'about:blank', title: STALE_MESSAGE, status: 412, code: 'precondition_failed' }));
    }
  }

  return (
    <>
      <p>
        Status <strong class={`badge case-status-${c.status}`}>{humanize(c.status)}</strong> since{' '}
        <Time iso={c.status_changed_at} />.
      </p>
      <ErrorAlert error={problem} />
      {said && <Status message={said} />}
      {offered.length > 0 && target !== undefined && (
        <form class="inline-form" onSubmit={submit} aria-busy={busy}>
          <Select
            id="transition-to"
            field="to"
            label="Move to"
            value={target}
            onChange={setTo}
            options={offered.map((s) => ({ value: s, label: humanize(s) }))}
            problem={problem}
          />
          <Field id="transition-reason" field="reason" label="Reason" value={reason} onInput={setReason} problem={problem} />
          <button type="submit" class="primary" disabled={busy}>
            Move case
          </button>
        </form>
      )}
      {role !== 'lead' && c.allowed_transitions.some((s) => !offered.includes(s)) && role !== 'observer' && (
        <p class="field-hint">Closing and reopening a case are the lead agency's.</p>
      )}
      <h3>Time in each phase</h3>
      <ErrorAlert error={history.error} />
      {history.data && (
        <table class="list phases">
          <caption class="visually-hidden">Phases of the case</caption>
          <thead>
            <tr>
              <th scope="col">Phase</th>
              <th scope="col">Entered</th>
              <th scope="col">Left</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {history.data.phases.map((p, i) => {
              const t = history.data!.transitions.find((x) => x.to === p.status && x.at === p.entered_at);
              return (
                <tr key={`${p.status}-${i}`}>
                  <th scope="row">{humanize(p.status)}</th>
                  <td>
                    <Time iso={p.entered_at} />
                    {t && (
                      <>
                        {' '}
                        by <UserName id={t.by_user} />
                        {t.reason && <span class="reason"> ({t.reason})</span>}
                      </>
                    )}
                  </td>
                  <td>{p.left_at ? <Time iso={p.left_at} /> : 'now'}</td>
                  <td>{formatDuration(p.seconds * 1000)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {history.data && Object.keys(history.data.time_in_phase_seconds).length > 0 && (
        <p class="phase-totals">
          In all:{' '}
          {CASE_STATUSES.filter((st) => history.data!.time_in_phase_seconds[st] !== undefined)
            .map((st) => `${humanize(st)} ${formatDuration(history.data!.time_in_phase_seconds[st]! * 1000)}`)
            .join(' · ')}
        </p>
      )}
    </>
  );
}
