import { useState } from 'preact/hooks';
import { api, type APIToken, TOKEN_SCOPES } from '../api';
import { EnrolTOTP, RecoveryCodes } from './mfa';
import { TimeZoneSetting } from './timezone';
import { CopyButton, describedBy, ErrorAlert, Field, humanize, Section, Status, Table, Time, useAction, useLoad } from '../ui';

function Profile() {
  const me = useLoad(() => api.me(), []);
  return (
    <Section title="Profile" id="profile">
      <ErrorAlert error={me.error} />
      {me.data && (
        <dl class="facts">
          <dt>Name</dt>
          <dd>{me.data.user.name}</dd>
          {me.data.user.title && (
            <>
              <dt>Title</dt>
              <dd>{me.data.user.title}</dd>
            </>
          )}
          <dt>Email</dt>
          <dd>{me.data.user.email}</dd>
          <dt>Agency</dt>
          <dd>
            {me.data.agency.name} ({me.data.agency.code})
          </dd>
          <dt>Role</dt>
          <dd>{humanize(me.data.user.system_role)}</dd>
          <dt>Cases</dt>
          <dd>{me.data.memberships.length}</dd>
        </dl>
      )}
      {me.data && <TimeZoneSetting user={me.data.user} />}
    </Section>
  );
}

/** Asks for the password before a change to the second factor. */
function PasswordConfirm({
  id,
  label,
  submit,
  onDone,
}: {
  id: string;
  label: string;
  submit: (password: string) => Promise<void>;
  onDone: () => void;
}) {
  const [password, setPassword] = useState('');
  const { busy, problem, run } = useAction();
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await run(() => submit(password))) {
          setPassword('');
          onDone();
        }
      }}
    >
      <ErrorAlert error={problem} />
      <Field
        id={id}
        field="password"
        label="Your password"
        type="password"
        autocomplete="current-password"
        required
        value={password}
        onInput={setPassword}
        problem={problem}
      />
      <button type="submit" class="secondary" disabled={busy}>
        {label}
      </button>
    </form>
  );
}

function SecondFactor() {
  const status = useLoad(() => api.mfaStatus(), []);
  const [mode, setMode] = useState<'idle' | 'enrol' | 'disable' | 'codes'>('idle');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [said, setSaid] = useState('');
  const s = status.data;

  function done(message: string) {
    setMode('idle');
    setSaid(message);
    status.reload();
  }

  return (
    <Section title="Two-step sign-in" id="mfa">
      <ErrorAlert error={status.error} />
      {said && <Status message={said} />}
      {s && (
        <p>
          {s.totp_enabled
            ? `An authenticator app is set up. ${s.recovery_codes_left} recovery codes left.`
            : 'No authenticator app is set up.'}
          {s.required_by_agency && ' Your agency requires one.'}
        </p>
      )}
      {codes !== null && (
        <RecoveryCodes
          codes={codes}
          onDone={() => {
            setCodes(null);
            done('New recovery codes saved.');
          }}
        />
      )}
      {s && codes === null && !s.totp_enabled && mode !== 'enrol' && (
        <button type="button" class="secondary" onClick={() => setMode('enrol')}>
          Set up two-step sign-in
        </button>
      )}
      {mode === 'enrol' && <EnrolTOTP onDone={() => done('Two-step sign-in is on.')} />}
      {s && codes === null && s.totp_enabled && mode === 'idle' && (
        <p class="actions">
          <button type="button" class="secondary" onClick={() => setMode('codes')}>
            New recovery codes
          </button>
          {!s.required_by_agency && (
            <button type="button" class="secondary danger" onClick={() => setMode('disable')}>
              Turn off two-step sign-in
            </button>
          )}
        </p>
      )}
      {mode === 'codes' && (
        <PasswordConfirm
          id="codes-password"
          label="Make new recovery codes"
          submit={async (pw) => setCodes((await api.newRecoveryCodes(pw)).recovery_codes)}
          onDone={() => setMode('idle')}
        />
      )}
      {mode === 'disable' && (
        <PasswordConfirm
          id="disable-password"
          label="Turn it off"
          submit={(pw) => api.disableMFA(pw)}
          onDone={() => done('Two-step sign-in is off.')}
        />
      )}
    </Section>
  );
}

