// Benchmark: scrolling the attack timeline of a 1,000,000-event case in
// headless Chromium (issue 13's "60 frames per second"). A real bevis serve
// on SQLite is seeded through its own API (a plaso json_line import, as an
// analyst would), then the timeline tab is scrolled by a fixed amount per
// frame, continuously, through the loaded window and past it so that pages
// load and drop, while requestAnimationFrame records every frame's time in
// the page. Beside it, in the same run and the same browser: the same scroll
// of a 1,000-event case (the baseline) and a rAF loop that scrolls nothing
// (what the machine gives an idle page). It prints figures and ratios; it
// asserts only that the run measured what it says (pages were fetched and
// dropped, rows stayed virtualised), never a time.
//
// Run with `npm run bench:browser` (make bench does). Reads BEVIS_BIN and
// CHROMIUM_PATH as bevis.ts says, and:
//   BEVIS_BENCH_TIMELINE_EVENTS  events in the large case (default 1000000, as the Go benchmarks)
//   BEVIS_BENCH_SCROLL_SECONDS   how long each scroll runs (default 40)
//   BEVIS_BENCH_SCROLL_PX        pixels scrolled per frame (default 300: about four rows)

import { request } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BevisServer, freePort, launchBrowser, missingPrerequisites, runBevis, TempDirs } from '../bevis';

