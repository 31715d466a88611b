// One agency's single sign-on (OpenID Connect) settings: admins set and
// test them, that agency's admins read them. The client secret is
// write-only: left blank, the stored one stays.

import { useEffect, useState } from 'preact/hooks';
import { type Agency, api, type SSOConfig, type SSOSettings, type SSOTest } from '../api';
import { CopyButton, ErrorAlert, Field, Section, Select, Status, useAction, useLoad } from '../ui';

/** What each check of a provider test looked at, as the list of results names it. */
const CHECK_LABELS: Record<string, string> = {
  discovery: 'Discovery document',
  issuer: 'Issuer',
  authorization_code: 'Authorization code flow',
  pkce: 'PKCE',
  scopes: 'Scopes',
  keys: 'Signing keys',
  client: 'Client ID and secret',
};

/** The outcome of a provider test: one line per check, passed or failed, with what was found. */
export function SSOTestResult({ result }: { result: SSOTest }) {
  return (
    <div class="sso-test" role="status" aria-live="polite">
      <p>
        <strong>{result.passed ? 'The provider passed every check.' : 'The provider failed a check.'}</strong> Nothing was saved.
      </p>
      <ul class="sso-checks">
        {result.checks.map((c) => (
          <li key={c.name} data-check={c.name} data-passed={String(c.passed)}>
            <span class={`badge ${c.passed ? 'check-passed' : 'check-failed'}`}>{c.passed ? 'Passed' : 'Failed'}</span>{' '}
            <strong>{CHECK_LABELS[c.name] ?? c.name}</strong>: {c.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

function SSOForm({ agency, config, canEdit, onSaved }: { agency: Agency; config: SSOConfig; canEdit: boolean; onSaved: (c: SSOConfig) => void }) {
  const [enabled, setEnabled] = useState(config.enabled);
  const [issuer, setIssuer] = useState(config.issuer);
  const [clientId, setClientId] = useState(config.client_id);
  const [secret, setSecret] = useState('');
  const [scopes, setScopes] = useState((config.scopes ?? []).join(' '));
  const [provision, setProvision] = useState(config.provision_users);
  const [done, setDone] = useState('');
  const [tested, setTested] = useState<SSOTest | null>(null);
  const { busy, problem, run } = useAction();
  const [testing, setTesting] = useState(false);

  /** The settings as the form holds them now, saved or not. */
  function settings(): SSOSettings {
    const s: SSOSettings = {
      enabled,
      issuer: issuer.trim(),
      client_id: clientId.trim(),
      scopes: scopes.split(/\s+/).filter(Boolean),
      email_claim: config.email_claim,
      name_claim: config.name_claim,
      groups_claim: config.groups_claim,
      provision_users: provision,
      group_roles: config.group_roles,
    };
    if (secret !== '') s.client_secret = secret;
    return s;
  }

  async function submit(e: Event) {
    e.preventDefault();
    setDone('');
    setTested(null);
    await run(async () => {
      onSaved(await api.putSSO(agency.id, settings()));
      setSecret('');
      setDone(`Single sign-on of ${agency.code} saved${enabled ? ' and on' : ', off'}.`);
    });
  }

  async function test() {
    setDone('');
    setTested(null);
    setTesting(true);
    try {
      await run(async () => setTested(await api.testSSO(agency.id, settings())));
    } finally {
      setTesting(false);
    }
  }

  return (
    <form class="form-grid" onSubmit={submit} aria-busy={busy} aria-label={`Single sign-on of ${agency.name}`}>
      {!canEdit && <p>Only an admin changes or tests these settings; ask one when your provider changes.</p>}
      <ErrorAlert error={problem} />
      <p>
        Register this address with the provider as the redirect URI: <code>{config.redirect_uri}</code>{' '}
        <CopyButton text={config.redirect_uri} label="Copy the redirect URI" />
      </p>
      {/* An agency admin reads the settings; the browser keeps them from being edited where they cannot be saved. */}
      <fieldset class="plain" disabled={!canEdit}>
      <div class="field checkbox">
        <input id="sso-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
        <label for="sso-enabled">People of {agency.code} may sign in with their agency’s provider</label>
      </div>
      <Field id="sso-issuer" field="issuer" label="Issuer URL" hint="Exactly as in the provider's discovery document; https (plain http only on loopback, for a provider on this machine)." required maxLength={500} value={issuer} onInput={setIssuer} problem={problem} />
      <Field id="sso-client-id" field="client_id" label="Client ID" required maxLength={255} value={clientId} onInput={setClientId} problem={problem} />
      <Field
        id="sso-client-secret"
        field="client_secret"
        label="Client secret"
        type="password"
        autocomplete="off"
        hint={config.client_secret_set ? 'A secret is stored; leave blank to keep it.' : 'Required: none is stored yet.'}
        maxLength={1024}
        value={secret}
        onInput={setSecret}
        problem={problem}
      />
      <Field id="sso-scopes" field="scopes" label="Scopes" hint="Separated by spaces; must include openid." value={scopes} onInput={setScopes} problem={problem} />
      <div class="field checkbox">
        <input id="sso-provision" type="checkbox" checked={provision} onChange={(e) => setProvision(e.currentTarget.checked)} />
        <label for="sso-provision">Add people at their first sign-in</label>
      </div>
      </fieldset>
      {canEdit && (
        <div class="sso-actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy && !testing ? 'Saving…' : 'Save single sign-on'}
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={test}>
            {testing ? 'Testing the provider…' : 'Test the provider'}
          </button>
        </div>
      )}
      {done && <Status message={done} />}
      {tested && <SSOTestResult result={tested} />}
    </form>
  );
}

export function SSOSection({ agencies, fixed, canEdit }: { agencies: Agency[]; fixed?: string | undefined; canEdit: boolean }) {
  const [agencyId, setAgencyId] = useState(fixed ?? agencies[0]?.id ?? '');
  useEffect(() => {
    if (fixed !== undefined) setAgencyId(fixed);
  }, [fixed]);
  const config = useLoad(() => (agencyId ? api.ssoConfig(agencyId) : Promise.resolve(undefined)), [agencyId]);
  const agency = agencies.find((a) => a.id === agencyId);
  return (
    <Section title="Single sign-on" id="sso">
      {fixed === undefined && (
        <Select id="sso-agency" label="Agency" value={agencyId} onChange={setAgencyId} options={agencies.map((a) => ({ value: a.id, label: `${a.name} (${a.code})` }))} />
      )}
      <ErrorAlert error={config.error} />
      {agency && config.data && <SSOForm key={agency.id} agency={agency} config={config.data} canEdit={canEdit} onSaved={config.set} />}
    </Section>
  );
}
