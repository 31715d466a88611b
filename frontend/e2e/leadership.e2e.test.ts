// End-to-end: leadership's picture. An observer at the coordination centre,
// on cases of two agencies, lands on the portfolio, follows a chart to a
// case, opens its situation report and prints it to PDF, whose text must
// hold the TLP marking (on every page) and the overdue clock.
//
// Reads BEVIS_BIN, CHROMIUM_PATH and CI like app.e2e.test.ts.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfText } from './pdftext';
import { outputDir, visit } from './visit';

const frontendDir = fileURLToPath(new URL('..', import.meta.url));
const bevisBin = resolve(frontendDir, process.env.BEVIS_BIN || '../bin/bevis');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
const missing = [bevisBin, chromiumPath].filter((p) => !isExecutable(p));
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`e2e prerequisites missing under CI=true: ${missing.join(', ')}`);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return rej(new Error('no port'));
      srv.close(() => res(addr.port));
    });
  });
}

function bevisEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BEVIS_')) env[k] = v;
  env.BEVIS_LOG_FORMAT = 'text';
  return env;
}

function bevisAdmin(dataDir: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(bevisBin, ['admin', ...args, '--data-dir', dataDir], { env: bevisEnv() }, (err, stdout, stderr) => {
      if (err) rej(new Error(`bevis admin ${args[0]}: ${err.message}\n${stdout}\n${stderr}`));
      else res(stdout);
    });
  });
}

const password = 'a leadership passphrase for e2e';

describe.skipIf(missing.length > 0)('leadership: portfolio and situation report', () => {
  const dirs: string[] = [];
  let child: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  let base = '';
  let recordsCase = '';
  const tmp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };

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
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(bevisBin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', data], { env: bevisEnv(), stdio: 'ignore' });
    for (let i = 0; i < 150; i++) {
      try {
        if ((await fetch(`${base}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
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
    context = await chromium.launchPersistentContext(tmp('bevis-lead-chromium-'), {
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    child?.kill('SIGTERM');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
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