function setting(name: string, def: number, min: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name}=${JSON.stringify(v)}: want a number of at least ${min}`);
  return n;
}

const LARGE = setting('BEVIS_BENCH_TIMELINE_EVENTS', 1_000_000, 1000);
const SMALL = 1000;
const SECONDS = setting('BEVIS_BENCH_SCROLL_SECONDS', 40, 2);
const PX = setting('BEVIS_BENCH_SCROLL_PX', 300, 1);
const IDLE_SECONDS = 5;
/** The turns the baseline and the large case take, one after the other. */
const ROUNDS = 4;

const lead = { email: 'lead@bench.example', password: 'a lead passphrase for the scroll benchmark' };
const visible = { state: 'visible', timeout: 30_000 } as const;

/** Line i of a plaso json_line super-timeline: one event a second, eight hosts, messages of varied length. */
function plasoLine(i: number, start: number): string {
  const host = `host-${String(i % 8).padStart(2, '0')}`;
  const user = `user${String(i % 300).padStart(3, '0')}`;
  const kind = i % 3;
  const message =
    kind === 0
      ? `[4624 / 0x1210] Logon: user ${user} logon type 3 from 10.20.${i % 256}.${(i >> 8) % 250}`
      : kind === 1
        ? `[4688 / 0x1250] Process created by ${user}: C:\\Windows\\System32\\cmd.exe /c copy \\\\rha-fs01\\share\\record-${i}.pdf`
        : `OS:/srv/share/journals/record-${String(i).padStart(7, '0')}.pdf`;
  return `${JSON.stringify({
    __container_type__: 'event',
    timestamp: (start + i) * 1_000_000,
    timestamp_desc: kind === 2 ? 'Content Modification Time' : 'Creation Time',
    data_type: kind === 2 ? 'fs:stat' : 'windows:evtx:record',
    parser: kind === 2 ? 'filestat' : 'winevtx',
    hostname: host,
    username: user,
    message,
  })}\n`;
}

/** Chunks of a generated n-event json_line file, made as they are sent. */
function* plasoFile(n: number): Generator<Buffer> {
  const start = Date.UTC(2026, 0, 1) / 1000;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(plasoLine(i, start));
    if (lines.length === 10_000) {
      yield Buffer.from(lines.join(''));
      lines.length = 0;
    }
  }
  if (lines.length > 0) yield Buffer.from(lines.join(''));
}

/** Posts the generated file as a chunked, streamed body: the server reads it as it comes, as a large upload would. */
function importTimeline(base: string, token: string, caseId: string, n: number): Promise<{ events_imported: number; bytes_read: number }> {
  return new Promise((resolveImport, reject) => {
    const req = request(
      `${base}/api/v1/cases/${caseId}/timeline/imports?format=json_line`,
      { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-ndjson' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => (res.statusCode === 201 ? resolveImport(JSON.parse(text)) : reject(new Error(`import: ${res.statusCode} ${text}`))));
      },
    );
    req.on('error', reject);
    const chunks = plasoFile(n);
    const pump = () => {
      for (let c = chunks.next(); !c.done; c = chunks.next()) if (!req.write(c.value)) return void req.once('drain', pump);
      req.end();
    };
    pump();
  });
}

/** What one run of frames recorded in the page. */
interface FrameRun {
  /** Time between successive frames (rAF timestamps), ms. */
  frames: number[];
  /** Frames at which the scroller could not move on: the end of the loaded window, waiting for a page. */
  stalled: number;
  /** Pixels actually scrolled. */
  travelled: number;
  /** The most rows the DOM held at once. */
  maxRows: number;
}

/**
 * Runs rAF for seconds in the page, scrolling the timeline's scroller by px
 * per frame (0: not at all); at either end of a list that has no more to
 * load it turns round (and goes on the same way in the page's next run), so
 * the small case scrolls for as long as the large.
 */
function runFrames(page: Page, seconds: number, px: number): Promise<FrameRun> {
  return page.evaluate(
    ({ seconds, px }) =>
      new Promise<FrameRun>((done) => {
        const el = document.querySelector<HTMLElement>('.event-scroll')!;
        const state = window as unknown as { benchScrollDir?: number };
        const frames: number[] = [];
        let stalled = 0;
        let travelled = 0;
        let maxRows = 0;
        let lastTop = el.scrollTop;
        let prev = 0;
        let end = 0;
        const step = (t: number) => {
          frames.push(t - prev);
          prev = t;
          if (px > 0) {
            let dir = state.benchScrollDir ?? 1;
            const top = el.scrollTop;
            travelled += Math.abs(top - lastTop);
            const max = el.scrollHeight - el.clientHeight;
            if (dir < 0 && top <= 0) dir = 1;
            else if (dir > 0 && top >= max - 1) {
              // The end of the window: the next page is on its way (a stall), or the list ends here.
              if (/of more$/.test(el.getAttribute('aria-label') ?? '')) stalled++;
              else dir = -1;
            }
            state.benchScrollDir = dir;
            el.scrollTop = top + dir * px;
            lastTop = top;
          }
          if (frames.length % 30 === 0) maxRows = Math.max(maxRows, el.querySelectorAll('li.event').length);
          if (t < end) requestAnimationFrame(step);
          else done({ frames, stalled, travelled, maxRows });
        };
        requestAnimationFrame((t) => {
          prev = t;
          end = t + seconds * 1000;
          requestAnimationFrame(step);
        });
      }),
    { seconds, px },
  );
}

/** Main-thread time Chromium spent, cumulative (CDP Performance.getMetrics, seconds). */
type Metrics = Record<'TaskDuration' | 'ScriptDuration' | 'LayoutDuration' | 'RecalcStyleDuration', number>;

async function metrics(cdp: CDPSession): Promise<Metrics> {
  const { metrics: all } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  const of = (name: string) => all.find((m) => m.name === name)?.value ?? 0;
  return {
    TaskDuration: of('TaskDuration'),
    ScriptDuration: of('ScriptDuration'),
    LayoutDuration: of('LayoutDuration'),
    RecalcStyleDuration: of('RecalcStyleDuration'),
  };
}

/** A page under measurement: its frames so far, and the main thread's time while they ran. */
class Measured {
  private readonly runs: FrameRun[] = [];
  private readonly spent: Metrics = { TaskDuration: 0, ScriptDuration: 0, LayoutDuration: 0, RecalcStyleDuration: 0 };

  private constructor(
    readonly page: Page,
    private readonly cdp: CDPSession,
  ) {}

  static async of(context: BrowserContext, page: Page): Promise<Measured> {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    return new Measured(page, cdp);
  }

  /** Runs frames for seconds (see runFrames), adding them to what was measured before. */
  async run(seconds: number, px: number): Promise<void> {
    const before = await metrics(this.cdp);
    this.runs.push(await runFrames(this.page, seconds, px));
    const after = await metrics(this.cdp);
    for (const k of Object.keys(this.spent) as (keyof Metrics)[]) this.spent[k] += after[k] - before[k];
  }

  /** Every run's frames as one. */
  total(): FrameRun {
    return {
      frames: this.runs.flatMap((r) => r.frames),
      stalled: this.runs.reduce((a, r) => a + r.stalled, 0),
      travelled: this.runs.reduce((a, r) => a + r.travelled, 0),
      maxRows: Math.max(0, ...this.runs.map((r) => r.maxRows)),
    };
  }

  /** The main thread's busy time per frame: all its tasks, and the script, layout and style in them. */
  busy(): string {
    const n = this.total().frames.length;
    const per = (k: keyof Metrics) => ((this.spent[k] * 1000) / n).toFixed(2);
    return ` main_ms_per_frame=${per('TaskDuration')} (script=${per('ScriptDuration')} layout=${per('LayoutDuration')} style=${per('RecalcStyleDuration')})`;
  }
}

/** The functions that took the most time of their own in a CPU profile, for BEVIS_BENCH_SCROLL_PROFILE=1. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}
function hottest(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, n = 15): string {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const where = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    self.set(where, (self.get(where) ?? 0) + dt);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, ms]) => `  ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
}

