// End-to-end: one multi-agency investigation, through the browser alone.
// An admin (the only person made with the CLI) adds a national CERT and the
// police, their people and an auditor, and a case template. The CERT's
// coordinator opens a case from the template and invites the police; the
// CERT's analyst imports a plaso timeline, uploads an evidence file and
// offers it to the police, whose analyst accepts it and downloads it past
// the (lowered) alert limit; the auditor finds the handover in the audit log,
// and the coordinator, who leads the case, acknowledges the alert.
//
// Everyone signs in in a browser context of their own, with the one-time
// password the admin's screen showed them. Every page shown goes through
// visit(): axe-core, no sideways scroll, screenshots at 1280 and 390 px.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BevisServer, failedFetch, freePort, launchChromium, missingPrerequisites, openPage, runBevis, signIn, TempDirs, unexpected } from './bevis';
import { visit } from './visit';

const missing = missingPrerequisites();
const visible = { state: 'visible', timeout: 10_000 } as const;

interface Person {
  email: string;
  name: string;
  agency: string; // the agency's code
  role: 'member' | 'auditor';
  oneTime: string; // shown once on the admin's screen
  password: string; // chosen at the first sign-in
}

const admin = { email: 'admin@ops.example', name: 'Kari Drift', password: 'the operations admin passphrase' };
const agencies = [
  { code: 'NCERT', name: 'National CERT', kind: 'cert' },
  { code: 'POLICE', name: 'National Criminal Police', kind: 'police' },
];
const person = (email: string, name: string, agency: string, role: Person['role'] = 'member'): Person => ({
  email,
  name,
  agency,
  role,
  oneTime: '',
  password: `${name.split(' ')[0]} chooses a long passphrase`,
});
const coordinator = person('coordinator@ncert.example', 'Ola Koordinator', 'NCERT');
const certAnalyst = person('analyst@ncert.example', 'Siri Analytiker', 'NCERT');
const policeAnalyst = person('analyst@police.example', 'Per Etterforsker', 'POLICE');
const auditor = person('auditor@ops.example', 'Ingrid Revisor', 'OPS', 'auditor');
const people = [coordinator, certAnalyst, policeAnalyst, auditor];

const template = { name: 'Health-sector breach', task: 'Image the domain controllers' };
const caseTitle = 'Patient records leaving Helse Nord';
const itemTitle = 'Firewall logs, edge-01';
const content = Buffer.from('2026-01-15T08:00:00Z fw01 ALLOW tcp 10.0.0.5:51000 -> 203.0.113.9:443 bytes=73400320\n'.repeat(100));
const sha256 = createHash('sha256').update(content).digest('hex');

