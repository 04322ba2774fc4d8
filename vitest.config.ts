import { defineConfig } from 'vitest/config';

/**
 * Three tiers, one `npm test`:
 * - unit: the pure core, in Node;
 * - integration: the worker inside the Workers runtime (@cloudflare/vitest-plugin), bindings seeded per test;
 * - e2e: the bundled worker under Miniflare in front of real node:http origins on 127.0.0.1;
 * - docs: the README and docs/ against the code they describe (links, the configuration reference).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      './test/integration/vitest.config.ts',
      {
        test: {
          name: 'docs',
          include: ['test/docs/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['./test/e2e/support/build-worker.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
