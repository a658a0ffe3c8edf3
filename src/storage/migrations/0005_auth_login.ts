// Logging in with a name and a password (issues 6 and 7: the web UI). A user may have a password
// hash (scrypt, see src/workflow/users.ts); a login creates a short-lived session token, stored in
// api_tokens like API tokens (only its sha256) and told apart by `kind`, with an expiry that
// API tokens do not have. SQLite adds one column per ALTER TABLE, so each is its own statement.
import type { Kysely, Migration } from 'kysely';

export const authLoginMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('users').addColumn('password_hash', 'text').execute();
    await db.schema
      .alterTable('api_tokens')
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('api'))
      .execute();
    await db.schema.alterTable('api_tokens').addColumn('expires_at', 'text').execute();
    // Ending a user's sessions (password change) and pruning their old ones look tokens up by user.
    await db.schema.createIndex('api_tokens_user_kind').on('api_tokens').columns(['user_id', 'kind']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('api_tokens_user_kind').execute();
    await db.schema.alterTable('api_tokens').dropColumn('expires_at').execute();
    await db.schema.alterTable('api_tokens').dropColumn('kind').execute();
    await db.schema.alterTable('users').dropColumn('password_hash').execute();
  },
};
