import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { User } from '../api';
import { DirectoryProvider } from '../ui';
import { button, choose, cleanUp, fakeServer, me, problem, show, type } from '../testing';
import { AdminPage } from './adminpage';
import { oneTimePassword } from './people';
import { SSOSection } from './sso';
import { TemplatesSection } from './templates';

afterEach(cleanUp);

const admin: User = { ...me, system_role: 'admin' };
const agencyAdmin: User = { ...me, system_role: 'agency_admin' };
const ncsc = { id: 'a-ncsc', code: 'NCSC', name: 'Coordination Centre', kind: 'cert', require_mfa: false, created_at: '', updated_at: '' };
const ann: User = { ...me, id: 'u-ann', name: 'Ann Analyst', email: 'ann@ncsc.example' };

function showAs(who: User) {
  return show(
    <DirectoryProvider me={who}>
      <AdminPage />
    </DirectoryProvider>,
  );
}

async function submit(root: HTMLElement, title: string) {
  await act(async () => {
    button(root, title).closest('form')!.requestSubmit();
  });
}

describe('AdminPage', () => {
  it('lets an admin add an agency, sending only what the form asks for', async () => {
    const calls = fakeServer({
      'GET /api/v1/agencies': [() => Response.json({ items: [ncsc] })],
      'GET /api/v1/users': [() => Response.json({ items: [admin, ann] })],
      'POST /api/v1/agencies': [() => Response.json({ ...ncsc, id: 'a-kripos', code: 'KRIPOS', name: 'Kripos', kind: 'police' }, { status: 201 })],
    });
    const r = showAs(admin);
    await vi.waitFor(() => expect(r.querySelector('#agency-code')).not.toBeNull());

    type(r, '#agency-code', 'kripos');
    type(r, '#agency-name', ' Kripos ');
    choose(r, '#agency-kind', 'police');
    await submit(r, 'Add agency');

    expect(calls.find((c) => c.key === 'POST /api/v1/agencies')?.body).toEqual({ code: 'KRIPOS', name: 'Kripos', kind: 'police', require_mfa: false });
    await vi.waitFor(() => expect(r.textContent).toContain('Agency KRIPOS added.'));
  });

  it('shows the server’s refusal of a field beside it', async () => {
    fakeServer({
      'GET /api/v1/agencies': [() => Response.json({ items: [ncsc] })],
      'GET /api/v1/users': [() => Response.json({ items: [admin] })],
      'POST /api/v1/agencies': [problem(400, 'validation_failed', 'Invalid.', [{ field: 'code', message: 'must be 2 to 16 of A-Z' }])],
    });
    const r = showAs(admin);
    await vi.waitFor(() => expect(r.querySelector('#agency-code')).not.toBeNull());
    type(r, '#agency-code', 'x');
    type(r, '#agency-name', 'X');
    await submit(r, 'Add agency');
    await vi.waitFor(() => expect(r.querySelector('#agency-code-error')?.textContent).toBe('must be 2 to 16 of A-Z'));
  });

  it('adds a person with the one-time password shown, and shows it once made', async () => {
    const calls = fakeServer({
      'GET /api/v1/agencies': [() => Response.json({ items: [ncsc] })],
      'GET /api/v1/users': [() => Response.json({ items: [admin] })],
      'POST /api/v1/users': [() => Response.json({ ...ann, id: 'u-new', email: 'new@ncsc.example' }, { status: 201 })],
    });
    const r = showAs(admin);
    await vi.waitFor(() => expect(r.querySelector('#person-email')).not.toBeNull());
    const password = r.querySelector<HTMLInputElement>('#person-password')!.value;
    expect(password).toMatch(/^[A-Za-z2-9]{20}$/);

    type(r, '#person-email', 'new@ncsc.example');
    type(r, '#person-name', 'New Person');
    choose(r, '#person-role', 'auditor');
    await submit(r, 'Add person');

    expect(calls.find((c) => c.key === 'POST /api/v1/users')?.body).toEqual({
      agency_id: 'a-ncsc',
      email: 'new@ncsc.example',
      name: 'New Person',
      title: '',
      system_role: 'auditor',
      password,
    });
    await vi.waitFor(() => expect(r.querySelector('.made code')?.textContent).toBe(password));
  });

  it('offers an agency admin only the roles they may grant, in their own agency, and never their own row', async () => {
    fakeServer({
      'GET /api/v1/agencies': [() => Response.json({ items: [ncsc, { ...ncsc, id: 'a-other', code: 'OTHER' }] })],
      'GET /api/v1/users': [() => Response.json({ items: [agencyAdmin, ann] })],
    });
    const r = showAs(agencyAdmin);
    await vi.waitFor(() => expect(r.querySelector('#person-role')).not.toBeNull());
    const roles = [...r.querySelectorAll<HTMLOptionElement>('#person-role option')].map((o) => o.value);
    expect(roles).toEqual(['member', 'agency_admin']);
    expect(r.querySelector('#person-agency')).toBeNull();
    expect(r.querySelector('#agency-code')).toBeNull(); // agencies are the admin's
    expect([...r.querySelectorAll('th[scope="row"]')].map((t) => t.textContent)).toContain('NCSC');
    expect(r.textContent).not.toContain('OTHER');
    expect(r.querySelector(`#person-${agencyAdmin.id}-role`)).toBeNull();
  });

  it('disables a person and resets their second factor through the API', async () => {
    const calls = fakeServer({
      'GET /api/v1/agencies': [() => Response.json({ items: [ncsc] })],
      'GET /api/v1/users': [() => Response.json({ items: [admin, ann] })],
      'PATCH /api/v1/users/u-ann': [() => Response.json({ ...ann, status: 'disabled' })],
      'DELETE /api/v1/users/u-ann/mfa': [() => new Response(null, { status: 204 })],
    });
    const r = showAs(admin);
    await vi.waitFor(() => expect(r.querySelector('#person-u-ann-role')).not.toBeNull());
    const row = r.querySelector('#person-u-ann-role')!.closest('tr')!;
    await act(async () => {
      [...row.querySelectorAll('button')].find((b) => b.textContent?.startsWith('Disable'))!.click();
    });
    expect(calls.find((c) => c.key === 'PATCH /api/v1/users/u-ann')?.body).toEqual({ status: 'disabled' });
    await vi.waitFor(() => expect(row.textContent).toContain('is disabled'));
    const reset = () => [...r.querySelector('#person-u-ann-role')!.closest('tr')!.querySelectorAll('button')].find((b) => b.textContent?.startsWith('Reset second factor'))!;
    await vi.waitFor(() => expect(reset().disabled).toBe(false));
    await act(async () => reset().click());
    await vi.waitFor(() => expect(calls.some((c) => c.key === 'DELETE /api/v1/users/u-ann/mfa')).toBe(true));
  });

  it('makes one-time passwords that differ', () => {
    expect(oneTimePassword()).not.toBe(oneTimePassword());
  });
});

