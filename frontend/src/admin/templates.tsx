// Case templates, for admins: what a case opened from one starts with
// (severity, marking, tags, clock sets and tasks). Coordinators pick one
// when they open a case.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type CaseTemplate, type TLP, TLPS } from '../api';
import { SEVERITY_OPTIONS } from '../cases/badges';
import { type Column, ErrorAlert, Field, Section, Select, Status, Table, useAction, useLoad } from '../ui';

/** Splits a comma-separated list, dropping blanks. */
export function listOf(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

type PresetTasks = NonNullable<CaseTemplate['tasks']>;

/**
 * The tasks of a template from one title a line; a task whose title is kept
 * keeps what the form does not show (priority, due time, checklist).
 */
export function presetTasks(text: string, before: PresetTasks = []): PresetTasks {
  const byTitle = new Map(before.map((t) => [t.title, t]));
  return text
    .split('\n')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((title) => byTitle.get(title) ?? { title });
}

/** Adds a template, or, given one, edits it (PUT replaces the whole template). */
function TemplateForm({ editing, onSaved, onCancel }: { editing?: CaseTemplate; onSaved: () => void; onCancel: () => void }) {
  const [name, setName] = useState(editing?.name ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const [severity, setSeverity] = useState(String(editing?.severity ?? 2));
  const [tlp, setTlp] = useState<TLP>(editing?.tlp ?? 'AMBER');
  const [tags, setTags] = useState((editing?.tags ?? []).join(', '));
  const [jurisdictions, setJurisdictions] = useState(editing ? (editing.jurisdictions ?? []).join(', ') : 'gdpr');
  const [tasks, setTasks] = useState((editing?.tasks ?? []).map((t) => t.title).join('\n'));
  const [done, setDone] = useState('');
  const { busy, problem, run } = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (editing) heading.current?.focus();
  }, [editing]);

  async function submit(e: Event) {
    e.preventDefault();
    setDone('');
    await run(async () => {
      const input = {
        name: name.trim(),
        description: description.trim(),
        severity: Number(severity),
        tlp,
        tags: listOf(tags),
        jurisdictions: listOf(jurisdictions),
        tasks: presetTasks(tasks, editing?.tasks),
      };
      if (editing) {
        const t = await api.updateTemplate(editing.id, input);
        onSaved();
        setDone(`Template ${t.name} saved.`);
        return;
      }
      const t = await api.createTemplate(input);
      setName('');
      setDescription('');
      setTags('');
      setTasks('');
      setDone(`Template ${t.name} added.`);
      onSaved();
    });
  }

  return (
    <form class="form-grid" onSubmit={submit} aria-labelledby="template-form-title" aria-busy={busy}>
      <h3 id="template-form-title" tabIndex={-1} ref={heading}>
        {editing ? <>Edit the template <bdi>{editing.name}</bdi></> : 'Add a template'}
      </h3>
      <ErrorAlert error={problem} />
      <Field id="template-name" field="name" label="Name" required maxLength={200} value={name} onInput={setName} problem={problem} />
      <Field id="template-description" field="description" label="Description" multiline value={description} onInput={setDescription} problem={problem} />
      <Select id="template-severity" field="severity" label="Severity" value={severity} onChange={setSeverity} options={SEVERITY_OPTIONS} problem={problem} />
      <Select id="template-tlp" field="tlp" label="TLP" value={tlp} onChange={(v) => setTlp(v as TLP)} options={[...TLPS]} problem={problem} />
      <Field id="template-tags" field="tags" label="Tags" hint="Separated by commas." value={tags} onInput={setTags} problem={problem} />
      <Field id="template-jurisdictions" field="jurisdictions" label="Clock sets" hint="Separated by commas, like gdpr, nis2." value={jurisdictions} onInput={setJurisdictions} problem={problem} />
      <Field id="template-tasks" field="tasks" label="Tasks" hint="One title a line; each becomes a task of the opening agency." multiline value={tasks} onInput={setTasks} problem={problem} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : editing ? 'Save template' : 'Add template'}
        </button>
        {editing && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      {done && <Status message={done} />}
    </form>
  );
}

function DeleteTemplate({ t, onDeleted }: { t: CaseTemplate; onDeleted: () => void }) {
  const { busy, problem, run } = useAction();
  return (
    <>
      <button type="button" class="danger" disabled={busy} onClick={() => void run(async () => { await api.deleteTemplate(t.id); onDeleted(); })}>
        Delete<span class="visually-hidden"> template {t.name}</span>
      </button>
      <ErrorAlert error={problem} />
    </>
  );
}

export function TemplatesSection({ canEdit }: { canEdit: boolean }) {
  const list = useLoad(() => api.templates(), []);
  const [editing, setEditing] = useState<CaseTemplate>();
  const columns: Column<CaseTemplate>[] = [
    { title: 'Name', cell: (t) => <bdi>{t.name}</bdi>, rowHeader: true },
    { title: 'Severity and TLP', cell: (t) => [t.severity ? `severity ${t.severity}` : '', t.tlp ?? ''].filter(Boolean).join(', ') },
    { title: 'Brings', cell: (t) => [`${t.tasks?.length ?? 0} tasks`, ...(t.tags ?? []), ...(t.jurisdictions ?? [])].join(', ') },
  ];
  if (canEdit) {
    columns.push({
      title: 'Actions',
      hideTitle: true,
      cell: (t) => (
        <div class="actions">
          <button type="button" onClick={() => setEditing(t)}>
            Edit<span class="visually-hidden"> template {t.name}</span>
          </button>
          <DeleteTemplate t={t} onDeleted={list.reload} />
        </div>
      ),
    });
  }
  return (
    <Section title="Case templates" id="templates">
      <ErrorAlert error={list.error} />
      {list.data && <Table caption="Case templates" columns={columns} rows={list.data.items} rowKey={(t) => t.id} empty="No templates yet." />}
      {canEdit && <TemplateForm key={editing?.id ?? 'new'} editing={editing} onSaved={list.reload} onCancel={() => setEditing(undefined)} />}
    </Section>
  );
}
