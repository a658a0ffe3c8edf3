// What a CLI command needs: validated config, a logger, and (opened on demand) the object store and
// the metadata DB with migrations applied. Commands call `withContext` so resources are always closed.
import { type Config, loadConfig } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import { type Db, migrateToLatest, openDatabase } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { openObjectStore } from '../storage/open-object-store.js';

export interface CliContext {
  config: Config;
  logger: Logger;
  db(): Promise<Db>;
  /** The object store (filesystem or S3, by config), opened on first use. */
  objects(): ObjectStore;
}

export async function withContext<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'secondread', config.logFormat);
  let db: Db | undefined;
  let objects: ObjectStore | undefined;
  const ctx: CliContext = {
    config,
    logger,
    db: async () => {
      if (!db) {
        db = openDatabase({ ...config.database, logger });
        await migrateToLatest(db, logger);
      }
      return db;
    },
    objects: () => (objects ??= openObjectStore(config.objectStore)),
  };
  try {
    return await fn(ctx);
  } finally {
    try {
      await objects?.close();
    } finally {
      await db?.destroy();
    }
  }
}