/** A small plaso export (psort's JSON lines): three events on two hosts. */
function plasoExport(): Buffer {
  const rows = [
    { timestamp: 1768465800000000, timestamp_desc: 'Last Login Time', message: 'logon by svc-backup', hostname: 'hr-fs01', data_type: 'windows:evtx:record' },
    { timestamp: 1768469400000000, timestamp_desc: 'Creation Time', message: 'rdp session to dc-02', hostname: 'hr-ws12', data_type: 'windows:evtx:record' },
    { timestamp: 1768473000000000, timestamp_desc: 'Creation Time', message: 'archive staged in C:\\Temp\\p.7z', hostname: 'hr-ws12', data_type: 'fs:stat' },
  ];
  return Buffer.from(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
}

describe.skipIf(missing.length > 0)('one investigation across two agencies, in the browser', () => {
  const temp = new TempDirs();
  let server: BevisServer | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const errors = new Map<string, string[]>();
  let caseURL = '';
  let itemURL = '';

  beforeAll(async () => {
    const dataDir = temp.make('bevis-e2e-story-data-');
    const secret = join(temp.make('bevis-e2e-story-secrets-'), 'admin');
    writeFileSync(secret, `${admin.password}\n`, { mode: 0o600 });
    // prettier-ignore
    await runBevis(['admin', 'bootstrap', '--data-dir', dataDir, '--email', admin.email, '--name', admin.name,
      '--agency-code', 'OPS', '--agency-name', 'Bevis operations', '--agency-kind', 'other', '--password-file', secret]);
    // One download of the evidence file (10 KiB) is past this limit, so it raises an alert.
    server = new BevisServer(await freePort(), dataDir, { BEVIS_ALERT_MAX_BYTES: '4KiB' });
    await server.waitReady();
    browser = await launchChromium();
  });

  afterAll(async () => {
    try {
      for (const c of contexts) await c.close();
      await browser?.close();
    } finally {
      await server?.stop();
      temp.removeAll();
    }
  });

  /** A fresh browser context for one person, on the sign-in page. */
  async function freshPage(who: string): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    contexts.push(context);
    const opened = await openPage(context);
    errors.set(who, opened.errors);
    await opened.page.goto(server!.baseURL, { waitUntil: 'load' });
    return opened.page;
  }

  /** visit() for a page everyone passes through (sign-in, the first password), the first time it is shown. */
  const seen = new Set<string>();
  async function visitOnce(page: Page, name: string): Promise<void> {
    if (seen.has(name)) return;
    seen.add(name);
    await visit(page, name);
  }

  /** Signs p in for the first time with the one-time password and chooses their own. */
  async function firstSignIn(p: Person): Promise<Page> {
    const page = await freshPage(p.email);
    await page.getByRole('heading', { level: 1, name: 'Sign in', exact: true }).waitFor(visible);
    await visitOnce(page, 'story-signin');
    await signIn(page, p.email, p.oneTime);
    await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor(visible);
    await visitOnce(page, 'story-new-password');
    await page.getByLabel('New password', { exact: true }).fill(p.password);
    await page.getByLabel('New password again').fill(p.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    // Auditors, who have no case work, land on the audit log; everyone else on their work.
    const landing = p.role === 'auditor' ? 'Audit log' : 'My work';
    await page.getByRole('heading', { level: 1, name: landing, exact: true }).waitFor(visible);
    await page.waitForLoadState('networkidle');
    await visit(page, `story-${p.role === 'auditor' ? 'audit-landing' : 'mywork'}-${p.email.replace(/[@.]/g, '-')}`);
    return page;
  }

  async function go(page: Page, link: string, heading: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor(visible);
  }

  async function tab(page: Page, name: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Parts of the case' }).getByRole('link', { name: new RegExp(`^${name}`) }).click();
  }

  /** Finds the case in the case list and opens it; who names the screenshots. */
  async function openCase(page: Page, who: string): Promise<void> {
    await go(page, 'Cases', 'Cases');
    await page.getByRole('link', { name: new RegExp(caseTitle) }).first().waitFor(visible);
    await visit(page, `story-cases-${who}`);
    await page.getByRole('link', { name: new RegExp(caseTitle) }).first().click();
    await page.getByRole('heading', { level: 1, name: new RegExp(caseTitle) }).waitFor(visible);
    await visit(page, `story-case-${who}`);
  }

  it('the admin adds two agencies, their people, an auditor and a case template', async () => {
    const page = await freshPage(admin.email);
    await signIn(page, admin.email, admin.password);
    await page.getByRole('heading', { level: 1, name: 'My work' }).waitFor(visible);
    await go(page, 'Administration', 'Administration');
    await visit(page, 'story-admin-empty');
    for (const a of agencies) {
      await page.getByLabel('Code', { exact: true }).fill(a.code);
      await page.getByLabel('Name', { exact: true }).first().fill(a.name);
      await page.getByLabel('Kind', { exact: true }).selectOption(a.kind);
      await page.getByRole('button', { name: 'Add agency' }).click();
      await page.getByRole('status').filter({ hasText: `Agency ${a.code} added.` }).waitFor(visible);
      await page.getByRole('rowheader', { name: a.code, exact: true }).waitFor(visible);
    }
    for (const p of people) {
      const agency = p.agency === 'OPS' ? 'Bevis operations' : agencies.find((a) => a.code === p.agency)!.name;
      await page.locator('#person-agency').selectOption({ label: `${agency} (${p.agency})` });
      await page.getByLabel('Email', { exact: true }).fill(p.email);
      await page.locator('#person-name').fill(p.name);
      await page.getByLabel('Role in Bevis').selectOption(p.role);
      await page.getByRole('button', { name: 'Add person' }).click();
      const made = page.locator('.made').filter({ hasText: p.email });
      await made.waitFor(visible);
      p.oneTime = ((await made.locator('code').textContent()) ?? '').trim();
      expect(p.oneTime).toMatch(/^\S{12,}$/);
      await page.locator(`tr[data-email="${p.email}"]`).waitFor(visible);
    }
    expect(await page.locator(`tr[data-email="${auditor.email}"]`).textContent()).toContain('Auditor');

    const templates = page.getByRole('region', { name: 'Case templates' });
    await templates.getByLabel('Name', { exact: true }).fill(template.name);
    await templates.getByLabel('Severity').selectOption('4');
    await templates.getByLabel('Clock sets').fill('gdpr, nis2');
    await templates.getByLabel('Tasks').fill(`${template.task}\nNotify the data protection authority`);
    await templates.getByRole('button', { name: 'Add template' }).click();
    await templates.getByRole('status').filter({ hasText: `Template ${template.name} added.` }).waitFor(visible);
    await templates.getByRole('rowheader', { name: template.name }).waitFor(visible);
    await visit(page, 'story-admin');
  });

  it('the coordinator opens a case from the template and invites the police', async () => {
    const page = await firstSignIn(coordinator);
    await go(page, 'Cases', 'Cases');
    await page.getByLabel('Template').selectOption({ label: template.name });
    await page.getByLabel('Title', { exact: true }).fill(caseTitle);
    await visit(page, 'story-case-new');
    await page.getByRole('button', { name: 'Open case' }).click();
    await page.getByRole('heading', { level: 1, name: new RegExp(caseTitle) }).waitFor(visible);
    caseURL = new URL(page.url()).pathname;
    expect(caseURL).toMatch(/^\/cases\/[0-9a-f-]{36}$/);
    await visit(page, 'story-case');

    // The template's tasks came with the case, given to the coordinator's agency.
    await tab(page, 'Tasks');
    await page.getByRole('button', { name: template.task }).waitFor(visible);
    await visit(page, 'story-case-tasks');

    await tab(page, 'Members');
    await page.getByLabel('Add an agency').selectOption({ label: 'National Criminal Police (POLICE)' });
    await page.getByLabel('Role', { exact: true }).first().selectOption('analyst');
    await page.getByRole('button', { name: 'Add agency' }).click();
    await page.getByRole('status').filter({ hasText: 'Agency added.' }).waitFor(visible);
    const members = page.getByRole('region', { name: 'Members' });
    await members.getByText('National Criminal Police', { exact: false }).first().waitFor(visible);
    await visit(page, 'story-case-members');
  });

  it("the CERT's analyst imports a plaso timeline, uploads evidence and offers it to the police", async () => {
    const page = await firstSignIn(certAnalyst);
    await openCase(page, 'cert-analyst');

    await tab(page, 'Timeline');
    const plaso = page.getByRole('region', { name: 'Import a plaso timeline' });
    await plaso.getByLabel('Plaso export').setInputFiles({ name: 'hr-hosts.jsonl', mimeType: 'application/x-ndjson', buffer: plasoExport() });
    await plaso.getByRole('button', { name: 'Import' }).click();
    await plaso.getByRole('status').filter({ hasText: 'Imported 3 of 3 rows' }).waitFor(visible);
    await page.locator('.event-count', { hasText: /^3 events/ }).waitFor(visible);
    // The tab's count follows the import at once, with no change of tab or reload.
    await page.locator('[data-tab-count="timeline"]', { hasText: '(3)' }).waitFor(visible);
    await visit(page, 'story-timeline');

    await tab(page, 'Evidence');
    const evidence = page.getByRole('region', { name: 'Evidence' });
    await evidence.locator('details.register summary').click();
    await evidence.getByLabel('Title', { exact: true }).fill(itemTitle);
    await evidence.getByLabel('Kind').selectOption('logs');
    await evidence.getByLabel('SHA-256', { exact: true }).fill(sha256);
    await evidence.getByLabel('Location').fill('CERT evidence locker 2');
    await visit(page, 'story-evidence-register');
    await evidence.getByRole('button', { name: 'Register item' }).click();
    await evidence.getByRole('status').filter({ hasText: itemTitle }).waitFor(visible);
    await evidence.getByRole('link', { name: itemTitle }).click();
    await page.getByRole('heading', { level: 1, name: new RegExp(itemTitle) }).waitFor(visible);
    itemURL = new URL(page.url()).pathname;

    const contentRegion = page.getByRole('region', { name: 'Content' });
    await contentRegion.getByLabel('File').setInputFiles({ name: 'edge-01.log', mimeType: 'text/plain', buffer: content });
    await contentRegion.getByRole('button', { name: 'Upload' }).click();
    await contentRegion.getByText('SHA-256: matches the declared hash').waitFor(visible);
    await visit(page, 'story-evidence-uploaded');

    const custody = page.getByRole('region', { name: 'Chain of custody' });
    await custody.getByLabel('Step').selectOption('transfer_offered');
    await custody.getByLabel('Offer to agency').selectOption({ label: 'National Criminal Police (POLICE)' });
    await custody.getByLabel('Purpose').fill('Criminal investigation of the exfiltration');
    await visit(page, 'story-handover-offer');
    await custody.getByRole('button', { name: 'Record step' }).click();
    await custody.getByRole('status').filter({ hasText: 'Recorded: Transfer offered.' }).waitFor(visible);
    await visit(page, 'story-handover-offered');
  });

  it("the police's analyst accepts the item and downloads it", async () => {
    const page = await firstSignIn(policeAnalyst);
    await openCase(page, 'police-analyst');
    await tab(page, 'Evidence');
    await page.getByRole('region', { name: 'Evidence' }).getByRole('link', { name: itemTitle }).waitFor(visible);
    await visit(page, 'story-evidence-police');
    await page.getByRole('region', { name: 'Evidence' }).getByRole('link', { name: itemTitle }).click();
    await page.getByRole('heading', { level: 1, name: new RegExp(itemTitle) }).waitFor(visible);
    expect(new URL(page.url()).pathname).toBe(itemURL);

    const custody = page.getByRole('region', { name: 'Chain of custody' });
    await custody.getByLabel('Step').selectOption('transfer_accepted');
    await custody.getByLabel('Location').fill('Police evidence room, Oslo');
    await visit(page, 'story-handover-accept');
    await custody.getByRole('button', { name: 'Record step' }).click();
    await custody.getByRole('status').filter({ hasText: 'Recorded: Transfer accepted.' }).waitFor(visible);
    // The state shown follows once the chain is read again.
    await custody.locator('.custody-state').getByText('Police evidence room, Oslo').waitFor(visible);
    expect(await custody.locator('.custody-state').textContent()).toContain('National Criminal Police (POLICE)');

    const download = page.waitForEvent('download');
    await page.getByRole('region', { name: 'Content' }).getByRole('button', { name: 'Download', exact: true }).click();
    expect(readFileSync(await (await download).path()).equals(content)).toBe(true);
    await visit(page, 'story-handover-accepted');
  });

  it('the auditor finds the handover, offer and acceptance, in the audit log', async () => {
    const page = await firstSignIn(auditor);
    await go(page, 'Audit log', 'Audit log');
    await page.getByLabel('Action', { exact: true }).fill('evidence.custody');
    await page.getByRole('button', { name: 'Show' }).click();
    const rows = page.locator('tr[data-action="evidence.custody.post"]');
    await rows.nth(1).waitFor(visible);
    const text = await rows.allTextContents();
    // Newest first: the police's acceptance, then the CERT's offer, both about the item.
    const itemId = itemURL.split('/').pop()!;
    expect(text).toHaveLength(2);
    expect(text[0]).toContain(`${policeAnalyst.name} (National Criminal Police)`);
    expect(text[0]).toContain('evidence.custody.post Transfer accepted');
    expect(text[1]).toContain(`${certAnalyst.name} (National CERT)`);
    expect(text[1]).toContain('evidence.custody.post Transfer offered to National Criminal Police (POLICE)');
    for (const t of text) expect(t).toContain(itemId);
    await visit(page, 'story-audit');
  });

  it("the auditor follows an entry about the item to the item's access log and its custody steps", async () => {
    const page = await freshPage(`${auditor.email} for the access log`);
    await signIn(page, auditor.email, auditor.password);
    await page.getByRole('heading', { level: 1, name: 'Audit log', exact: true }).waitFor(visible);
    await page.getByLabel('Action', { exact: true }).fill('evidence.custody');
    await page.getByRole('button', { name: 'Show' }).click();
    const rows = page.locator('tr[data-action="evidence.custody.post"]');
    await rows.nth(1).waitFor(visible);
    const itemId = itemURL.split('/').pop()!;

    // From an entry about the item, to the item's access log: an auditor reads the record, not the item.
    await rows.first().getByRole('link', { name: /access log and custody steps/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Access log', exact: true }).waitFor(visible);
    expect(new URL(page.url()).pathname).toBe(`${itemURL}/access`);
    await page.locator('.custody-note').getByText('chain of custody are case content').waitFor(visible);
    const access = page.locator('.access-log tbody tr');
    await access.first().waitFor(visible);
    const download = page.locator('.access-log tr[data-action="evidence.download"]').first();
    expect(await download.textContent()).toContain(`${policeAnalyst.name} (National Criminal Police)`);
    await visit(page, 'story-access-log-auditor');
    await page.getByLabel('Show', { exact: true }).selectOption('custody');
    await page.getByRole('form', { name: 'Filter the access log' }).getByRole('button', { name: 'Show' }).click();
    const steps = page.locator('.access-log tr[data-action="evidence.custody.post"]');
    // The whole log (which holds the two steps too) gives way to the two steps alone.
    await expect.poll(() => page.locator('.access-log tbody tr').count(), { timeout: 10_000 }).toBe(2);
    expect(await steps.count()).toBe(2);
    expect(await steps.first().textContent()).toContain('Recorded a custody step: Transfer accepted');
    await steps.first().locator('summary').click();
    expect(await steps.first().locator('details.audit-entry').textContent()).toContain(itemId);
    await visit(page, 'story-access-log-custody');
  });

  it('the coordinator, who leads the case, acknowledges the alert the download raised', async () => {
    const page = await freshPage(`${coordinator.email} again`);
    await signIn(page, coordinator.email, coordinator.password);
    await go(page, 'Alerts', 'Alerts');
    // The alert engine reads the audit chain as it is sealed: it may take a moment to be raised.
    const card = page.locator('article.alert-card[data-status="open"]').filter({ hasText: policeAnalyst.name });
    await expect
      .poll(
        async () => {
          if ((await card.count()) > 0) return true;
          await page.reload({ waitUntil: 'load' });
          await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor(visible);
          await page.waitForLoadState('networkidle');
          return (await card.count()) > 0;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(true);
    expect(await card.textContent()).toContain('Downloaded much evidence');
    await visit(page, 'story-alert');
    await card.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByRole('status').filter({ hasText: 'Acknowledged.' }).waitFor(visible);
    const acknowledged = page.locator('article.alert-card[data-status="acknowledged"]').filter({ hasText: policeAnalyst.name });
    await acknowledged.waitFor(visible);
    expect(await acknowledged.textContent()).toContain(coordinator.name);
    await visit(page, 'story-alert-acknowledged');
  });

  it("the coordinator, who leads the case, reads who read and downloaded the item on the item's page", async () => {
    const page = await freshPage(`${coordinator.email} for the access log`);
    await signIn(page, coordinator.email, coordinator.password);
    await page.getByRole('heading', { level: 1, name: 'My work' }).waitFor(visible);
    await page.goto(`${server!.baseURL}${itemURL}`, { waitUntil: 'load' });
    const log = page.getByRole('region', { name: 'Access log' });
    await log.locator('tbody tr').first().waitFor(visible);
    const download = log.locator('tr[data-action="evidence.download"]').first();
    await download.waitFor(visible);
    expect(await download.textContent()).toContain(`${policeAnalyst.name} (National Criminal Police)`);
    await visit(page, 'story-access-log-lead');
  });

  it('logged no console errors on anyone’s pages', () => {
    for (const [who, logged] of errors) expect(unexpected(logged, failedFetch(403, '/api/v1/auth/login')), who).toEqual([]);
  });
});
