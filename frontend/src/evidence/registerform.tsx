import { useState } from 'preact/hooks';
import { api, EVIDENCE_KINDS, type EvidenceItem, type EvidenceKind, type NewEvidenceItem, type TLP, TLPS } from '../api';
import { ErrorAlert, Field, humanize, localToISO, Select, useAction } from '../ui';

/** Removes empty strings and objects left empty, so the server gets only what was filled in. */
function compact<T extends object>(o: T): T | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== '' && v !== undefined && v !== null) out[k] = v;
  return Object.keys(out).length === 0 ? undefined : (out as T);
}

/** The body of a registration from the form's fields. */
export function newItemFrom(f: Record<string, string>): NewEvidenceItem {
  const item: NewEvidenceItem = { title: f.title!.trim(), kind: f.kind as EvidenceKind };
  const t = (k: string) => (f[k] ?? '').trim();
  if (t('description')) item.description = t('description');
  if (f.tlp) item.tlp = f.tlp as TLP;
  if (t('parent_id')) item.parent_id = t('parent_id');
  if (t('location')) item.location = t('location');
  const source = compact({ device: t('device'), serial: t('serial'), owner: t('owner') });
  if (source) item.source = source;
  const acquisition = compact({
    tool: t('tool'),
    tool_version: t('tool_version'),
    by: t('acquired_by'),
    at: localToISO(f.acquired_at ?? ''),
    where: t('acquired_where'),
  });
  if (acquisition) item.acquisition = acquisition;
  const hashes = compact({ sha256: t('sha256').toLowerCase(), sha1: t('sha1').toLowerCase(), md5: t('md5').toLowerCase() });
  if (hashes) item.declared_hashes = hashes;
  return item;
}

const EMPTY_ITEM: Record<string, string> = { title: '', kind: 'disk_image', tlp: '' };

export function RegisterEvidenceForm({
  caseId,
  items,
  onRegistered,
}: {
  caseId: string;
  items: EvidenceItem[];
  onRegistered: (it: EvidenceItem) => void;
}) {
  const [f, setF] = useState<Record<string, string>>(EMPTY_ITEM);
  const { busy, problem, run } = useAction();
  const set = (k: string) => (v: string) => setF((x) => ({ ...x, [k]: v }));
  const text = (id: string, label: string, field: string, extra: Partial<Parameters<typeof Field>[0]> = {}) => (
    <Field id={`ev-${id}`} field={field} label={label} value={f[id] ?? ''} onInput={set(id)} problem={problem} {...extra} />
  );
  async function submit(e: Event) {
    e.preventDefault();
    const ok = await run(async () => onRegistered(await api.registerEvidence(caseId, newItemFrom(f))));
    if (ok) setF(EMPTY_ITEM);
  }
  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      {text('title', 'Title', 'title', { required: true, maxLength: 300 })}
      <Select
        id="ev-kind"
        field="kind"
        label="Kind"
        value={f.kind!}
        onChange={set('kind')}
        options={EVIDENCE_KINDS.map((k) => ({ value: k, label: humanize(k) }))}
        problem={problem}
      />
      <Select
        id="ev-tlp"
        field="tlp"
        label="TLP"
        value={f.tlp!}
        onChange={set('tlp')}
        options={[{ value: '', label: "The case's" }, ...TLPS.map((t) => ({ value: t, label: t }))]}
        problem={problem}
      />
      {text('description', 'Description', 'description', { multiline: true })}
      <fieldset>
        <legend>Source</legend>
        {text('device', 'Device', 'source.device')}
        {text('serial', 'Serial number', 'source.serial')}
        {text('owner', 'Owner', 'source.owner')}
      </fieldset>
      <fieldset>
        <legend>Acquisition</legend>
        {text('tool', 'Tool', 'acquisition.tool')}
        {text('tool_version', 'Tool version', 'acquisition.tool_version')}
        {text('acquired_by', 'Acquired by', 'acquisition.by')}
        {text('acquired_at', 'Acquired at', 'acquisition.at', { type: 'datetime-local' })}
        {text('acquired_where', 'Acquired where', 'acquisition.where')}
      </fieldset>
      <fieldset>
        <legend>Declared hashes</legend>
        <p class="field-hint">As the acquisition tool reported them. Content you upload must match them, or it is refused.</p>
        {text('sha256', 'SHA-256', 'declared_hashes.sha256')}
        {text('sha1', 'SHA-1', 'declared_hashes.sha1')}
        {text('md5', 'MD5', 'declared_hashes.md5')}
      </fieldset>
      {items.length > 0 ? (
        <Select
          id="ev-parent_id"
          field="parent_id"
          label="Taken from (parent item)"
          value={f.parent_id ?? ''}
          onChange={set('parent_id')}
          options={[{ value: '', label: 'None' }, ...items.map((it) => ({ value: it.id, label: `${it.exhibit_number} ${it.title}` }))]}
          problem={problem}
        />
      ) : null}
      {text('location', 'Location', 'location', { hint: 'Where the item is now, e.g. an evidence locker.' })}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Registering…' : 'Register item'}
      </button>
    </form>
  );
}
