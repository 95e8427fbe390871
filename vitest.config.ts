import { defaultClientConditions, defaultServerConditions } from 'vite'
import { defineConfig } from 'vitest/config'

// Tests import workspace packages by name; the `@hundredfold/source` condition points them at src/*.ts.
export default defineConfig({
  resolve: { conditions: ['@hundredfold/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@hundredfold/source', ...defaultServerConditions] } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'deploy/local/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['apps/microblog/test/second-server.ts'],
  },
})