describe('TemplatesSection', () => {
  it('adds a template with its tags, clock sets and one task a line', async () => {
    const calls = fakeServer({
      'GET /api/v1/templates': [() => Response.json({ items: [] })],
      'POST /api/v1/templates': [() => Response.json({ id: 't1', name: 'Ransomware', created_by: 'u', created_at: '', updated_at: '' }, { status: 201 })],
    });
    const r = show(<TemplatesSection canEdit />);
    await vi.waitFor(() => expect(r.textContent).toContain('No templates yet.'));
    type(r, '#template-name', 'Ransomware');
    choose(r, '#template-severity', '4');
    choose(r, '#template-tlp', 'RED');
    type(r, '#template-tags', 'ransomware, , crypto ');
    type(r, '#template-jurisdictions', 'gdpr,nis2');
    type(r, '#template-tasks', 'Isolate hosts\n\n Image the servers ');
    await submit(r, 'Add template');
    expect(calls.find((c) => c.key === 'POST /api/v1/templates')?.body).toEqual({
      name: 'Ransomware',
      description: '',
      severity: 4,
      tlp: 'RED',
      tags: ['ransomware', 'crypto'],
      jurisdictions: ['gdpr', 'nis2'],
      tasks: [{ title: 'Isolate hosts' }, { title: 'Image the servers' }],
    });
    await vi.waitFor(() => expect(r.textContent).toContain('Template Ransomware added.'));
  });

  it('edits a template in place, keeping what the form does not show of the tasks it keeps', async () => {
    const stored = {
      id: 't1', name: 'Ransomware', description: 'Encrypted hosts', severity: 3, tlp: 'AMBER', tags: ['ransomware'],
      jurisdictions: ['gdpr'], created_by: 'u', created_at: '', updated_at: '',
      tasks: [{ title: 'Isolate hosts', priority: 'high', due_in_hours: 4, checklist: ['Pull the cable'] }, { title: 'Call the insurer' }],
    };
    const calls = fakeServer({
      'GET /api/v1/templates': [() => Response.json({ items: [stored] })],
      'PUT /api/v1/templates/t1': [() => Response.json({ ...stored, name: 'Ransomware, health' })],
    });
    const r = show(<TemplatesSection canEdit />);
    await vi.waitFor(() => expect(r.textContent).toContain('Ransomware'));
    const edit = [...r.querySelectorAll('button')].find((b) => b.textContent === 'Edit template Ransomware')!;
    await act(async () => edit.click());
    expect(r.querySelector('#template-form-title')?.textContent).toBe('Edit the template Ransomware');
    expect(r.querySelector<HTMLTextAreaElement>('#template-tasks')?.value).toBe('Isolate hosts\nCall the insurer');
    type(r, '#template-name', 'Ransomware, health');
    type(r, '#template-tasks', 'Isolate hosts\nImage the servers');
    await submit(r, 'Save template');
    expect(calls.find((c) => c.key === 'PUT /api/v1/templates/t1')?.body).toEqual({
      name: 'Ransomware, health',
      description: 'Encrypted hosts',
      severity: 3,
      tlp: 'AMBER',
      tags: ['ransomware'],
      jurisdictions: ['gdpr'],
      tasks: [{ title: 'Isolate hosts', priority: 'high', due_in_hours: 4, checklist: ['Pull the cable'] }, { title: 'Image the servers' }],
    });
    await vi.waitFor(() => expect(r.textContent).toContain('Template Ransomware, health saved.'));
    expect(calls.some((c) => c.key === 'POST /api/v1/templates')).toBe(false);
  });
});

