// End-to-end: the case workspace in headless Chromium against a real bevis
// (the built SPA embedded): the case page's tabs at their own URLs with
// Back, the attack timeline with a plaso import (rejected rows by line,
// then a good file) and a filter kept in the URL, an event corrected with
// its history, the TTP summary followed to the list of one technique, and an
// evidence download that streams to disk through a single-use ticket. Reads
// BEVIS_BIN and CHROMIUM_PATH as bevis.ts says.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BevisServer, freePort, launchBrowser, missingPrerequisites, runBevis, TempDirs } from './bevis';
import { visit } from './visit';

const ready = missingPrerequisites().length === 0;

function admin(dataDir: string, args: string[]): Promise<string> {
  return runBevis(['admin', ...args, '--data-dir', dataDir]);
}

const lead = { email: 'lead@ncsc.example', password: 'a lead passphrase for the workspace test' };
const visible = { state: 'visible', timeout: 10_000 } as const;

describe.skipIf(!ready)('the case workspace', () => {
  const temp = new TempDirs();
  let server: BevisServer | undefined;
  let base = '';
  let context: BrowserContext | undefined;
  let page: Page;
  let caseId = '';
  let itemId = '';
  let token = '';
  const content = Buffer.from('2026-01-15T08:00:00Z fw01 DENY tcp 203.0.113.9:4444 -> 10.0.0.5:445\n'.repeat(300));

  const tmp = (prefix: string) => temp.make(prefix);
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
    server = new BevisServer(await freePort(), dataDir);
    await server.waitReady();
    base = server.baseURL;

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

    context = await launchBrowser(tmp('bevis-ws-chromium-'));
    page = await context.newPage();
    await page.goto(`${base}/cases/${caseId}`, { waitUntil: 'load' });
    await page.getByLabel('Email', { exact: true }).fill(lead.email);
    await page.getByLabel('Password', { exact: true }).fill(lead.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: /Workspace breach/ }).waitFor(visible);
  });

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      await server?.stop();
      temp.removeAll();
    }
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

  it('pages a long timeline through a bounded window, the rows in view staying put as pages come and go', async () => {
    // 9,000 events: more than the window's 8 pages of 500.
    const longId = (await api<{ id: string }>('POST', '/api/v1/cases', { title: 'Long timeline', tlp: 'AMBER' })).id;
    const start = 1767225600000000; // 2026-01-01T00:00:00Z in microseconds
    const lines = Array.from({ length: 9000 }, (_, i) =>
      JSON.stringify({
        timestamp: start + i * 1_000_000,
        message: `long event ${String(i + 1).padStart(5, '0')}`,
        hostname: 'hr-ws12',
      }),
    );
    await api('POST', `/api/v1/cases/${longId}/timeline/imports?format=json_line`, Buffer.from(`${lines.join('\n')}\n`), {
      'Content-Type': 'application/x-ndjson',
    });
    await page.goto(`${base}/cases/${longId}/timeline`, { waitUntil: 'load' });
    const count = page.locator('.event-count');
    await count.filter({ hasText: /^Events 1–500 of more/ }).waitFor(visible);
    const list = page.getByRole('region', { name: /^Events, oldest first/ });

    // From here on pages are held until the test has noted the row in view.
    let held: (() => void)[] = [];
    await page.route(/\/timeline\?/, async (route) => {
      await new Promise<void>((r) => held.push(r));
      await route.continue();
    });
    /** The event at the top of the view and how far below the list's top it shows. */
    const topRow = () =>
      list.evaluate((el) => {
        const top = el.getBoundingClientRect().top;
        const rows = [...el.querySelectorAll<HTMLElement>('li.event')].filter(
          (li) => li.getBoundingClientRect().bottom > top + 1,
        );
        rows.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
        const li = rows[0]!;
        return { id: li.dataset.eventId!, text: li.textContent ?? '', at: li.getBoundingClientRect().top - top };
      });
    const where = (id: string) =>
      list.evaluate((el, id) => {
        const li = el.querySelector<HTMLElement>(`li[data-event-id="${id}"]`);
        return li ? li.getBoundingClientRect().top - el.getBoundingClientRect().top : null;
      }, id);
    /** Scrolls to one end, lets the page it asks for come once the row in view is noted, and checks that row did not move. */
    async function turn(end: 'bottom' | 'top', label: RegExp) {
      await list.evaluate((el, end) => el.scrollTo({ top: end === 'bottom' ? el.scrollHeight : 0 }), end);
      await expect.poll(() => held.length, { timeout: 10_000 }).toBe(1);
      const loading = end === 'bottom' ? 'Loading later events…' : 'Loading earlier events…';
      await list.getByRole('status').filter({ hasText: loading }).waitFor({ state: 'attached' });
      const before = await topRow();
      const go = held;
      held = [];
      for (const r of go) r();
      await count.filter({ hasText: label }).waitFor(visible);
      await expect.poll(() => where(before.id)).not.toBeNull();
      expect(Math.abs((await where(before.id))! - before.at)).toBeLessThanOrEqual(1);
      // The DOM holds the rows in view, not the window.
      expect(await list.locator('li.event').count()).toBeLessThan(60);
    }

    for (let n = 2; n <= 8; n++) await turn('bottom', new RegExp(`^Events 1–${(n * 500).toLocaleString('en')} of more`));
    // The ninth page drops the first: the rows in view stay where they were.
    await turn('bottom', /^Events 501–4,500 of more/);
    await turn('bottom', /^Events 1,001–5,000 of more/);
    expect(await list.getAttribute('aria-label')).toBe('Events, oldest first: 1,001–5,000 of more');
    await visit(page, 'ws-timeline-window');
    // Back up: the dropped pages come again, in order, and the last ones go;
    // the first page again too, fetched as at first, with no cursor.
    await turn('top', /^Events 501–4,500 of more/);
    await turn('top', /^Events 1–4,000 of more/);
    await list.evaluate((el) => el.scrollTo({ top: 0 }));
    await expect.poll(async () => (await topRow()).text).toContain('long event 00001');
    await page.unroute(/\/timeline\?/);
    for (const r of held) r();

    // A page that fails is said so and asked for again when the reader scrolls, not in a loop.
    let failed = 0;
    await page.route(/\/timeline\?/, (route) => {
      failed++;
      return route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Unavailable',
          status: 503,
          code: 'unavailable',
          detail: 'The database is not answering.',
        }),
      });
    });
    await list.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await page.getByRole('alert').filter({ hasText: 'The database is not answering.' }).waitFor(visible);
    await page.waitForTimeout(1000);
    expect(failed).toBe(1);
    await page.unroute(/\/timeline\?/);
    await list.evaluate((el) => el.scrollBy({ top: -200 }));
    await list.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await count.filter({ hasText: /^Events 501–4,500 of more/ }).waitFor(visible);
    expect(await page.getByRole('alert').count()).toBe(0);
  });
});
