import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config/config';
import { ensureDatabase, migrate, ServiceUnavailableError } from './database';
import { errorMessage } from '../common/error-fields';

/** `npm run migrate`: create the database if needed and apply pending migrations, then exit. */
async function main() {
  const config = loadConfig();
  await ensureDatabase(config.databaseUrl);
  const applied = await migrate(config.databaseUrl);
  process.stdout.write(applied.length ? `Applied migrations: ${applied.join(', ')}\n` : 'The database is up to date.\n');
}

main().catch((error) => {
  const known = error instanceof ConfigError || error instanceof ServiceUnavailableError;
  process.stderr.write(`certex: ${known ? error.message : `migration failed: ${errorMessage(error)}`}\n`);
  process.exit(known ? 2 : 1);
});
