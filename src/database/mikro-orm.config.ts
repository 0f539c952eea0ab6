import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export function ormConfig(databaseUrl: string, debug = false) {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
    },
    pool: { min: 0, max: 10 },
    debug,
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ignoreUndefinedInQuery: true,
  });
}

// Used by the MikroORM CLI (npx mikro-orm ...).
export default ormConfig(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/certex');
