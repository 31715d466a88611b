import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { asProblem, login, type LoginRequest, type ProblemError, type Session } from '../api';
import { ErrorAlert, Field } from '../ui';

interface SignInProps {
  onSignedIn: (session: Session) => void;
  /** Shown above the form on its first step: why the last way in failed (a refused single sign-on). */
  before?: ComponentChildren;
  /** Shown below the form while it asks for email and password (other ways in, set-up hints). */
  children?: ComponentChildren;
}

/** Which extra thing the server asked for; both can be asked for in turn. */
type Step = 'credentials' | 'code' | 'new-password';

const MIN_PASSWORD = 12;

function retryMessage(p: ProblemError): ProblemError | string {
  if (p.code !== 'rate_limited' || p.retryAfter === undefined) return p;
  const minutes = Math.ceil(p.retryAfter / 60);
  const wait = p.retryAfter < 90 ? `${p.retryAfter} seconds` : `${minutes} minutes`;
  return `${p.userMessage} Try again in ${wait}.`;
}

/**
 * The sign-in page: email and password, then, when the server asks, a code
 * from the authenticator (or a recovery code) and a new password in place of
 * a one-time one.
 */
export function SignIn({ onSignedIn, before, children }: SignInProps) {
  const [step, setStep] = useState<Step>('credentials');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [codeAsked, setCodeAsked] = useState(false);
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [newPasswordAsked, setNewPasswordAsked] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemError | null>(null);
  const [notice, setNotice] = useState('');
  const [localError, setLocalError] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);

  // Each new step is announced by moving focus to its heading.
  useEffect(() => {
    if (step !== 'credentials') heading.current?.focus();
  }, [step]);

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    setProblem(null);
    setNotice('');
    setLocalError('');
    if (step === 'new-password') {
      if (newPassword.length < MIN_PASSWORD) {
        setLocalError(`The new password needs at least ${MIN_PASSWORD} characters.`);
        return;
      }
      if (newPassword !== confirm) {
        setLocalError('The two new passwords differ.');
        return;
      }
    }

    const credentials: LoginRequest = { email: email.trim(), password };
    const totp = code.replace(/\s+/g, '');
    if (codeAsked && totp !== '') credentials.totp = totp;
    if (newPasswordAsked && newPassword !== '') credentials.new_password = newPassword;

    setBusy(true);
    try {
      onSignedIn(await login(credentials));
    } catch (err) {
      const p = asProblem(err);
      if (p.code === 'mfa_required' && step !== 'code' && !(codeAsked && totp !== '')) {
        setCodeAsked(true);
        setStep('code');
      } else if (p.code === 'password_change_required' && step !== 'new-password') {
        // The server has spent the code it just checked; the next try needs a fresh one.
        setCode('');
        setNewPasswordAsked(true);
        setStep('new-password');
      } else {
        const m = retryMessage(p);
        if (typeof m === 'string') setNotice(m);
        else setProblem(m);
        if (p.code === 'mfa_required' || p.code === 'invalid_totp') setCode('');
      }
    } finally {
      setBusy(false);
    }
  }

  function startOver() {
    setStep('credentials');
    setCode('');
    setCodeAsked(false);
    setNewPassword('');
    setConfirm('');
    setNewPasswordAsked(false);
    setProblem(null);
    setNotice('');
    setLocalError('');
  }

  const title =
    step === 'code' ? 'Enter your one-time code' : step === 'new-password' ? 'Choose a new password' : 'Sign in';
  const passwordError = localError ? 'new-password-local' : undefined;

  return (
    <section class="panel signin" aria-labelledby="signin-title">
      <h1 id="signin-title" ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {step === 'credentials' && <p class="lede">Use the account your agency gave you.</p>}
      {step === 'code' && (
        <p class="lede">
          Open your authenticator app and enter the six-digit code for Bevis. If you lost it, enter one of your
          recovery codes.
        </p>
      )}
      {step === 'new-password' && (
        <p class="lede">Your password was set for one use. Choose your own, of at least {MIN_PASSWORD} characters.</p>
      )}

      {step === 'credentials' && before}
      <ErrorAlert error={problem} />
      {notice && (
        <div class="alert" role="alert">
          {notice}
        </div>
      )}

      <form onSubmit={submit} aria-busy={busy}>
        {step === 'credentials' && (
          <>
            <Field
              id="email"
              label="Email"
              type="email"
              autocomplete="username"
              required
              value={email}
              onInput={setEmail}
              problem={problem}
            />
            <Field
              id="password"
              label="Password"
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={setPassword}
              problem={problem}
            />
          </>
        )}
        {(step === 'code' || (step === 'new-password' && codeAsked)) && (
          <Field
            id="totp"
            label="One-time code"
            hint={
              step === 'code'
                ? 'Six digits from the app, or a recovery code.'
                : 'A fresh code from the app: each code works only once.'
            }
            inputMode="numeric"
            autocomplete="one-time-code"
            required
            value={code}
            onInput={setCode}
            problem={problem}
          />
        )}
        {step === 'new-password' && (
          <>
            <Field
              id="new_password"
              label="New password"
              type="password"
              autocomplete="new-password"
              hint={`At least ${MIN_PASSWORD} characters, not a common password.`}
              minLength={MIN_PASSWORD}
              required
              value={newPassword}
              onInput={setNewPassword}
              problem={problem}
            />
            <Field
              id="confirm_password"
              label="New password again"
              type="password"
              autocomplete="new-password"
              required
              value={confirm}
              onInput={setConfirm}
            />
            {localError && (
              <p id={passwordError} class="field-error" role="alert">
                {localError}
              </p>
            )}
          </>
        )}

        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : step === 'credentials' ? 'Sign in' : 'Continue'}
        </button>
        {step !== 'credentials' && (
          <button type="button" class="link" onClick={startOver}>
            Start again
          </button>
        )}
      </form>
      {step === 'credentials' && children}
    </section>
  );
}
