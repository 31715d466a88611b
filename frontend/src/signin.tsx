import { useState } from 'preact/hooks';
import { login, type LoginRequest, ProblemError } from './api';

interface SignInProps {
  onSignedIn: () => void;
}

/** Joins the ids of the elements that describe an input, skipping absent ones. */
function describedBy(...ids: (string | false | undefined)[]): string | undefined {
  return ids.filter(Boolean).join(' ') || undefined;
}

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} class="field-error">
      {message}
    </p>
  );
}

/** The sign-in page: email, password and an optional one-time code. */
export function SignIn({ onSignedIn }: SignInProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemError | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setProblem(null);

    const credentials: LoginRequest = { email: email.trim(), password };
    const code = totp.replace(/\s+/g, '');
    if (code !== '') credentials.totp = code;

    try {
      await login(credentials);
      onSignedIn();
    } catch (err) {
      setProblem(
        err instanceof ProblemError
          ? err
          : new ProblemError({ type: 'about:blank', title: 'Sign-in failed unexpectedly.', status: 0 }),
      );
    } finally {
      setBusy(false);
    }
  }

  const emailError = problem?.fieldMessage('email');
  const passwordError = problem?.fieldMessage('password');
  const totpError = problem?.fieldMessage('totp');

  return (
    <section class="panel signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <p class="lede">Use the account your agency gave you.</p>

      {problem && (
        <div class="alert" role="alert">
          {problem.userMessage}
        </div>
      )}

      <form onSubmit={submit} aria-busy={busy}>
        <div class="field">
          <label for="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            autocomplete="username"
            spellcheck={false}
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            aria-invalid={emailError ? 'true' : undefined}
            aria-describedby={describedBy(emailError && 'email-error')}
          />
          <FieldError id="email-error" message={emailError} />
        </div>

        <div class="field">
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            aria-invalid={passwordError ? 'true' : undefined}
            aria-describedby={describedBy(passwordError && 'password-error')}
          />
          <FieldError id="password-error" message={passwordError} />
        </div>

        <div class="field">
          <label for="totp">
            One-time code <span class="optional">(optional)</span>
          </label>
          <p id="totp-hint" class="field-hint">
            The code from your authenticator app, if your account uses one.
          </p>
          <input
            id="totp"
            name="totp"
            type="text"
            inputMode="numeric"
            autocomplete="one-time-code"
            spellcheck={false}
            value={totp}
            onInput={(e) => setTotp(e.currentTarget.value)}
            aria-invalid={totpError ? 'true' : undefined}
            aria-describedby={describedBy('totp-hint', totpError && 'totp-error')}
          />
          <FieldError id="totp-error" message={totpError} />
        </div>

        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
