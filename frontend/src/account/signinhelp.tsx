import { api } from '../api';
import { useLoad } from '../ui';

/**
 * What the sign-in page adds on an installation that has no admin yet:
 * where the one-time set-up link is. Says nothing once set-up is done, or
 * when the server cannot say.
 */
export function SetupHint() {
  const status = useLoad(() => api.setupStatus(), []);
  if (status.data?.needed !== true) return null;
  return (
    <div class="note setup-hint" role="note" aria-labelledby="setup-hint-title">
      <h2 id="setup-hint-title">This Bevis has no admin yet</h2>
      <p>
        Open the set-up link that <code>bevis serve</code> printed when it started (<code>…/setup#…</code>, in its
        log). It works once, for an hour, and only at the address it names; restart <code>bevis serve</code> for a fresh
        one. For scripts there is <code>bevis admin bootstrap</code>.
      </p>
    </div>
  );
}
