import { defineConfig } from 'vitest/config'

// Two projects: `unit` (pure core and fast adapter tests beside the code) and `integration`
// (real servers on loopback, both stores). `npm test` runs both; `npm run check` runs only `unit`.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // One fixed fast-check seed for `npm test`; `npm run fuzz` explores with fresh ones.
    setupFiles: ['test/helpers/fast-check-seed.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/core/**/*.test.ts', 'test/architecture.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['src/core/**', 'test/architecture.test.ts', 'node_modules/**'],
          pool: 'forks',
        },
      },
    ],
  },
})
