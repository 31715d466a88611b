// End-to-end: the first ten minutes. A fresh `bevis serve` prints a one-time
// set-up link; the browser follows it, makes the first agency and admin,
// signs in, and a second set-up is refused. Then the demo: `bevis demo`
// builds its investigation in a new folder, and a demo person signs in and
// sees the breach case with its timeline, evidence and custody.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { BevisServer, freePort, launchBrowser, missingPrerequisites, openPage, runBevis, signIn, TempDirs, unexpected } from './bevis';
import { visit } from './visit';

const missing = missingPrerequisites();

const admin = { email: 'kari@ncsc.example', name: 'Kari Nordmann', password: 'the first admin passphrase' };

describe.skipIf(missing.length > 0)('first-run set-up and the demo in the browser', () => {
  const temp = new TempDirs();
  const servers: BevisServer[] = [];
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    context = await launchBrowser(temp.make('bevis-e2e-setup-chromium-'));
  });

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      for (const s of servers) await s.stop();
      temp.removeAll();
    }
  });

  async function serve(dataDir: string): Promise<BevisServer> {
    const server = new BevisServer(await freePort(), dataDir);
    servers.push(server);
    await server.waitReady();
    return server;
  }

  it('sets up a fresh Bevis from the link it prints, signs in, and refuses a second set-up', async () => {
    const server = await serve(temp.make('bevis-e2e-setup-data-'));
    const link = /(http:\/\/\S+\/setup#\S+)/.exec(server.printed())?.[1];
    if (link === undefined) throw new Error(`no set-up link printed\n${server.log()}`);
    expect(link.startsWith(`${server.baseURL}/setup#`)).toBe(true);
    const { page, errors } = await openPage(context!);

    // The sign-in page of an installation with no admin says where the link is.
    await page.goto(server.baseURL, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'This Bevis has no admin yet' }).waitFor();
    await visit(page, 'setup-signin-hint');

    await page.goto(link, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Set up Bevis' }).waitFor();
    await page.getByLabel('Agency code').waitFor();
    expect(new URL(page.url()).hash).toBe(''); // the token leaves the address bar
    await visit(page, 'setup-form');
    await page.getByLabel('Agency code').fill('NCSC');
    await page.getByLabel('Agency name').fill('National Cyber Coordination Centre');
    await page.getByLabel('Kind of agency').selectOption('cert');
    await page.getByLabel('Email', { exact: true }).fill(admin.email);
    await page.getByLabel('Your name').fill(admin.name);
    await page.getByLabel('Password', { exact: true }).fill(admin.password);
    await page.getByLabel('Password again').fill(admin.password);
    await page.getByRole('button', { name: 'Set up Bevis' }).click();
    await page.getByRole('heading', { name: 'Bevis is set up' }).waitFor();
    expect(await page.getByRole('status').first().textContent()).toContain(admin.email);
    await visit(page, 'setup-done');

    // Then the usual sign-in, with no hint left on the page.
    await page.getByRole('link', { name: 'Sign in now' }).click();
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
    expect(await page.getByText('This Bevis has no admin yet').count()).toBe(0);
    await signIn(page, admin.email, admin.password);
    await page.getByRole('heading', { name: 'My work' }).waitFor();
    expect(await page.locator('.whoami').textContent()).toContain(admin.name);

    // The same link again: the page says Bevis is set up, and the server refuses the token.
    await page.goto(link, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Bevis is set up' }).waitFor();
    expect(await page.getByRole('button', { name: 'Set up Bevis' }).count()).toBe(0);
    const token = link.slice(link.indexOf('#') + 1);
    const again = await fetch(`${server.baseURL}/api/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token,
        agency: { code: 'EVIL', name: 'Second set-up', kind: 'other' },
        admin: { email: 'evil@example.org', name: 'Mallory', password: 'another long passphrase' },
      }),
    });
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(unexpected(errors)).toEqual([]);
    await page.close();
  });

  it('shows the demo case with its timeline, evidence and custody to a person of the demo', async () => {
    const dataDir = temp.make('bevis-e2e-demo-data-');
    const out = await runBevis(['demo', '--data-dir', dataDir], 240_000);
    // The coordinator leads the breach case; the demo prints each person's password once.
    const row = /^(marte@nccc\.example)\s+(\S+)\s/m.exec(out);
    const reference = /case (BEV-\S+), "/.exec(out)?.[1];
    if (row === null || reference === undefined) throw new Error(`no coordinator or case in the demo's output:\n${out.slice(-3000)}`);
    const [, email, password] = row as unknown as [string, string, string];
    const server = await serve(dataDir);
    expect(server.printed()).not.toContain('/setup#'); // the demo has its admin

    // What the case holds, as the API tells the coordinator: the browser must show the same.
    const login = await fetch(`${server.baseURL}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    const auth = { authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` };
    const cases = (await (await fetch(`${server.baseURL}/api/v1/cases?limit=100`, { headers: auth })).json()) as {
      items: { id: string; reference: string; title: string }[];
    };
    const breach = cases.items.find((c) => c.reference === reference);
    if (breach === undefined) throw new Error(`case ${reference} not listed for the coordinator`);
    const timeline = (await (await fetch(`${server.baseURL}/api/v1/cases/${breach.id}/timeline?limit=500`, { headers: auth })).json()) as {
      items: unknown[];
      next_cursor: string | null;
    };
    // A full page, and more after it: the thousands of imported events.
    expect(timeline.items?.length).toBe(500);
    expect(timeline.next_cursor).toBeTruthy();
    const items = (await (await fetch(`${server.baseURL}/api/v1/cases/${breach.id}/evidence`, { headers: auth })).json()) as {
      items: { id: string; title: string }[];
    };
    expect(items.items.length).toBeGreaterThan(0);

    const { page, errors } = await openPage(context!);
    await page.goto(server.baseURL, { waitUntil: 'load' });
    await signIn(page, email, password);
    await page.getByRole('heading', { name: 'My work' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cases', exact: true }).click();
    await page.getByRole('link', { name: new RegExp(breach.title) }).first().click();
    await page.locator('h1', { hasText: reference }).waitFor();
    await visit(page, 'demo-case');
    const tabs = page.getByRole('navigation', { name: 'Parts of the case' });
    // The timeline tab: more events than one page holds, and the first of them listed.
    await tabs.locator('[data-tab-count="timeline"]').filter({ hasText: '+' }).waitFor();
    await tabs.getByRole('link', { name: /^Timeline/ }).click();
    await page.getByRole('region', { name: 'Events, oldest first' }).getByRole('listitem').first().waitFor();
    await visit(page, 'demo-timeline');
    await tabs.getByRole('link', { name: /^Evidence/ }).click();
    await page.getByRole('region', { name: 'Evidence' }).getByText(items.items[0]!.title, { exact: true }).first().waitFor();
    await visit(page, 'demo-evidence-list');

    await page.getByRole('link', { name: items.items[0]!.title, exact: true }).first().click();
    await page.locator('h1', { hasText: items.items[0]!.title }).waitFor();
    await page.getByRole('heading', { name: /custody/i }).first().waitFor();
    await visit(page, 'demo-evidence');
    expect(unexpected(errors)).toEqual([]);
    await page.close();
  }, 300_000);
});