/** The figures of a run: frames, mean fps, nearest-rank percentiles, late and long frames. */
function figures(run: FrameRun) {
  const sorted = [...run.frames].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  const total = run.frames.reduce((a, b) => a + b, 0);
  return {
    frames: run.frames.length,
    fps: (run.frames.length * 1000) / total,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    max: sorted[sorted.length - 1]!,
    over16: run.frames.filter((f) => f > 16.7).length,
    // A frame a whole vsync late (more than 1.5 frames of 60 Hz): a dropped frame.
    dropped: run.frames.filter((f) => f > 25).length,
    over50: run.frames.filter((f) => f > 50).length,
  };
}

type Figures = ReturnType<typeof figures>;

function line(name: string, f: Figures, extra = ''): string {
  const ms = (x: number) => x.toFixed(1);
  return (
    `${name.padEnd(44)} frames=${f.frames} fps=${f.fps.toFixed(1)} p50_ms=${ms(f.p50)} p95_ms=${ms(f.p95)} p99_ms=${ms(f.p99)} ` +
    `max_ms=${ms(f.max)} over_16.7ms=${f.over16} dropped_over_25ms=${f.dropped} long_over_50ms=${f.over50}${extra}`
  );
}

describe('timeline scroll benchmark', () => {
  const temp = new TempDirs();
  let server: BevisServer | undefined;
  let context: BrowserContext | undefined;
  let base = '';
  let token = '';
  let large = '';
  let small = '';
  let seeded = '';

  interface Seeded {
    large: string;
    small: string;
    events: number;
    megabytes: number;
    seconds: number;
  }

  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** Makes the agency, the lead and the two cases in a fresh data folder, and imports their timelines. */
  async function seed(dataDir: string): Promise<Seeded> {
    const secrets = temp.make('bevis-bench-secrets-');
    writeFileSync(join(secrets, 'admin'), 'an admin passphrase for the scroll benchmark\n', { mode: 0o600 });
    writeFileSync(join(secrets, 'lead'), `${lead.password}\n`, { mode: 0o600 });
    const admin = (args: string[]) => runBevis(['admin', ...args, '--data-dir', dataDir]);
    // prettier-ignore
    await admin(['bootstrap', '--email', 'admin@bench.example', '--name', 'Bench Admin', '--agency-code', 'NCSC',
      '--agency-name', 'National Cyber Coordination Centre', '--agency-kind', 'cert', '--password-file', join(secrets, 'admin')]);
    // prettier-ignore
    await admin(['create-user', '--email', lead.email, '--name', 'Lea Lead', '--agency-code', 'NCSC',
      '--password-file', join(secrets, 'lead')]);
    await start(dataDir);
    const large = (await api<{ id: string }>('POST', '/api/v1/cases', { title: 'Scroll benchmark: large', tlp: 'AMBER' })).id;
    const small = (await api<{ id: string }>('POST', '/api/v1/cases', { title: 'Scroll benchmark: small', tlp: 'AMBER' })).id;
    const t0 = performance.now();
    const rec = await importTimeline(base, token, large, LARGE);
    const seconds = (performance.now() - t0) / 1000;
    expect(rec.events_imported).toBe(LARGE);
    await importTimeline(base, token, small, SMALL);
    return { large, small, events: LARGE, megabytes: rec.bytes_read / 1e6, seconds };
  }

  /** Serves dataDir and signs the lead in to the API. */
  async function start(dataDir: string): Promise<void> {
    // The 277 MB import can take longer than the default 10-minute read timeout on a busy small machine.
    server = new BevisServer(await freePort(), dataDir, { BEVIS_LOG_LEVEL: 'error', BEVIS_READ_TIMEOUT: '1h' });
    await server.waitReady();
    base = server.baseURL;
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: lead.email, password: lead.password }),
    });
    if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`);
    token = ((await login.json()) as { access_token: string }).access_token;
  }

  beforeAll(async () => {
    const missing = missingPrerequisites();
    if (missing.length > 0) throw new Error(`the browser benchmark needs: ${missing.join('; ')}`);
    // BEVIS_BENCH_SCROLL_DATA_DIR keeps the seeded data folder for the next run (seeding takes minutes).
    const keep = process.env.BEVIS_BENCH_SCROLL_DATA_DIR;
    const dataDir = keep || temp.make('bevis-bench-data-');
    const record = join(dataDir, 'scroll-bench.json');
    const kept: Seeded | undefined = keep && existsSync(record) ? JSON.parse(readFileSync(record, 'utf8')) : undefined;
    if (kept && kept.events !== LARGE) throw new Error(`${dataDir} holds ${kept.events} events, not ${LARGE}: use another folder`);
    if (kept) {
      await start(dataDir);
      ({ large, small } = kept);
      seeded = `seed: reused ${dataDir} (${kept.events.toLocaleString('en')} events, seeded in ${kept.seconds.toFixed(1)} s)`;
    } else {
      if (keep) mkdirSync(keep, { recursive: true });
      const s = await seed(dataDir);
      ({ large, small } = s);
      if (keep) writeFileSync(record, JSON.stringify(s));
      seeded =
        `seed: ${s.events.toLocaleString('en')} events (${s.megabytes.toFixed(0)} MB of json_line) imported through the API ` +
        `into SQLite in ${s.seconds.toFixed(1)} s (${Math.round(s.events / s.seconds).toLocaleString('en')} events/s)`;
    }
    console.log(seeded);

    context = await launchBrowser(temp.make('bevis-bench-chromium-'));
    const first = await context.newPage();
    await first.goto(`${base}/cases/${small}/timeline`, { waitUntil: 'load' });
    await first.getByLabel('Email', { exact: true }).fill(lead.email);
    await first.getByLabel('Password', { exact: true }).fill(lead.password);
    await first.getByRole('button', { name: 'Sign in', exact: true }).click();
    await first.locator('.event-scroll li.event').first().waitFor(visible);
    // Signed in: the pages the benchmark opens refresh their session from the cookie.
    await first.close();
  });

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      await server?.stop();
      temp.removeAll();
    }
  });

  it(`scrolls a ${LARGE.toLocaleString('en')}-event timeline beside a ${SMALL.toLocaleString('en')}-event one and an idle page`, async () => {
    /** A page of its own showing the case's timeline, measured through a CDP session of its own. */
    const open = async (caseId: string, label: RegExp): Promise<Measured> => {
      const page = await context!.newPage();
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(`${base}/cases/${caseId}/timeline`, { waitUntil: 'load' });
      await page.locator('.event-count').filter({ hasText: label }).waitFor(visible);
      await page.locator('.event-scroll li.event').first().waitFor(visible);
      // Both pages paint: a hidden page would get no animation frames.
      expect(await page.evaluate(() => document.visibilityState)).toBe('visible');
      return Measured.of(context!, page);
    };
    const smallPage = await open(small, /^(Events 1–500 of more|1,000 events)/);
    const largePage = await open(large, /^Events 1–500 of more/);
    let pages = 0;
    const listing = new RegExp(`/api/v1/cases/${large}/timeline\\?`);
    largePage.page.on('request', (r) => {
      if (listing.test(r.url())) pages++;
    });
    const idlePage = await Measured.of(context!, smallPage.page);
    await idlePage.run(IDLE_SECONDS, 0);

    // The baseline and the large case take turns, so that what else the
    // machine does meanwhile falls on both alike; each goes on from where
    // its last turn stopped.
    const profiling = process.env.BEVIS_BENCH_SCROLL_PROFILE === '1';
    const largeCDP = await context!.newCDPSession(largePage.page);
    if (profiling) {
      await largeCDP.send('Profiler.enable');
      await largeCDP.send('Profiler.start');
    }
    for (let round = 0; round < ROUNDS; round++) {
      await smallPage.run(SECONDS / ROUNDS, PX);
      await largePage.run(SECONDS / ROUNDS, PX);
    }
    if (profiling) {
      const { profile } = (await largeCDP.send('Profiler.stop')) as { profile: Parameters<typeof hottest>[0] };
      console.log(`CPU profile of the large case's turns, self time:\n${hottest(profile)}`);
    }
    const label = (await largePage.page.locator('.event-count').textContent()) ?? '';
    const idle = figures(idlePage.total());
    const base1k = smallPage.total();
    const baseline = figures(base1k);
    const run = largePage.total();
    const scrolled = figures(run);

    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      [
        seeded,
        `scroll: ${PX} px a frame for ${SECONDS} s each, in ${ROUNDS} turns; Chromium headless at 1280×800`,
        line('BenchmarkTimelineScroll/idle_page', idle, idlePage.busy()),
        line(`BenchmarkTimelineScroll/baseline_${SMALL}_events`, baseline, ` travelled_px=${Math.round(base1k.travelled)}${smallPage.busy()}`),
        line(
          `BenchmarkTimelineScroll/${LARGE}_events`,
          scrolled,
          ` travelled_px=${Math.round(run.travelled)} pages_fetched=${pages} stalled_frames=${run.stalled} max_rows_in_dom=${run.maxRows} window="${label}"${largePage.busy()}`,
        ),
        `BenchmarkTimelineScroll/${LARGE}_events x_baseline: fps=${ratio(scrolled.fps, baseline.fps)} p95=${ratio(scrolled.p95, baseline.p95)} ` +
          `p99=${ratio(scrolled.p99, baseline.p99)} (x_idle: fps=${ratio(scrolled.fps, idle.fps)} p95=${ratio(scrolled.p95, idle.p95)})`,
      ].join('\n'),
    );

    // The run measured what it says: it went past the window, so pages loaded and the first ones dropped, and the DOM held the rows in view only.
    expect(pages).toBeGreaterThan(8);
    expect(label).toMatch(/^Events [1-9][\d,]*–[\d,]+ of more/);
    expect(label).not.toMatch(/^Events 1–/);
    expect(run.maxRows).toBeLessThan(60);
    expect(base1k.travelled).toBeGreaterThan(0);
  });
});
