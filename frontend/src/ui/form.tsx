// Form pieces shared by the pages: labelled fields wired to the server's
// field errors, alerts and confirmations. Everything a user or the server
// wrote is rendered as text by Preact, never as HTML.

import type { InputHTMLAttributes } from 'preact';
import type { ProblemError } from '../api';
import { zoneHint } from './time';

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
  /** The id of a datalist of suggestions. */
  list?: string;
}

/** A labelled input with its hint and its field error wired up for assistive technology. */
export function Field(p: FieldProps) {
  const error = p.problem?.fieldMessage(p.field ?? p.id);
  // A date and time typed without a zone says which zone it is read in.
  const hint = p.type === 'datetime-local' ? [p.hint, zoneHint()].filter(Boolean).join(' ') : p.hint;
  const common = {
    id: p.id,
    name: p.id,
    value: p.value,
    required: p.required,
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': describedBy(hint && `${p.id}-hint`, error && `${p.id}-error`),
    onInput: (e: Event) => p.onInput((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      {hint && (
        <p id={`${p.id}-hint`} class="field-hint">
          {hint}
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
            list: p.list,
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
