import { defineConfig } from 'vitest/config';

// Unit tests of the extension's pure logic; the browser suite has its own config.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
  },
});
