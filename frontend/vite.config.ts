/// <reference types="vitest/config" />
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

// Vite empties dist/ before each build; embed.go needs dist/ to hold at least one
// file on a fresh clone, so the committed placeholder is written back afterwards.
function keepDistPlaceholder(): Plugin {
  let outDir = '';
  return {
    name: 'bevis:keep-dist-placeholder',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      writeFileSync(resolve(outDir, '.gitkeep'), '');
    },
  };
}

export default defineConfig({
  plugins: [preact(), keepDistPlaceholder()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The server's Content-Security-Policy allows no inline script; the
    // polyfill is not needed by the browsers Bevis supports.
    modulePreload: { polyfill: false },
    // Keep every asset a file: img-src allows data: but font-src does not.
    assetsInlineLimit: 0,
  },
  server: {
    host: '127.0.0.1',
    // `npm run dev` forwards API calls to a bevis server started separately.
    proxy: {
      '/api': process.env.BEVIS_DEV_API ?? 'http://127.0.0.1:8080',
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    // One jsdom and one module graph for all the files, not one each: building
    // a jsdom per file was two thirds of the run (54 → 16 s on two cores).
    // The files stay independent through cleanUp (src/testing.tsx), which
    // unmounts what a test showed and forgets its session and names; they
    // passed in shuffled orders (--sequence.shuffle).
    isolate: false,
  },
});
