import type { EntityManager } from '@mikro-orm/postgresql';
import type { Queue } from 'bull';
import { sql, SqlRunner } from '../database/sql';

const CHECK_TIMEOUT_MS = 2000;

/** The promise, or a failure after two seconds: a health check answers even when a service hangs. */
export function within<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, fail) => setTimeout(() => fail(new Error('timeout')), CHECK_TIMEOUT_MS).unref())]);
}

export type ServiceState = 'up' | 'down';

/** Whether PostgreSQL answers a query and Redis a ping, each within two seconds. */
export async function serviceStates(em: EntityManager, queue: Queue): Promise<{ postgres: ServiceState; redis: ServiceState }> {
  const state = (check: Promise<unknown>) =>
    within(check).then(
      (): ServiceState => 'up',
      (): ServiceState => 'down',
    );
  const [postgres, redis] = await Promise.all([state(new SqlRunner(em).run(sql`select 1`)), state(queue.client.ping())]);
  return { postgres, redis };
}
