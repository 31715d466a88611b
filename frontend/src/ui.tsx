// Small building blocks shared by the pages. Everything a user or the
// server wrote is rendered as text by Preact, never as HTML.

import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { asProblem, type ProblemError, type TLP } from './api';

/** Joins the ids of the elements that describe an input, skipping absent ones. */
export function describedBy(...ids: (string | false | undefined)[]): string | undefined {
  return ids.filter(Boolean).join(' ') || undefined;
}

export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} class="field-error">
      {message}
    </p>
  );
}

/** An error announced to screen readers as it appears. */
export function ErrorAlert({ error }: { error: ProblemError | null | undefined }) {
  if (!error) return null;
  return (
    <div class="alert" role="alert">
      {error.userMessage}
    </div>
  );
}

/** A polite live region for confirmations ("Task created"). */
export function Status({ message }: { message: string }) {
  return (
    <p class="status" role="status">
      {message}
    </p>
  );
}

interface FieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  /** The problem of the last submit; its error for `field` is shown here. */
  problem?: ProblemError | null | undefined;
  /** The name the server uses for this field in `errors` (defaults to id). */
  field?: string;
  type?: 'text' | 'email' | 'password' | 'date' | 'datetime-local';
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  inputMode?: 'numeric' | 'text';
  minLength?: number;
  maxLength?: number;
  multiline?: boolean;
}

/** A labelled input with its hint and its field error wired up for assistive technology. */
export function Field(p: FieldProps) {
  const error = p.problem?.fieldMessage(p.field ?? p.id);
  const common = {
    id: p.id,
    name: p.id,
    value: p.value,
    required: p.required,
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': describedBy(p.hint && `${p.id}-hint`, error && `${p.id}-error`),
    onInput: (e: Event) => p.onInput((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      {p.hint && (
        <p id={`${p.id}-hint`} class="field-hint">
          {p.hint}
        </p>
      )}
      {p.multiline ? (
        <textarea {...common} rows={3} maxLength={p.maxLength} />
      ) : (
        <input
          {...({
            ...common,
            type: p.type ?? 'text',
            autocomplete: p.autocomplete,
            inputMode: p.inputMode,
            minLength: p.minLength,
            maxLength: p.maxLength,
            spellcheck: p.type === 'email' || p.inputMode === 'numeric' ? false : undefined,
          } as InputHTMLAttributes<HTMLInputElement>)}
        />
      )}
      <FieldError id={`${p.id}-error`} message={error} />
    </div>
  );
}

interface SelectProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: readonly (string | { value: string; label: string })[];
  problem?: ProblemError | null | undefined;
  field?: string;
}

export function Select(p: SelectProps) {
  const error = p.problem?.fieldMessage(p.field ?? p.id);
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      <select
        id={p.id}
        name={p.id}
        value={p.value}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(error && `${p.id}-error`)}
        onChange={(e) => p.onChange(e.currentTarget.value)}
      >
        {p.options.map((o) => {
          const opt = typeof o === 'string' ? { value: o, label: o } : o;
          return (
            <option key={opt.value} value={opt.value}>
              {opt.label}
            </option>
          );
        })}
      </select>
      <FieldError id={`${p.id}-error`} message={error} />
    </div>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: ProblemError | null;
  loading: boolean;
  reload: () => void;
  set: (data: T) => void;
}

/**
 * Loads data with fn when deps change; stale answers are dropped. fn is a new
 * closure on every render, so deps (not fn) say when to load again.
 */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ProblemError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    fn().then(
      (d) => {
        if (seq.current !== mine) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (seq.current !== mine) return;
        setError(asProblem(err));
        setLoading(false);
      },
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, set: setData };
}

/** Runs an action, keeping its busy flag and its problem for the form. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemError | null>(null);
  const run = useCallback(async (fn: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setProblem(null);
    try {
      await fn();
      return true;
    } catch (err) {
      setProblem(asProblem(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, setProblem, run };
}

const TLP_CLASS: Record<string, string> = {
  CLEAR: 'tlp-clear',
  GREEN: 'tlp-green',
  AMBER: 'tlp-amber',
  'AMBER+STRICT': 'tlp-amber-strict',
  RED: 'tlp-red',
};

/** A TLP 2.0 label, in the colours the standard prescribes (on black). */
export function TlpBadge({ tlp }: { tlp: TLP | string }) {
  return <span class={`tlp ${TLP_CLASS[tlp] ?? 'tlp-unknown'}`}>TLP:{tlp}</span>;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return null;
  return <time dateTime={iso}>{formatTime(iso)}</time>;
}

/** Copies text to the clipboard and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<string>('');
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setDone('Copied');
    } catch {
      setDone('Copy failed: select the text and copy it by hand');
    }
  }
  return (
    <span class="copy">
      <button type="button" class="secondary" onClick={copy}>
        {label}
      </button>
      <span role="status" class="copy-status">
        {done}
      </span>
    </span>
  );
}

export function Section({ title, id, children }: { title: string; id: string; children: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export function humanize(s: string): string {
  const t = s.replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** datetime-local gives local wall time without a zone; the API wants RFC 3339. */
export function localToISO(v: string): string | undefined {
  if (v === '') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The datetime-local value (local wall time, to the minute) of an RFC 3339 time. */
export function isoToLocal(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
