// End-to-end: leadership's picture. An observer at the coordination centre,
// on cases of two agencies, lands on the portfolio, follows a chart to a
// case, opens its situation report and prints it to PDF, whose text must
// hold the TLP marking (on every page) and the overdue clock.
//
// Reads BEVIS_BIN, CHROMIUM_PATH and CI as bevis.ts says.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BevisServer, freePort, launchBrowser, missingPrerequisites, runBevis, TempDirs } from './bevis';
import { pdfText } from './pdftext';
import { outputDir, visit } from './visit';

const missing = missingPrerequisites();

function bevisAdmin(dataDir: string, args: string[]): Promise<string> {
  return runBevis(['admin', ...args, '--data-dir', dataDir]);
}

const password = 'a leadership passphrase for e2e';

describe.skipIf(missing.length > 0)('leadership: portfolio and situation report', () => {
  const temp = new TempDirs();
  let server: BevisServer | undefined;
  let context: BrowserContext | undefined;
  let base = '';
  let recordsCase = '';
  const tmp = (prefix: string) => temp.make(prefix);

  async function api<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  async function signIn(email: string): Promise<string> {
    const res = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    if (!res.ok) throw new Error(`sign-in ${email}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  beforeAll(async () => {
    const data = tmp('bevis-lead-data-');
    const pw = join(tmp('bevis-lead-secrets-'), 'password');
    writeFileSync(pw, `${password}\n`, { mode: 0o600 });
    await bevisAdmin(data, ['bootstrap', '--email', 'admin@ncsc.example', '--name', 'Admin', '--agency-code', 'NCSC',
      '--agency-name', 'National Cyber Coordination Centre', '--agency-kind', 'cert', '--password-file', pw]);
    await bevisAdmin(data, ['create-agency', '--agency-code', 'POL', '--agency-name', 'Criminal Police', '--agency-kind', 'police']);
    await bevisAdmin(data, ['create-agency', '--agency-code', 'HCERT', '--agency-name', 'Health CERT', '--agency-kind', 'cert']);
    for (const [email, agency] of [['director@ncsc.example', 'NCSC'], ['lead@police.example', 'POL'], ['lead@cert.example', 'HCERT']]) {
      await bevisAdmin(data, ['create-user', '--email', email!, '--name', email!.split('@')[0]!, '--agency-code', agency!, '--password-file', pw]);
    }
    server = new BevisServer(await freePort(), data);
    await server.waitReady();
    base = server.baseURL;
    // Each agency's lead opens a case with a personal-data breach known since January (its GDPR clock long overdue)
    // and an overdue task for their own agency, and makes the coordination centre an observer.
    for (const [email, title] of [['lead@police.example', 'Ransomware at the county'], ['lead@cert.example', 'Patient records taken']]) {
      const token = await signIn(email!);
      const agencies = await api<{ items: { id: string; code: string }[] }>('GET', '/api/v1/agencies', token);
      const k = await api<{ id: string; lead_agency_id: string }>('POST', '/api/v1/cases', token, {
        title, tlp: 'AMBER', severity: 4, personal_data_breach: true, aware_at: '2026-01-05T08:00:00Z',
      });
      const ncsc = agencies.items.find((a) => a.code === 'NCSC')!.id;
      await api('PUT', `/api/v1/cases/${k.id}/members/agencies/${ncsc}`, token, { role: 'observer' });
      await api('POST', `/api/v1/cases/${k.id}/tasks`, token, {
        title: 'Report to the data protection authority', assignee_agency_id: k.lead_agency_id, priority: 'urgent',
        due_at: '2026-01-08T08:00:00Z',
      });
      if (title === 'Patient records taken') {
        recordsCase = k.id;
        // Enough of a timeline that the printed report runs over more than one page.
        for (let i = 0; i < 20; i++) {
          await api('POST', `/api/v1/cases/${k.id}/timeline`, token, {
            occurred_at: `2026-01-0${1 + (i % 4)}T0${i % 10}:00:00Z`,
            description: `Bulk export of patient records from the archive server, batch ${i + 1} of 20, over HTTPS to an unknown host`,
            techniques: ['T1048'],
          });
        }
      }
    }
    context = await launchBrowser(tmp('bevis-lead-chromium-'));
  }, 120_000);

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      await server?.stop();
      temp.removeAll();
    }
  });

  it('lands an observer on the portfolio, drills down to a case, and prints its sitrep marked and with the overdue clock', async () => {
    const page = await context!.newPage();
    await page.goto(`${base}/`);
    await page.getByLabel('Email', { exact: true }).fill('director@ncsc.example');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();

    await page.getByRole('heading', { name: 'Portfolio', level: 1 }).waitFor({ timeout: 15_000 });
    await page.getByText('2 cases you can read').waitFor();
    expect(await page.getByRole('row', { name: /Ransomware at the county/ }).count()).toBe(1);
    expect(await page.getByRole('row', { name: /Patient records taken/ }).count()).toBe(1);
    await visit(page, 'portfolio');

    // The severity chart's text equivalent is its drill-down: two critical cases, one of them followed.
    await page.getByRole('button', { name: 'Critical: 2 cases' }).click();
    const drill = page.getByRole('region', { name: 'Cases: Critical' });
    await drill.getByRole('link', { name: /Patient records taken/ }).click();
    await page.getByRole('heading', { name: /Patient records taken/, level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Situation report' }).click();
    await page.getByRole('heading', { name: /Situation report: .*Patient records taken/, level: 1 }).waitFor();
    await page.getByText('Overdue', { exact: false }).first().waitFor();
    await visit(page, 'sitrep');

    await page.setViewportSize({ width: 1280, height: 800 });
    const pdf = await page.pdf({ format: 'A4', printBackground: true, path: join(outputDir, 'sitrep.pdf') });
    const pages = pdfText(pdf);
    expect(pages.length).toBeGreaterThan(0);
    // The label is laid out in runs of its own ("TLP:" and "AMBER"), so spaces between runs are not significant.
    for (const [i, text] of pages.entries()) expect(text.replace(/\s+/g, ''), `page ${i + 1}`).toContain('TLP:AMBER');
    const all = pages.join('\n');
    expect(all).toContain('Overdue');
    expect(all).toMatch(/Page 1 of \d/);
    expect(all).toContain('Patient records taken');
    await page.close();
  }, 120_000);

  it("serves the API's printable page under its own CSP, marked on every page with page numbers", async () => {
    const token = await signIn('director@ncsc.example');
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.setExtraHTTPHeaders({ Authorization: `Bearer ${token}` });
    const res = await page.goto(`${base}/api/v1/cases/${recordsCase}/sitrep?format=html`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("style-src 'sha256-");
    const pages = pdfText(await page.pdf({ format: 'A4', printBackground: true, path: join(outputDir, 'sitrep-api.pdf') }));
    expect(pages.length).toBeGreaterThan(1);
    for (const [i, text] of pages.entries()) {
      expect(text.replace(/\s+/g, ''), `page ${i + 1}`).toContain('TLP:AMBER');
      expect(text, `page ${i + 1}`).toContain(`Page ${i + 1} of ${pages.length}`);
    }
    expect(pages.join('\n')).toContain('OVERDUE');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
