// Integration tier: real PostgreSQL, S3 protocol server, PyTorch peer, … (`*.integration.test.ts`).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.integration.test.ts', 'test/integration/**/*.integration.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
