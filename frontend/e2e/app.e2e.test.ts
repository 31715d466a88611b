// End-to-end: the built SPA, embedded in a real bevis binary, in headless Chromium.
//
// Reads:
//   BEVIS_BIN      the bevis binary (default ../bin/bevis, relative to frontend/)
//   CHROMIUM_PATH  the Chromium executable (default /usr/bin/chromium)
//   CI             when "true", a missing binary or browser fails the run instead of skipping it
//
// The binary must have been built after `npm run build`, since it embeds frontend/dist.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BevisServer, failedFetch, freePort, launchBrowser, missingPrerequisites, openPage, runBevis, TempDirs, unexpected } from './bevis';
import { base32Decode, hotp, totp } from './totp';
import { visit } from './visit';

const readyTimeoutMs = 30_000;
const missing = missingPrerequisites();

/** Runs a bevis admin command against dataDir and returns what it printed. */
function bevisAdmin(dataDir: string, args: string[]): Promise<string> {
  return runBevis(['admin', ...args, '--data-dir', dataDir]);
}

async function expectSignInForm(page: Page): Promise<void> {
  const visible = { state: 'visible', timeout: 10_000 } as const;
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor(visible);
  await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor(visible);
  await page.getByLabel('Email', { exact: true }).waitFor(visible);
  await page.getByLabel('Password', { exact: true }).waitFor(visible);
  expect(await page.getByRole('banner').textContent()).toContain('Bevis');
}

/** The coordinator the workflow test signs in as; the name holds markup and a bidi override, to be shown as text. */
const coordinator = {
  email: 'coordinator@ncsc.example',
  name: 'Ola <b>Koordinator</b> \u202Eevil',
  oneTimePassword: '',
  secret: '',
  password: 'a coordinator passphrase of some length',
};

const admin = { email: 'admin@ncsc.example', password: 'an admin passphrase for e2e' };
const analyst = { email: 'analyst@cert.example', name: 'Siri Analytiker', password: 'an analyst passphrase for e2e' };

describe('the RFC 6238 implementation the tests sign in with', () => {
  it('matches the RFC 6238 SHA-1 test vectors', () => {
    const key = Buffer.from('12345678901234567890');
    // RFC 6238 appendix B: T = 59 s → 94287082; T = 1111111109 s → 07081804 (8 digits).
    expect(hotp(key, Math.floor(59 / 30), 8)).toBe('94287082');
    expect(hotp(key, Math.floor(1111111109 / 30), 8)).toBe('07081804');
    expect(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')).toEqual(key);
    expect(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59, 0, 8)).toBe('94287082');
  });
});

