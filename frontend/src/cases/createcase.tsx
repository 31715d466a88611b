import { useState } from 'preact/hooks';
import { api, type Case, type CaseTemplate, Severity, type TLP, TLPS } from '../api';
import { ErrorAlert, Field, Select, useAction, useLoad } from '../ui';
import { SEVERITY_OPTIONS } from './badges';

const TLP_HINTS: Record<TLP, string> = {
  CLEAR: 'CLEAR: no limit on disclosure',
  GREEN: 'GREEN: the community, not public',
  AMBER: 'AMBER: the members’ organisations, need to know',
  'AMBER+STRICT': 'AMBER+STRICT: the members’ organisations only',
  RED: 'RED: named people only',
};

export function CreateCaseForm({ onCreated }: { onCreated: (c: Case) => void }) {
  const [title, setTitle] = useState('');
  const [tlp, setTlp] = useState<TLP>('AMBER');
  const [label, setLabel] = useState('');
  const [severity, setSeverity] = useState(String(Severity.medium));
  const [summary, setSummary] = useState('');
  const [templateId, setTemplateId] = useState('');
  const templates = useLoad(() => api.templates(), []);
  const { busy, problem, run } = useAction();

  // A template sets the severity and marking shown, which stay the user's to change.
  function pickTemplate(id: string) {
    setTemplateId(id);
    const t: CaseTemplate | undefined = templates.data?.items.find((x) => x.id === id);
    if (t?.severity) setSeverity(String(t.severity));
    if (t?.tlp) setTlp(t.tlp);
  }
  const chosen = templates.data?.items.find((x) => x.id === templateId);

  async function submit(e: Event) {
    e.preventDefault();
    await run(async () => {
      const c = await api.createCase({
        title: title.trim(),
        summary: summary.trim(),
        severity: Number(severity),
        tlp,
        classification_label: label.trim(),
        ...(templateId ? { template_id: templateId } : {}),
      });
      onCreated(c);
    });
  }

  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      {templates.data && templates.data.items.length > 0 && (
        <Select
          id="template_id"
          label="Template"
          value={templateId}
          onChange={pickTemplate}
          options={[{ value: '', label: 'None' }, ...templates.data.items.map((t) => ({ value: t.id ?? '', label: t.name }))]}
          problem={problem}
        />
      )}
      {chosen && (
        <p class="field-hint">
          {chosen.description ? `${chosen.description} ` : ''}Adds {chosen.tasks?.length ?? 0} tasks
          {chosen.tags?.length ? `, the tags ${chosen.tags.join(', ')}` : ''}
          {chosen.jurisdictions?.length ? ` and the ${chosen.jurisdictions.join(', ')} clocks` : ''}.
        </p>
      )}
      <Field id="title" label="Title" required maxLength={300} value={title} onInput={setTitle} problem={problem} />
      <Field id="summary" label="Summary" multiline value={summary} onInput={setSummary} problem={problem} />
      <Select
        id="severity"
        label="Severity"
        value={severity}
        onChange={setSeverity}
        options={SEVERITY_OPTIONS}
        problem={problem}
      />
      <Select
        id="tlp"
        label="TLP"
        value={tlp}
        onChange={(v) => setTlp(v as TLP)}
        options={TLPS.map((t) => ({ value: t, label: TLP_HINTS[t] }))}
        problem={problem}
      />
      <Field
        id="classification_label"
        label="Classification label"
        hint="As your agency marks it, e.g. RESTRICTED. Optional."
        value={label}
        onInput={setLabel}
        problem={problem}
      />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Opening…' : 'Open case'}
      </button>
    </form>
  );
}
