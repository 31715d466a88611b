// Benchmark (not a test): how smoothly the timeline scrolls a case of a
// million events in Chromium, measured with requestAnimationFrame.
//
//   npm run build && (cd .. && go build -o bin/bevis ./cmd/bevis)
//   node scripts/timeline-scroll-bench.mjs [seconds]
//
// A real bevis serves the SPA and the session; the timeline listing of the
// case is answered in the browser with synthetic keyset pages of 500 of
// 1,000,000 events, so what is measured is the SPA (virtualised list, axis,
// paging as it scrolls), not the server's listing (benchmarked in Go).
// Reads BEVIS_BIN (default ../bin/bevis) and CHROMIUM_PATH.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const TOTAL = 1_000_000;
const seconds = Number(process.argv[2] ?? 10);
const frontend = fileURLToPath(new URL('..', import.meta.url));
const bin = resolve(frontend, process.env.BEVIS_BIN || '../bin/bevis');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BEVIS_')));
const dir = mkdtempSync(join(tmpdir(), 'bevis-bench-'));
const data = join(dir, 'data');
const pw = join(dir, 'pw');
const password = 'a benchmark passphrase of some length';
writeFileSync(pw, `${password}\n`, { mode: 0o600 });
const admin = (...args) => execFileSync(bin, ['admin', ...args, '--data-dir', data], { env });
admin('bootstrap', '--email', 'admin@bench.example', '--name', 'Admin', '--agency-code', 'NCSC', '--agency-name', 'NCSC',
  '--agency-kind', 'cert', '--password-file', pw);
admin('create-user', '--email', 'lead@bench.example', '--name', 'Lead', '--agency-code', 'NCSC', '--password-file', pw);

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const base = `http://127.0.0.1:${port}`;
const server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', data], { env, stdio: 'ignore' });
let browser;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {}
    if (i > 150) throw new Error('bevis not ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  const login = await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'lead@bench.example', password }) })).json();
  const kase = await (await fetch(`${base}/api/v1/cases`, { method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${login.access_token}` },
    body: JSON.stringify({ title: 'A million events', tlp: 'AMBER' }) })).json();

  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const tactics = ['TA0001', 'TA0002', 'TA0003', 'TA0005', 'TA0007', 'TA0008', 'TA0010', ''];
  let pages = 0;
  await page.route(`**/api/v1/cases/${kase.id}/timeline?*`, (route) => {
    const q = new URL(route.request().url()).searchParams;
    const from = Number(q.get('cursor') ?? 0);
    const n = Math.min(Number(q.get('limit') ?? 100), TOTAL - from);
    const items = [];
    for (let i = from; i < from + n; i++) {
      const tactic = tactics[i % tactics.length];
      items.push({ id: `e${i}`, case_id: kase.id, occurred_at: new Date(t0 + i * 1000).toISOString(), occurred_until: null,
        source_timezone: 'UTC', recorded_at: '2026-02-01T00:00:00Z', recorded_by: 'u', source: { host: `host-${i % 23}`, log: 'evtx', system: '' },
        actor: '', description: `Event ${i}: logon to host-${i % 23} by svc-${i % 7}`, tactics: tactic ? [tactic] : [],
        techniques: tactic ? ['T1078'] : [], tags: [], confidence: null, tlp: 'AMBER', supersedes: null, superseded_by: null, import_id: null });
    }
    pages++;
    route.fulfill({ json: { items, next_cursor: from + n < TOTAL ? String(from + n) : null } });
  });
  await page.goto(`${base}/cases/${kase.id}/timeline`);
  await page.getByLabel('Email', { exact: true }).fill('lead@bench.example');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('.event-scroll').waitFor();

  const r = await page.evaluate(async (ms) => {
    const el = document.querySelector('.event-scroll');
    const frames = [];
    let rows = 0;
    let last = performance.now();
    const end = last + ms;
    await new Promise((done) => {
      const step = (now) => {
        frames.push(now - last);
        last = now;
        el.scrollTop += 1500; // a fast, steady scroll: about 20 rows a frame
        rows = Math.max(rows, el.querySelectorAll('li.event').length);
        if (now < end) requestAnimationFrame(step);
        else done();
      };
      requestAnimationFrame(step);
    });
    frames.shift();
    const sorted = [...frames].sort((a, b) => a - b);
    const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    return { frames: frames.length, fps: frames.length / (ms / 1000), p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), max: sorted[sorted.length - 1],
      rows, loaded: document.querySelector('.event-count')?.textContent };
  }, seconds * 1000);
  console.log(`timeline scroll, ${TOTAL} events, ${seconds} s: ${r.fps.toFixed(1)} frames/s; frame time p50 ${r.p50.toFixed(1)} ms, ` +
    `p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms; ${r.rows} rows in the DOM at most; ` +
    `${pages} pages fetched; "${r.loaded}"`);
} finally {
  await browser?.close();
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
