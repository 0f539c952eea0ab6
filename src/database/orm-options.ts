import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { MIGRATIONS } from './migrations';

/**
 * Connection and migration settings without entities. Kept apart from the entity list so that
 * migrating (which needs no entities) never loads entity decorators, e.g. in jest's global setup.
 */
export function baseOrmOptions(databaseUrl: string) {
  return defineConfig({
    clientUrl: databaseUrl,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
    pool: { min: 0, max: 10 },
    // With PostgreSQL down or unreachable a request fails in seconds (a 503 page) instead of
    // waiting for the operating system's TCP timeout; it works again as soon as PostgreSQL is back.
    driverOptions: { connection: { connectionTimeoutMillis: 5000 }, acquireConnectionTimeout: 15000 },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ignoreUndefinedInQuery: true,
  });
}
