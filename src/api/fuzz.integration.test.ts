// The API fuzzer of fuzz.test.ts (testing/fuzz.ts) on PostgreSQL: the same generated bad requests on
// every route × method, against the database that production runs, where text, integers and
// timestamps are stricter than SQLite's (a NUL byte in a string, an integer beyond bigint, an
// impossible date are errors there, not values). Never a 5xx, always a JSON error code, no stack.
// Skips without PostgreSQL unless TEST_DATABASE_URL or CI is set (then it fails).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import { fuzzEveryOperation, type FuzzTarget, fuzzUnknownPaths, openFuzzTarget } from './testing/fuzz.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_206);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const url = await postgresUrlForTests();

describe.skipIf(!url)('fuzzing every route of the OpenAPI document on PostgreSQL', () => {
  let t: FuzzTarget;
  beforeAll(async () => {
    t = await openFuzzTarget({ dialect: 'postgres' });
  });
  afterAll(async () => {
    await t?.f.close();
  });

  it(`answers every generated bad request below 500 with a JSON error code and no stack (FUZZ_SEED=${SEED}, ${RUNS} runs per operation)`, async () => {
    const r = await fuzzEveryOperation(t, { seed: SEED, runs: RUNS });
    expect(r.failures, r.failures.join('\n\n')).toEqual([]);
    expect(r.stuck).toEqual([]);
  }, 240_000);

  it('answers unknown paths and methods alike', async () => {
    expect(await fuzzUnknownPaths(t, { seed: SEED, runs: RUNS * 2 })).toBeNull();
  });
});
