// Reports the size of the built JavaScript, gzipped as it is served, and
// fails the build past the budget (issue 13: under 150 kB gzipped).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 150 * 1000;
const dir = new URL('../dist/assets/', import.meta.url).pathname;
let total = 0;
for (const f of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
  const n = gzipSync(readFileSync(join(dir, f)), { level: 9 }).length;
  total += n;
  console.log(`bundle: ${f} ${(n / 1000).toFixed(1)} kB gzipped`);
}
console.log(`bundle: JavaScript in all ${(total / 1000).toFixed(1)} kB gzipped (budget ${BUDGET / 1000} kB)`);
if (total > BUDGET) {
  console.error(`bundle: over the budget by ${((total - BUDGET) / 1000).toFixed(1)} kB`);
  process.exit(1);
}
