import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import Redis from 'ioredis';
import { redactUrl } from '../config/config';
import { baseOrmOptions } from './orm-options';
import { errorCode, errorMessage } from '../common/error-fields';

/**
 * A service the app needs could not be reached; the message is one line a person can act on.
 * `mayRecover`: the service is down or not reachable yet (rather than refusing us, e.g. a wrong
 * password), so waiting for it makes sense.
 */
export class ServiceUnavailableError extends Error {
  constructor(
    message: string,
    readonly mayRecover: boolean,
  ) {
    super(message);
  }
}

const NOT_REACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
]);

/** Whether an error says the service is down or unreachable (as opposed to refusing us). */
export function isUnreachable(error: unknown): boolean {
  const code = errorCode(error);
  if (code && NOT_REACHABLE_CODES.has(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(errorMessage(error));
}

const CONNECT_TIMEOUT_MS = 5000;

function databaseName(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, '')) || 'postgres';
}

function maintenanceUrl(databaseUrl: string): string {
  const parsed = new URL(databaseUrl);
  parsed.pathname = '/postgres';
  return parsed.toString();
}

function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Connects to PostgreSQL, creating the database when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    return;
  } catch (error) {
    if (errorCode(error) !== '3D000') throw postgresError(databaseUrl, error);
  } finally {
    await client.end().catch(() => undefined);
  }
  const admin = new Client({ connectionString: maintenanceUrl(databaseUrl), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await admin.connect();
    await admin.query(`create database ${quoteIdent(name)}`);
  } catch (error) {
    if (errorCode(error) !== '42P04') throw postgresError(databaseUrl, error);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function postgresError(databaseUrl: string, error: unknown): ServiceUnavailableError {
  const code = errorCode(error);
  const reason = code && !/^\d/.test(code) ? code : errorMessage(error);
  return new ServiceUnavailableError(
    `Cannot reach PostgreSQL at ${redactUrl(databaseUrl)} (${reason}). ` +
      'Start PostgreSQL (pg_ctlcluster <version> main start) or set DATABASE_URL to a server that is running.',
    isUnreachable(error),
  );
}

export async function checkRedis(redisUrl: string): Promise<void> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause: unknown = null;
  client.on('error', (error) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const reason: unknown = cause ?? error;
    throw new ServiceUnavailableError(
      `Cannot reach Redis at ${redactUrl(redisUrl)} (${errorCode(reason) ?? errorMessage(reason)}). ` +
        'Start Redis (redis-server --daemonize yes) or set REDIS_URL to a server that is running.',
      isUnreachable(reason),
    );
  } finally {
    client.disconnect();
  }
}

/**
 * Applies every pending migration in one transaction. Migrations are plain SQL, so the ORM is
 * started without entities (which also keeps entity metadata out of the test runner's setup).
 */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const orm = await MikroORM.init({
    ...baseOrmOptions(databaseUrl),
    entities: [],
    discovery: { warnWhenNoEntities: false },
  });
  try {
    const applied = await orm.getMigrator().up();
    return applied.map((migration) => migration.name);
  } finally {
    await orm.close(true);
  }
}
