// PostgreSQL for integration tests: the URL to use, or a clear reason to skip. When the run says a
// server should be there ($TEST_DATABASE_URL or $CI set), an unreachable one fails the run instead.
import pg from 'pg';

import { redactUrl } from '../../../src/core/redact.js';
import { testDatabaseUrl } from '../../../src/storage/testing.js';

/** The test PostgreSQL URL if it answers, else undefined (after saying why on stderr). */
export async function postgresUrlForTests(): Promise<string | undefined> {
  const url = testDatabaseUrl();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return url;
  } catch (err) {
    const reason = `PostgreSQL at ${redactUrl(url)} is unreachable: ${(err as Error).message}`;
    if (process.env.TEST_DATABASE_URL || process.env.CI) {
      throw new Error(`${reason} (TEST_DATABASE_URL/CI is set, so this is a failure, not a skip)`, { cause: err });
    }
    console.warn(`SKIPPING PostgreSQL tests: ${reason}. Set TEST_DATABASE_URL to run them.`);
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
