import { defineConfig } from '@mikro-orm/postgresql';
import { ENTITIES } from './entities';
import { baseOrmOptions } from './orm-options';

export function ormConfig(databaseUrl: string) {
  return defineConfig({ ...baseOrmOptions(databaseUrl), entities: ENTITIES });
}

// Used by the MikroORM CLI (npx mikro-orm ...).
export default ormConfig(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/certex');
