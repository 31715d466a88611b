// One agency's single sign-on (OpenID Connect) settings, for admins and
// that agency's admins. The client secret is write-only: left blank, the
// stored one stays.

import { useEffect, useState } from 'preact/hooks';
import { type Agency, api, type SSOConfig, type SSOSettings } from '../api';
import { CopyButton, ErrorAlert, Field, Section, Select, Status, useAction, useLoad } from '../ui';

function SSOForm({ agency, config, onSaved }: { agency: Agency; config: SSOConfig; onSaved: (c: SSOConfig) => void }) {
  const [enabled, setEnabled] = useState(config.enabled);
  const [issuer, setIssuer] = useState(config.issuer);
  const [clientId, setClientId] = useState(config.client_id);
  const [secret, setSecret] = useState('');
  const [scopes, setScopes] = useState((config.scopes ?? []).join(' '));
  const [provision, setProvision] = useState(config.provision_users);
  const [done, setDone] = useState('');
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    setDone('');
    await run(async () => {
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
      onSaved(await api.putSSO(agency.id, s));
      setSecret('');
      setDone(`Single sign-on of ${agency.code} saved${enabled ? ' and on' : ', off'}.`);
    });
  }

  return (
    <form class="form-grid" onSubmit={submit} aria-busy={busy} aria-label={`Single sign-on of ${agency.name}`}>
      <ErrorAlert error={problem} />
      <p>
        Register this address with the provider as the redirect URI: <code>{config.redirect_uri}</code>{' '}
        <CopyButton text={config.redirect_uri} label="Copy the redirect URI" />
      </p>
      <div class="field checkbox">
        <input id="sso-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
        <label for="sso-enabled">People of {agency.code} may sign in with their agency’s provider</label>
      </div>
      <Field id="sso-issuer" field="issuer" label="Issuer URL" hint="Exactly as in the provider's discovery document; https." required maxLength={500} value={issuer} onInput={setIssuer} problem={problem} />
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
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save single sign-on'}
      </button>
      {done && <Status message={done} />}
    </form>
  );
}

export function SSOSection({ agencies, fixed }: { agencies: Agency[]; fixed?: string | undefined }) {
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
      {agency && config.data && <SSOForm key={agency.id} agency={agency} config={config.data} onSaved={config.set} />}
    </Section>
  );
}
