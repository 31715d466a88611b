// A stale edit (412: someone changed the object first) keeps what the
// person typed: the fields they did not touch take the server's new values,
// the fields they changed keep theirs, and the form says what changed on
// the server so they can check it and save again.

/** One field someone else changed while the person was editing. */
export interface ServerChange {
  field: string;
  before: string | boolean;
  now: string | boolean;
  /** The person changed it too; their value is kept, and saving overwrites the server's. */
  alsoYours: boolean;
}

/**
 * The draft to show after a 412: mine over the new version where I changed
 * a field, the new version elsewhere; and the fields the server changed
 * between the version I started from (base) and the new one (fresh).
 */
export function rebase<F extends { [K in keyof F]: string | boolean }>(base: F, fresh: F, mine: F): { draft: F; changes: ServerChange[] } {
  const draft = { ...mine };
  const changes: ServerChange[] = [];
  for (const field of Object.keys(fresh) as (keyof F & string)[]) {
    if (base[field] === fresh[field]) continue;
    const alsoYours = mine[field] !== base[field];
    if (!alsoYours) draft[field] = fresh[field];
    changes.push({ field, before: base[field], now: fresh[field], alsoYours });
  }
  return { draft, changes };
}

function shown(v: string | boolean): string {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return v === '' ? '(empty)' : v;
}

/** What changed on the server, field by field, with the person's choices to make. */
export function ServerChanges({ changes, labels }: { changes: ServerChange[]; labels: Record<string, string> }) {
  if (changes.length === 0) return null;
  return (
    <div class="server-changes">
      <p>Changed on the server while you were editing:</p>
      <ul>
        {changes.map((c) => (
          <li key={c.field}>
            <strong>{labels[c.field] ?? c.field}</strong>: <bdi>{shown(c.before)}</bdi> → <bdi>{shown(c.now)}</bdi>
            {c.alsoYours ? ' (you changed it too: yours is kept below, and saving replaces theirs)' : ' (taken into the form)'}
          </li>
        ))}
      </ul>
    </div>
  );
}
