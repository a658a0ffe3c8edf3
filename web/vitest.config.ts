// The web UI's unit tests alone (`npm run test:web`): pure logic (window/level, Prometheus parsing,
// the API client, routing) in the node environment — no DOM needed.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['web/src/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
  },
});
