// The metadata database's tables as Kysely types. Conventions that keep SQLite and PostgreSQL on the
// same queries: ids and timestamps are text (ISO-8601 UTC), JSON is text, booleans are integers 0/1,
// counts are integers, measurements are double precision.
//
// Each feature area adds its tables here (one interface per table) together with a migration in
// ./migrations/ that creates them.

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Database {}