describe('SSOSection', () => {
  const config = {
    agency_id: 'a-ncsc', configured: true, enabled: false, issuer: 'https://idp.example', client_id: 'bevis', client_secret_set: true,
    scopes: ['openid', 'email'], email_claim: 'email', name_claim: 'name', groups_claim: 'groups', provision_users: false,
    group_roles: { admins: 'agency_admin' }, redirect_uri: 'https://bevis.example/api/v1/auth/sso/callback',
  };

  it('saves the settings, keeping the stored secret when the field is left blank', async () => {
    const calls = fakeServer({
      'GET /api/v1/agencies/a-ncsc/sso': [() => Response.json(config)],
      'PUT /api/v1/agencies/a-ncsc/sso': [() => Response.json({ ...config, enabled: true })],
    });
    const r = show(<SSOSection agencies={[ncsc as never]} fixed="a-ncsc" canEdit />);
    await vi.waitFor(() => expect(r.querySelector<HTMLInputElement>('#sso-issuer')?.value).toBe('https://idp.example'));
    expect(r.textContent).toContain('https://bevis.example/api/v1/auth/sso/callback');
    act(() => r.querySelector<HTMLInputElement>('#sso-enabled')!.click());
    type(r, '#sso-scopes', 'openid  email profile');
    await submit(r, 'Save single sign-on');
    expect(calls.find((c) => c.key === 'PUT /api/v1/agencies/a-ncsc/sso')?.body).toEqual({
      enabled: true, issuer: 'https://idp.example', client_id: 'bevis', scopes: ['openid', 'email', 'profile'],
      email_claim: 'email', name_claim: 'name', groups_claim: 'groups', provision_users: false, group_roles: { admins: 'agency_admin' },
    });
    await vi.waitFor(() => expect(r.textContent).toContain('Single sign-on of NCSC saved and on.'));
  });

  it('tests the provider with the settings as typed, unsaved, and shows each check', async () => {
    const result = {
      issuer: 'https://idp.example/realms/x',
      passed: false,
      checks: [
        { name: 'discovery', passed: true, message: 'Read the discovery document at https://idp.example/realms/x/.well-known/openid-configuration.' },
        { name: 'issuer', passed: false, message: 'The provider names itself "https://idp.example/realms/y".' },
      ],
    };
    const calls = fakeServer({
      'GET /api/v1/agencies/a-ncsc/sso': [() => Response.json(config)],
      'POST /api/v1/agencies/a-ncsc/sso/test': [() => Response.json(result)],
    });
    const r = show(<SSOSection agencies={[ncsc as never]} fixed="a-ncsc" canEdit />);
    await vi.waitFor(() => expect(r.querySelector<HTMLInputElement>('#sso-issuer')?.value).toBe('https://idp.example'));
    type(r, '#sso-issuer', ' https://idp.example/realms/x ');
    type(r, '#sso-client-secret', 'typed-secret');
    await act(async () => button(r, 'Test the provider').click());
    await vi.waitFor(() => expect(r.querySelectorAll('.sso-checks li')).toHaveLength(2));
    expect(calls.find((c) => c.key === 'POST /api/v1/agencies/a-ncsc/sso/test')?.body).toEqual({
      enabled: false, issuer: 'https://idp.example/realms/x', client_id: 'bevis', client_secret: 'typed-secret', scopes: ['openid', 'email'],
      email_claim: 'email', name_claim: 'name', groups_claim: 'groups', provision_users: false, group_roles: { admins: 'agency_admin' },
    });
    expect(calls.some((c) => c.key === 'PUT /api/v1/agencies/a-ncsc/sso')).toBe(false);
    const [discovery, issuer] = [...r.querySelectorAll<HTMLElement>('.sso-checks li')];
    expect(discovery!.dataset.passed).toBe('true');
    expect(discovery!.textContent).toContain('Passed Discovery document: Read the discovery document');
    expect(issuer!.dataset.passed).toBe('false');
    expect(issuer!.textContent).toContain('Failed Issuer: The provider names itself');
    expect(r.textContent).toContain('The provider failed a check. Nothing was saved.');
  });

  it('shows a refused test as a problem, and no checks', async () => {
    fakeServer({
      'GET /api/v1/agencies/a-ncsc/sso': [() => Response.json(config)],
      'POST /api/v1/agencies/a-ncsc/sso/test': [
        problem(400, 'validation_failed', 'The settings are not valid.', [{ field: 'issuer', message: 'must be an https URL' }]),
      ],
    });
    const r = show(<SSOSection agencies={[ncsc as never]} fixed="a-ncsc" canEdit />);
    await vi.waitFor(() => expect(r.querySelector<HTMLInputElement>('#sso-issuer')?.value).toBe('https://idp.example'));
    await act(async () => button(r, 'Test the provider').click());
    await vi.waitFor(() => expect(r.textContent).toContain('must be an https URL'));
    expect(r.querySelector('.sso-checks')).toBeNull();
  });

  it('shows an agency admin the settings to read, with nothing to save or test', async () => {
    fakeServer({ 'GET /api/v1/agencies/a-ncsc/sso': [() => Response.json(config)] });
    const r = show(<SSOSection agencies={[ncsc as never]} fixed="a-ncsc" canEdit={false} />);
    await vi.waitFor(() => expect(r.querySelector<HTMLInputElement>('#sso-issuer')?.value).toBe('https://idp.example'));
    expect(r.querySelector('fieldset')?.disabled).toBe(true);
    expect([...r.querySelectorAll('button')].map((b) => b.textContent)).toEqual(['Copy the redirect URI']);
    expect(r.textContent).toContain('Only an admin changes or tests these settings');
  });
});
