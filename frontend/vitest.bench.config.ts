import { defineConfig } from 'vitest/config';

// Browser benchmarks: a real bevis binary seeded with a large timeline, and
// headless Chromium. Not part of `npm run e2e` (make test); `make bench` runs
// them through `npm run bench:browser`.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/bench/**/*.bench.test.ts'],
    // Seeding 1,000,000 events takes minutes on a small machine.
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
    fileParallelism: false,
  },
});
