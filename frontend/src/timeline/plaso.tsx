// The plaso import: pick a psort export, watch it go up, then read what the
// server made of it: events imported, or every rejected row by line (an
// import is all or nothing).

import { useRef, useState } from 'preact/hooks';
import { asProblem, type ImportFormat, importPlaso, type ProblemError, type TimelineImport } from '../api';
import { ErrorAlert, formatBytes, Select, Status, useLeaveGuard } from '../ui';

const FORMATS: { value: ImportFormat; label: string }[] = [
  { value: 'json_line', label: 'JSON lines (psort -o json_line)' },
  { value: 'l2tcsv', label: 'l2tcsv (psort -o l2tcsv)' },
  { value: 'dynamic', label: 'dynamic CSV (psort -o dynamic)' },
];

/** The rejected rows of a refused import, from the problem's errors ("line 12": reason). */
export function rejectedRows(p: ProblemError | null): { line: string; reason: string }[] {
  if (!p || p.problem.code !== 'import_rejected') return [];
  return (p.problem.errors ?? []).map((e) => ({ line: e.field.replace(/^line\s*/i, ''), reason: e.message }));
}

export function PlasoImport({ caseId, onImported }: { caseId: string; onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState<ImportFormat>('json_line');
  const [sent, setSent] = useState<[number, number] | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TimelineImport | null>(null);
  const [problem, setProblem] = useState<ProblemError | null>(null);
  const abort = useRef<AbortController | null>(null);
  useLeaveGuard(busy);

  async function start(e: Event) {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setResult(null);
    setProblem(null);
    setSent([0, file.size]);
    abort.current = new AbortController();
    try {
      setResult(await importPlaso(caseId, file, format, (a, b) => setSent([a, b]), abort.current.signal));
      onImported();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  }

  const rows = rejectedRows(problem);
  return (
    <form class="plaso-import" onSubmit={start} aria-busy={busy}>
      <div class="field">
        <label for="plaso-file">Plaso export</label>
        <p class="field-hint" id="plaso-file-hint">
          Imported all or nothing: one malformed row and nothing is added, and every such row is listed by line.
        </p>
        <input
          id="plaso-file"
          type="file"
          accept=".jsonl,.json,.csv,.txt"
          aria-describedby="plaso-file-hint"
          disabled={busy}
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
      </div>
      <Select id="plaso-format" label="Format" value={format} onChange={(v) => setFormat(v as ImportFormat)} options={FORMATS} />
      {sent && (busy || result) && (
        <p class="progress">
          <label for="plaso-progress">
            {busy ? (sent[0] >= sent[1] ? 'Sent; the server is importing' : 'Sending') : 'Sent'}: {formatBytes(sent[0])} of{' '}
            {formatBytes(sent[1])}
          </label>{' '}
          <progress id="plaso-progress" max={sent[1] || 1} value={sent[0]} />
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={!file || busy}>
          {busy ? 'Importing…' : 'Import'}
        </button>
        {busy && (
          <button type="button" class="secondary" onClick={() => abort.current?.abort()}>
            Cancel
          </button>
        )}
      </div>
      {result && (
        <Status
          message={`Imported ${result.events_imported} of ${result.rows_read} rows (${formatBytes(result.bytes_read)}), status ${result.status}.`}
        />
      )}
      <ErrorAlert error={problem} />
      {rows.length > 0 && (
        <table class="list rejected-rows">
          <caption>Rejected rows</caption>
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.line}>
                <th scope="row">{r.line}</th>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </form>
  );
}
