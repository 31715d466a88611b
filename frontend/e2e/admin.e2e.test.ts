// End-to-end: administration, audit and alerts on the demo investigation.
// The demo's admin adds two agencies and a person in each, and sets up and
// tests single sign-on for one, which the sign-in page then offers; its auditor
// browses the audit log, finds the admin's work (filtered by action on the
// server), verifies the chain and
// exports the log; its
// coordinator, who leads the breach case, reads the activity behind the
// demo's exfiltration alert, acknowledges it and approves it with a reason.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { BevisServer, freePort, launchBrowser, missingPrerequisites, openPage, runBevis, signIn, TempDirs, unexpected } from './bevis';
import { type FakeProvider, startFakeProvider } from './oidc';
import { visit } from './visit';

const missing = missingPrerequisites();

/** Each demo person's password, from what `bevis demo` printed. */
function passwords(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const row of out.matchAll(/^(\S+@\S+\.example)\s+(\S+)\s/gm)) m.set(row[1]!, row[2]!);
  return m;
}

describe.skipIf(missing.length > 0)('administration, audit and alerts in the browser', () => {
  const temp = new TempDirs();
  let server: BevisServer | undefined;
  let context: BrowserContext | undefined;
  let pw = new Map<string, string>();
  let provider: FakeProvider | undefined;

  beforeAll(async () => {
    const dataDir = temp.make('bevis-e2e-admin-data-');
    pw = passwords(await runBevis(['demo', '--data-dir', dataDir], 240_000));
    server = new BevisServer(await freePort(), dataDir);
    await server.waitReady();
    context = await launchBrowser(temp.make('bevis-e2e-admin-chromium-'));
    provider = await startFakeProvider();
  }, 300_000);

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      await server?.stop();
      await provider?.close();
      temp.removeAll();
    }
  });

  async function signedIn(email: string): Promise<{ page: Page; errors: string[] }> {
    const password = pw.get(email);
    if (password === undefined) throw new Error(`the demo printed no password for ${email}`);
    await context!.clearCookies(); // the previous person's refresh cookie would sign this page in as them
    const opened = await openPage(context!);
    await opened.page.goto(server!.baseURL, { waitUntil: 'load' });
    await signIn(opened.page, email, password);
    await opened.page.getByRole('navigation', { name: 'Main' }).waitFor();
    return opened;
  }

  async function go(page: Page, label: string, heading: string) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
    await page.getByRole('heading', { name: heading, exact: true, level: 1 }).waitFor();
  }

  it('lets the admin add two agencies and a person in each', async () => {
    const { page, errors } = await signedIn('kari@nccc.example');
    await go(page, 'Administration', 'Administration');
    for (const a of [
      { code: 'KRIPOS', name: 'Kripos', kind: 'police', person: { email: 'ola@kripos.example', name: 'Ola Etterforsker', role: 'member' } },
      { code: 'DSB', name: 'Directorate for Civil Protection', kind: 'ministry', person: { email: 'eva@dsb.example', name: 'Eva Direktør', role: 'agency_admin' } },
    ]) {
      await page.getByLabel('Code', { exact: true }).fill(a.code);
      await page.getByLabel('Name', { exact: true }).first().fill(a.name);
      await page.getByLabel('Kind', { exact: true }).selectOption(a.kind);
      await page.getByRole('button', { name: 'Add agency' }).click();
      await page.getByRole('status').filter({ hasText: `Agency ${a.code} added.` }).waitFor();
      await page.getByRole('rowheader', { name: a.code, exact: true }).waitFor();

      await page.locator('#person-agency').selectOption({ label: `${a.name} (${a.code})` });
      await page.getByLabel('Email', { exact: true }).fill(a.person.email);
      await page.locator('#person-name').fill(a.person.name);
      await page.getByLabel('Role in Bevis').selectOption(a.person.role);
      await page.getByRole('button', { name: 'Add person' }).click();
      await page.getByRole('status').filter({ hasText: 'can sign in once with' }).waitFor();
      await page.locator(`tr[data-email="${a.person.email}"]`).waitFor();
    }
    // The new person of Kripos can sign in with the one-time password shown.
    const oneTime = await page.locator('.made code').textContent();
    expect(oneTime).toMatch(/^\S{12,}$/);
    expect(await page.locator('tr[data-email="ola@kripos.example"]').textContent()).toContain('KRIPOS');

    // And the admin disables, then enables again, someone of the demo.
    const tore = page.locator('tr[data-email="tore@medit.example"]');
    await tore.getByRole('button', { name: /^Disable/ }).click();
    await tore.getByRole('button', { name: /^Enable/ }).waitFor();
    expect(await tore.textContent()).toContain('Disabled');
    await visit(page, 'admin');
    await tore.getByRole('button', { name: /^Enable/ }).click();
    await tore.getByRole('button', { name: /^Disable/ }).waitFor();
    expect(unexpected(errors)).toEqual([]);
    await page.close();
  });

  it('lets the admin test and turn on single sign-on for Kripos, which the sign-in page then offers', async () => {
    const { page, errors } = await signedIn('kari@nccc.example');
    await go(page, 'Administration', 'Administration');
    const form = page.getByRole('form', { name: 'Single sign-on of Kripos' });
    await page.locator('#sso-agency').selectOption({ label: 'Kripos (KRIPOS)' });
    await form.waitFor();
    await form.getByLabel('People of KRIPOS may sign in').check();
    await form.getByLabel('Issuer URL').fill(provider!.issuer);
    await form.getByLabel('Client ID').fill(provider!.clientId);
    await form.getByLabel('Client secret').fill('not-the-secret');

    // A wrong secret fails only the client check; nothing is saved.
    await form.getByRole('button', { name: 'Test the provider' }).click();
    await form.locator('.sso-checks li').nth(6).waitFor();
    const passed = () => form.locator('.sso-checks li').evaluateAll((li) => li.map((l) => `${l.getAttribute('data-check')}=${l.getAttribute('data-passed')}`));
    expect(await passed()).toEqual(['discovery=true', 'issuer=true', 'authorization_code=true', 'pkce=true', 'scopes=true', 'keys=true', 'client=false']);
    expect(await form.locator('[data-check="client"]').textContent()).toContain('refused the client ID or secret');

    await form.getByLabel('Client secret').fill(provider!.clientSecret);
    await form.getByRole('button', { name: 'Test the provider' }).click();
    await form.getByText('The provider passed every check.').waitFor();
    expect(await passed()).toEqual(['discovery=true', 'issuer=true', 'authorization_code=true', 'pkce=true', 'scopes=true', 'keys=true', 'client=true']);
    await visit(page, 'admin-sso-test');
    await form.getByRole('button', { name: 'Save single sign-on' }).click();
    await form.getByRole('status').filter({ hasText: 'Single sign-on of KRIPOS saved and on.' }).waitFor();
    expect(unexpected(errors)).toEqual([]);
    await page.close();

    // Signed out, the sign-in page offers Kripos's provider, and explains a refusal.
    await context!.clearCookies();
    const out = await openPage(context!);
    await out.page.goto(`${server!.baseURL}/?sso_error=account_refused`, { waitUntil: 'load' });
    const button = out.page.getByRole('link', { name: 'Sign in with Kripos' });
    await button.waitFor();
    expect(await out.page.getByRole('alert').textContent()).toContain('There is no active Bevis account for you in this agency');
    expect(new URL(out.page.url()).search).toBe('');
    await visit(out.page, 'signin-sso');
    await button.click();
    await out.page.getByRole('heading', { name: 'Agency sign-in' }).waitFor();
    const atProvider = new URL(out.page.url());
    expect(`${atProvider.origin}${atProvider.pathname}`).toBe(`${provider!.issuer}/authorize`);
    expect(atProvider.searchParams.get('code_challenge_method')).toBe('S256');
    expect(unexpected(out.errors)).toEqual([]);
    await out.page.close();
  });

  it('lets the auditor browse the audit log by person and action, verify the chain and export it', async () => {
    const { page, errors } = await signedIn('ingrid@nccc.example');
    await go(page, 'Audit log', 'Audit log');
    await page.locator('table.list tbody tr').first().waitFor();
    await page.getByLabel('Person', { exact: true }).selectOption({ label: 'Kari Nordmann <kari@nccc.example>' });
    await page.getByLabel('Action', { exact: true }).fill('agencies');
    // The server filters: the prefix goes out as the exact actions it stands for.
    const filtered = page.waitForRequest((r) => r.url().includes('/api/v1/audit?') && r.url().includes('action=agencies.post'));
    await page.getByRole('button', { name: 'Show' }).click();
    expect(new URL((await filtered).url()).searchParams.getAll('action').every((a) => a.startsWith('agencies.'))).toBe(true);
    await page.locator('tr[data-action="agencies.post"]').first().waitFor();
    const actions = await page.locator('table.list tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    expect(actions.length).toBeGreaterThanOrEqual(2);
    expect(actions.every((a) => a?.startsWith('agencies.'))).toBe(true);
    await visit(page, 'audit-filtered');
    await page.getByLabel('Action', { exact: true }).fill('no.such');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('alert').filter({ hasText: 'No action the log records' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.locator('table.list tbody tr').first().waitFor();
    await page.getByRole('button', { name: 'Verify the audit log' }).click();
    // The verdict, or the problem the server answered: either ends the wait
    // (a loaded machine may take a while to recompute every hash), and the
    // assertion then names what the page shows.
    const verify = page.locator('section', { has: page.locator('#audit-verify') });
    await verify.locator('h3').or(verify.getByRole('alert')).first().waitFor({ timeout: 40_000 });
    expect(await verify.innerText()).toContain('The audit log is intact');
    expect(Number(await page.locator('.verification dd').first().textContent())).toBeGreaterThan(100);
    await visit(page, 'audit');

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export the log' }).click();
    expect((await download).suggestedFilename()).toBe('bevis-audit.jsonl');
    expect(unexpected(errors)).toEqual([]);
    await page.close();
  });

  it('lets the lead of the case read the activity behind an alert, acknowledge it and approve it with a reason', async () => {
    const { page, errors } = await signedIn('marte@nccc.example');
    await go(page, 'Alerts', 'Alerts');
    const card = page.locator('article.alert-card[data-status="open"]').first();
    await card.waitFor();
    await card.getByText('Recent activity of the person').click();
    await card.locator('ol.activity li').first().waitFor();
    expect(await card.locator('ol.activity').textContent()).toContain('evidence');
    await visit(page, 'alerts');
    await card.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByRole('status').filter({ hasText: 'Acknowledged.' }).waitFor();
    const acknowledged = page.locator('article.alert-card[data-status="acknowledged"]').first();
    await acknowledged.getByRole('button', { name: 'Approve the activity' }).click();
    const reason = 'Imaging the file server for the police, agreed on the 09:00 call.';
    await acknowledged.getByLabel('Why was this activity expected?').fill(reason);
    await visit(page, 'alerts-approving');
    await acknowledged.getByRole('button', { name: 'Approve and lift the limit' }).click();
    const approved = page.locator('article.alert-card[data-status="approved"]').first();
    await approved.waitFor();
    expect(await approved.textContent()).toContain('Marte Haugen');
    expect(await approved.locator('.approval-reason').textContent()).toBe(reason);
    await visit(page, 'alerts-approved');
    expect(unexpected(errors)).toEqual([]);
    await page.close();
  });
});
