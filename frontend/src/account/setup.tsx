import { useEffect, useRef, useState } from 'preact/hooks';
import { AGENCY_KINDS, type AgencyKind, api, asProblem, type ProblemError, type User } from '../api';
import { agencyKindLabel, ErrorAlert, Field, Link, Select, useLoad } from '../ui';

/** The least length of a password, as everywhere else (the server's rules decide the rest). */
export const MIN_PASSWORD = 12;

/** The token of a set-up link: the part after '#', which never reaches the server's logs. */
export function setupToken(hash: string): string {
  return hash.replace(/^#/, '').trim();
}

type Outcome = { state: 'form' } | { state: 'dead' } | { state: 'done'; admin: User };

/**
 * The first-run set-up page, opened from the link `bevis serve` prints
 * (/setup#TOKEN): the first agency and its admin, who then signs in as
 * anyone does. A link that is wrong, spent, expired or opened elsewhere
 * says so and what to do.
 */
export function SetupPage() {
  // Read once, then wiped from the address bar so it is not bookmarked or shared.
  const [token] = useState(() => setupToken(window.location.hash));
  useEffect(() => {
    if (window.location.hash !== '') window.history.replaceState(null, '', window.location.pathname);
  }, []);
  const status = useLoad(() => api.setupStatus(), []);
  const [outcome, setOutcome] = useState<Outcome>({ state: 'form' });
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (outcome.state !== 'form') heading.current?.focus();
  }, [outcome.state]);

  let body: preact.JSX.Element;
  let title = 'Set up Bevis';
  if (status.loading) {
    body = (
      <p class="loading" role="status">
        Loading…
      </p>
    );
  } else if (status.data?.needed === false && outcome.state !== 'done') {
    title = 'Bevis is set up';
    body = (
      <p>
        This Bevis already has an admin, so set-up links no longer work. <Link href="/">Sign in</Link> with the account
        your agency gave you.
      </p>
    );
  } else if (outcome.state === 'done') {
    title = 'Bevis is set up';
    body = (
      <>
        <p role="status">
          The agency and its admin <bdi>{outcome.admin.email}</bdi> are made, and the set-up link no longer works.
        </p>
        <p>
          <Link href="/">Sign in now</Link> with the email and password you chose.
        </p>
      </>
    );
  } else if (outcome.state === 'dead' || token === '') {
    title = 'This set-up link does not work';
    body = <DeadLink />;
  } else {
    body = (
      <>
        <ErrorAlert error={status.error} />
        <SetupForm token={token} onDone={(admin) => setOutcome({ state: 'done', admin })} onDead={() => setOutcome({ state: 'dead' })} />
      </>
    );
  }

  return (
    <section class="panel signin setup" aria-labelledby="setup-title">
      <h1 id="setup-title" ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {body}
    </section>
  );
}

function DeadLink() {
  return (
    <>
      <p>
        The link is wrong, was used already, is more than an hour old, or was opened at another address than the one it
        names.
      </p>
      <p>
        Restart <code>bevis serve</code>: while Bevis has no admin it prints a fresh link at every start. Or make the first
        admin from the command line with <code>bevis admin bootstrap</code>.
      </p>
    </>
  );
}

interface SetupFormProps {
  token: string;
  onDone: (admin: User) => void;
  onDead: () => void;
}

/** The first agency and its admin; field errors from the server are shown by their fields. */
function SetupForm({ token, onDone, onDead }: SetupFormProps) {
  const [code, setCode] = useState('');
  const [agencyName, setAgencyName] = useState('');
  const [kind, setKind] = useState<AgencyKind>('other');
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [localError, setLocalError] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemError | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setProblem(null);
    setLocalError('');
    if (password.length < MIN_PASSWORD) {
      setLocalError(`The password needs at least ${MIN_PASSWORD} characters.`);
      return;
    }
    if (password !== confirm) {
      setLocalError('The two passwords differ.');
      return;
    }
    setBusy(true);
    try {
      const admin = await api.completeSetup({
        token,
        agency: { code: code.trim().toUpperCase(), name: agencyName.trim(), kind },
        admin: { email: email.trim(), name: name.trim(), password },
      });
      onDone(admin);
    } catch (err) {
      const p = asProblem(err);
      if (p.status === 404) onDead();
      else setProblem(p);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} aria-busy={busy}>
      <p class="lede">
        Name the first agency and its admin. The admin then adds the other agencies and people from the Administration
        page.
      </p>
      <ErrorAlert error={problem} />
      <fieldset class="checks">
        <legend>The first agency</legend>
        <Field id="code" label="Agency code" hint="2 to 16 capital letters, digits or '-', like NCSC or KRIPOS." required maxLength={16} value={code} onInput={setCode} problem={problem} />
        <Field id="agency_name" label="Agency name" required maxLength={200} value={agencyName} onInput={setAgencyName} />
        <Select
          id="kind"
          label="Kind of agency"
          value={kind}
          onChange={(v) => setKind(v as AgencyKind)}
          options={AGENCY_KINDS.map((k) => ({ value: k, label: agencyKindLabel(k) }))}
          problem={problem}
        />
      </fieldset>
      <fieldset class="checks">
        <legend>Its admin: you</legend>
        <Field id="email" label="Email" type="email" autocomplete="username" required value={email} onInput={setEmail} problem={problem} />
        <Field id="admin_name" label="Your name" autocomplete="name" required maxLength={200} value={name} onInput={setName} />
        <Field
          id="password"
          label="Password"
          type="password"
          autocomplete="new-password"
          hint={`At least ${MIN_PASSWORD} characters, not a common password.`}
          minLength={MIN_PASSWORD}
          required
          value={password}
          onInput={setPassword}
          problem={problem}
        />
        <Field id="confirm_password" label="Password again" type="password" autocomplete="new-password" required value={confirm} onInput={setConfirm} />
        {localError && (
          <p class="field-error" role="alert">
            {localError}
          </p>
        )}
      </fieldset>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Setting up…' : 'Set up Bevis'}
      </button>
    </form>
  );
}
