import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { useLoad } from '../ui';

/** What a person is told when single sign-on sent them back refused (the server's ?sso_error= codes). */
export const SSO_ERRORS: Record<string, string> = {
  unavailable: 'Single sign-on is not available for this agency. Sign in with your email and password, or ask your agency admin.',
  invalid_state:
    'The single sign-on took too long, was already used, or was started in another browser. Start it again from this page.',
  provider_error: 'Your agency’s sign-in service refused the sign-in or could not be reached. Try again, or ask your agency’s IT.',
  token_invalid: 'Your agency’s sign-in service answered with something Bevis could not verify. Ask your agency admin to check the settings.',
  email_unverified: 'Your agency’s sign-in service does not confirm your email address, so Bevis cannot tell who you are.',
  account_refused: 'There is no active Bevis account for you in this agency. Ask your agency admin to add or re-enable you.',
  internal: 'Single sign-on failed on the Bevis server. Try again in a while.',
};

/** The explanation of a refused single sign-on in the address, if any; read once, then removed from the address. */
export function SSOError() {
  const [code] = useState(() => new URLSearchParams(window.location.search).get('sso_error'));
  useEffect(() => {
    if (code !== null) window.history.replaceState(null, '', window.location.pathname);
  }, [code]);
  if (code === null) return null;
  return (
    <div class="alert" role="alert">
      {SSO_ERRORS[code] ?? SSO_ERRORS.internal}
    </div>
  );
}

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
