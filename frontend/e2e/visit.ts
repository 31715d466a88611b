// What the browser test checks on every page it visits: no accessibility
// violation of serious or critical impact (axe-core), no sideways scroll on
// a 390 px phone, and a screenshot at 1280 px and at 390 px for a reviewer,
// under e2e-output/ (git-ignored). A new screen's test calls visit() once
// it has shown the screen.

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

export const outputDir = fileURLToPath(new URL('../e2e-output/', import.meta.url));

/** The widths every page is checked and photographed at: a laptop and a phone. */
export const WIDTHS = [
  { name: 'wide', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Empties the output folder; the e2e global set-up calls it once per run. */
export function freshOutput(): void {
  rmSync(outputDir, { recursive: true, force: true });
  mkdirSync(outputDir, { recursive: true });
}

interface AxeNode {
  target: unknown[];
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: AxeNode[];
}

/** The serious and critical accessibility violations on the page now. */
async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, axe runs under the page's
  // strict Content-Security-Policy, which would refuse an injected script tag.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return (violations as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

function describe(violations: AxeViolation[]): string {
  return violations
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    at ${JSON.stringify(n.target)}: ${n.failureSummary ?? ''}`).join('\n')}`)
    .join('\n  ');
}

/** How far the page reaches past the right edge of the window, in CSS pixels. */
function overflow(page: Page): Promise<{ by: number; widest: string }> {
  return page.evaluate(() => {
    const by = document.documentElement.scrollWidth - document.documentElement.clientWidth;
    let widest = '';
    if (by > 0) {
      // Name the outermost element that sticks out, to say what to fix.
      for (const el of document.body.querySelectorAll<HTMLElement>('*')) {
        if (el.getBoundingClientRect().right > document.documentElement.clientWidth + 1) {
          widest = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''}`;
          break;
        }
      }
    }
    return { by, widest };
  });
}

/**
 * Checks the page shown now, as `name` (a file-name-safe word), at every
 * width, and leaves it at the width it had. Throws naming every problem.
 */
export async function visit(page: Page, name: string): Promise<void> {
  const before = page.viewportSize();
  const problems: string[] = [];
  try {
    for (const w of WIDTHS) {
      await page.setViewportSize({ width: w.width, height: w.height });
      // Let the layout settle for the new width before looking.
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await page.screenshot({ path: join(outputDir, `${name}-${w.width}.png`), fullPage: true });
      const violations = await axeViolations(page);
      if (violations.length > 0) problems.push(`at ${w.width} px, axe found:\n  ${describe(violations)}`);
      const { by, widest } = await overflow(page);
      if (by > 0) problems.push(`at ${w.width} px the page scrolls sideways by ${by} px (first past the edge: ${widest})`);
    }
  } finally {
    if (before !== null) await page.setViewportSize(before);
  }
  if (problems.length > 0) throw new Error(`page "${name}":\n${problems.join('\n')}`);
}
