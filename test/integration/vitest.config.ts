import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineProject } from 'vitest/config';

/** Integration tier: tests run inside workerd with the bindings of wrangler.toml. */
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: '../../wrangler.toml' },
      miniflare: {
        // Test secrets; individual tests build their own env objects to test rotation and absence.
        bindings: { AFFINITY_SECRET: 'integration-test-secret', ADMIN_TOKEN: 'integration-admin-token' },
      },
    }),
  ],
  test: {
    name: 'integration',
    include: ['./**/*.test.ts'],
  },
});
