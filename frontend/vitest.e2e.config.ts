import { defineConfig } from 'vitest/config';

// End-to-end tests: a real bevis binary and headless Chromium. Run with `npm run e2e`.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.test.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
