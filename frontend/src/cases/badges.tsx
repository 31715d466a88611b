import { Severity, SEVERITIES } from '../api';
import { humanize } from '../ui';

/** "3 (high)": a severity with the name the API's document gives it (1 is low, 4 critical). */
export function severityLabel(s: number): string {
  const name = Severity[s];
  return name === undefined ? String(s) : `${s} (${name})`;
}

/** The severities as choices of a form, from the lowest to the highest. */
export const SEVERITY_OPTIONS = SEVERITIES.map((s) => ({ value: String(s), label: severityLabel(s) }));

export function SeverityBadge({ severity }: { severity: number | undefined }) {
  if (severity === undefined) return null;
  return <span class={`badge severity-${severity}`}>Severity {severityLabel(severity)}</span>;
}

export function CaseStatusBadge({ status }: { status: string | undefined }) {
  if (!status) return null;
  return <span class={`badge case-status-${status}`}>{humanize(status)}</span>;
}
