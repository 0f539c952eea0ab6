import Redis from 'ioredis';
import { TEST_REDIS_URL, withServer } from './databases';

/**
 * Each DROP DATABASE waits for a checkpoint (about 2 s on a busy machine), and a run leaves one
 * database per test file: dropped one after another they held the run up for minutes. Dropped
 * over several connections at once, the drops share their checkpoints.
 */
const DROPS_AT_ONCE = 8;

export default async function globalTeardown() {
  const runId = process.env.CERTEX_TEST_RUN;
  if (!runId) return;
  const names = await withServer(async (client) => {
    const rows = await client.query(`select datname from pg_database where datname like $1`, [`certex\\_t\\_${runId}%`]);
    return (rows.rows as Array<{ datname: string }>).map((row) => row.datname);
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DROPS_AT_ONCE, names.length) }, () =>
      withServer(async (client) => {
        while (next < names.length) await client.query(`drop database if exists "${names[next++]}" with (force)`);
      }),
    ),
  );
  const redis = new Redis(TEST_REDIS_URL);
  const stream = redis.scanStream({ match: `certex-t-${runId}*`, count: 1000 });
  for await (const keys of stream) if ((keys as string[]).length) await redis.del(...(keys as string[]));
  await redis.quit();
}
