export function humanize(s: string): string {
  const t = s.replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** What each kind of agency is called on screen. */
export const AGENCY_KIND_LABELS: Record<string, string> = {
  police: 'Police',
  security_authority: 'Security authority',
  cert: 'CERT',
  victim: 'Victim organisation',
  it_provider: 'IT provider',
  ministry: 'Ministry',
  other: 'Other',
};

/** A kind of agency as shown on screen. */
export function agencyKindLabel(kind: string): string {
  return AGENCY_KIND_LABELS[kind] ?? humanize(kind);
}

/** A size in bytes in human units (KiB, MiB, GiB, TiB), with the exact count for small ones. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}