describe.skipIf(missing.length > 0)('the SPA served by bevis', () => {
  const temp = new TempDirs();
  let server: BevisServer | undefined;
  let context: BrowserContext | undefined;
  const tempDir = (prefix: string) => temp.make(prefix);

  beforeAll(async () => {
    const dataDir = tempDir('bevis-e2e-data-');
    // An admin for the coordination centre, and a coordinator with a one-time password (as an admin hands it out).
    const adminPassword = join(tempDir('bevis-e2e-secrets-'), 'admin-password');
    writeFileSync(adminPassword, `${admin.password}\n`, { mode: 0o600 });
    await bevisAdmin(dataDir, [
      'bootstrap',
      '--email', admin.email,
      '--name', 'Kari Nordmann',
      '--agency-code', 'NCSC',
      '--agency-name', 'National Cyber Coordination Centre',
      '--agency-kind', 'cert',
      '--password-file', adminPassword,
    ]);
    const out = await bevisAdmin(dataDir, [
      'create-user',
      '--email', coordinator.email,
      '--name', coordinator.name,
      '--agency-code', 'NCSC',
    ]);
    const oneTime = /one-time password[^:]*: (\S+)/.exec(out)?.[1];
    if (oneTime === undefined) throw new Error(`no one-time password in:\n${out}`);
    coordinator.oneTimePassword = oneTime;

    // An analyst in a CERT whose agency will require a second factor.
    await bevisAdmin(dataDir, ['create-agency', '--agency-code', 'CERT', '--agency-name', 'Sector CERT', '--agency-kind', 'cert']);
    const analystPassword = join(tempDir('bevis-e2e-secrets-'), 'analyst-password');
    writeFileSync(analystPassword, `${analyst.password}\n`, { mode: 0o600 });
    await bevisAdmin(dataDir, [
      'create-user',
      '--email', analyst.email,
      '--name', analyst.name,
      '--agency-code', 'CERT',
      '--password-file', analystPassword,
    ]);

    server = new BevisServer(await freePort(), dataDir);
    await server.waitReady(readyTimeoutMs);

    context = await launchBrowser(tempDir('bevis-e2e-chromium-'));
  });

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      await server?.stop();
      temp.removeAll();
    }
  });

  function url(path: string): string {
    if (server === undefined) throw new Error('bevis server not started');
    return server.baseURL + path;
  }

  function browser(): BrowserContext {
    if (context === undefined) throw new Error('Chromium not started');
    return context;
  }

  it('renders the sign-in page at / under the CSP, with no console errors', async () => {
    const { page, errors } = await openPage(browser());

    const res = await page.goto(url('/'), { waitUntil: 'load' });

    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expectSignInForm(page);
    await page.waitForLoadState('networkidle');
    await visit(page, 'signin');
    expect(unexpected(errors)).toEqual([]);
    await page.close();
  });

  it('serves the SPA for a deep link without a file extension', async () => {
    const { page, errors } = await openPage(browser());

    const res = await page.goto(url('/cases/123'), { waitUntil: 'load' });

    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toMatch(/^text\/html/);
    await expectSignInForm(page);
    await page.waitForLoadState('networkidle');
    expect(unexpected(errors)).toEqual([]);
    await page.close();
  });

  it('answers an unknown API path with a 404 problem document', async () => {
    const res = await fetch(url('/api/v1/nope'));

    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { status?: unknown; title?: unknown };
    expect(body.status).toBe(404);
    expect(typeof body.title).toBe('string');
  });

  it('shows the problem the server returns when sign-in fails', async () => {
    const { page, errors } = await openPage(browser());
    await page.goto(url('/'), { waitUntil: 'load' });
    await expectSignInForm(page);

    await page.getByLabel('Email', { exact: true }).fill(`nobody-${Date.now()}@example.invalid`);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    const [res] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/auth/login'),
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);

    expect(res.request().method()).toBe('POST');
    expect(res.status()).toBeGreaterThanOrEqual(400);
    expect(res.headers()['content-type']).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as { title?: string; detail?: string };
    const alert = page.getByRole('alert');
    await alert.waitFor({ state: 'visible', timeout: 10_000 });
    expect((await alert.textContent())?.trim()).toBe(problem.detail || problem.title);
    await visit(page, 'signin-refused');
    // Chromium logs every 4xx answer to fetch as a console error; only that one is expected here.
    expect(errors.filter((e) => !/Failed to load resource: .* status of 4\d\d/.test(e))).toEqual([]);
    await page.close();
  });

  describe('a coordinator at work', () => {
    const visible = { state: 'visible', timeout: 10_000 } as const;
    const caseTitle = `Breach at <img src=x> Helse Nord ${Date.now()}`;
    const taskTitle = 'Image the domain controllers';
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      ({ page, errors } = await openPage(browser()));
    });

    afterAll(async () => {
      await page?.close();
    });

    async function heading(name: string | RegExp) {
      await page.getByRole('heading', { level: 1, name }).waitFor(visible);
    }

    /** Opens a tab of the case page (each at its own URL). */
    async function tab(name: string) {
      await page.getByRole('navigation', { name: 'Parts of the case' }).getByRole('link', { name: new RegExp(`^${name}`) }).click();
    }

    async function signIn(password: string) {
      await expectSignInForm(page);
      await page.getByLabel('Email', { exact: true }).fill(coordinator.email);
      await page.getByLabel('Password', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    }

    it('signs in with the one-time password and replaces it', async () => {
      await page.goto(url('/'), { waitUntil: 'load' });
      await signIn(coordinator.oneTimePassword);

      await heading('Choose a new password');
      await visit(page, 'signin-new-password');
      await page.getByLabel('New password', { exact: true }).fill(coordinator.password);
      await page.getByLabel('New password again').fill(coordinator.password);
      await page.getByRole('button', { name: 'Continue' }).click();

      await heading('My work');
      await visit(page, 'mywork-empty');
      // The name is shown as text, markup and all.
      expect(await page.getByRole('banner').textContent()).toContain(coordinator.name);
      expect(await page.locator('b').count()).toBe(0);
    });

    it('opens a case from the case list', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cases' }).click();
      await heading('Cases');
      await visit(page, 'cases-empty');
      await page.getByLabel('Title', { exact: true }).fill(caseTitle);
      await page.getByLabel('TLP').selectOption('RED');
      await page.getByLabel('Classification label').fill('RESTRICTED');
      await page.getByRole('button', { name: 'Open case' }).click();

      await heading(caseTitle);
      expect(new URL(page.url()).pathname).toMatch(/^\/cases\/[0-9a-f-]{36}$/);
      // The tab is named after the case once it has loaded, not "Loading case…".
      await expect.poll(() => page.title()).toBe(`${await page.locator('.case-header .reference').textContent()}${caseTitle} · Bevis`);
      expect(await page.locator('.case-header .tlp').textContent()).toBe('TLP:RED');
      expect(await page.locator('.case-header .classification').textContent()).toBe('RESTRICTED');
      expect(await page.locator('main img').count()).toBe(0);
      // Focus moved to the new page's heading.
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
      // The creator leads the case, so the membership controls are there.
      await tab('Members');
      await page.getByRole('heading', { name: 'Members' }).waitFor(visible);
      await page.getByRole('button', { name: 'Add person' }).waitFor(visible);
      await visit(page, 'case-new');
    });

    it('gives a task on the case to the coordinator and ticks a step off', async () => {
      await tab('Tasks');
      await page.getByLabel('Task', { exact: true }).fill(taskTitle);
      await page.getByLabel('Priority').selectOption('high');
      await page.getByLabel('Checklist').fill('Photograph the rack\nHash the images');
      await page.getByRole('button', { name: 'Create task' }).click();

      await page.getByRole('status').filter({ hasText: `Task “${taskTitle}” created.` }).waitFor(visible);
      const toggle = page.getByRole('button', { name: taskTitle });
      await toggle.click();
      await page.getByRole('heading', { level: 3, name: taskTitle }).waitFor(visible);
      await page.getByRole('button', { name: 'Acknowledge' }).click();
      await page.getByRole('status').filter({ hasText: 'Task acknowledged.' }).waitFor(visible);
      await page.getByLabel('Photograph the rack').check();
      await page.getByRole('status').filter({ hasText: 'Step done.' }).waitFor(visible);
      expect(await page.getByLabel('Photograph the rack').isChecked()).toBe(true);
      await page.getByLabel('Status', { exact: true }).selectOption('in_progress');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('status').filter({ hasText: 'Task saved.' }).waitFor(visible);
      expect(await page.locator('.task-detail .badge.status-in_progress').textContent()).toBe('In progress');
      await visit(page, 'case-task-open');
    });

    it('comments on the case, and the comment is shown as text', async () => {
      await tab('Overview');
      const body = '<script>document.title="owned"</script> see \u202Etxt.exe';
      const comments = page.getByRole('region', { name: 'Comments' });
      await comments.getByLabel('Comment', { exact: true }).fill(body);
      await comments.getByRole('button', { name: 'Post comment' }).click();

      await comments.locator('.comment-body').filter({ hasText: 'see' }).waitFor(visible);
      expect(await comments.locator('.comment-body').textContent()).toBe(body);
      expect(await page.title()).not.toBe('owned');
    });

    it('edits the case, starts its GDPR clock, records it met, and moves the case on', async () => {
      // Two hours ago, as the datetime-local input takes it (local wall time, to the minute).
      const aware = new Date(Date.now() - 2 * 3_600_000);
      const pad = (n: number) => String(n).padStart(2, '0');
      const awareLocal = `${aware.getFullYear()}-${pad(aware.getMonth() + 1)}-${pad(aware.getDate())}T${pad(aware.getHours())}:${pad(aware.getMinutes())}`;

      const edit = page.locator('details.edit-case');
      await edit.locator('summary').click();
      await edit.getByLabel('Summary').fill('Patient records exfiltrated over weeks');
      await edit.getByLabel('Personal data breach (starts the GDPR clock)').check();
      await edit.getByLabel('Jurisdictions').fill('gdpr');
      await edit.getByLabel('Became aware at (the clocks run from here)').fill(awareLocal);
      // Meanwhile someone else changes the case through the API: the save is refused (412), the case reloaded.
      const caseId = new URL(page.url()).pathname.split('/').pop()!;
      const login = await fetch(url('/api/v1/auth/login'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: coordinator.email, password: coordinator.password }),
      });
      expect(login.status).toBe(200);
      const auth = { Authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` };
      const current = await fetch(url(`/api/v1/cases/${caseId}`), { headers: auth });
      const etag = current.headers.get('etag') ?? '';
      await current.arrayBuffer();
      const other = await fetch(url(`/api/v1/cases/${caseId}`), {
        method: 'PATCH',
        headers: { ...auth, 'Content-Type': 'application/json', 'If-Match': etag },
        body: JSON.stringify({ tags: ['changed-elsewhere'] }),
      });
      expect(other.status).toBe(200);
      await edit.getByRole('button', { name: 'Save case' }).click();
      await edit.getByRole('alert').filter({ hasText: 'Someone changed this case while you were editing.' }).waitFor(visible);
      // The other change is taken in, the typing is kept, and the form says what changed.
      expect(await edit.getByLabel('Tags').inputValue()).toBe('changed-elsewhere');
      expect(await edit.getByLabel('Summary').inputValue()).toBe('Patient records exfiltrated over weeks');
      expect(await edit.locator('.server-changes').textContent()).toContain('Tags: (empty) → changed-elsewhere');
      await page.locator('.case-header .tag', { hasText: 'changed-elsewhere' }).waitFor(visible);

      // Saved again on the new version, it goes through.
      await edit.getByLabel('Summary').fill('Patient records exfiltrated over weeks');
      await edit.getByLabel('Personal data breach (starts the GDPR clock)').check();
      await edit.getByLabel('Jurisdictions').fill('gdpr');
      await edit.getByLabel('Became aware at (the clocks run from here)').fill(awareLocal);
      await edit.getByRole('button', { name: 'Save case' }).click();
      await edit.getByRole('status').filter({ hasText: 'Case saved.' }).waitFor(visible);
      expect(await edit.getByRole('alert').count()).toBe(0);
      expect(await page.locator('.case-header .summary').textContent()).toBe('Patient records exfiltrated over weeks');

      const clocks = page.getByRole('region', { name: 'Regulatory clocks' });
      const gdpr = clocks.locator('tr[data-clock="gdpr.art33"]');
      await gdpr.waitFor(visible);
      expect(await gdpr.textContent()).toMatch(/due in 2 d 2[12] h/);
      await gdpr.getByRole('button', { name: /Record as met/ }).click();
      await gdpr.getByLabel('Notification reference').fill('DPA-2026-118');
      await gdpr.getByRole('button', { name: 'Record', exact: true }).click();
      await gdpr.getByText('DPA-2026-118').waitFor(visible);
      expect(await gdpr.textContent()).toContain(`by ${coordinator.name} (you)`);
      expect(await gdpr.locator('.badge').textContent()).toBe('met');

      const status = page.getByRole('region', { name: 'Case status' });
      const offered = await status.getByLabel('Move to').locator('option').allTextContents();
      expect(offered).toContain('Triage');
      await status.getByLabel('Move to').selectOption('triage');
      await status.getByLabel('Reason').fill('Scope confirmed by the CERT');
      await status.getByRole('button', { name: 'Move case' }).click();
      await status.getByRole('status').filter({ hasText: 'Case moved to Triage.' }).waitFor(visible);
      expect(await page.locator('.case-header .case-status-triage').textContent()).toBe('Triage');
      await status.locator('table.phases th[scope="row"]', { hasText: 'Triage' }).waitFor(visible);
      expect(await status.locator('table.phases').textContent()).toContain('Scope confirmed by the CERT');
      await visit(page, 'case-edited');
    });

    it('registers an evidence item, uploads it through tus, and records a check-out and check-in', async () => {
      const content = Buffer.from(`firewall log ${Date.now()}\n`.repeat(2000));
      const sha256 = createHash('sha256').update(content).digest('hex');
      const itemTitle = 'Firewall logs, edge-01';
      await tab('Evidence');

      const evidence = page.getByRole('region', { name: 'Evidence' });
      await evidence.locator('details.register summary').click();
      await evidence.getByLabel('Title', { exact: true }).fill(itemTitle);
      await evidence.getByLabel('Kind').selectOption('logs');
      await evidence.getByLabel('SHA-256', { exact: true }).fill(sha256);
      await evidence.getByLabel('Location').fill('Evidence locker 3');
      await evidence.getByRole('button', { name: 'Register item' }).click();
      await evidence.getByRole('status').filter({ hasText: itemTitle }).waitFor(visible);

      await evidence.getByRole('link', { name: itemTitle }).click();
      await heading(new RegExp(itemTitle));
      expect(new URL(page.url()).pathname).toMatch(/^\/evidence\/[0-9a-f-]{36}$/);

      const contentRegion = page.getByRole('region', { name: 'Content' });
      // Hold the first chunk until the upload is paused, so pause and resume are exercised on a real transfer.
      let release = () => {};
      const released = new Promise<void>((r) => {
        release = r;
      });
      let held = false;
      let heldSeen = () => {};
      const heldNow = new Promise<void>((r) => {
        heldSeen = r;
      });
      await page.route('**/api/v1/uploads/*', async (route) => {
        if (route.request().method() !== 'PATCH' || held) return route.continue();
        held = true;
        heldSeen();
        await released;
        await route.abort('failed').catch(() => {});
      });
      await contentRegion.getByLabel('File').setInputFiles({ name: 'edge-01.log', mimeType: 'text/plain', buffer: content });
      await contentRegion.getByRole('button', { name: 'Upload' }).click();
      await heldNow;
      await contentRegion.getByRole('button', { name: 'Pause' }).click();
      await contentRegion.getByText(/^Paused at: 0 B of 52\.7 KiB \(0%\)/).waitFor(visible);
      release();
      await contentRegion.getByRole('button', { name: 'Resume' }).click();
      await contentRegion.getByText('SHA-256: matches the declared hash').waitFor(visible);
      expect(await contentRegion.locator('code.hash[data-alg="sha256"]').textContent()).toBe(sha256);
      expect(await contentRegion.textContent()).toContain('52.7 KiB');
      expect(await contentRegion.locator('.size').getAttribute('title')).toBe(`${content.length} bytes`);

      const custody = page.getByRole('region', { name: 'Chain of custody' });
      await custody.getByLabel('Step').selectOption('checked_out');
      await custody.getByLabel('Purpose').fill('Timeline analysis');
      await custody.getByRole('button', { name: 'Record step' }).click();
      await custody.getByRole('status').filter({ hasText: 'Recorded: Checked out.' }).waitFor(visible);
      await custody.locator('.custody-state dd.checked-out').getByText(`${coordinator.name} (you)`).waitFor(visible);
      // Checked out, it can be checked in but not checked out again.
      const steps = await custody.getByLabel('Step').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      expect(steps).toContain('checked_in');
      expect(steps).not.toContain('checked_out');

      await custody.getByLabel('Step').selectOption('checked_in');
      await custody.getByLabel('Location').fill('Evidence locker 4');
      await custody.getByRole('button', { name: 'Record step' }).click();
      await custody.getByRole('status').filter({ hasText: 'Recorded: Checked in.' }).waitFor(visible);

      const chain = custody.locator('.custody-event .event-head strong');
      await custody.locator('.custody-event').nth(3).waitFor(visible);
      expect((await chain.allTextContents()).map((t) => t.replace(/^#\d+ /, ''))).toEqual([
        'Registered',
        'Received',
        'Checked out',
        'Checked in',
      ]);
      expect(await custody.locator('.custody-state').textContent()).toContain('Evidence locker 4');

      await contentRegion.getByRole('button', { name: 'Verify now' }).click();
      await contentRegion.getByRole('status').filter({ hasText: `Verified: ok. SHA-256 ${sha256}.` }).waitFor(visible);
      await custody.locator('.custody-event').nth(4).waitFor(visible);
      await visit(page, 'evidence-item');
      await page.getByRole('link', { name: "Back to the case's evidence" }).click();
      await heading(caseTitle);
    });

    it('refuses content that does not match its declared hash, saying why', async () => {
      await heading(caseTitle);
      const evidence = page.getByRole('region', { name: 'Evidence' });
      await evidence.locator('details.register summary').click();
      await evidence.getByLabel('Title', { exact: true }).fill('Memory image, dc-02');
      await evidence.getByLabel('Kind').selectOption('memory_dump');
      await evidence.getByLabel('SHA-256', { exact: true }).fill('0'.repeat(64));
      await evidence.getByRole('button', { name: 'Register item' }).click();
      await evidence.getByRole('link', { name: 'Memory image, dc-02' }).click();
      await heading(/Memory image, dc-02/);

      const contentRegion = page.getByRole('region', { name: 'Content' });
      const bytes = Buffer.from('not the declared bytes');
      const actual = createHash('sha256').update(bytes).digest('hex');
      await contentRegion.getByLabel('File').setInputFiles({ name: 'dc-02.mem', mimeType: 'application/octet-stream', buffer: bytes });
      await contentRegion.getByRole('button', { name: 'Upload' }).click();
      const alert = contentRegion.getByRole('alert');
      await alert.waitFor(visible);
      expect(await alert.textContent()).toBe(
        `The content's SHA-256 is ${actual}, not the ${'0'.repeat(64)} declared at registration. Nothing was kept; the rejection is on the item's custody record.`,
      );
      // A refusal is not retried: another file has to be chosen.
      expect(await contentRegion.getByRole('button', { name: 'Retry' }).count()).toBe(0);
      await page.getByRole('region', { name: 'Chain of custody' }).locator('.custody-event strong', { hasText: /Rejected/i }).waitFor(visible);
      await page.getByRole('link', { name: "Back to the case's evidence" }).click();
      await heading(caseTitle);
      await page.getByRole('region', { name: 'Evidence' }).getByRole('link', { name: 'Memory image, dc-02' }).waitFor(visible);
      await visit(page, 'case');
    });

    it('shows the task under My work', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My work' }).click();
      await heading('My work');
      const mine = page.getByRole('region', { name: 'My tasks' });
      await mine.getByRole('link', { name: taskTitle }).waitFor(visible);
      await mine.getByRole('cell', { name: caseTitle }).waitFor(visible);
      await visit(page, 'mywork');
    });

    it('enrols an authenticator app from the account page', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
      await heading('Account');
      await page.getByRole('button', { name: 'Set up two-step sign-in' }).click();
      await page.getByLabel('Your password').fill(coordinator.password);
      await page.getByRole('button', { name: 'Set up an authenticator app' }).click();

      await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor(visible);
      await visit(page, 'account-enrol');
      const secret = (await page.locator('code.secret').textContent())?.trim() ?? '';
      expect(secret).toMatch(/^[A-Z2-7]{16,}=*$/);
      coordinator.secret = secret;
      await page.getByLabel('Code from the app').fill(totp(secret));
      await page.getByRole('button', { name: 'Confirm' }).click();

      await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor(visible);
      expect(await page.locator('.codes li').count()).toBeGreaterThanOrEqual(8);
      const done = page.getByRole('button', { name: 'Done' });
      expect(await done.isDisabled()).toBe(true);
      await page.getByLabel('I have saved these codes').check();
      await done.click();
      await page.getByRole('status').filter({ hasText: 'Two-step sign-in is on.' }).waitFor(visible);
    });

    it('creates an API token, shows it once, and revokes it', async () => {
      await page.getByLabel('Name', { exact: true }).fill('timeline import');
      await page.getByLabel('case.write').check();
      await page.getByRole('button', { name: 'Create token' }).click();

      const secret = (await page.locator('.secret-once code.secret').textContent({ timeout: 10_000 }))?.trim() ?? '';
      expect(secret).toMatch(/^bvt_/);
      const asToken = await fetch(url('/api/v1/cases'), { headers: { Authorization: `Bearer ${secret}` } });
      expect(asToken.status).toBe(200);
      expect(((await asToken.json()) as { items: { title: string }[] }).items.map((c) => c.title)).toContain(caseTitle);

      await page.getByRole('button', { name: 'I have copied it' }).click();
      expect(await page.locator('.secret-once').count()).toBe(0);
      const row = page.getByRole('row').filter({ hasText: 'timeline import' });
      expect(await row.textContent()).toContain('case.write');
      await row.getByRole('button', { name: /^Revoke/ }).click();
      await page.getByRole('status').filter({ hasText: 'Token “timeline import” revoked.' }).waitFor(visible);
      await row.getByText('Revoked', { exact: true }).waitFor(visible);
      await visit(page, 'account');
      const revoked = await fetch(url('/api/v1/cases'), { headers: { Authorization: `Bearer ${secret}` } });
      expect(revoked.status).toBe(401);
    });

    it('shows times in the zone chosen on the account page, with UTC on hover', async () => {
      const expires = page.getByRole('row').filter({ hasText: 'timeline import' }).locator('time').first();
      const utc = await expires.getAttribute('title');
      expect(utc).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
      await page.getByLabel('Show times in').selectOption('Asia/Tokyo');
      await page.getByRole('button', { name: 'Save time zone' }).click();
      await page.getByRole('status').filter({ hasText: 'Times are shown in Asia/Tokyo.' }).waitFor(visible);
      await expect.poll(() => expires.textContent()).toMatch(/GMT\+9|JST/);
      expect(await expires.getAttribute('title')).toBe(utc);
      await visit(page, 'account-time-zone');
      // Back to the browser's zone for the rest of the story.
      await page.getByLabel('Show times in').selectOption('');
      await page.getByRole('button', { name: 'Save time zone' }).click();
      await page.getByRole('status').filter({ hasText: "Times are shown in your browser's zone" }).waitFor(visible);
    });

    it('signs out, and back in with a code from the authenticator', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(coordinator.password);

      await heading('Enter your one-time code');
      await visit(page, 'signin-code');
      // The code of the current step was spent on the enrolment; the next step's is within the allowed skew.
      await page.getByLabel('One-time code', { exact: true }).fill(totp(coordinator.secret, Date.now() / 1000, 1));
      await page.getByRole('button', { name: 'Continue' }).click();
      await heading('My work');

      // A reload keeps the session: the access token is in memory, the refresh cookie restores it.
      await page.reload({ waitUntil: 'load' });
      await heading('My work');
      await page.getByRole('region', { name: 'My tasks' }).getByRole('link', { name: taskTitle }).waitFor(visible);
    });

    it('logged no console errors beyond the answers that asked for a new password and a code, and the stale save', () => {
      expect(
        unexpected(
          errors,
          failedFetch(403, '/api/v1/auth/login'),
          failedFetch(401, '/api/v1/auth/login'),
          /^console: Failed to load resource: .* status of 412 .*\/api\/v1\/cases\/[0-9a-f-]{36}\)$/,
          /^console: Failed to load resource: .* status of 422 .*\/api\/v1\/uploads\/[0-9a-f-]{36}\)$/,
        ),
      ).toEqual([]);
    });
  });

  describe('an analyst whose agency requires a second factor', () => {
    it('is sent to enrolment at sign-in, and reaches My work once enrolled', async () => {
      // The admin sets require_mfa on the CERT through the API.
      const login = await fetch(url('/api/v1/auth/login'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(admin),
      });
      expect(login.status).toBe(200);
      const auth = { Authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}` };
      const agencies = (await (await fetch(url('/api/v1/agencies'), { headers: auth })).json()) as {
        items: { id: string; code: string }[];
      };
      const cert = agencies.items.find((a) => a.code === 'CERT');
      const patched = await fetch(url(`/api/v1/agencies/${cert?.id}`), {
        method: 'PATCH',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ require_mfa: true }),
      });
      expect(patched.status).toBe(200);

      await browser().clearCookies();
      const { page, errors } = await openPage(browser());
      const visible = { state: 'visible', timeout: 10_000 } as const;
      await page.goto(url('/cases'), { waitUntil: 'load' });
      await expectSignInForm(page);
      await page.getByLabel('Email', { exact: true }).fill(analyst.email);
      await page.getByLabel('Password', { exact: true }).fill(analyst.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();

      await page.getByRole('heading', { level: 1, name: 'Set up two-step sign-in' }).waitFor(visible);
      await visit(page, 'enrol-required');
      expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
      await page.getByLabel('Your password').fill(analyst.password);
      await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
      const secret = (await page.locator('code.secret').textContent({ timeout: 10_000 }))?.trim() ?? '';
      await page.getByLabel('Code from the app').fill(totp(secret));
      await page.getByRole('button', { name: 'Confirm' }).click();
      await page.getByLabel('I have saved these codes').check();
      await page.getByRole('button', { name: 'Done' }).click();

      // The URL asked for at the start is where the analyst lands.
      await page.getByRole('heading', { level: 1, name: 'Cases' }).waitFor(visible);
      await page.getByRole('navigation', { name: 'Main' }).waitFor(visible);
      await page.getByText('No cases yet.').waitFor(visible);
      await visit(page, 'cases-none-visible');
      await page.waitForLoadState('networkidle');
      expect(unexpected(errors)).toEqual([]);
      await page.close();
    });
  });
});
