import Redis from 'ioredis';
import { TEST_REDIS_URL, withServer } from './databases';

export default async function globalTeardown() {
  const runId = process.env.CERTEX_TEST_RUN;
  if (!runId) return;
  await withServer(async (client) => {
    const rows = await client.query(`select datname from pg_database where datname like $1`, [`certex\\_t\\_${runId}%`]);
    for (const row of rows.rows) await client.query(`drop database if exists "${row.datname}" with (force)`);
  });
  const redis = new Redis(TEST_REDIS_URL);
  const stream = redis.scanStream({ match: `certex-t-${runId}*`, count: 1000 });
  for await (const keys of stream) if ((keys as string[]).length) await redis.del(...(keys as string[]));
  await redis.quit();
}
