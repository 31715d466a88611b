// The time zone a person reads times in: kept on the server with them, so
// it follows them from browser to browser.

import { useState } from 'preact/hooks';
import { adoptUser, api, type User } from '../api';
import { browserZone, ErrorAlert, Select, Status, useAction } from '../ui';

/** The zones to choose from: every one the browser knows, or at least the current ones. */
function zones(current: string): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set([...known, 'UTC', current].filter(Boolean))].sort();
}

export function TimeZoneSetting({ user }: { user: User }) {
  const [zone, setZone] = useState(user.time_zone);
  const [saved, setSaved] = useState(user.time_zone);
  const [said, setSaid] = useState('');
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    setSaid('');
    const ok = await run(async () => {
      const me = await api.updateMe({ time_zone: zone });
      // The whole app shows times in the new zone from now on.
      adoptUser(me.user);
      setSaved(me.user.time_zone);
    });
    if (ok) setSaid(zone === '' ? `Times are shown in your browser's zone, ${browserZone()}.` : `Times are shown in ${zone}.`);
  }

  return (
    <form class="inline-form" onSubmit={submit} aria-busy={busy}>
      <ErrorAlert error={problem} />
      {said && <Status message={said} />}
      <Select
        id="time-zone"
        field="time_zone"
        label="Show times in"
        value={zone}
        onChange={setZone}
        options={[{ value: '', label: `Your browser's zone (${browserZone()})` }, ...zones(user.time_zone).map((z) => ({ value: z, label: z }))]}
        problem={problem}
      />
      <button type="submit" class="secondary" disabled={busy || zone === saved}>
        Save time zone
      </button>
    </form>
  );
}
