// Times as people read them, and the datetime-local inputs they type them
// in. Every time is shown in the person's zone, named ("14:05 CET"), with
// UTC on hover; the zone is their setting (PATCH /api/v1/me), or their
// browser's when they have none. A datetime-local input holds wall time in
// that same zone and says so.

/** The zone set by the person; "" for the browser's. */
let chosenZone = '';

/** Sets the zone every time is shown and typed in ("" for the browser's). */
export function setTimeZone(zone: string): void {
  chosenZone = isZone(zone) ? zone : '';
}

/** The IANA name of the zone times are shown in now. */
export function timeZone(): string {
  return chosenZone || browserZone();
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Whether the browser knows zone by this name. */
export function isZone(zone: string): boolean {
  if (zone === '') return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// Making a formatter is the costly part of formatting a time; a list that
// scrolls formats many, so the formatter is kept while the zone stays.
let shown: { zone: string; format: Intl.DateTimeFormat } | undefined;

function timeFormat(): Intl.DateTimeFormat {
  if (shown === undefined || shown.zone !== chosenZone) {
    shown = {
      zone: chosenZone,
      format: new Intl.DateTimeFormat(undefined, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        timeZone: timeZone(),
        timeZoneName: 'short',
      }),
    };
  }
  return shown.format;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return timeFormat().format(d);
}

/** "2026-11-28 09:00 UTC": the same instant in UTC, to compare across zones. */
export function formatUTC(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * A time in the person's zone, UTC on hover. sourceZone is the zone the
 * source recorded it in (a timeline event's source_timezone), said after it.
 */
export function Time({ iso, sourceZone }: { iso: string | null | undefined; sourceZone?: string | undefined }) {
  if (!iso) return null;
  return (
    <>
      <time dateTime={iso} title={formatUTC(iso)}>
        {formatTime(iso)}
      </time>
      {sourceZone && <span class="source-zone"> (recorded by its source in {sourceZone})</span>}
    </>
  );
}

/** The wall-clock parts of an instant in zone. */
function wallTime(ms: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(ms));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { y: n('year'), mo: n('month'), d: n('day'), h: n('hour'), mi: n('minute') };
}

/** How far zone is ahead of UTC at the instant ms, in milliseconds. */
function offsetAt(ms: number, zone: string): number {
  const w = wallTime(ms, zone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi) - Math.floor(ms / 60_000) * 60_000;
}

/** datetime-local gives wall time without a zone, in the person's zone; the API wants RFC 3339. */
export function localToISO(v: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(v);
  if (m === null) return undefined;
  const asUTC = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  const zone = timeZone();
  // The zone's offset at the wall time, taken twice so a change of offset (summer time) in between is followed.
  let at = asUTC - offsetAt(asUTC, zone);
  at = asUTC - offsetAt(at, zone);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}

/** The datetime-local value (wall time in the person's zone, to the minute) of an RFC 3339 time. */
export function isoToLocal(iso: string | null | undefined): string {
  if (!iso) return '';
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) return '';
  const w = wallTime(ms, timeZone());
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${w.y}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}`;
}

/** What a datetime-local input says of its zone: "Times are in Europe/Oslo (UTC+01:00)." */
export function zoneHint(now = Date.now()): string {
  const zone = timeZone();
  const off = Math.round(offsetAt(now, zone) / 60_000);
  const sign = off < 0 ? '−' : '+';
  const abs = Math.abs(off);
  const hhmm = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `Times are in ${zone} (UTC${sign}${hhmm}).`;
}
