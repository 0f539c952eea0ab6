import { Client } from 'pg';

/** The PostgreSQL server the tests use; each test file gets its own database on it. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function databaseUrl(name: string): string {
  return `${TEST_SERVER_URL}/${name}`;
}

export function templateName(runId: string): string {
  return `certex_t_${runId}_template`;
}

export async function withServer<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
