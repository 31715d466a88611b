import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type TOTPEnrolment } from '../api';
import { QRCode } from './qr';
import { CopyButton, ErrorAlert, Field, useAction } from '../ui';

/** Recovery codes, shown once, with a step that makes the user confirm they kept them. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const [saved, setSaved] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <div class="recovery">
      <h2 id="recovery-title" ref={heading} tabIndex={-1}>
        Save your recovery codes
      </h2>
      <p>
        Each code signs you in once if you lose your authenticator. They are shown <strong>only now</strong>: copy
        them to your password manager or print them, and keep them safe.
      </p>
      <ul class="codes" aria-labelledby="recovery-title">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <CopyButton text={codes.join('\n')} label="Copy the codes" />
      <div class="check">
        <input id="codes-saved" type="checkbox" checked={saved} onChange={(e) => setSaved(e.currentTarget.checked)} />
        <label for="codes-saved">I have saved these codes</label>
      </div>
      <button type="button" class="primary" disabled={!saved} onClick={onDone}>
        Done
      </button>
    </div>
  );
}

/**
 * Enrols an authenticator app: start (with the password again), show the QR
 * code and the secret, confirm with a first code, then show the recovery
 * codes once.
 */
export function EnrolTOTP({ onDone }: { onDone: () => void }) {
  const [enrolment, setEnrolment] = useState<TOTPEnrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const start = useAction();
  const confirm = useAction();

  if (codes !== null) return <RecoveryCodes codes={codes} onDone={onDone} />;

  if (enrolment === null) {
    return (
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void start.run(async () => setEnrolment(await api.startTOTP(password)));
        }}
        aria-busy={start.busy}
      >
        <ErrorAlert error={start.problem} />
        <Field
          id="enrol-password"
          field="password"
          label="Your password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={setPassword}
          problem={start.problem}
        />
        <button type="submit" class="primary" disabled={start.busy}>
          Set up an authenticator app
        </button>
      </form>
    );
  }

  async function submit(e: Event) {
    e.preventDefault();
    await confirm.run(async () => {
      const r = await api.confirmTOTP(code.replace(/\s+/g, ''));
      setCodes(r.recovery_codes);
    });
  }

  return (
    <div class="enrol">
      <ol class="steps">
        <li>
          <p>Scan this code with your authenticator app (for example FreeOTP, Aegis or Google Authenticator).</p>
          <QRCode text={enrolment.otpauth_uri} label="QR code for your authenticator app" />
        </li>
        <li>
          <p id="secret-label">Or type this key into the app by hand:</p>
          <p>
            <code class="secret" aria-labelledby="secret-label">
              {enrolment.secret}
            </code>{' '}
            <CopyButton text={enrolment.secret} label="Copy the key" />
          </p>
        </li>
        <li>
          <form onSubmit={submit} aria-busy={confirm.busy}>
            <ErrorAlert error={confirm.problem} />
            <Field
              id="code"
              label="Code from the app"
              hint="Enter the six digits the app shows now."
              inputMode="numeric"
              autocomplete="one-time-code"
              required
              value={code}
              onInput={setCode}
              problem={confirm.problem}
            />
            <button type="submit" class="primary" disabled={confirm.busy}>
              Confirm
            </button>
          </form>
        </li>
      </ol>
    </div>
  );
}

/** The page a session lands on when the agency requires a second factor the user has not set up. */
export function EnrolmentPage({ onDone, onSignOut }: { onDone: () => void; onSignOut: () => void }) {
  return (
    <section class="panel wide" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        Set up two-step sign-in
      </h1>
      <p class="lede">
        Your agency requires a second factor. Until you set one up, Bevis can do nothing else for this session.
      </p>
      <EnrolTOTP onDone={onDone} />
      <p>
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      </p>
    </section>
  );
}
