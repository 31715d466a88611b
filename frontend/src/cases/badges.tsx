import { humanize } from '../ui';

export const SEVERITY_WORDS: Record<number, string> = { 1: 'critical', 2: 'high', 3: 'medium', 4: 'low' };

export function SeverityBadge({ severity }: { severity: number | undefined }) {
  if (severity === undefined) return null;
  return (
    <span class={`badge severity-${severity}`}>
      Severity {severity}
      {SEVERITY_WORDS[severity] ? ` (${SEVERITY_WORDS[severity]})` : ''}
    </span>
  );
}

export function CaseStatusBadge({ status }: { status: string | undefined }) {
  if (!status) return null;
  return <span class={`badge case-status-${status}`}>{humanize(status)}</span>;
}