function defaultExpiry(): string {
  const d = new Date(Date.now() + 90 * 24 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
}

function NewTokenForm({ onCreated }: { onCreated: (t: APIToken) => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['case.list', 'case.read']);
  const [caseIds, setCaseIds] = useState<string[]>([]);
  const [expires, setExpires] = useState(defaultExpiry);
  const { busy, problem, run } = useAction();
  const cases = useLoad(() => api.cases(), []);

  async function submit(e: Event) {
    e.preventDefault();
    // The end of the chosen day, in the user's time zone.
    const end = new Date(`${expires}T23:59:59`);
    const ok = await run(async () => {
      onCreated(
        await api.createToken({
          name: name.trim(),
          scopes,
          ...(caseIds.length > 0 ? { case_ids: caseIds } : {}),
          expires_at: Number.isNaN(end.getTime()) ? expires : end.toISOString(),
        }),
      );
    });
    if (ok) setName('');
  }

  const scopeError = problem?.fieldMessage('scopes');
  const casesError = problem?.fieldMessage('case_ids');
  return (
    <form onSubmit={submit} aria-busy={busy} class="form-grid">
      <ErrorAlert error={problem} />
      <Field id="token-name" field="name" label="Name" required maxLength={100} value={name} onInput={setName} problem={problem} />
      <fieldset class="checks" aria-describedby={describedBy(scopeError && 'scopes-error')}>
        <legend>What it may do</legend>
        {TOKEN_SCOPES.map((s) => (
          <div class="check" key={s}>
            <input
              type="checkbox"
              id={`scope-${s}`}
              checked={scopes.includes(s)}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                setScopes((list) => (on ? [...list, s] : list.filter((x) => x !== s)));
              }}
            />
            <label for={`scope-${s}`}>
              <code>{s}</code>
            </label>
          </div>
        ))}
        {scopeError && (
          <p id="scopes-error" class="field-error">
            {scopeError}
          </p>
        )}
      </fieldset>
      {cases.data && cases.data.items.length > 0 && (
        <fieldset class="checks" aria-describedby={describedBy('cases-hint', casesError && 'cases-error')}>
          <legend>Limit to cases</legend>
          <p id="cases-hint" class="field-hint">
            None ticked: every case you can see, now and later.
          </p>
          {cases.data.items.map((c) => (
            <div class="check" key={c.id}>
              <input
                type="checkbox"
                id={`token-case-${c.id}`}
                checked={caseIds.includes(c.id)}
                onChange={(e) => {
                  const on = e.currentTarget.checked;
                  setCaseIds((list) => (on ? [...list, c.id] : list.filter((x) => x !== c.id)));
                }}
              />
              <label for={`token-case-${c.id}`}>{c.reference ? `${c.reference} ${c.title}` : c.title}</label>
            </div>
          ))}
          {casesError && (
            <p id="cases-error" class="field-error">
              {casesError}
            </p>
          )}
        </fieldset>
      )}
      <Field
        id="token-expires"
        field="expires_at"
        label="Expires on"
        type="date"
        required
        hint="At most 366 days from today."
        value={expires}
        onInput={setExpires}
        problem={problem}
      />
      <button type="submit" class="primary" disabled={busy}>
        Create token
      </button>
    </form>
  );
}

function Tokens() {
  const list = useLoad(() => api.tokens(), []);
  const [created, setCreated] = useState<APIToken | null>(null);
  const revoke = useAction();
  const [said, setSaid] = useState('');
  return (
    <Section title="API tokens" id="tokens">
      <p>Tokens let scripts use the API as you, limited to what you choose. A token never does more than you can.</p>
      <ErrorAlert error={list.error} />
      <ErrorAlert error={revoke.problem} />
      {said && <Status message={said} />}
      {created?.token && (
        <div class="secret-once" role="status">
          <p>
            <strong>Copy the token “{created.name}” now.</strong> It is shown only this once.
          </p>
          <p>
            <code class="secret">{created.token}</code>
          </p>
          <CopyButton text={created.token} label="Copy the token" />{' '}
          <button type="button" class="secondary" onClick={() => setCreated(null)}>
            I have copied it
          </button>
        </div>
      )}
      {list.data && (
        <Table
          caption="Your API tokens"
          columns={[
            {
              title: 'Name',
              cell: (t) => (
                <>
                  {t.name}
                  {t.case_ids && t.case_ids.length > 0 && <span class="meta"> · {t.case_ids.length} case(s)</span>}
                </>
              ),
            },
            { title: 'Scopes', cell: (t) => t.scopes.join(', ') },
            { title: 'Expires', cell: (t) => <Time iso={t.expires_at} /> },
            {
              title: 'Last used',
              cell: (t) =>
                t.last_used_at ? (
                  <>
                    <Time iso={t.last_used_at} /> {t.last_used_ip && `from ${t.last_used_ip}`}
                  </>
                ) : (
                  'Never'
                ),
            },
            {
              title: 'Actions',
              hideTitle: true,
              cell: (t) =>
                t.revoked_at ? (
                  'Revoked'
                ) : new Date(t.expires_at).getTime() < Date.now() ? (
                  'Expired'
                ) : (
                  <button
                    type="button"
                    class="secondary danger"
                    disabled={revoke.busy}
                    onClick={async () => {
                      setSaid('');
                      if (await revoke.run(() => api.revokeToken(t.id))) {
                        setSaid(`Token “${t.name}” revoked.`);
                        list.reload();
                      }
                    }}
                  >
                    Revoke<span class="visually-hidden"> {t.name}</span>
                  </button>
                ),
            },
          ]}
          rows={list.data.items}
          rowKey={(t) => t.id}
          empty="You have no API tokens."
        />
      )}
      <h3>New token</h3>
      <NewTokenForm
        onCreated={(t) => {
          setCreated(t);
          list.reload();
        }}
      />
    </Section>
  );
}

/** The caller's account: profile, second factor and API tokens. */
export function AccountPage() {
  return (
    <div class="page">
      <h1 id="page-title" tabIndex={-1}>
        Account
      </h1>
      <Profile />
      <SecondFactor />
      <Tokens />
    </div>
  );
}
