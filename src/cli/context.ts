// What a CLI command needs: validated config, a logger, and (opened on demand) the metadata DB with
// migrations applied. Commands call `withContext` so resources are always closed.
import { loadConfig, type Config } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import { migrateToLatest, openDatabase, type Db } from '../storage/db.js';

export interface CliContext {
  config: Config;
  logger: Logger;
  db(): Promise<Db>;
}

export async function withContext<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  let db: Db | undefined;
  const ctx: CliContext = {
    config,
    logger,
    db: async () => {
      if (!db) {
        db = openDatabase(config.database);
        await migrateToLatest(db, logger);
      }
      return db;
    },
  };
  try {
    return await fn(ctx);
  } finally {
    await db?.destroy();
  }
}
