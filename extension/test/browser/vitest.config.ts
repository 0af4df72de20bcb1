import { defineConfig } from 'vitest/config';

// Each file starts a real Tandem server, JupyterLab and Chromium: run files one at a time.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.test.ts'],
    globalSetup: ['support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
