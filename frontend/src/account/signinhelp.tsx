import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { useLoad } from '../ui';

/** What a person is told when single sign-on sent them back refused: every code the server's callback and start send with ?sso_error=. */
export const SSO_ERRORS: Record<string, string> = {
  unavailable:
    'Single sign-on is not available for this agency: it is off, or its settings changed while you were signing in. Sign in with your email and password, or ask your agency admin.',
  invalid_state:
    'The single sign-on took more than ten minutes, was already used, or was started in another browser. Start it again from this page.',
  provider_error:
    'Your agency’s sign-in service refused the sign-in or could not be reached. Try again, or ask your agency’s IT.',
  token_invalid:
    'Your agency’s sign-in service answered with something Bevis could not verify, or without your email address. Ask your agency admin to check the single sign-on settings.',
  email_unverified:
    'Your agency’s sign-in service does not confirm your email address, so Bevis cannot tell who you are. Have the address confirmed there, or ask your agency’s IT.',
  account_refused:
    'There is no active Bevis account for you in this agency, or yours signs in with a password (admins always do). Ask your agency admin to add or re-enable you.',
  internal: 'Single sign-on failed on the Bevis server. Try again in a while.',
};

/** The explanation of a refused single sign-on in the address, if any; read once, then removed from the address. */
export function SSOError() {
  const [code] = useState(() => new URLSearchParams(window.location.search).get('sso_error'));
  useEffect(() => {
    if (code === null) return;
    const url = new URL(window.location.href);
    url.searchParams.delete('sso_error');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
  }, [code]);
  if (code === null) return null;
  return (
    <div class="alert sso-error" role="alert">
      {SSO_ERRORS[code] ?? SSO_ERRORS.internal}
    </div>
  );
}

/**
 * One button per agency whose people may sign in with their agency's own
 * provider. A button is a plain link: the browser leaves for the provider
 * and comes back signed in. Nothing when no agency has single sign-on, or
 * when the server cannot say.
 */
export function SSOSignIn() {
  const list = useLoad(() => api.ssoAgencies(), []);
  const agencies = list.data?.items ?? [];
  if (agencies.length === 0) return null;
  return (
    <nav class="sso-signin" aria-labelledby="sso-signin-title">
      <h2 id="sso-signin-title">Or sign in through your agency</h2>
      <ul>
        {agencies.map((a) => (
          <li key={a.code}>
            <a class="sso-button" href={`/api/v1/auth/sso/${encodeURIComponent(a.code)}/start`}>
              Sign in with {a.name}
            </a>
          </li>
        ))}
      </ul>
    </nav>
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
