import { defineConfig } from 'vitest/config'

// Two projects: `npm test -- --project unit` runs the pure and in-process tests in seconds;
// `integration` starts real server processes, redis-server and worker threads.
const roots = '{server,shared,client,persistence,load-tests}'

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: [`${roots}/**/*.test.ts`], exclude: [`${roots}/**/*.integration.test.ts`] } },
      { extends: true, test: { name: 'integration', include: [`${roots}/**/*.integration.test.ts`] } },
    ],
  },
})
