// What every browser test shares: a bevis process of its own and a headless
// Chromium.
//
// Reads:
//   BEVIS_BIN      the bevis binary (default ../bin/bevis, relative to frontend/)
//   CHROMIUM_PATH  the Chromium executable (default /usr/bin/chromium)
//   CI             when "true", a missing binary or browser fails the run instead of skipping it

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { outputDir } from './visit';

const frontendDir = fileURLToPath(new URL('..', import.meta.url));
export const bevisBin = resolve(frontendDir, process.env.BEVIS_BIN || '../bin/bevis');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What is missing to run a browser test; under CI=true a missing piece fails the run instead. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!isExecutable(bevisBin)) missing.push(`no executable bevis binary at ${bevisBin} (build bin/bevis after \`make ui\`, or set BEVIS_BIN)`);
  if (!isExecutable(chromiumPath)) missing.push(`no executable Chromium at ${chromiumPath} (install Debian's chromium or set CHROMIUM_PATH)`);
  if (missing.length > 0) {
    if (process.env.CI === 'true') throw new Error(`e2e prerequisites missing under CI=true:\n  - ${missing.join('\n  - ')}`);
    console.warn(`\n******** SKIPPING these e2e browser tests ********\n  - ${missing.join('\n  - ')}\n`);
  }
  return missing;
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error(`unexpected listen address ${String(addr)}`));
        return;
      }
      srv.close(() => resolvePort(addr.port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The environment for bevis processes: none of the caller's BEVIS_* settings. */
export function bevisEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BEVIS_')) env[k] = v;
  env.BEVIS_LOG_FORMAT = 'text';
  return env;
}

/** Runs bevis with args and returns what it printed on stdout. */
export function runBevis(args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolveOut, reject) => {
    execFile(bevisBin, args, { env: bevisEnv(), timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`bevis ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr.slice(-4000)}`));
      else resolveOut(stdout);
    });
  });
}

/** A bevis server process, with its output kept: the tail for failure messages, and all of it to read the set-up link from. */
export class BevisServer {
  readonly baseURL: string;
  private readonly child: ChildProcess;
  private output = '';
  private exit: string | undefined;

  /** env adds settings (like BEVIS_ALERT_MAX_BYTES) to the clean environment of bevisEnv(). */
  constructor(port: number, dataDir: string, env: Record<string, string> = {}) {
    this.baseURL = `http://127.0.0.1:${port}`;
    this.child = spawn(bevisBin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
      env: { ...bevisEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-200_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('error', (err) => {
      this.exit ??= `failed to start: ${err.message}`;
    });
    this.child.on('exit', (code, signal) => {
      this.exit ??= `exited with ${signal ?? `code ${code}`}`;
    });
  }

  /** Everything the process printed so far. */
  printed(): string {
    return this.output;
  }

  log(): string {
    return `--- bevis output (tail) ---\n${this.output.slice(-20_000)}\n---`;
  }

  /** Polls GET /readyz until it answers 200, the process dies, or the time is up. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.exit !== undefined) throw new Error(`bevis ${this.exit} before it was ready\n${this.log()}`);
      try {
        const res = await fetch(`${this.baseURL}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = String(err);
      }
      await sleep(200);
    }
    throw new Error(`bevis not ready within ${timeoutMs} ms (last: ${last})\n${this.log()}`);
  }

  /** Stops the process: SIGTERM, then SIGKILL if it has not exited within 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Temporary folders, removed together at the end. */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A headless Chromium with a fresh profile; screenshots go beside app.e2e.test.ts's, without emptying them. */
export async function launchBrowser(profileDir: string): Promise<BrowserContext> {
  mkdirSync(outputDir, { recursive: true });
  return chromium.launchPersistentContext(profileDir, { executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/** A headless Chromium in which each person gets a context of their own (browser.newContext()): cookies and storage apart. */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(outputDir, { recursive: true });
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/** A fresh page that records console errors and uncaught exceptions. */
export async function openPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  return { page, errors };
}

/** Chromium's console error for an HTTP error answer to a fetch of path. */
export function failedFetch(status: number, path: string): RegExp {
  const escaped = path.replace(/[/.]/g, '\\$&');
  return new RegExp(`^console: Failed to load resource: .* status of ${status} .*${escaped}\\)$`);
}

/** The console errors a test did not expect; a signed-out page's 401 from /auth/refresh always is. */
export function unexpected(errors: string[], ...expected: RegExp[]): string[] {
  const allowed = [failedFetch(401, '/api/v1/auth/refresh'), ...expected];
  return errors.filter((e) => !allowed.some((re) => re.test(e)));
}

/** Signs in at the sign-in page shown now, with no second factor. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}
