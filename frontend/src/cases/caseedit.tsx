// Changing a case's details: a JSON merge patch of what changed, sent with
// If-Match.

import { useState } from 'preact/hooks';
import { api, type Case, type CasePatch, ProblemError, type Tagged, type TLP, TLPS } from '../api';
import { ErrorAlert, Field, isoToLocal, localToISO, rebase, Select, type ServerChange, ServerChanges, Status, useAction } from '../ui';
import { SEVERITY_OPTIONS } from './badges';

/** The message shown when a write was based on an old version of the case. */
export const STALE_MESSAGE =
  'Someone changed this case while you were editing. Your changes are kept: check what changed and save again.';

/** The fields of the form, as its labels name them. */
const FIELD_LABELS: Record<keyof Draft, string> = {
  title: 'Title',
  summary: 'Summary',
  severity: 'Severity',
  tlp: 'TLP',
  classification_label: 'Classification label',
  tags: 'Tags',
  affected_organisations: 'Affected organisations',
  affected_systems: 'Affected systems',
  personal_data_breach: 'Personal data breach',
  discovered_at: 'Discovered at',
  aware_at: 'Became aware at',
  jurisdictions: 'Jurisdictions',
};

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
  const [changes, setChanges] = useState<ServerChange[]>([]);
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
    const base = kase.value;
    setChanges([]);
    await run(async () => {
      try {
        onSaved(await api.patchCase(base.id, patch, kase.etag));
        setSaid('Case saved.');
      } catch (err) {
        if (err instanceof ProblemError && err.status === 412) stale = true;
        throw err;
      }
    });
    if (stale) {
      // Keep the typing: the form moves onto the new version with the person's changes on top.
      const fresh = await onStale();
      if (fresh) {
        const next = rebase(draftOf(base), draftOf(fresh.value), draft);
        setDraft(next.draft);
        setChanges(next.changes);
      }
      setProblem(new ProblemError({ type: 'about:blank', title: STALE_MESSAGE, status: 412, code: 'precondition_failed' }));
    }
  }

  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      {problem?.status === 412 && <ServerChanges changes={changes} labels={FIELD_LABELS} />}
      {said && <Status message={said} />}
      <Field id="edit-title" field="title" label="Title" required value={draft.title} onInput={set('title')} problem={problem} />
      <Field id="edit-summary" field="summary" label="Summary" multiline value={draft.summary} onInput={set('summary')} problem={problem} />
      <Select
        id="edit-severity"
        field="severity"
        label="Severity"
        value={draft.severity}
        onChange={set('severity')}
        options={SEVERITY_OPTIONS}
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
