// The ordered list of migrations. Names sort in the order they must run; a migration, once released,
// is never edited: add a new one.
import type { Migration } from 'kysely';

export const migrations: Record<string, Migration> = {};
