// End-to-end: the case workspace in headless Chromium against a real bevis
// (the built SPA embedded): the case page's tabs at their own URLs with
// Back, the attack timeline with a plaso import (rejected rows by line,
// then a good file) and a filter kept in the URL, an event corrected with
// its history, the TTP summary followed to the list of one technique, and an evidence download that streams to disk through a
// single-use ticket. Reads BEVIS_BIN and CHROMIUM_PATH as app.e2e.test.ts.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const ready = isExecutable(bevisBin) && isExecutable(chromiumPath);
if (!ready && process.env.CI === 'true') throw new Error(`e2e prerequisites missing under CI=true: ${bevisBin}, ${chromiumPath}`);

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

function admin(dataDir: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(bevisBin, ['admin', ...args, '--data-dir', dataDir], { env: bevisEnv() }, (err, out, errOut) =>
      err ? rej(new Error(`bevis admin ${args[0]}: ${err.message}\n${out}\n${errOut}`)) : res(out),
    );
  });
}

const lead = { email: 'lead@ncsc.example', password: 'a lead passphrase for the workspace test' };
const visible = { state: 'visible', timeout: 10_000 } as const;

describe.skipIf(!ready)('the case workspace', () => {
  const dirs: string[] = [];
  let child: ChildProcess | undefined;
  let base = '';
  let context: BrowserContext | undefined;
  let page: Page;
  let caseId = '';
  let itemId = '';
  let token = '';
  const content = Buffer.from('2026-01-15T08:00:00Z fw01 DENY tcp 203.0.113.9:4444 -> 10.0.0.5:445\n'.repeat(300));

  const tmp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : body instanceof Buffer ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  beforeAll(async () => {
    mkdirSync(outputDir, { recursive: true });
    const dataDir = tmp('bevis-ws-data-');
    const secrets = tmp('bevis-ws-secrets-');
    writeFileSync(join(secrets, 'admin'), 'an admin passphrase for the workspace\n', { mode: 0o600 });
    writeFileSync(join(secrets, 'lead'), `${lead.password}\n`, { mode: 0o600 });
    // prettier-ignore
    await admin(dataDir, ['bootstrap', '--email', 'admin@ncsc.example', '--name', 'Kari Admin', '--agency-code', 'NCSC',
      '--agency-name', 'National Cyber Coordination Centre', '--agency-kind', 'cert', '--password-file', join(secrets, 'admin')]);
    // prettier-ignore
    await admin(dataDir, ['create-user', '--email', lead.email, '--name', 'Lea Lead', '--agency-code', 'NCSC',
      '--password-file', join(secrets, 'lead')]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(bevisBin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], { env: bevisEnv(), stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${base}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('bevis not ready');
      await new Promise((r) => setTimeout(r, 200));
    }

    // The case and its evidence through the API, as a script would: the browser's part is the workspace.
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: lead.email, password: lead.password }),
    });
    token = ((await login.json()) as { access_token: string }).access_token;
    caseId = (await api<{ id: string }>('POST', '/api/v1/cases', { title: 'Workspace breach', tlp: 'AMBER' })).id;
    itemId = (await api<{ id: string }>('POST', `/api/v1/cases/${caseId}/evidence`, { title: 'Firewall logs', kind: 'logs' })).id;
    await api('PUT', `/api/v1/evidence/${itemId}/content?filename=fw01.log`, content, { 'Content-Type': 'application/octet-stream' });
    await api('POST', `/api/v1/cases/${caseId}/evidence`, { title: 'Carved sessions', kind: 'logs', parent_id: itemId });

    context = await chromium.launchPersistentContext(tmp('bevis-ws-chromium-'), {
      executablePath: chromiumPath,
      headless: true,
      acceptDownloads: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    page = await context.newPage();
    await page.goto(`${base}/cases/${caseId}`, { waitUntil: 'load' });
    await page.getByLabel('Email', { exact: true }).fill(lead.email);
    await page.getByLabel('Password', { exact: true }).fill(lead.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: /Workspace breach/ }).waitFor(visible);
  });

  afterAll(async () => {
    await context?.close();
    child?.kill('SIGTERM');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const tabs = () => page.getByRole('navigation', { name: 'Parts of the case' });
  const path = () => new URL(page.url()).pathname + new URL(page.url()).search;

  it('shows the case as tabs with counts, each at its own URL, and Back returns', async () => {
    await tabs().locator('[data-tab-count="evidence"]').filter({ hasText: '2' }).waitFor(visible);
    await page.getByRole('region', { name: 'Regulatory clocks' }).waitFor(visible);
    await visit(page, 'ws-overview');
    await tabs().getByRole('link', { name: /^Evidence/ }).click();
    expect(path()).toBe(`/cases/${caseId}/evidence`);
    await page.getByRole('region', { name: 'Evidence' }).getByRole('link', { name: 'Firewall logs' }).waitFor(visible);
    await visit(page, 'ws-evidence');
    await tabs().getByRole('link', { name: /^History/ }).click();
    await page.getByRole('region', { name: 'History of the case' }).waitFor(visible);
    await page.goBack();
    expect(path()).toBe(`/cases/${caseId}/evidence`);
    await page.getByRole('region', { name: 'Evidence' }).waitFor(visible);
    expect(await tabs().locator('a[aria-current="page"]').textContent()).toMatch(/^Evidence/);
  });

  it('imports a plaso file, listing rejected rows by line, then a good one, and filters by source in the URL', async () => {
    await tabs().getByRole('link', { name: /^Timeline/ }).click();
    expect(path()).toBe(`/cases/${caseId}/timeline`);
    const plaso = page.getByRole('region', { name: 'Import a plaso timeline' });
    const rows = [
      { timestamp: 1768465800000000, message: 'logon by svc-backup', hostname: 'hr-fs01' },
      { timestamp: 1768469400000000, message: 'rdp session to dc-02', hostname: 'hr-ws12' },
      { timestamp: 1768473000000000, message: 'archive staged', hostname: 'hr-ws12' },
    ].map((r) => JSON.stringify(r));
    await plaso.getByLabel('Plaso export').setInputFiles({
      name: 'bad.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(`${rows[0]}\n{"message": "no time"}\n`),
    });
    await plaso.getByRole('button', { name: 'Import' }).click();
    await plaso.locator('.rejected-rows tbody th', { hasText: '2' }).waitFor(visible);
    await visit(page, 'ws-plaso-rejected');

    await plaso.getByLabel('Plaso export').setInputFiles({
      name: 'good.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(`${rows.join('\n')}\n`),
    });
    await plaso.getByRole('button', { name: 'Import' }).click();
    await plaso.getByRole('status').filter({ hasText: 'Imported 3 of 3 rows' }).waitFor(visible);
    await page.locator('.event-count', { hasText: /^3 events/ }).waitFor(visible);
    expect(await page.locator('.time-axis .mark').count()).toBeGreaterThan(0);
    // The tab's count follows on the next visit to a tab.
    await tabs().getByRole('link', { name: /^Overview/ }).click();
    await tabs().locator('[data-tab-count="timeline"]').filter({ hasText: '3' }).waitFor(visible);
    await page.goBack();
    await page.locator('.event-count', { hasText: /^3 events/ }).waitFor(visible);
    await visit(page, 'ws-timeline');

    await page.getByLabel('Source (host, log or system)').fill('hr-ws12');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    expect(path()).toBe(`/cases/${caseId}/timeline?source=hr-ws12`);
    await page.locator('.event-count', { hasText: /^2 events/ }).waitFor(visible);
    await page.goBack();
    await page.locator('.event-count', { hasText: /^3 events/ }).waitFor(visible);
    expect(await page.getByLabel('Source (host, log or system)').inputValue()).toBe('');
  });

  it('corrects an event and shows its history', async () => {
    await page.getByRole('button', { name: 'archive staged' }).click();
    await page.getByRole('button', { name: 'Correct this event' }).click();
    const detail = page.locator('.event-detail');
    await detail.getByLabel('What happened').fill('archive staged for exfiltration');
    await detail.getByLabel('Why it is corrected').fill('analyst note');
    await page.getByRole('button', { name: 'Save the correction' }).click();
    await page.locator('.event-versions li').nth(1).waitFor(visible);
    expect(await page.locator('.event-versions').textContent()).toContain('corrected because: analyst note');
    expect(await page.locator('.event-versions li').nth(0).textContent()).toContain('archive staged');
    await page.locator('.event-list', { hasText: 'archive staged for exfiltration' }).waitFor(visible);
    await visit(page, 'ws-event-corrected');
  });

  it('sums up the techniques by tactic and follows one to the list filtered by it', async () => {
    // prettier-ignore
    const marked = [
      { at: '2026-01-10T08:00:00Z', what: 'Phishing mail with invoice.xlsm opened on hr-ws12', tactics: ['TA0001', 'TA0002'], techniques: ['T1566.001', 'T1204.002'] },
      { at: '2026-01-11T09:30:00Z', what: 'RDP from hr-ws12 to hr-fs01', tactics: ['TA0008'], techniques: ['T1021.001'] },
      { at: '2026-01-12T22:10:00Z', what: 'RDP from hr-fs01 to dc-02', tactics: ['TA0008'], techniques: ['T1021.001'] },
      { at: '2026-01-13T01:00:00Z', what: 'LSASS memory dumped on dc-02', tactics: ['TA0006'], techniques: ['T1003.001'] },
      { at: '2026-01-14T03:00:00Z', what: '2.8 million patient records sent out over HTTPS', tactics: ['TA0010'], techniques: ['T1048.002'] },
    ];
    for (const e of marked) {
      await api('POST', `/api/v1/cases/${caseId}/timeline`, { occurred_at: e.at, description: e.what, tactics: e.tactics, techniques: e.techniques });
    }
    // The panel counts when the tab opens.
    await tabs().getByRole('link', { name: /^Overview/ }).click();
    await tabs().getByRole('link', { name: /^Timeline/ }).click();
    const ttp = page.getByRole('region', { name: 'Techniques by tactic' });
    await ttp.getByRole('link', { name: 'T1021.001 · 2 events' }).waitFor(visible);
    expect(await ttp.locator('dt').allTextContents()).toEqual([
      'Initial Access (TA0001)',
      'Execution (TA0002)',
      'Credential Access (TA0006)',
      'Lateral Movement (TA0008)',
      'Exfiltration (TA0010)',
    ]);
    await visit(page, 'ws-ttp');

    await ttp.getByRole('link', { name: 'T1021.001 · 2 events' }).click();
    expect(path()).toBe(`/cases/${caseId}/timeline?technique=T1021.001`);
    await page.locator('.event-count', { hasText: /^2 events/ }).waitFor(visible);
    expect(await page.getByLabel('Technique', { exact: true }).inputValue()).toBe('T1021.001');
    await page.locator('.event-list', { hasText: 'RDP from hr-fs01 to dc-02' }).waitFor(visible);
    expect(await ttp.locator('a[aria-current="true"]').textContent()).toBe('T1021.001 · 2 events');
    await visit(page, 'ws-ttp-filtered');
    await page.goBack();
    await page.locator('.event-count', { hasText: /^8 events/ }).waitFor(visible);
  });

  it('downloads evidence to disk through a single-use ticket, and shows its lineage', async () => {
    await tabs().getByRole('link', { name: /^Evidence/ }).click();
    await page.getByRole('region', { name: 'Evidence' }).getByRole('link', { name: 'Firewall logs' }).click();
    await page.getByRole('heading', { level: 1, name: /Firewall logs/ }).waitFor(visible);
    await page.getByRole('region', { name: 'Lineage' }).getByRole('link', { name: /Carved sessions/ }).waitFor(visible);
    const download = page.waitForEvent('download');
    await page.getByRole('region', { name: 'Content' }).getByRole('button', { name: 'Download', exact: true }).click();
    const saved = await download;
    const link = new URL(saved.url());
    expect(link.pathname + link.search).toMatch(new RegExp(`^/api/v1/evidence/${itemId}/content\\?ticket=[A-Z2-7]+$`));
    expect(readFileSync(await saved.path()).equals(content)).toBe(true);
    // The ticket was used up by that download.
    const again = await fetch(saved.url());
    expect(again.status).toBe(401);
    await visit(page, 'ws-evidence-item');
  });
});
